"""Downloader middlewares that keep a crawl on its mirror and on Tor.

* :class:`StayOnMirrorMiddleware` sees every request (the spider's, redirects,
  robots.txt): a request for a crawled site's canonical host or another of its
  mirrors is re-addressed to the mirror the crawl uses; any other host is
  refused. Only requests built by this project's ``mirror`` spider are checked.
* :class:`OnionProxyMiddleware` sends every request through ``ONION_PROXY``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest

from crawler.normalize import InvalidUrl
from crawler.proxy import proxy_url_from_settings

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler


class OffMirror(IgnoreRequest):
    """A request refused because it would leave the mirror."""


class StayOnMirrorMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StayOnMirrorMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> Request | None:
        plan = getattr(self.crawler.spider, "plan", None)
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


class OnionProxyMiddleware:
    """Sets ``request.meta["proxy"]`` to ONION_PROXY on every request, always."""

    def __init__(self, proxy_url: str) -> None:
        self.proxy_url = proxy_url

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OnionProxyMiddleware:
        return cls(proxy_url_from_settings(crawler.settings))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if not self.proxy_url:
            # Never fall back to a direct connection.
            raise IgnoreRequest("ONION_PROXY is empty: refusing to fetch without a proxy")
        request.meta["proxy"] = self.proxy_url
