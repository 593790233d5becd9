"""The downloader middleware that keeps a crawl on its mirror.

:class:`StayOnMirrorMiddleware` sees every request (the spider's, redirects,
robots.txt): a request for a crawled site's canonical host or another of its
mirrors is re-addressed to the mirror the crawl uses; any other host is
refused. Only requests built by this project's ``mirror`` spider are checked. It
is the last guard: the spider asks :func:`crawler.links.follow_address` first.

It is the crawl's own policy. Reaching the mirror through Tor (the proxy on every
request, an unreachable mirror waited out) is :mod:`crawler.tor`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest

from crawler.context import CrawlContext
from crawler.exceptions import CrawlerError, InvalidUrl

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler


class OffMirror(IgnoreRequest, CrawlerError):
    """A request refused because it would leave the mirror. A Scrapy ``IgnoreRequest``
    (like :class:`~crawler.tor.outage.Postponed`), defined with the middleware that raises it."""


class StayOnMirrorMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.context = CrawlContext.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StayOnMirrorMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> Request | None:
        plan = self.context.mirror_plan
        if plan is None or plan.is_on_mirror(request.url):
            return None
        stats = self.crawler.stats
        try:
            address = plan.fetch_address(request.url)
        except InvalidUrl:
            address = None
        if address is None:
            stats.inc_value("mirror/refused_off_mirror")
            raise OffMirror(f"not fetched: {request.url} is not on the mirror")
        stats.inc_value("mirror/readdressed_to_mirror")
        return request.replace(url=address, dont_filter=True)
