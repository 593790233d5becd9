"""One concurrency limit per mirror for all workers together (scrapy-redis has none: politeness
there is per process).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from crawler.shared.connection import RedisHealth, redis, redis_from_settings, shared_key
from crawler.tor.outage import Postponed

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response


logger = logging.getLogger(__name__)


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
            raise NotConfigured  # a single-machine crawl; no message, so Scrapy logs no warning for it
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
        assert self.crawler.spider is not None
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
