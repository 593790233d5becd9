"""scrapy-redis's scheduler with claims, heartbeats, persistence and joint closing
(scrapy-redis: ``scheduler.py``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy import Request, signals
from scrapy.core.scheduler import Scheduler as ScrapyScheduler
from scrapy.exceptions import CloseSpider, DontCloseSpider, NotConfigured
from scrapy.utils.misc import load_object

from crawler.fingerprint import CanonicalRequestFingerprinter
from crawler.logmask import mask_secrets
from crawler.reasons import REDIS_LOST, REDIS_UNREACHABLE
from crawler.rounds import RoundPlan
from crawler.shared.connection import RedisHealth, redis, redis_from_settings, shared_key
from crawler.shared.queue import _SEEN_THEN_PUSH, ClaimingQueue
from crawler.shared.retry import RetrySet
from crawler.shared.rounds import finish_shared_round
from crawler.shared.serializer import JsonRequestSerializer

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector


try:  # the optional extra: pip install '.[distributed]'
    from scrapy_redis.scheduler import Scheduler as RedisScheduler
except ImportError:  # pragma: no cover - exercised only without the extra
    RedisScheduler = object  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)


class RefusingScheduler(ScrapyScheduler):
    """REDIS_URL without scrapy-redis installed: say so and fetch nothing (never crawl alone
    while the user believes the crawl is shared)."""

    def open(self, spider: Spider) -> Any:
        logger.error("REDIS_URL is set but scrapy-redis is not installed: pip install '.[distributed]'")
        assert self.crawler is not None
        self.crawler.signals.connect(_refuse_to_start, signal=signals.spider_opened)
        return super().open(spider)


def _refuse_to_start(spider: Spider | None = None) -> None:
    raise CloseSpider(REDIS_UNREACHABLE)


class SharedScheduler(RedisScheduler):
    """scrapy-redis's scheduler with claims, heartbeats, persistence, joint closing, and the
    requests that failed transiently fetched again (:class:`~crawler.shared.retry.RetrySet`)."""

    # Set by from_crawler: scrapy-redis's scheduler keeps no crawler, and its stats are None till then.
    crawler: Crawler
    stats: StatsCollector
    queue: ClaimingQueue  # built by open() from queue_cls, which from_crawler sets to ClaimingQueue

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedScheduler:
        settings = crawler.settings
        instance = cls(
            server=redis_from_settings(settings),
            persist=True,  # the shared state outlives any one worker
            queue_cls="crawler.shared.queue.ClaimingQueue",
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
            server=self.server,
            spider=spider,
            key=shared_key(settings, spider.name, "requests"),
            serializer=self.serializer,
        )
        self.df = load_object(self.dupefilter_cls).from_spider(spider)
        # What this worker's store knows and the round leaves alone (crawler.rounds): not queued
        # from here. Not put in the shared seen-set: another worker may find the page due.
        fingerprinter = CanonicalRequestFingerprinter.canonical_fingerprint
        self.left_alone = {fingerprinter(url).hex() for url in RoundPlan.of(self.crawler).done}
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
        try:
            self.retry: RetrySet | None = RetrySet.from_crawler(self.crawler, self.queue, self.df.key)
        except NotConfigured:
            self.retry = None
        new_run = not self._other_workers()
        self._beat()
        if self.retry is not None:
            # A new run fetches again everything that failed transiently before; a worker that
            # joins a run leaves the entries still waiting for their time to it.
            self.health.call(self._requeue_retries, True, new_run)
        self._ticker = asyncio.get_event_loop().create_task(self._tick_forever())
        signals_ = self.crawler.signals
        signals_.connect(self._item_scraped, signal=signals.item_scraped)
        signals_.connect(self._item_dropped, signal=signals.item_dropped)
        signals_.connect(self._spider_error, signal=signals.spider_error)
        signals_.connect(self._spider_idle, signal=signals.spider_idle)
        logger.info(
            "Sharing the frontier in Redis at %s as worker %s (%d requests queued)", where, self.worker, len(self.queue)
        )

    def _other_workers(self) -> bool:
        return next(iter(self.server.scan_iter(match=self.worker_prefix + "*", count=100)), None) is not None

    def _requeue_retries(self, starting: bool = False, new_run: bool = False) -> None:
        assert self.retry is not None
        requeued = self.retry.requeue(starting=starting, new_run=new_run)
        if requeued and new_run:
            logger.info("Fetching again %d requests that failed transiently in an earlier run", requeued)
        elif requeued:
            logger.info("Fetching again %d requests that failed transiently", requeued)

    def _check_server(self, where: str) -> str | None:
        try:
            self.server.ping()
        except redis.AuthenticationError as exc:
            return f"Redis at {where} refused the password ({exc}). Check the password in REDIS_URL."
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            return (
                f"Cannot reach Redis at {where} ({mask_secrets(str(exc))}). Start redis-server or fix "
                "REDIS_URL; unset REDIS_URL to crawl on this machine alone."
            )
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
            this_round = RoundPlan.of(self.crawler).round
            if reason == "finished" and this_round is not None:  # closed together: the round is done
                finish_shared_round(self.server, self.crawler.settings, self.spider.name, this_round.number)
        except redis.RedisError:
            logger.warning(
                "Redis is unreachable: this worker's claims go back to the queue when its heartbeat "
                "expires (SHARED_HEARTBEAT_TTL), by the next worker that runs"
            )
            return
        if handed:
            logger.info("Handed %d claimed requests back to the shared queue", handed)

    # the scheduler interface

    def enqueue_request(self, request: Request) -> bool:
        fingerprint = self.df.request_fingerprint(request)
        if not request.dont_filter and fingerprint in self.left_alone:
            self.df.log(request, self.spider)
            return False  # known to this worker's store and not due this round
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
            _SEEN_THEN_PUSH,
            2,
            self.df.key,
            self.queue.key,
            fingerprint,
            -request.priority,
            int(request.dont_filter),
            self.queue._encode_request(request),
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
            popped = self.queue.pop_claimed(self.claims_key)
        except redis.RedisError as exc:
            self.health.failed(exc)
            return None
        if popped is None:
            return None
        request, member = popped
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
        page = ItemAdapter(item)
        fetched_url = page.get("fetched_url")
        if not fetched_url:
            return
        fingerprint = self.df.request_fingerprint(Request(fetched_url)).encode()
        if self.retry is None:
            self._release(fingerprint)
            return
        # The claim ends in the script that keeps the request to fetch again (or forgets it).
        member = self.claimed.pop(fingerprint, None)
        self.health.call(self.retry.stored(page.get("status"), response, fingerprint), self.claims_key, member)

    def _item_dropped(
        self, item: Any, response: Any = None, exception: Any = None, spider: Spider | None = None
    ) -> None:
        # A 304 is stored, then kept out of the feed (crawler.pipelines.StorePipeline): its claim
        # ends as a scraped page's does. A page that could not be stored keeps its claim.
        extra = ItemAdapter(item).get("extra")
        if isinstance(extra, dict) and extra.get("check"):
            self._item_scraped(item, response, spider)

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
            "safe in Redis; start the same command again once Redis answers.",
            self.health.where,
            self.health.patience,
        )
        self.stats.set_value("shared/redis_error", REDIS_LOST)
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=REDIS_LOST))

    def _live_claims(self) -> bool:
        """True when a live worker holds a claim; a dead worker's claims go back to the queue."""
        busy = False
        for key in self.server.scan_iter(match=self.claims_prefix + "*", count=100):
            worker = key.decode()[len(self.claims_prefix) :]
            if not self.server.hlen(key):
                continue
            if self.server.exists(self.worker_prefix + worker) or time.monotonic() < self.hand_back_after:
                busy = True
            else:
                handed = self.queue.hand_back(key.decode())
                logger.warning("Worker %s stopped beating: %d of its requests are back in the queue", worker, handed)
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
        if self.retry is not None and len(self.queue) == 0:
            self._requeue_retries()
        if len(self.queue) > 0 or self._live_claims():
            self.quiet_since = None
            raise DontCloseSpider
        if self.retry is not None and (due := self.retry.next_due()) < math.inf:
            self.retry.waiting(due)  # the entries due in this run are this run's to fetch
            self.quiet_since = None
            raise DontCloseSpider
        now = time.monotonic()
        if self.quiet_since is None:
            self.quiet_since = now
        if now - self.quiet_since < self.close_grace:
            raise DontCloseSpider
