"""The download handler: Scrapy's httpx handler, reading Tor's SOCKS errors.

Scrapy's httpx handler is the one Scrapy handler that speaks SOCKS5 (``socks5h``:
host names go to Tor unresolved). Its SOCKS client, socksio, knows only the
RFC 1928 reply codes; Tor with ``ExtendedErrors`` answers onion-service failures
with 0xF0-0xF7, which socksio reports as a "Malformed reply". This handler
teaches it those codes, so that the crawl can say what Tor said.

With an archive (``WARC_DIR``), it also keeps each exchange as it crossed the wire
for :mod:`crawler.archive.capture`: Scrapy's response has neither the reason phrase
nor the headers the HTTP client added (``Host``), and merges repeated headers by name.

Scrapy marks its httpx handler experimental and warns so for every instance (twice a
crawl: one handler for http, one for https), which a user reads as a verdict on this
project. Scrapy 2.19 has no other handler for SOCKS: its Twisted HTTP/1.1 handler speaks
to HTTP proxies only, its HTTP/2 one to none, and its aiohttp one (experimental too) to
HTTP proxies only. So the crawl says once, in its own words, which handler it uses and
why, and drops exactly that warning (:func:`_without_experimental_warning`).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from scrapy.core.downloader.handlers._base_streaming import BaseStreamingDownloadHandler
from scrapy.core.downloader.handlers._httpx import HttpxDownloadHandler

from crawler.archive.capture import EXCHANGE
from crawler.archive.records import HttpExchange
from crawler.tor.replies import read_tor_socks_replies

if TYPE_CHECKING:
    import httpx2 as httpx
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Headers

__all__ = ["WHICH_HANDLER", "OnionDownloadHandler", "describe_exchange"]

logger = logging.getLogger(__name__)

WHICH_HANDLER = (
    "Downloading with Scrapy's httpx handler: the one Scrapy handler that speaks SOCKS5 with host names "
    "resolved by the proxy (socks5h), so that no .onion name is looked up on this machine"
)
_told: weakref.WeakSet[Crawler] = weakref.WeakSet()


class OnionDownloadHandler(HttpxDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        read_tor_socks_replies()
        with _without_experimental_warning(type(self).__name__):
            super().__init__(crawler)
        self._describe_exchanges = bool(crawler.settings.get("WARC_DIR"))
        if crawler not in _told:
            _told.add(crawler)
            logger.info(WHICH_HANDLER)

    def _build_base_response_args(  # type: ignore[override]  # an instance method where Scrapy's is static
        self, response: httpx.Response, request: Request, headers: Headers
    ) -> Any:
        """Scrapy's response arguments; with an archive, also the exchange as it crossed the
        wire (request line and headers as sent, status line and headers as received)."""
        args = super()._build_base_response_args(response, request, headers)
        if self._describe_exchanges:
            request.meta[EXCHANGE] = describe_exchange(response, request.body)
        return args


@contextmanager
def _without_experimental_warning(handler_name: str) -> Iterator[None]:
    """Drop Scrapy's "<handler> is experimental and is not recommended for production use."
    while the handler is built, and nothing else: that message, from that logger."""
    scrapy_logger = logging.getLogger(BaseStreamingDownloadHandler.__module__)
    unwanted = f"{handler_name} is experimental and is not recommended for production use."

    def keep(record: logging.LogRecord) -> bool:
        return record.getMessage() != unwanted

    scrapy_logger.addFilter(keep)
    try:
        yield
    finally:
        scrapy_logger.removeFilter(keep)


def describe_exchange(response: httpx.Response, request_body: bytes) -> HttpExchange:
    """The :class:`~crawler.archive.records.HttpExchange` of an httpx response."""
    sent = response.request
    return HttpExchange(
        method=sent.method,
        target=sent.url.raw_path.decode("ascii"),
        request_headers=_text_headers(sent.headers.raw),
        protocol=response.http_version,
        status=response.status_code,
        reason=response.reason_phrase,
        response_headers=_text_headers(response.headers.raw),
        request_body=request_body,
    )


def _text_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]
