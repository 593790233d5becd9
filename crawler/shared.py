"""Several machines crawl one mirror together: one frontier and one dupefilter in Redis.

Set ``REDIS_URL`` and every worker running the same ``scrapy crawl mirror`` command
shares Scrapy's scheduler state through scrapy-redis (pinned to 0.9.1), subclassed
where it falls short:

* its dupefilter hashes its own canonical form; :class:`SharedDupeFilter` uses the
  crawler's request fingerprinter (the project's canonical-URL one);
* it pickles requests into Redis, so anyone who can write to Redis runs code on
  every worker; here requests are JSON (Scrapy's ``Request.to_dict``) and anything
  else is refused (:class:`JsonRequestSerializer`);
* its queue forgets a request once a worker pops it; :class:`ClaimingQueue` keeps it
  claimed by that worker until its page is stored, and a worker whose heartbeat
  stops has its claims handed back to the queue;
* its ``SCHEDULER_PERSIST=False`` lets the first worker to finish delete the shared
  state; here state persists (clear it with ``scrapy shared --clear``) and a worker
  closes only when the queue is empty and no live worker holds a claim;
* politeness is per process; :class:`SharedConcurrencyMiddleware` holds one
  per-mirror limit for all workers together;
* a Redis that restarts makes scrapy-redis raise from every signal handler; here
  (:class:`RedisHealth`) an outage is one warning per worker, the writes that failed
  (claims and concurrency slots released, requests queued) are retried once Redis is
  back, and a worker that cannot reach it for ``SHARED_REDIS_PATIENCE`` stops with one
  message, its frontier safe in Redis.

Without ``REDIS_URL`` the crawl is the single-machine crawl, unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from itemadapter import ItemAdapter
from scrapy import Request, signals
from scrapy.core.scheduler import Scheduler as ScrapyScheduler
from scrapy.exceptions import CloseSpider, DontCloseSpider, NotConfigured
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object

from crawler.exceptions import Postponed
from crawler.logmask import mask_secrets

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

try:  # the optional extra: pip install '.[distributed]'
    import redis
    from scrapy_redis.dupefilter import RFPDupeFilter
    from scrapy_redis.queue import PriorityQueue
    from scrapy_redis.scheduler import Scheduler as RedisScheduler
except ImportError:  # pragma: no cover - exercised only without the extra
    redis = None
    RFPDupeFilter = PriorityQueue = RedisScheduler = object  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)

REDIS_UNREACHABLE = "redis_unreachable"  # at start: the worker cannot begin
REDIS_LOST = "redis_lost"  # mid-crawl, for longer than SHARED_REDIS_PATIENCE: try again later


def shared_key(settings: Any, spider_name: str, suffix: str) -> str:
    prefix = settings.get("SHARED_KEY_PREFIX") or "%(spider)s"
    return f"{prefix % {'spider': spider_name}}:{suffix}"


def redis_from_settings(settings: Any) -> Any:
    if redis is None:
        raise NotConfigured("REDIS_URL is set but scrapy-redis is not installed: pip install '.[distributed]'")
    from redis.backoff import ExponentialWithJitterBackoff
    from redis.retry import Retry

    # Calls run on the reactor thread: redis-py's default retries (10, up to 1 s apart) would
    # freeze the crawl for seconds per call while Redis is down. RedisHealth does the waiting.
    quick = Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), retries=2)
    return redis.Redis.from_url(settings["REDIS_URL"], socket_timeout=30, socket_connect_timeout=5, retry=quick)


_HEALTH: WeakKeyDictionary[Any, RedisHealth] = WeakKeyDictionary()


class RedisHealth:
    """Whether this worker reaches Redis: one warning when it stops answering, one line when it
    is back, the writes that failed meanwhile retried (:meth:`later`), and past
    ``SHARED_REDIS_PATIENCE`` the worker stops (:attr:`exhausted`)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.where = mask_secrets(crawler.settings["REDIS_URL"])
        self.patience = crawler.settings.getfloat("SHARED_REDIS_PATIENCE")
        self.down_since: float | None = None
        self.pending: list[tuple[Any, tuple[Any, ...]]] = []

    @classmethod
    def of(cls, crawler: Crawler) -> RedisHealth:
        """The worker's one view of Redis (the scheduler and the middleware share it)."""
        health = _HEALTH.get(crawler)
        if health is None:
            health = _HEALTH[crawler] = cls(crawler)
        return health

    @property
    def down(self) -> bool:
        return self.down_since is not None

    @property
    def exhausted(self) -> bool:
        return self.down_since is not None and time.monotonic() - self.down_since >= self.patience

    def failed(self, exc: Exception) -> None:
        if self.down_since is not None:
            return
        self.down_since = time.monotonic()
        self.crawler.stats.inc_value("shared/redis_outages")
        logger.warning("Redis at %s does not answer (%s): retrying; nothing is lost (the frontier is in Redis, "
                       "this worker keeps what it must write back); stopping after SHARED_REDIS_PATIENCE=%.0f s",
                       self.where, mask_secrets(str(exc)) or type(exc).__name__, self.patience)

    def answered(self) -> bool:
        """Redis answered: write back what failed meanwhile. True if it was down until now."""
        if self.down_since is None:
            return False
        seconds = time.monotonic() - self.down_since
        self.down_since = None
        pending, self.pending = self.pending, []
        for call, args in pending:
            self.call(call, *args)
        if self.down_since is None:
            self.crawler.stats.inc_value("shared/redis_outage_seconds", round(seconds, 1))
            logger.info("Redis at %s answers again after %.0f s: %d writes retried, crawling on", self.where,
                        seconds, len(pending))
        return True

    def call(self, call: Any, *args: Any) -> bool:
        """Run a Redis write now, or later once Redis answers again. True if it ran now."""
        try:
            call(*args)
        except redis.RedisError as exc:
            self.failed(exc)
            self.pending.append((call, args))
            return False
        return True


