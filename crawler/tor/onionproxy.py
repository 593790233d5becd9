"""``OnionProxyMiddleware``: every request through ``ONION_PROXY``, never a direct connection.

A downloader middleware that sets ``request.meta["proxy"]`` on every request, with SOCKS
credentials of the crawl's own (Tor's stream isolation, :class:`~crawler.tor.proxy.StreamIsolation`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

from crawler.context import CrawlContext
from crawler.exceptions import ProxyConfigError
from crawler.tor.proxy import StreamIsolation, proxy_url_from_settings, stream_isolation

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

__all__ = ["OnionProxyMiddleware"]


class OnionProxyMiddleware:
    """Sets ``request.meta["proxy"]`` to ONION_PROXY on every request, always, with the
    crawl's own SOCKS credentials (``ONION_PROXY_ISOLATION``, see :class:`StreamIsolation`),
    unless the start-up check (:class:`~crawler.tor.proxycheck.ProxyCheck`) found that the proxy
    takes none."""

    def __init__(self, crawler: Crawler, proxy_url: str, isolation: StreamIsolation | None) -> None:
        self.crawler = crawler
        self.proxy_url = proxy_url
        self.isolation = isolation
        self.context = CrawlContext.of(crawler)

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
        plan = self.context.mirror_plan
        mirror = plan.normalizer.mirror_for_host(urlsplit(url).hostname or "") if plan is not None else None
        return mirror.site if mirror is not None else None
