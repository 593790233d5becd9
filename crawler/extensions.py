"""Extensions: check the proxy before the first request; summarize at the end."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import CloseSpider

from crawler.proxy import HOW_TO_FIX, ProxyConfigError, check_proxy, parse_proxy, proxy_url_from_settings

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

PROXY_UNREACHABLE = "proxy_unreachable"


class ProxyCheck:
    """Closes the spider at once, with one clear message, if ONION_PROXY is not there."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.timeout = crawler.settings.getfloat("ONION_PROXY_CHECK_TIMEOUT")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProxyCheck:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        return extension

    async def spider_opened(self, spider: Spider) -> None:
        url = proxy_url_from_settings(self.crawler.settings)
        try:
            address = parse_proxy(url)
        except ProxyConfigError as exc:
            self._fail(f"{exc}. Nothing was fetched.")
        problem = await check_proxy(address, self.timeout)
        if problem is not None:
            self._fail(
                f"Cannot reach the proxy ONION_PROXY={address.display} ({problem}). Nothing was fetched. {HOW_TO_FIX}"
            )
        isolation = self.crawler.settings.get("ONION_PROXY_ISOLATION")
        own = address.username is None and address.scheme.startswith("socks") and isolation != "off"
        logger.info(
            "Every request goes through ONION_PROXY=%s%s",
            address.display,
            f", on circuits of this crawl's own (ONION_PROXY_ISOLATION={isolation})" if own else "",
        )

    def _fail(self, message: str) -> None:
        logger.error(message)
        self.crawler.stats.set_value("mirror/proxy_error", PROXY_UNREACHABLE)
        raise CloseSpider(PROXY_UNREACHABLE)