# -- requests as JSON, never pickle ------------------------------------------------


class UnsafeRequest(ValueError):
    """Something in the shared queue that is not a JSON request (a pickle, say)."""


class JsonRequestSerializer:
    """``dumps``/``loads`` for scrapy-redis queues: JSON only, bytes tagged as base64."""

    @staticmethod
    def dumps(obj: dict[str, Any]) -> str:
        return json.dumps(_to_json(obj), separators=(",", ":"), sort_keys=True)

    @staticmethod
    def loads(data: bytes | str) -> dict[str, Any]:
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError:
            raise UnsafeRequest("not UTF-8 text (a pickle?)") from None
        if not text.startswith("{"):
            raise UnsafeRequest("not a JSON object (a pickle?)")
        try:
            obj = json.loads(text, object_hook=_from_json)
        except json.JSONDecodeError as exc:
            raise UnsafeRequest(f"not valid JSON: {exc}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("url"), str):
            raise UnsafeRequest("not a request")
        return obj


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        if value.isascii():  # header names and values, mostly: a third smaller than base64
            return {"$ascii": value.decode("ascii")}
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: _to_json(item) for key, item in value.items()}
        return {"$items": [[_to_json(key), _to_json(item)] for key, item in value.items()]}
    if isinstance(value, list | tuple):
        return [_to_json(item) for item in value]
    return value


def _from_json(obj: dict[str, Any]) -> Any:
    if set(obj) == {"$ascii"}:
        return obj["$ascii"].encode("ascii")
    if set(obj) == {"$bytes"}:
        return base64.b64decode(obj["$bytes"])
    if set(obj) == {"$items"}:
        return {_hashable(key): item for key, item in obj["$items"]}
    return obj


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


# -- the dupefilter: the crawler's own fingerprints ------------------------------------


class SharedDupeFilter(RFPDupeFilter):
    """scrapy-redis's Redis set of fingerprints, computed by the crawler's fingerprinter."""

    fingerprinter: Any = None

    @classmethod
    def from_spider(cls, spider: Spider) -> SharedDupeFilter:
        settings = spider.settings
        instance = cls(redis_from_settings(settings), key=shared_key(settings, spider.name, "dupefilter"),
                       debug=settings.getbool("DUPEFILTER_DEBUG"))
        instance.fingerprinter = spider.crawler.request_fingerprinter
        return instance

    def request_fingerprint(self, request: Request) -> str:
        return self.fingerprinter.fingerprint(request).hex()

    def request_seen(self, request: Request) -> bool:
        try:
            return bool(super().request_seen(request))
        except redis.RedisError:
            return False  # the scheduler's Lua script decides again when the request is queued


