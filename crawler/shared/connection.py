"""The Redis connection of a shared crawl, its keys, and what a worker does while Redis is away
(scrapy-redis: ``connection.py``).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from scrapy.exceptions import NotConfigured

from crawler.logmask import mask_secrets

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

try:  # the optional extra: pip install '.[distributed]'
    import redis
except ImportError:  # pragma: no cover - exercised only without the extra
    redis = None  # type: ignore[assignment]

# redis is exported with the rest: the shared modules catch its errors through this one
# import, which is None without the extra.
__all__ = ["RedisHealth", "redis", "redis_from_settings", "shared_key"]

logger = logging.getLogger(__name__)


def shared_key(settings: Any, spider_name: str, suffix: str) -> str:
    prefix = settings.get("SHARED_KEY_PREFIX")
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
        logger.warning(
            "Redis at %s does not answer (%s): retrying; nothing is lost (the frontier is in Redis, "
            "this worker keeps what it must write back); stopping after SHARED_REDIS_PATIENCE=%.0f s",
            self.where,
            mask_secrets(str(exc)) or type(exc).__name__,
            self.patience,
        )

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
            self.crawler.stats.inc_value("shared/redis_outage_seconds", round(seconds))
            logger.info(
                "Redis at %s answers again after %.0f s: %d writes retried, crawling on",
                self.where,
                seconds,
                len(pending),
            )
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
