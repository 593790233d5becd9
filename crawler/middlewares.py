"""Downloader middlewares that keep a crawl on its mirror and on Tor.

* :class:`StayOnMirrorMiddleware` sees every request (the spider's, redirects,
  robots.txt): a request for a crawled site's canonical host or another of its
  mirrors is re-addressed to the mirror the crawl uses; any other host is
  refused. Only requests built by this project's ``mirror`` spider are checked. It
  is the last guard: the spider asks :func:`crawler.links.follow_address` first.
* :class:`OnionProxyMiddleware` sends every request through ``ONION_PROXY``, with
  SOCKS credentials of the crawl's own (Tor's stream isolation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

from crawler.exceptions import CrawlerError, InvalidUrl
from crawler.proxy import ProxyConfigError, StreamIsolation, proxy_url_from_settings, stream_isolation

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler


class OffMirror(IgnoreRequest, CrawlerError):
    """A request refused because it would leave the mirror. A Scrapy ``IgnoreRequest``
    (like :class:`~crawler.outage.Postponed`), defined with the middleware that raises it."""


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
    """Sets ``request.meta["proxy"]`` to ONION_PROXY on every request, always, with the
    crawl's own SOCKS credentials (``ONION_PROXY_ISOLATION``, see :class:`StreamIsolation`),
    unless the start-up check (:class:`~crawler.extensions.ProxyCheck`) found that the proxy
    takes none."""

    def __init__(self, crawler: Crawler, proxy_url: str, isolation: StreamIsolation | None) -> None:
        self.crawler = crawler
        self.proxy_url = proxy_url
        self.isolation = isolation

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OnionProxyMiddleware:
        # The crawl's one StreamIsolation: the start-up check drops its credentials if the proxy takes none.
        try:
            isolation = stream_isolation(crawler)
        except ProxyConfigError:
            isolation = None  # every request refused; the start-up check says why and stops the crawl
        return cls(crawler, proxy_url_from_settings(crawler.settings), isolation)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.isolation is None:
            # Never fall back to a direct connection.
            raise IgnoreRequest("ONION_PROXY is empty: refusing to fetch without a proxy")
        # Only per-site isolation needs the request's site: no host lookup per request otherwise.
        site_key = self._site_key(request.url) if self.isolation.mode == "site" else None
        request.meta["proxy"] = self.isolation.proxy_url_for(site_key)

    def _site_key(self, url: str) -> str | None:
        plan = getattr(self.crawler.spider, "plan", None)
        mirror = plan.normalizer.mirror_for_host(urlsplit(url).hostname or "") if plan is not None else None
        return mirror.site if mirror is not None else None
