"""scrapy-redis's dupefilter with the crawler's own fingerprints, one seen-set per round
(scrapy-redis: ``dupefilter.py``; the rounds: :mod:`crawler.shared.rounds`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import Request

from crawler.rounds import RoundPlan
from crawler.shared.connection import redis, redis_from_settings
from crawler.shared.rounds import seen_key

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.utils.request import RequestFingerprinterProtocol


try:  # the optional extra: pip install '.[distributed]'
    from scrapy_redis.dupefilter import RFPDupeFilter
except ImportError:  # pragma: no cover - exercised only without the extra
    RFPDupeFilter = object  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)


class SharedDupeFilter(RFPDupeFilter):
    """scrapy-redis's Redis set of fingerprints, computed by the crawler's fingerprinter."""

    fingerprinter: RequestFingerprinterProtocol  # the crawler's, set by from_spider

    @classmethod
    def from_spider(cls, spider: Spider) -> SharedDupeFilter:
        settings = spider.settings
        this_round = RoundPlan.of(spider.crawler).round
        instance = cls(
            redis_from_settings(settings),
            key=seen_key(settings, spider.name, this_round.number if this_round is not None else None),
            debug=settings.getbool("DUPEFILTER_DEBUG"),
        )
        instance.fingerprinter = spider.crawler.request_fingerprinter
        return instance

    def request_fingerprint(self, request: Request) -> str:
        return self.fingerprinter.fingerprint(request).hex()

    def request_seen(self, request: Request) -> bool:
        try:
            return bool(super().request_seen(request))
        except redis.RedisError:
            return False  # the scheduler's Lua script decides again when the request is queued