# -- the queue: requests stay claimed until their page is stored -------------------------

_POP_AND_CLAIM = """
local popped = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #popped == 0 then return false end
redis.call('ZREM', KEYS[1], popped[1])
redis.call('HSET', KEYS[2], popped[1], popped[2])
return popped[1]
"""
_SEEN_THEN_PUSH = """
if ARGV[3] == '0' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
return 1
"""
_HAND_BACK = """
local claims = redis.call('HGETALL', KEYS[1])
for i = 1, #claims, 2 do redis.call('ZADD', KEYS[2], claims[i + 1], claims[i]) end
redis.call('DEL', KEYS[1])
return #claims / 2
"""


class ClaimingQueue(PriorityQueue):
    """scrapy-redis's priority queue; a pop moves the request into the worker's claims."""

    def pop_claimed(self, claims_key: str) -> tuple[Request | None, bytes | None]:
        while True:
            member = self.server.eval(_POP_AND_CLAIM, 2, self.key, claims_key)
            if member is None:
                return None, None
            try:
                return self._decode_request(member), member
            except UnsafeRequest as exc:
                self.server.hdel(claims_key, member)
                logger.error("Refused a request in the shared queue %s: %s; it was dropped, not run.",
                             self.key, exc)
                stats = getattr(self.spider.crawler, "stats", None)
                if stats is not None:
                    stats.inc_value("shared/refused_unsafe_requests")

    def hand_back(self, claims_key: str) -> int:
        return int(self.server.eval(_HAND_BACK, 2, claims_key, self.key))


# -- the scheduler ------------------------------------------------------------------------


class RefusingScheduler(ScrapyScheduler):
    """REDIS_URL without scrapy-redis installed: say so and fetch nothing (never crawl alone
    while the user believes the crawl is shared)."""

    def open(self, spider: Spider) -> Any:
        logger.error("REDIS_URL is set but scrapy-redis is not installed: pip install '.[distributed]'")
        self.crawler.signals.connect(_refuse_to_start, signal=signals.spider_opened)
        return super().open(spider)


def _refuse_to_start(spider: Spider | None = None) -> None:
    raise CloseSpider(REDIS_UNREACHABLE)


