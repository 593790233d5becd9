"""``WarcIdentityMiddleware``: each page's canonical identity into the WARC files.

A spider middleware (``WARC_DIR`` turns it on). For each page the spider made from an
archived response, it writes the page's metadata record and the revisits that make
the capture replay under its canonical URL and aliases
(:meth:`crawler.archive.archive.Archive.identify`). Spider output reaches the item
pipelines after this, so a page is archived before it is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from crawler.archive.archive import Archive, NotArchived
from crawler.items import Page

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["WarcIdentityMiddleware"]


class WarcIdentityMiddleware:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcIdentityMiddleware:
        return cls(Archive.of(crawler))

    def process_spider_output(self, response: Response, result: Iterable[Any], spider: Any = None) -> Iterator[Any]:
        for item in result:
            if self._identify(response, item):
                yield item

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Any = None
    ) -> AsyncIterator[Any]:
        async for item in result:
            if self._identify(response, item):
                yield item

    def _identify(self, response: Response, item: Any) -> bool:
        """Archive the page's identity; False when it could not be written (the page is then not
        passed on: the crawl is stopping, and the next run fetches it again)."""
        request = getattr(response, "request", None)
        capture = self.archive.captures.get(request) if request is not None else None
        if isinstance(item, Page) and capture is not None and item.fetched_url == capture.uri:
            try:
                self.archive.identify(capture, item, response.meta.get("via"))
            except NotArchived:
                return False
        return True
