"""The download handler: Scrapy's httpx handler, reading Tor's SOCKS errors.

Scrapy's httpx handler is the one Scrapy handler that speaks SOCKS5 (``socks5h``:
host names go to Tor unresolved). Its SOCKS client, socksio, knows only the
RFC 1928 reply codes; Tor with ``ExtendedErrors`` answers onion-service failures
with 0xF0-0xF7, which socksio reports as a "Malformed reply". This handler
teaches it those codes, so that the crawl can say what Tor said.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers._httpx import HttpxDownloadHandler

from crawler.tor import read_tor_socks_replies

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class OnionDownloadHandler(HttpxDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        read_tor_socks_replies()
        super().__init__(crawler)
