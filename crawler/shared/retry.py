"""Requests of a shared crawl that failed transiently, kept in Redis and fetched again
(scrapy-redis has none: there a request that failed after its retries is in the dupefilter
for good, and no later run or other worker ever fetches it again).

A single-machine crawl resumes from its store (:mod:`crawler.rounds`): what failed transiently
is fetched again. A shared crawl keeps its state in Redis, so it keeps these requests there:

* ``PREFIX:retry`` (sorted set): fingerprint -> when it may go back to the queue (Unix time;
  ``+inf``: at the next run);
* ``PREFIX:retry:requests`` (hash): fingerprint -> the request, as the queue holds it (JSON,
  :class:`~crawler.shared.serializer.JsonRequestSerializer`);
* ``PREFIX:retry:rounds`` (hash): fingerprint -> how often it failed in this run.

A page stored with a transient status (no response, 5xx, 408, 429: :func:`crawler.store.is_transient`)
moves from the worker's claims into the retry set, in one script (a kill cannot fall between);
a page stored with a final one (200, 3xx, 404, 410...; a request refused, off the mirror or by
robots.txt) leaves the claims and the retry set, in one script too. The entries go back into
the queue, past the dupefilter, in one script per batch (an entry leaves the retry set only
in the script that queues it, so no two workers queue it and a kill loses none):

* when a run starts (its first worker: no other worker beats): all of them, and their rounds
  are counted afresh; a worker that joins a run (or starts while a killed one's heartbeat has
  not yet expired) puts back those that are due and those left for the next run;
* when the queue runs dry: those that are due. After its n-th failure in a run an entry is due
  ``SHARED_RETRY_DELAY * 2**(n-1)`` seconds later, up to ``SHARED_RETRY_ROUNDS`` times a run;
  then it is left for the next run. Workers wait for the entries that are due in this run
  before they close.
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from twisted.python.failure import Failure

from crawler.archive.capture import EXCHANGE
from crawler.shared.connection import shared_key
from crawler.shared.rounds import seen_key
from crawler.store import is_transient

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from crawler.shared.queue import ClaimingQueue

__all__ = ["RetrySet"]

logger = logging.getLogger(__name__)

# What the download of one attempt left on the request: not part of the request to fetch again
# (retry_times above all: RetryMiddleware gives the next round its RETRY_TIMES again).
_ATTEMPT_META = (
    "retry_times",
    "download_slot",
    "download_latency",
    "download_timeout",
    "_shared_slot",
    EXCHANGE,
)
_REQUEUE_BATCH = 500  # entries per script: Redis runs nothing else while a script runs

# KEYS: claims, retry, retry:requests, retry:rounds. ARGV: claim member ('' if none), fingerprint,
# request, now, delay, rounds.
_KEEP = """
if ARGV[1] ~= '' then redis.call('HDEL', KEYS[1], ARGV[1]) end
local failed = redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
local due = '+inf'
if failed <= tonumber(ARGV[6]) then due = tonumber(ARGV[4]) + tonumber(ARGV[5]) * 2 ^ (failed - 1) end
redis.call('ZADD', KEYS[2], due, ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return failed
"""
# KEYS: claims, retry, retry:requests, retry:rounds. ARGV: claim member ('' if none), fingerprint.
_FORGET = """
if ARGV[1] ~= '' then redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('HDEL', KEYS[4], ARGV[2])
if redis.call('ZREM', KEYS[2], ARGV[2]) == 1 then redis.call('HDEL', KEYS[3], ARGV[2]) end
return 0
"""
# KEYS: retry, retry:requests, queue, the round's seen-set. ARGV: the due scores from, to; batch size.
# The queue's score is the request's -priority, as scrapy-redis's PriorityQueue.push gives it. The
# request is seen in this round: a link to it found later in the round does not queue it twice.
_REQUEUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, fingerprint in ipairs(due) do
  local request = redis.call('HGET', KEYS[2], fingerprint)
  if request then
    local ok, decoded = pcall(cjson.decode, request)
    local score = 0
    if ok and type(decoded) == 'table' and type(decoded['priority']) == 'number' then
      score = -decoded['priority']
    end
    redis.call('ZADD', KEYS[3], score, request)
    redis.call('SADD', KEYS[4], fingerprint)
    redis.call('HDEL', KEYS[2], fingerprint)
  end
  redis.call('ZREM', KEYS[1], fingerprint)
end
return #due
"""


class RetrySet:
    """The shared crawl's requests that failed transiently (see the module): the scheduler
    hands it each stored page (:meth:`stored`) and asks it to queue the entries again
    (:meth:`requeue`)."""

    def __init__(self, crawler: Crawler, queue: ClaimingQueue, seen: str | None = None) -> None:
        settings = crawler.settings
        if not settings.getbool("SHARED_RETRY_ENABLED"):
            raise NotConfigured  # requests that failed transiently stay failed, as in scrapy-redis
        assert crawler.spider is not None
        self.crawler = crawler
        self.queue = queue
        self.server = queue.server
        self.delay = settings.getfloat("SHARED_RETRY_DELAY")
        self.rounds = settings.getint("SHARED_RETRY_ROUNDS")
        name = crawler.spider.name
        self.key = shared_key(settings, name, "retry")
        self.requests_key = shared_key(settings, name, "retry:requests")
        self.rounds_key = shared_key(settings, name, "retry:rounds")
        self.seen_key = seen or seen_key(settings, name, None)  # the round's seen-set (the scheduler's)
        self._keep = self.server.register_script(_KEEP)
        self._forget = self.server.register_script(_FORGET)
        self._requeue = self.server.register_script(_REQUEUE)
        self.waiting_logged = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, queue: ClaimingQueue, seen: str | None = None) -> RetrySet:
        return cls(crawler, queue, seen)

    # a page was stored

    def stored(self, status: int | None, response: Response | Failure | None, fingerprint: bytes) -> Any:
        """The write (for :meth:`RedisHealth.call`) that ends a request's claim, given what its page
        was stored with: kept to fetch again if the failure was transient, else forgotten."""
        request = _request_of(response)
        refused = isinstance(response, Failure) and response.check(IgnoreRequest) is not None
        if request is not None and is_transient(status) and not refused:
            return self._kept(request, fingerprint)
        return self._forgotten(fingerprint)

    def _kept(self, request: Request, fingerprint: bytes) -> Any:
        try:
            encoded = self.queue._encode_request(_fresh(request))
        except (TypeError, ValueError) as exc:  # a meta value JSON cannot hold
            logger.error("Cannot keep %s to fetch again (%s): it stays failed", request.url, exc)
            return self._forgotten(fingerprint)

        def keep(claims_key: str, member: bytes | None) -> None:
            failed = self._keep(
                keys=[claims_key, self.key, self.requests_key, self.rounds_key],
                args=[member or b"", fingerprint, encoded, time.time(), self.delay, self.rounds],
            )
            stats = self.crawler.stats
            stats.inc_value("shared/retry_kept")
            if failed > self.rounds:
                stats.inc_value("shared/retry_left_for_next_run")
                logger.info(
                    "%s failed transiently %d times in this run: kept in Redis, fetched again by the next run",
                    request.url,
                    failed,
                )

        return keep

    def _forgotten(self, fingerprint: bytes) -> Any:
        def forget(claims_key: str, member: bytes | None) -> None:
            self._forget(
                keys=[claims_key, self.key, self.requests_key, self.rounds_key], args=[member or b"", fingerprint]
            )

        return forget

    # back into the queue

    def requeue(self, *, starting: bool = False, new_run: bool = False) -> int:
        """Queue the entries that are due (a worker ``starting``: and those left for the next run;
        of a ``new_run``: all of them, their rounds counted afresh); how many went back."""
        if new_run:
            self.server.delete(self.rounds_key)  # before: a kill between leaves the entries where they were
            spans = [("-inf", "+inf")]
        else:
            spans = [("-inf", repr(time.time()))] + ([("+inf", "+inf")] if starting else [])
        total = 0
        for low, high in spans:
            while True:
                moved = int(
                    self._requeue(
                        keys=[self.key, self.requests_key, self.queue.key, self.seen_key],
                        args=[low, high, _REQUEUE_BATCH],
                    )
                )
                total += moved
                if moved < _REQUEUE_BATCH:
                    break
        if total:
            self.crawler.stats.inc_value("shared/retry_requeued", total)
            self.waiting_logged = False
        return total

    def next_due(self) -> float:
        """Seconds until the next entry is due in this run (0 if one is; ``inf`` if none is)."""
        first = self.server.zrange(self.key, 0, 0, withscores=True)
        if not first or math.isinf(first[0][1]):
            return math.inf
        score: float = first[0][1]  # zrange withscores=True gives (member, float score) pairs
        return max(score - time.time(), 0.0)

    def waiting(self, seconds: float) -> None:
        """The queue is dry and an entry is due in ``seconds``: say so once."""
        if self.waiting_logged:
            return
        self.waiting_logged = True
        count = self.server.zcount(self.key, "-inf", "(+inf")
        logger.info(
            "The queue is empty; %d requests that failed transiently go back to it in %.0f s or later "
            "(SHARED_RETRY_DELAY=%.0f s, doubling, %d rounds a run)",
            count,
            seconds,
            self.delay,
            self.rounds,
        )


def _request_of(response: Response | Failure | None) -> Request | None:
    request = getattr(response, "request", None)
    return request if isinstance(request, Request) else None


def _fresh(request: Request) -> Request:
    """The request as a first attempt: without what one download left on it."""
    meta = {key: value for key, value in request.meta.items() if key not in _ATTEMPT_META}
    return request.replace(meta=meta)  # the serializer leaves the proxy and its credentials out
