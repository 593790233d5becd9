"""Item pipelines: clean each page, then store it.

* :class:`ArticlePipeline` extracts the article (text, title, authors, date,
  section, language), rewrites the HTML so that every URL in it is canonical
  and no mirror host is left, and adds a content hash.
* :class:`StorePipeline` writes pages, links and aliases to the SQLite store
  (``STORE_PATH``) in batches, one transaction each, and logs a summary at the end.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy.exceptions import CloseSpider

from crawler.extract import extract_article
from crawler.normalize import normalizer_for
from crawler.rewrite import Rewriter
from crawler.store import Store, StoreError, store_path
from crawler.summary import format_summary, summarize

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class ArticlePipeline:
    def __init__(self, rewriter: Rewriter) -> None:
        self.rewriter = rewriter

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticlePipeline:
        return cls(Rewriter(normalizer_for(crawler.settings.get("RULES_DIR"))))

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        page = ItemAdapter(item)
        raw_html = page.get("html")
        if not raw_html:
            return item
        try:
            # On the reactor thread: measured, a worker thread made the crawl slower (GIL).
            self._clean(page, raw_html)
        except Exception:  # noqa: BLE001 - one odd page must not cost the page its record
            logger.exception("Could not clean %s; stored without text and HTML", page.get("url"))
            # Never keep HTML that was not rewritten: it is full of mirror hosts.
            page["html"] = ""
            page["text"] = ""
        return item

    def _clean(self, page: ItemAdapter, raw_html: str) -> None:
        article = extract_article(raw_html, page["url"])
        page["title"] = article.title or page.get("title") or ""
        page["authors"] = article.authors
        page["published"] = article.published
        page["section"] = article.section
        page["language"] = article.language
        page["text"] = article.text
        page["html"] = self.rewriter.rewrite(raw_html, base=page["fetched_url"])
        page["content_hash"] = hashlib.sha256((article.text or page["html"]).encode()).hexdigest()


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.path = store_path(settings)
        # A shared crawl releases a request's claim once its page is stored: one page per commit.
        self.batch_size = 1 if settings.get("REDIS_URL") else settings.getint("STORE_BATCH_SIZE", 100)
        self.flush_seconds = settings.getfloat("STORE_FLUSH_SECONDS", 1.0)
        self.buffer: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()
        self.store: Store | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        try:
            self.store = Store(self.path)
        except StoreError as exc:
            logger.error("Cannot use the store: %s. Set STORE_PATH to another file.", exc)
            self.crawler.stats.set_value("mirror/store_error", str(exc))
            raise CloseSpider("store_error") from None
        logger.info("Storing pages in %s", self.path)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        self.buffer.append(dict(ItemAdapter(item)))  # shallow: the item is not changed after this
        if len(self.buffer) >= self.batch_size or time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()
        return item

    def flush(self) -> None:
        if self.store is None or not self.buffer:
            return
        self.store.write(self.buffer)
        self.crawler.stats.inc_value("mirror/stored_pages", len(self.buffer))
        self.buffer.clear()
        self.last_flush = time.monotonic()

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.store is None:
            return
        self.flush()
        summary = summarize(self.store, self.crawler.stats.get_stats())
        logger.info("Crawl summary (%s):\n%s", self.path, format_summary(summary))
        self.store.close()
