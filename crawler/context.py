"""What the components of one crawl share, kept on its Scrapy crawler.

The spider decides, from its start URLs, which mirror each site is fetched on (its
:class:`~crawler.url.plan.MirrorPlan`). Components need that plan too: the middleware
that keeps requests on the mirror, the one that picks a site's Tor circuit, the archive.
They get it from the crawler, through :meth:`CrawlContext.of`, rather than by looking
for an attribute on ``crawler.spider``: a component holds the crawl's context from the
moment it is made, and the spider fills it in when it is made.

>>> from scrapy.utils.test import get_crawler
>>> crawler = get_crawler()
>>> CrawlContext.of(crawler) is CrawlContext.of(crawler), CrawlContext.of(crawler).mirror_plan
(True, None)
>>> CrawlContext.of(get_crawler()) is CrawlContext.of(crawler)  # each crawl its own
False

The crawl's round (:class:`crawler.rounds.RoundPlan`) is kept on the crawler the same way,
by ``RoundPlan.of(crawler)``, and stays its own object: it is planned from the store on the
first ask (the scheduler's, before the spider opens), it drops Scrapy's JOBDIR state and
records the round's end, while the mirror plan is the spider's, made from its arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.url.plan import MirrorPlan

__all__ = ["CrawlContext"]

_BY_CRAWLER: WeakKeyDictionary[Crawler, CrawlContext] = WeakKeyDictionary()


@dataclass
class CrawlContext:
    """One crawl's shared facts. ``mirror_plan`` is None until the spider is made, and
    stays None for a spider other than this project's ``mirror`` (whose requests are then
    left alone: nothing says which mirror they belong to)."""

    mirror_plan: MirrorPlan | None = None

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlContext:
        """The crawl's context, made on the first ask (the spider and the components ask)."""
        context = _BY_CRAWLER.get(crawler)
        if context is None:
            context = _BY_CRAWLER[crawler] = cls()
        return context
