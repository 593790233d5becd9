"""Resume a crawl from its store: what the store holds for good is done, the rest is fetched.

Run the same command again with the same ``-s JOBDIR=...`` and the crawl goes on where
the last run stopped, however it stopped: Ctrl-C, a mirror that stayed unreachable
(``MIRROR_PATIENCE``), ``kill -9``. Scrapy's own JOBDIR state cannot do that: its
dupefilter remembers requests that never got an answer (a timeout, a 503 after every
retry, a request in flight when the process died), so they would be skipped for good.
Here the store decides:

* done: pages answered for good (200, 3xx, 404, 410...) and their aliases; Scrapy's
  dupefilter starts with exactly these;
* to fetch (the frontier): pages whose last fetch failed transiently (no response, 5xx,
  408, 429) and the article and redirect links of stored pages that no page answers
  for good, at the depth they were found at (``DEPTH_LIMIT`` holds);
* Scrapy's JOBDIR queue and dupefilter of the last run are dropped: everything they
  held is done or in the frontier.

``STORE_RESUME``: ``"auto"`` (resume when the JOBDIR held a crawl before), true (always
resume from the store, JOBDIR or not), false (Scrapy's JOBDIR alone).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from scrapy.utils.job import job_dir

from crawler.store import Store, StoreError, store_path

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

STARTED_MARKER = "crawl.started"  # in JOBDIR: a crawl ran here before
SCRAPY_REQUEST_STATE = ("requests.seen", "requests.queue")  # what Scrapy keeps in JOBDIR about requests

_BY_CRAWLER: WeakKeyDictionary[Crawler, Resume] = WeakKeyDictionary()


@dataclass
class Resume:
    """What a crawl resumed from its store skips (``done``) and fetches (``frontier``)."""

    active: bool = False
    done: set[str] = field(default_factory=set)
    frontier: list[tuple[str, int]] = field(default_factory=list)

    @classmethod
    def of(cls, crawler: Crawler) -> Resume:
        """The crawl's resume state, decided once (the scheduler and the spider both ask)."""
        resume = _BY_CRAWLER.get(crawler)
        if resume is None:
            resume = _BY_CRAWLER[crawler] = cls._decide(crawler)
        return resume

    @classmethod
    def _decide(cls, crawler: Crawler) -> Resume:
        settings = crawler.settings
        if settings.get("REDIS_URL"):
            return cls()  # a shared crawl keeps its state in Redis
        jobdir = job_dir(settings)
        ran_before = _mark_started(jobdir)
        wanted = settings.get("STORE_RESUME")
        active = ran_before if str(wanted).lower() == "auto" else settings.getbool("STORE_RESUME")
        path = store_path(settings)
        if not active or not Path(path).is_file():
            return cls()
        try:
            with Store(path, create=False) as store:
                resume = cls(True, store.done_urls(), store.frontier())
        except StoreError as exc:
            logger.warning("Not resuming from the store: %s", exc)
            return cls()
        depth_limit = settings.getint("DEPTH_LIMIT")
        if depth_limit:
            resume.frontier = [(url, depth) for url, depth in resume.frontier if depth <= depth_limit]
        if jobdir:
            _drop_scrapy_request_state(Path(jobdir))
        logger.info("Resuming from %s: %d pages done, %d still to fetch", path, len(resume.done), len(resume.frontier))
        crawler.stats.set_value("mirror/resumed_from_store", len(resume.done))
        return resume


def _mark_started(jobdir: str | None) -> bool:
    """Leave a mark in JOBDIR; True if a crawl had left one there before."""
    if not jobdir:
        return False
    marker = Path(jobdir) / STARTED_MARKER
    ran_before = marker.exists()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return ran_before


def _drop_scrapy_request_state(jobdir: Path) -> None:
    for name in SCRAPY_REQUEST_STATE:
        path = jobdir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
