"""The ``-O``/``-o`` feed, written as Scrapy writes it, stopping the crawl when a write fails.

Scrapy's :class:`~scrapy.extensions.feedexport.FeedExporter` writes each item from an
``item_scraped`` signal handler: on a full disk every item after the first failed write
logged its own traceback, and the crawl went on. :class:`FeedExporter` is Scrapy's, with
the writes that reach a local file guarded: the first that fails stops the crawl with one
message (:func:`crawler.disk.write_failed`); the feed is not written to again. The store
holds every page: ``scrapy pages`` writes the same records again after the fact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.extensions import feedexport

from crawler.disk import WriteProblem, stopping, write_failed

if TYPE_CHECKING:
    from scrapy import Spider

__all__ = ["FeedExporter"]


class FeedExporter(feedexport.FeedExporter):
    """Scrapy's feed exporter; a failed write stops the crawl instead of logging a traceback per item."""

    def item_scraped(self, item: Any, spider: Spider) -> None:
        if stopping(self.crawler):
            return  # the crawl is closing for a failed write: nothing more is exported
        try:
            super().item_scraped(item, spider)
        except OSError as exc:
            self._failed(exc)

    async def _close_slot(self, slot: feedexport.FeedSlot, spider: Spider) -> None:
        try:
            await super()._close_slot(slot, spider)
        except OSError as exc:
            self._failed(exc, slot.uri)

    def _failed(self, exc: OSError, uri: str | None = None) -> None:
        where = uri or next((slot.uri for slot in self.slots), "")
        write_failed(
            self.crawler, "the feed", WriteProblem.of(exc, where.removeprefix("file://")), "give -O another path"
        )