class SharedScheduler(RedisScheduler):
    """scrapy-redis's scheduler with claims, heartbeats, persistence and joint closing."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedScheduler:
        settings = crawler.settings
        instance = cls(
            server=redis_from_settings(settings),
            persist=True,  # the shared state outlives any one worker
            queue_cls="crawler.shared.ClaimingQueue",
            dupefilter_key="unused",
            dupefilter_cls=settings.get("SHARED_DUPEFILTER_CLASS"),
            serializer=JsonRequestSerializer,
        )
        instance.crawler = crawler
        instance.stats = crawler.stats
        return instance

    # lifecycle

    def open(self, spider: Spider) -> None:
        settings = self.crawler.settings
        where = mask_secrets(settings["REDIS_URL"])
        problem = self._check_server(where)
        if problem is not None:
            logger.error(problem)
            self.crawler.stats.set_value("shared/redis_error", REDIS_UNREACHABLE)
            # Closed from spider_opened: Scrapy cannot close a spider whose scheduler failed to open.
            self.crawler.signals.connect(_refuse_to_start, signal=signals.spider_opened)
            return
        self.spider = spider
        self.queue = load_object(self.queue_cls)(
            server=self.server, spider=spider, key=shared_key(settings, spider.name, "requests"),
            serializer=self.serializer,
        )
        self.df = load_object(self.dupefilter_cls).from_spider(spider)
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.worker_prefix = shared_key(settings, spider.name, "worker:")
        self.claims_prefix = shared_key(settings, spider.name, "claims:")
        self.claims_key = self.claims_prefix + self.worker
        self.heartbeat_ttl = settings.getint("SHARED_HEARTBEAT_TTL")
        self.close_grace = settings.getfloat("SHARED_CLOSE_GRACE")
        self.claimed: dict[bytes, bytes] = {}  # fingerprint -> queue member, for this worker
        self.quiet_since: float | None = None
        self.health = RedisHealth.of(self.crawler)
        self.hand_back_after = 0.0  # no dead-worker hand-back before this (after a Redis outage)
        self._beat()
        self._ticker = asyncio.get_event_loop().create_task(self._tick_forever())
        signals_ = self.crawler.signals
        signals_.connect(self._item_scraped, signal=signals.item_scraped)
        signals_.connect(self._spider_error, signal=signals.spider_error)
        signals_.connect(self._spider_idle, signal=signals.spider_idle)
        logger.info("Sharing the frontier in Redis at %s as worker %s (%d requests queued)",
                    where, self.worker, len(self.queue))

    def _check_server(self, where: str) -> str | None:
        try:
            self.server.ping()
        except redis.AuthenticationError as exc:
            return f"Redis at {where} refused the password ({exc}). Check the password in REDIS_URL."
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            return (f"Cannot reach Redis at {where} ({mask_secrets(str(exc))}). Start redis-server or fix "
                    "REDIS_URL; unset REDIS_URL to crawl on this machine alone.")
        except redis.RedisError as exc:
            return f"Redis at {where} answered with an error: {mask_secrets(str(exc))}"
        return None


    def close(self, reason: str) -> None:
        ticker = getattr(self, "_ticker", None)
        if ticker is None:
            return
        ticker.cancel()
        try:
            self.health.answered()
            handed = self.queue.hand_back(self.claims_key)  # a cancelled crawl leaves nothing claimed
            self.server.delete(self.worker_prefix + self.worker)
        except redis.RedisError:
            logger.warning("Redis is unreachable: this worker's claims go back to the queue when its heartbeat "
                           "expires (SHARED_HEARTBEAT_TTL), by the next worker that runs")
            return
        if handed:
            logger.info("Handed %d claimed requests back to the shared queue", handed)

    # the scheduler interface

    def enqueue_request(self, request: Request) -> bool:
        fingerprint = self.df.request_fingerprint(request)
        if request.dont_filter:
            # A request that comes back (a retry, a re-addressed request) is the queue's again.
            # Others (links to a page this worker has in flight) are filtered and change nothing.
            self._release(fingerprint.encode())
        if self.health.down:
            # Kept here, queued (seen-checked) once Redis answers again.
            self.health.pending.append((self._push, (request, fingerprint)))
            return True
        try:
            return self._push(request, fingerprint)
        except redis.RedisError as exc:
            self.health.failed(exc)
            self.health.pending.append((self._push, (request, fingerprint)))
            return True

    def _push(self, request: Request, fingerprint: str) -> bool:
        # One script: a worker killed between "seen" and "queued" would lose the request.
        pushed = self.server.eval(
            _SEEN_THEN_PUSH, 2, self.df.key, self.queue.key, fingerprint, -request.priority,
            int(request.dont_filter), self.queue._encode_request(request),
        )
        if not pushed:
            self.df.log(request, self.spider)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if getattr(self, "queue", None) is None or self.health.down:
            return None
        try:
            request, member = self.queue.pop_claimed(self.claims_key)
        except redis.RedisError as exc:
            self.health.failed(exc)
            return None
        if request is None:
            return None
        self.claimed[self.df.request_fingerprint(request).encode()] = member
        self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        if getattr(self, "queue", None) is None:
            return False
        if self.health.down:
            return True  # unknown: the worker must not close while Redis is away
        try:
            return len(self.queue) > 0
        except redis.RedisError as exc:
            self.health.failed(exc)
            return True

    # claims

    def _release(self, fingerprint: bytes) -> None:
        member = self.claimed.pop(fingerprint, None)
        if member is not None:
            self.health.call(self.server.hdel, self.claims_key, member)

    def _item_scraped(self, item: Any, response: Any = None, spider: Spider | None = None) -> None:
        fetched_url = ItemAdapter(item).get("fetched_url")
        if fetched_url:
            self._release(self.df.request_fingerprint(Request(fetched_url)).encode())

    def _spider_error(self, failure: Any, response: Response, spider: Spider | None = None) -> None:
        self._release(self.df.request_fingerprint(response.request).encode())

    # heartbeat, dead workers, waking up, closing together

    def _beat(self) -> None:
        self.server.set(self.worker_prefix + self.worker, "1", ex=self.heartbeat_ttl)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                self._tick()
            except redis.RedisError as exc:
                self.health.failed(exc)
                if self.health.exhausted:
                    self._give_up()
                    return

    def _tick(self) -> None:
        self._beat()
        if self.health.answered():
            # The others' heartbeats may have lapsed during the outage: let them beat again
            # before their claims are taken for a dead worker's.
            self.hand_back_after = time.monotonic() + self.heartbeat_ttl
        self._live_claims()  # hands a dead worker's claims back to the queue
        # Scrapy's engine looks for work (and whether it may close) every 5 s by itself;
        # shared work, or the others finishing, is noticed within a second this way.
        self._wake_engine()

    def _give_up(self) -> None:
        logger.error(
            "Redis at %s has not answered for SHARED_REDIS_PATIENCE=%.0f s: stopping this worker. The frontier is "
            "safe in Redis; start the same command again once Redis answers.", self.health.where, self.health.patience,
        )
        self.stats.set_value("shared/redis_error", REDIS_LOST)
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=REDIS_LOST))

    def _live_claims(self) -> bool:
        """True when a live worker holds a claim; a dead worker's claims go back to the queue."""
        busy = False
        for key in self.server.scan_iter(match=self.claims_prefix + "*", count=100):
            worker = key.decode()[len(self.claims_prefix):]
            if not self.server.hlen(key):
                continue
            if self.server.exists(self.worker_prefix + worker) or time.monotonic() < self.hand_back_after:
                busy = True
            else:
                handed = self.queue.hand_back(key.decode())
                logger.warning("Worker %s stopped beating: %d of its requests are back in the queue",
                               worker, handed)
                self.stats.inc_value("shared/requests_handed_back", handed)
                busy = True
        return busy

    def _wake_engine(self) -> None:
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None:
            slot.nextcall.schedule()

    def _spider_idle(self, spider: Spider | None = None) -> None:
        if self.health.down:
            raise DontCloseSpider  # the shared crawl's state is out of sight, not over
        try:
            self._close_if_done()
        except redis.RedisError as exc:
            self.health.failed(exc)
            raise DontCloseSpider from None

    def _close_if_done(self) -> None:
        # Idle here means nothing in flight: a claim this worker still holds was lost
        # on the way (an exception in a callback, say), so it goes back to the queue.
        self.claimed.clear()
        if self.queue.hand_back(self.claims_key):
            self.stats.inc_value("shared/lost_claims_handed_back")
        if len(self.queue) > 0 or self._live_claims():
            self.quiet_since = None
            raise DontCloseSpider
        now = time.monotonic()
        if self.quiet_since is None:
            self.quiet_since = now
        if now - self.quiet_since < self.close_grace:
            raise DontCloseSpider


