"""``SCHEDULER``: Scrapy's scheduler, resumed from the store; or the shared one on Redis.

* Without ``REDIS_URL``: :class:`ResumingScheduler`, Scrapy's own scheduler whose
  dupefilter starts with the pages the round leaves alone (see :mod:`crawler.rounds`).
* With ``REDIS_URL``: :class:`crawler.shared.SharedScheduler` (scrapy-redis).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.core.scheduler import Scheduler

from crawler.fingerprint import CanonicalRequestFingerprinter
from crawler.rounds import RoundPlan

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

__all__ = ["AutoScheduler", "ResumingScheduler"]


class AutoScheduler(Scheduler):
    """The scheduler the settings ask for: shared when REDIS_URL is set, else resuming."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        if not crawler.settings.get("REDIS_URL"):
            return ResumingScheduler.from_crawler(crawler)
        from crawler import shared

        if shared.redis is None:
            return shared.RefusingScheduler.from_crawler(crawler)
        return shared.SharedScheduler.from_crawler(crawler)


class ResumingScheduler(Scheduler):
    """Scrapy's scheduler; its dupefilter knows what the store holds and the round leaves alone."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResumingScheduler:
        RoundPlan.of(crawler)  # planned before Scrapy reads JOBDIR: the plan drops Scrapy's request state there
        return super().from_crawler(crawler)

    def open(self, spider: Spider) -> Any:
        opened = super().open(spider)
        assert self.crawler is not None
        done = RoundPlan.of(self.crawler).done
        seen = getattr(self.df, "_fingerprints", None)
        fingerprinter = self.crawler.request_fingerprinter
        if isinstance(seen, set) and isinstance(fingerprinter, CanonicalRequestFingerprinter):
            # Scrapy's RFPDupeFilter keeps its raw fingerprints in this set (its public `fingerprints`
            # is a deprecated copy): filled without a Request and a normalization per stored page.
            seen.update(fingerprinter.canonical_fingerprint(url) for url in done)
        else:
            for url in done:
                # The fingerprinter keys on the canonical URL: any address of the page is the same request.
                self.df.request_seen(Request(url))
        return opened
