"""``spider.state`` in JOBDIR, written so that no crash or full disk leaves half of it.

Scrapy's :class:`~scrapy.extensions.spiderstate.SpiderState` pickles the spider's
``state`` dict into ``JOBDIR/spider.state`` when the spider closes, over the old file:
a full disk left it truncated, and the next run logged an ``EOFError`` traceback reading
it. :class:`SpiderState` writes a new file beside it and renames it over the old one
(``os.replace``, atomic on POSIX), so the file is whole or the old one; a write that
fails is said in one line. A state that cannot be read (left by an older release, or
damaged) is set aside before the crawl starts by :mod:`crawler.rounds`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.exceptions import CloseSpider
from scrapy.extensions import spiderstate

from crawler.disk import WriteProblem, first_problem, stopping

if TYPE_CHECKING:
    from scrapy import Spider

__all__ = ["SpiderState"]

logger = logging.getLogger(__name__)


class SpiderState(spiderstate.SpiderState):
    """Scrapy's spider state, written whole or not at all; a JOBDIR that could not be written
    as the crawl was planned (read-only) closes the spider as it opens."""

    def spider_opened(self, spider: Spider) -> None:
        problem = first_problem(spider.crawler)
        if problem is not None:
            raise CloseSpider(problem.finish_reason)
        super().spider_opened(spider)

    def spider_closed(self, spider: Spider) -> None:
        if not self.jobdir:
            return
        path = Path(self.statefn)
        partial = path.with_name(f"{path.name}.new")
        try:
            with partial.open("wb") as file:
                pickle.dump(getattr(spider, "state", {}), file, protocol=4)
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, path)
        except OSError as exc:
            with contextlib.suppress(OSError):  # a read-only file system refuses even this
                partial.unlink(missing_ok=True)
            problem = WriteProblem.of(exc, path)
            log = logger.info if stopping(spider.crawler) else logger.warning
            log("Could not save %s (%s): the store holds the crawl's progress, nothing is lost", path, problem.reason)