# -- one concurrency limit per mirror, for all workers ------------------------------------

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  return 1
end
return 0
"""


class SharedConcurrencyMiddleware:
    """At most ``SHARED_CONCURRENT_REQUESTS_PER_MIRROR`` requests in flight per mirror host,
    counted across all workers (a Redis sorted set of expiring tokens)."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.get("REDIS_URL"):
            raise NotConfigured("single-machine crawl")
        self.crawler = crawler
        self.limit = settings.getint("SHARED_CONCURRENT_REQUESTS_PER_MIRROR")
        self.ttl = settings.getfloat("DOWNLOAD_TIMEOUT") + 30
        self.server = redis_from_settings(settings)
        self.health = RedisHealth.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedConcurrencyMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        host = urlparse_cached(request).hostname or ""
        key = shared_key(self.crawler.settings, self.crawler.spider.name, f"slots:{host}")
        token = uuid.uuid4().hex
        while True:
            if self.health.exhausted:
                raise Postponed(f"{request.url}: not fetched, Redis is unreachable")
            now = time.time()
            try:
                if self.server.eval(_ACQUIRE, 1, key, now, self.limit, now + self.ttl, token):
                    request.meta["_shared_slot"] = (key, token)
                    return
            except redis.RedisError as exc:
                self.health.failed(exc)  # wait: the request is not fetched without its slot
                await asyncio.sleep(0.5)
            await asyncio.sleep(0.05)

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        self._release(request)

    def _release(self, request: Request) -> None:
        slot = request.meta.pop("_shared_slot", None)
        if slot is not None:
            self.health.call(self.server.zrem, *slot)
