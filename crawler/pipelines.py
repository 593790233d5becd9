"""Item pipelines: clean each page, then store it.

* :class:`ArticlePipeline` extracts the article (text, title, authors, date,
  section, language), rewrites the HTML so that every URL in it is canonical
  and no mirror host is left, and adds a content hash. A page past what the
  extractor handles in bounded memory (``EXTRACT_MAX_BYTES``, ``EXTRACT_MAX_TAGS``,
  or nested deeper than its parser keeps) is stored with its HTML, not extracted.
* :class:`StorePipeline` writes pages, links and aliases to the SQLite store
  (``STORE_PATH``) as checks of the crawl's round (a new version when the article
  changed), each committed before the item is done, and logs a summary at the end.
  A 304 (not modified) is recorded in the store and goes no further: the feed
  (``-O pages.jsonl``) holds the pages fetched with a body.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from itemadapter import ItemAdapter
from scrapy.exceptions import CloseSpider, DropItem

from crawler import disk
from crawler.exceptions import ExtractionSkipped
from crawler.extract import check_size, extract_article
from crawler.reasons import STORE_ERROR
from crawler.rounds import RoundPlan
from crawler.store import Store, StoreError, store_path
from crawler.store.database import Check
from crawler.store.summary import format_summary, summarize
from crawler.store.writer import StoreWriter
from crawler.url.normalize import normalizer_for
from crawler.url.rewrite import Rewriter

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class ArticlePipeline:
    """Cleans each page, in memory bounded by ``max_bytes`` and ``max_tags`` (0: no limit).

    A page past either, or nested deeper than the extractor's parser keeps, is rewritten but not
    extracted: ``extra["clean_skipped"]`` names the treatment (``"too-large: 5242880 bytes >
    EXTRACT_MAX_BYTES (4194304)"``), the stat ``mirror/clean_skipped/<reason>`` counts it, and one
    warning says it. (The spider reads no page past ``PAGE_MAX_BYTES``: see :mod:`crawler.spiders.mirror`.)
    """

    def __init__(
        self, rewriter: Rewriter, max_bytes: int = 0, max_tags: int = 0, stats: StatsCollector | None = None
    ) -> None:
        self.rewriter = rewriter
        self.max_bytes = max_bytes
        self.max_tags = max_tags
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticlePipeline:
        settings = crawler.settings
        rewriter = Rewriter(normalizer_for(settings.get("RULES_DIR")))
        return cls(rewriter, settings.getint("EXTRACT_MAX_BYTES"), settings.getint("EXTRACT_MAX_TAGS"), crawler.stats)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        page = ItemAdapter(item)
        raw_html = page.get("html")
        if not raw_html:
            return item
        # On the reactor thread: measured, a worker thread made the crawl slower (GIL).
        # Two parts, each on its own: one that fails costs the page only that part.
        failed: dict[str, str] = {}
        try:
            check_size(raw_html, self.max_bytes, self.max_tags)
            self._extract(page, raw_html)
        except ExtractionSkipped as exc:
            page["text"] = ""
            self._skipped(page, exc)
        except Exception as exc:  # noqa: BLE001 - one odd page must not cost the page its record
            failed["text"] = f"{type(exc).__name__}: {exc}"
            page["text"] = ""
        try:
            page["html"] = self.rewriter.rewrite(raw_html, base=page["fetched_url"])
        except Exception as exc:  # noqa: BLE001 - e.g. an InvalidUrl fetched_url
            failed["html"] = f"{type(exc).__name__}: {exc}"
            page["html"] = ""  # never keep HTML that was not rewritten: it is full of mirror hosts
        if page.get("text") or page.get("html"):
            page["content_hash"] = _sha256(page.get("text") or page["html"])
        if failed:
            kept = [part for part in ("text", "html") if part not in failed]
            logger.warning(
                "Could not clean %s (%s); stored %s",
                page.get("url"),
                "; ".join(f"{part}: {why}" for part, why in failed.items()),
                f"with its {' and '.join(kept)} only" if kept else "without text and HTML",
            )
            extra = page.get("extra")
            if isinstance(extra, dict):
                extra["clean_failed"] = failed
        return item

    def _skipped(self, page: ItemAdapter, exc: ExtractionSkipped) -> None:
        logger.warning("Did not extract %s (%s); stored with its HTML, without text", page.get("url"), exc)
        extra = page.get("extra")
        if isinstance(extra, dict):
            extra["clean_skipped"] = str(exc)
        if self.stats is not None:
            self.stats.inc_value(f"mirror/clean_skipped/{exc.reason}")

    def _extract(self, page: ItemAdapter, raw_html: str) -> None:
        site = self.rewriter.normalizer.rules.site_for_host(urlsplit(page["url"]).hostname or "")
        article = extract_article(raw_html, page["url"], site.updated_selector if site is not None else None)
        page["title"] = article.title or page.get("title") or ""
        page["authors"] = article.authors
        page["published"] = article.published
        page["modified"] = article.modified
        page["section"] = article.section
        page["language"] = article.language
        page["text"] = article.text


_HASH_CHUNK = 1 << 20


def _sha256(text: str) -> str:
    """The SHA-256 of ``text`` in UTF-8, encoded a MiB at a time (a large page is not copied whole)."""
    digest = hashlib.sha256()
    for start in range(0, len(text), _HASH_CHUNK):
        digest.update(text[start : start + _HASH_CHUNK].encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class StorePipeline:
    """Stores every page; an item is done once its page is committed (see :mod:`crawler.store.writer`)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.path = store_path(crawler.settings)
        self.batch_size = crawler.settings.getint("STORE_BATCH_SIZE")
        self.min_text_ratio = crawler.settings.getfloat("RECRAWL_MIN_TEXT_RATIO")
        self.store: Store | None = None
        self.writer: StoreWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        this_round = RoundPlan.of(self.crawler).round
        try:
            self.store = Store(self.path, min_text_ratio=self.min_text_ratio)
        except StoreError as exc:
            logger.error("Cannot use the store: %s. Set STORE_PATH to another file.", exc)
            self.crawler.stats.set_value("mirror/store_error", str(exc))
            raise CloseSpider(STORE_ERROR) from None
        number = this_round.number if this_round is not None else self.store.begin_round(new=None).number
        self.writer = StoreWriter(self.store, self.batch_size, number).start()
        logger.info("Storing pages in %s", self.path)

    async def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        assert self.writer is not None
        page = ItemAdapter(item)
        if disk.stopping(self.crawler):
            raise DropItem(f"not stored, the crawl is stopping for a failed write: {page['url']}", log_level="DEBUG")
        try:
            outcome = await self.writer.write(dict(page))  # shallow: the item is not changed after this
        except Exception as exc:  # noqa: BLE001 - a disk that is full, a file that went away
            self._write_failed(exc)
            raise DropItem(f"not stored: {exc}", log_level="DEBUG") from None
        stats = self.crawler.stats
        stats.inc_value("mirror/stored_pages")
        stats.inc_value(f"mirror/checks/{outcome.value}")
        if outcome == Check.EXTRACTION_FAILED:
            logger.warning("Extraction of %s came back empty or far shorter: the last version stands", page["url"])
        extra = page.get("extra")
        if isinstance(extra, dict):
            extra["check"] = outcome.value
        if outcome == Check.NOT_MODIFIED:
            raise DropItem(f"not modified: {page['url']}", log_level="DEBUG")  # stored; no body for the feed
        return item

    def _write_failed(self, exc: Exception) -> None:
        disk.write_failed(self.crawler, "to the store", disk.WriteProblem.of(exc, self.path), "set STORE_PATH")

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.store is None:
            return
        if self.writer is not None:
            self.writer.stop()
            self.crawler.stats.set_value("mirror/store_transactions", self.writer.transactions)
        try:
            summary = summarize(self.store, self.crawler.stats.get_stats())
            logger.info("Crawl summary (%s):\n%s", self.path, format_summary(summary))
            self.store.close()  # the WAL checkpoint writes too
        except (OSError, sqlite3.Error) as exc:
            self._write_failed(exc)
