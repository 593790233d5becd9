"""``SCHEDULER``: Scrapy's scheduler, resumed from the store; or the shared one on Redis.

* Without ``REDIS_URL``: :class:`ResumingScheduler`, Scrapy's own scheduler whose
  dupefilter starts with the pages the round leaves alone (see :mod:`crawler.rounds`).
* With ``REDIS_URL``: :class:`crawler.shared.SharedScheduler` (scrapy-redis).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.core.scheduler import Scheduler
from scrapy.dupefilters import RFPDupeFilter
from scrapy.utils.job import job_dir
from scrapy.utils.misc import load_object

from crawler import disk
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
    """Scrapy's scheduler; its dupefilter knows what the store holds and the round leaves alone.

    Its writes to JOBDIR (the disk queue, the dupefilter's ``requests.seen``) are guarded: the
    first that fails stops the crawl with one message (:mod:`crawler.disk`), and the queue is
    not touched again. What it held is not lost: the store has every link, and the next run's
    plan (:mod:`crawler.rounds`) fetches what is left.
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResumingScheduler:
        RoundPlan.of(crawler)  # planned before Scrapy reads JOBDIR: the plan drops Scrapy's request state there
        if not disk.stopping(crawler):
            try:
                return super().from_crawler(crawler)
            except OSError as exc:  # the dupefilter opens JOBDIR/requests.seen for writing
                problem = disk.WriteProblem.of(exc, job_dir(crawler.settings) or "JOBDIR")
                disk.write_failed(crawler, "to JOBDIR", problem, "set JOBDIR to another folder")
        # JOBDIR cannot be written: a scheduler without it, and the spider closes as it opens (crawler.disk.state).
        settings = crawler.settings
        return cls(
            dupefilter=RFPDupeFilter(fingerprinter=crawler.request_fingerprinter),
            mqclass=load_object(settings["SCHEDULER_MEMORY_QUEUE"]),
            stats=crawler.stats,
            pqclass=load_object(settings["SCHEDULER_PRIORITY_QUEUE"]),
            crawler=crawler,
        )

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

    def enqueue_request(self, request: Request) -> bool:
        if self._stopping():
            return False
        try:
            return super().enqueue_request(request)
        except OSError as exc:
            self._write_failed(exc)
            return False

    def next_request(self) -> Request | None:
        if self._stopping():
            return None
        try:
            return super().next_request()
        except OSError as exc:
            self._write_failed(exc)
            return None

    def has_pending_requests(self) -> bool:
        return not self._stopping() and super().has_pending_requests()

    def close(self, reason: str) -> Any:
        try:
            return super().close(reason)
        except OSError as exc:
            self._write_failed(exc)
            return None

    def _stopping(self) -> bool:
        assert self.crawler is not None
        return disk.stopping(self.crawler)

    def _write_failed(self, exc: OSError) -> None:
        assert self.crawler is not None
        problem = disk.WriteProblem.of(exc, job_dir(self.crawler.settings) or "JOBDIR")
        disk.write_failed(self.crawler, "Scrapy's request queue in JOBDIR", problem, "set JOBDIR to another folder")
