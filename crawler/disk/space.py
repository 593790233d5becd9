"""Low disk, seen before it is full: ``STORE_MIN_FREE_MB`` on every disk the crawl writes to.

A write that fails on a full disk stops the crawl cleanly (:mod:`crawler.disk`), but it
can leave the last WARC record to be cut back and the last page to be fetched again.
:class:`FreeSpaceGuard` looks at the free space of the disks that hold ``STORE_PATH``,
``JOBDIR``, ``WARC_DIR`` and the local feeds, before the first request and then every
``STORE_FREE_CHECK_INTERVAL`` seconds, and stops the crawl with the same message and the
same exit status (75) when one has less than ``STORE_MIN_FREE_MB`` left: the same command,
once space is freed, goes on. ``STORE_MIN_FREE_MB = 0`` turns the guard off.

>>> low = [place for place in free_space(["."]) if place.free_mb < 0]
>>> low
[]
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.utils.job import job_dir

from crawler.disk import WriteProblem, stopping, write_failed
from crawler.reasons import DISK_FULL

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["FreeSpace", "FreeSpaceGuard", "free_space", "write_paths"]

logger = logging.getLogger(__name__)

_MIB = 1 << 20


@dataclass(frozen=True)
class FreeSpace:
    """How much an unprivileged process may still write on the disk that holds ``path``."""

    path: str
    free_mb: float


def free_space(paths: Iterable[str | Path]) -> list[FreeSpace]:
    """The free space of each disk under ``paths``, once per disk (named by its first path).

    A path that does not exist yet is judged by the nearest folder above it that does. A
    read-only file system is left out: no space frees it, and its first write says so."""
    seen: set[int] = set()
    found = []
    for path in paths:
        existing = _existing(Path(path))
        status = os.statvfs(existing)
        device = os.stat(existing).st_dev
        if device in seen or status.f_flag & os.ST_RDONLY:
            continue
        seen.add(device)
        found.append(FreeSpace(str(path), status.f_bavail * status.f_frsize / _MIB))
    return found


def write_paths(crawler: Crawler) -> list[str]:
    """Where this crawl writes: the store, JOBDIR, WARC_DIR and the feeds that are local files."""
    settings = crawler.settings
    paths = [settings["STORE_PATH"], job_dir(settings) or "", settings["WARC_DIR"]]
    for uri in settings.getdict("FEEDS"):
        text = str(uri)
        if text.startswith("file://"):
            paths.append(text.removeprefix("file://"))
        elif "://" not in text:
            paths.append(text)
    return [path for path in paths if path]


class FreeSpaceGuard:
    """Stops the crawl (exit 75) before a write fails for want of space."""

    def __init__(self, crawler: Crawler, min_free_mb: float, interval: float) -> None:
        self.crawler = crawler
        self.min_free_mb = min_free_mb
        self.interval = interval
        self._watch: asyncio.Task[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FreeSpaceGuard:
        min_free_mb = crawler.settings.getfloat("STORE_MIN_FREE_MB")
        if min_free_mb <= 0:
            raise NotConfigured
        guard = cls(crawler, min_free_mb, crawler.settings.getfloat("STORE_FREE_CHECK_INTERVAL"))
        crawler.signals.connect(guard.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(guard.spider_closed, signal=signals.spider_closed)
        return guard

    def spider_opened(self, spider: Any) -> None:
        low = self.low()
        if low is not None:
            logger.error("%s. Nothing was fetched.", self._message(low))
            self.crawler.stats.set_value("disk/write_error", f"{low.path}: {low.free_mb:.0f} MiB free")
            raise CloseSpider(DISK_FULL)
        self._watch = asyncio.get_event_loop().create_task(self._watch_forever())

    def spider_closed(self, spider: Any) -> None:
        if self._watch is not None:
            self._watch.cancel()

    def low(self) -> FreeSpace | None:
        """The first disk the crawl writes to that has less than STORE_MIN_FREE_MB free, if any."""
        try:
            places = free_space(write_paths(self.crawler))
        except OSError as exc:  # a folder that went away: the write there will say what is wrong
            logger.debug("Cannot read the free space: %s", exc)
            return None
        return next((place for place in places if place.free_mb < self.min_free_mb), None)

    async def _watch_forever(self) -> None:
        while not stopping(self.crawler):
            await asyncio.sleep(self.interval)
            low = self.low()
            if low is not None:
                reason = f"{low.free_mb:.0f} MiB left, under STORE_MIN_FREE_MB={self.min_free_mb:g}"
                write_failed(self.crawler, "on the disk of", WriteProblem(low.path, reason, try_again_later=True))
                return

    def _message(self, low: FreeSpace) -> str:
        return (
            f"Only {low.free_mb:.0f} MiB free on the disk of {low.path}, under STORE_MIN_FREE_MB={self.min_free_mb:g}: "
            "free some space (or lower STORE_MIN_FREE_MB), then run the same command again"
        )


def _existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
