"""Resume a killed crawl from the store.

``-s JOBDIR=...`` resumes a crawl that was stopped cleanly (Ctrl-C once). A
crawl killed with ``kill -9`` leaves Scrapy's queue unsaved while its
dupefilter remembers requests that were never fetched, so a restart would
stop short. Then the store decides: what it holds is done, and the article
links of stored pages that no stored page answers are the frontier.

``STORE_RESUME``: ``"auto"`` (resume when a JOBDIR crawl was killed), true
(always fetch only what the store lacks), false (never).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.utils.job import job_dir

from crawler.store import Store, StoreError, store_path

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

RUNNING_MARKER = "crawl.running"


@dataclass
class Resume:
    active: bool = False
    stored: set[str] = field(default_factory=set)
    frontier: list[tuple[str, int]] = field(default_factory=list)
    marker: Path | None = None
    _claimed: set[str] = field(default_factory=set)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Resume:
        settings = crawler.settings
        jobdir = job_dir(settings)
        marker = Path(jobdir) / RUNNING_MARKER if jobdir else None
        killed = marker is not None and marker.exists()
        if marker is not None:
            marker.touch()
        wanted = settings.get("STORE_RESUME", "auto")
        active = killed if str(wanted).lower() == "auto" else settings.getbool("STORE_RESUME")
        resume = cls(marker=marker)
        path = store_path(settings)
        if not active or not Path(path).is_file():
            return resume
        try:
            with Store(path, create=False) as store:
                resume.stored, resume.frontier = store.fetched_urls(), store.frontier()
        except StoreError as exc:
            logger.warning("Not resuming from the store: %s", exc)
            return resume
        resume.active = True
        depth_limit = settings.getint("DEPTH_LIMIT")
        if depth_limit:
            resume.frontier = [(url, depth) for url, depth in resume.frontier if depth <= depth_limit]
        logger.info(
            "Resuming from %s: %d pages stored, %d article links still to fetch",
            path, len(resume.stored), len(resume.frontier),
        )
        crawler.stats.set_value("mirror/resumed_from_store", len(resume.stored))
        return resume

    def claim(self, canonical: str) -> bool:
        """True the first time a URL that the store lacks is asked for in this run."""
        if canonical in self.stored or canonical in self._claimed:
            return False
        self._claimed.add(canonical)
        return True

    def finish(self, reason: str) -> None:
        """A crawl that ends by itself (not killed) leaves no running marker."""
        if self.marker is not None and self.marker.exists():
            self.marker.unlink()
