"""``WarcCaptureMiddleware``: every response, as it came off the wire, into the WARC files.

A downloader middleware placed next to the download handler (``WARC_DIR`` turns it
on), so that it sees every response before any other middleware changes it: before
HttpCompressionMiddleware decodes the body, before RetryMiddleware retries a 503 or
RedirectMiddleware follows a 301. The request line and headers come from what the
HTTP client really sent, the status line and headers from what it received
(:class:`crawler.tor.download.OnionDownloadHandler` keeps them in ``request.meta``).

A fetch that failed (a timeout, a refused connection, a mirror Tor cannot reach) has
no response and leaves no record. Probes of an unreachable mirror are not archived.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy.http import Response

from crawler.archive.archive import Archive
from crawler.archive.records import HttpExchange
from crawler.rounds import PREVIOUS_CAPTURE
from crawler.tor.outage import PROBE

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

__all__ = ["EXCHANGE", "WarcCaptureMiddleware"]

EXCHANGE = "warc_exchange"  # request.meta key: the HttpExchange, set by the download handler


class WarcCaptureMiddleware:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        return cls(Archive.of(crawler))

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        exchange = request.meta.pop(EXCHANGE, None) or _exchange_from_scrapy(request, response)
        if request.meta.get(PROBE):
            return response
        truncated = "dataloss" in response.flags
        previous = request.meta.get(PREVIOUS_CAPTURE)
        self.archive.captures[request] = self.archive.capture(
            response.url, exchange, response.body, truncated, previous
        )
        return response


def _exchange_from_scrapy(request: Request, response: Response) -> HttpExchange:
    """What Scrapy knows of an exchange the download handler did not describe (another
    handler): the headers Scrapy set, and the standard reason phrase."""
    parts = urlsplit(response.url)
    return HttpExchange(
        method=request.method,
        target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        request_headers=_header_list(request.headers),
        protocol=response.protocol or "HTTP/1.1",
        status=response.status,
        reason="",
        response_headers=_header_list(response.headers),
        request_body=request.body,
    )


def _header_list(headers: object) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()  # type: ignore[attr-defined]
        for value in values
    ]
