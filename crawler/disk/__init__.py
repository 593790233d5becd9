"""Every write the crawl makes, and what happens when one fails.

A crawl writes in four places: the store (``STORE_PATH``), the archive (``WARC_DIR``),
Scrapy's ``JOBDIR`` (its request queue, its seen-set, ``spider.state``) and the feed
(``-O pages.jsonl``). On a crawl that runs for days any of them can fail: the disk
fills up, the file system turns read-only, a folder's permissions change. Wherever a
write fails, its component calls :func:`write_failed`, which

* logs one message naming the path and the operating system's reason, with what to do,
  once per crawl however many writes fail after it (and no traceback);
* stops the crawl at once, with the finish reason ``disk_full`` (exit 75: run the same
  command again once space is freed, it goes on where this one stopped) or
  ``write_failed`` (exit 1: a read-only file system or a permission needs fixing first);
* leaves every committed page committed: a page whose write failed is not in the store,
  so the next run fetches it again (the store decides what is left, see
  :mod:`crawler.rounds`).

Components ask :func:`stopping` before writing again, so that a crawl that is closing
does not knock on a full disk for every page still in flight.

Low disk is seen before it is full: :mod:`crawler.disk.space` stops the crawl the same
way when a disk the crawl writes to has less than ``STORE_MIN_FREE_MB`` free.

>>> import errno
>>> problem = WriteProblem.of(OSError(errno.ENOSPC, "No space left on device"), "crawl.sqlite3")
>>> problem.reason, problem.try_again_later
('No space left on device', True)
>>> WriteProblem.of(OSError(errno.EROFS, "Read-only file system"), "job").finish_reason
'write_failed'
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.reasons import DISK_FULL, WRITE_FAILED

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["WriteProblem", "first_problem", "stopping", "write_failed"]

logger = logging.getLogger(__name__)

# The errors a later run can get past by itself once space is freed; any other needs a fix first.
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full" (https://www.sqlite.org/rescode.html#full)
_STOPPED = "_write_failure"  # the crawler attribute that holds the first WriteProblem


@dataclass(frozen=True)
class WriteProblem:
    """A write that failed: where, the operating system's reason, and whether waiting helps."""

    path: str
    reason: str
    try_again_later: bool

    @classmethod
    def of(cls, error: BaseException, path: str | Path) -> WriteProblem:
        """Read ``error`` (an ``OSError`` or an SQLite error) raised while writing ``path``."""
        if isinstance(error, OSError):
            reason = error.strerror or str(error) or type(error).__name__
            return cls(str(error.filename or path), reason, error.errno in _NO_SPACE)
        if isinstance(error, sqlite3.Error):
            full = getattr(error, "sqlite_errorcode", None) == _SQLITE_FULL or "full" in str(error)
            return cls(str(path), str(error), full)
        return cls(str(path), f"{type(error).__name__}: {error}", False)

    @property
    def finish_reason(self) -> str:
        return DISK_FULL if self.try_again_later else WRITE_FAILED


def write_failed(crawler: Crawler, what: str, problem: WriteProblem, hint: str = "") -> bool:
    """Stop the crawl for a failed write of ``what`` (``"the store"``, ``"the archive"``...).

    Says so once per crawl; returns False when the crawl was already stopping for an
    earlier one (the caller then has nothing more to say either). ``hint`` names the
    setting that moves the path elsewhere."""
    if stopping(crawler):
        logger.debug("Also failed, while stopping: %s %s (%s)", what, problem.path, problem.reason)
        return False
    setattr(crawler, _STOPPED, problem)
    if problem.try_again_later:
        what_to_do = "Free some space, then run the same command again: it goes on where this one stopped."
    else:
        what_to_do = f"Make it writable{f' or {hint}' if hint else ''}, then run the same command again."
    logger.error(
        "Cannot write %s %s (%s): stopping the crawl; every page stored so far is kept. %s",
        what,
        problem.path,
        problem.reason,
        what_to_do,
    )
    crawler.stats.set_value("disk/write_error", f"{problem.path}: {problem.reason}")
    _close(crawler, problem.finish_reason)
    return True


def stopping(crawler: Crawler) -> bool:
    """Whether a failed write has stopped this crawl already."""
    return first_problem(crawler) is not None


def first_problem(crawler: Crawler) -> WriteProblem | None:
    """The failed write that stopped this crawl, if one did."""
    problem: WriteProblem | None = getattr(crawler, _STOPPED, None)
    return problem


def _close(crawler: Crawler, reason: str) -> None:
    engine = crawler.engine
    if engine is None or not engine.running:
        return  # not started yet: crawler.disk.state.SpiderState closes the spider as it opens
    asyncio.ensure_future(engine.close_spider_async(reason=reason))
