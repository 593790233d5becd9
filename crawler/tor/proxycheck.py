"""``ProxyCheck``: the extension that checks ONION_PROXY before the first request.

It runs :func:`~crawler.tor.proxy.check_proxy` when the spider opens: a proxy that is not
there, or refuses the crawl's SOCKS5 greeting, stops the crawl with one message and the
finish reason ``proxy_unreachable``; a SOCKS5 proxy that takes no credentials gets none.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NoReturn

from scrapy import signals
from scrapy.exceptions import CloseSpider

from crawler.exceptions import ProxyConfigError
from crawler.reasons import PROXY_UNREACHABLE
from crawler.tor.proxy import (
    HOW_TO_FIX,
    METHOD_NAMES,
    NO_AUTH,
    ProxyAddress,
    ProxyCheckResult,
    StreamIsolation,
    check_proxy,
    parse_proxy,
    proxy_url_from_settings,
    stream_isolation,
)

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

__all__ = ["ProxyCheck"]

logger = logging.getLogger(__name__)


class ProxyCheck:
    """Closes the spider at once, with one clear message, if ONION_PROXY is not there or
    refuses the crawl's SOCKS5 greeting; learns, before the first request, whether a SOCKS5
    proxy takes the crawl's credentials (Tor does) or none (then the crawl sends none, and
    says once that its streams are not isolated)."""

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
            isolation = stream_isolation(self.crawler)
        except ProxyConfigError as exc:
            self._fail(f"{exc}. Nothing was fetched.")
        assert isolation is not None  # ONION_PROXY parsed, so it is not empty
        credentials = isolation.credentials()
        result = await check_proxy(address, self.timeout, credentials)
        if not result.reachable:
            self._fail(
                f"Cannot reach the proxy ONION_PROXY={address.display} ({result.problem}). Nothing was fetched. "
                f"{HOW_TO_FIX}"
            )
        if result.problem is not None:
            self._fail(_refusal_message(address, result, isolation))
        if result.method is not None:
            self.crawler.stats.set_value("proxy/socks_method", METHOD_NAMES[result.method])
        if result.method == NO_AUTH and credentials is not None:
            # It takes no credentials: send none (each request would offer username/password
            # alone, which such a proxy refuses), and say once what that costs.
            mode = isolation.requested_mode
            isolation.drop_credentials()
            logger.warning(
                "Every request goes through ONION_PROXY=%s without SOCKS credentials: it takes none (it chose "
                '"no authentication"), so this crawl\'s streams are not isolated from other programs using it%s.',
                address.display,
                f" (ONION_PROXY_ISOLATION={mode} needs a proxy that takes credentials, as Tor's SocksPort does; "
                "-s ONION_PROXY_ISOLATION=off if that is meant)"
                if address.username is None
                else "",
            )
            return
        logger.info(
            "Every request goes through ONION_PROXY=%s%s",
            address.display,
            f", on circuits of this crawl's own (ONION_PROXY_ISOLATION={isolation.mode})"
            if isolation.own_credentials
            else "",
        )

    def _fail(self, message: str) -> NoReturn:
        logger.error(message)
        self.crawler.stats.set_value("mirror/proxy_error", PROXY_UNREACHABLE)
        raise CloseSpider(PROXY_UNREACHABLE)


def _refusal_message(address: ProxyAddress, result: ProxyCheckResult, isolation: StreamIsolation) -> str:
    """A SOCKS5 proxy answered, but refused the greeting or the credentials. (No "://" in the
    hints: the log's credential mask would take ``scheme://USER:PASSWORD@`` for real ones.)"""
    if isolation.own_credentials:
        whose = " (with this crawl's stream-isolation credentials)"
        hint = (
            '-s ONION_PROXY_ISOLATION=off makes the crawl offer "no authentication" alone, without credentials '
            "(its streams are then not isolated); a proxy that wants credentials of its own takes them in the "
            "ONION_PROXY URL (user:password@ before the host)."
        )
    elif address.username is not None:
        whose = " (with the credentials in ONION_PROXY)"
        hint = "Check the user name and password in ONION_PROXY, or point it at Tor's SocksPort."
    else:
        whose = ""
        hint = (
            "A proxy that wants a user name and password takes them in the ONION_PROXY URL "
            "(user:password@ before the host); Tor's SocksPort needs none."
        )
    return (
        f"Cannot use the proxy ONION_PROXY={address.display}: offered {result.offered_names}{whose} in the "
        f"SOCKS5 greeting, {result.problem}. Nothing was fetched. {hint}"
    )
