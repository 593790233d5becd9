"""The crawl's archive: what each fetch, and each page made of it, writes to the WARC files.

Per fetch (:meth:`Archive.capture`, from the downloader, before anything else sees
the response): a ``response`` record, or an identical-payload ``revisit`` when the
same payload is archived already, or a server-not-modified ``revisit`` when the mirror
answered a conditional request with 304 (it refers to the capture of the page's last
answer, kept in the store, as Heritrix writes it), then its ``request`` record
(``WARC-Concurrent-To`` the response). Both name the onion URL that was fetched.

Per page (:meth:`Archive.identify`, from the spider's output, before the page is
stored): a ``metadata`` record (``WARC-Refers-To`` the response) with the page's
canonical URL, aliases, mirror, the rule that mapped it (site file and the mirror's
source), depth and via; and a ``revisit`` under the canonical URL and each alias,
referring to the onion capture, so that replay finds the page under
``https://www.nytimes.com/...`` as well as under its onion URL.

So a page is in the archive before it is in the store: a page of the store always
has its capture.
"""

from __future__ import annotations

import hashlib
import logging
import re
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import CloseSpider, NotConfigured

from crawler import disk
from crawler.archive.files import Stored, WarcFiles
from crawler.archive.records import SERVER_NOT_MODIFIED, HttpExchange, WarcRecordBuilder, payload_digest
from crawler.exceptions import ArchiveError
from crawler.reasons import ARCHIVE_ERROR
from crawler.tor.outage import Postponed

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

    from crawler.items import Page
    from crawler.url.plan import MirrorPlan

__all__ = ["Archive", "Capture", "NotArchived"]

logger = logging.getLogger(__name__)

# WACZ (frictionless) resource names allow only these: the prefix is part of every file name.
_FILE_NAME_PART = re.compile(r"[a-z0-9.-]+")
_DEDUP_STATUSES = range(200, 300)  # only successful payloads are worth a revisit
NOT_MODIFIED = 304
_WARC_1_1 = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"


class NotArchived(Postponed):
    """A fetch whose records could not be written (the crawl stops): its page is not stored,
    and the next run fetches it again."""


@dataclass(frozen=True)
class Capture:
    """One archived fetch: its response (or revisit) record, and where its payload is."""

    record_id: str
    uri: str  # the onion URL fetched
    date: str
    digest: str
    exchange: HttpExchange
    payload: Stored  # the record holding the payload (this one, or the one it revisits)

    def as_dict(self) -> dict[str, str]:
        """Where the payload is, as the store keeps it (what a later 304 refers to)."""
        return {
            "record_id": self.payload.record_id,
            "uri": self.payload.uri,
            "date": self.payload.date,
            "digest": self.digest,
        }


class Archive:
    """The WARC series of one crawl process (``WARC_DIR``); get it with :meth:`of`."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.builder = WarcRecordBuilder()
        self._files: WarcFiles | None = None
        # The capture of each request's response, for the spider middleware. Not in request.meta:
        # a retry or a redirect copies the meta into a new request, which a shared crawl sends to Redis.
        self.captures: weakref.WeakKeyDictionary[Request, Capture] = weakref.WeakKeyDictionary()
        crawler.signals.connect(self.open, signal=signals.spider_opened)
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    def open(self) -> None:
        """Open the series in ``WARC_DIR`` (closing what a killed run left open), before the
        first request; a folder that cannot be used stops the crawl with one message."""
        settings = self.crawler.settings
        folder, prefix = settings["WARC_DIR"], settings["WARC_PREFIX"]
        try:
            if not _FILE_NAME_PART.fullmatch(prefix):
                raise ArchiveError(f"WARC_PREFIX={prefix!r}: use lower-case letters, digits, '.' and '-' only")
            self._files = WarcFiles(folder, prefix, settings.getint("WARC_MAX_SIZE"), self._warcinfo)
        except (ArchiveError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            logger.error("Cannot archive in WARC_DIR=%s: %s. Nothing was fetched.", folder, reason)
            self.crawler.stats.set_value("warc/error", reason)
            raise CloseSpider(ARCHIVE_ERROR) from None
        logger.info("Archiving every fetch as WARC in %s", folder)

    @property
    def files(self) -> WarcFiles:
        assert self._files is not None, "the archive is opened with the spider"
        return self._files

    @classmethod
    def of(cls, crawler: Crawler) -> Archive:
        """The crawl's archive (made once); NotConfigured when ``WARC_DIR`` is not set."""
        if not crawler.settings.get("WARC_DIR"):
            raise NotConfigured  # no archive asked for; no message, so Scrapy logs no warning for it
        archive = getattr(crawler, "_warc_archive", None)
        if archive is None:
            archive = cls(crawler)
            crawler._warc_archive = archive  # type: ignore[attr-defined]
        return archive

    def close(self) -> None:
        if self._files is not None:
            try:
                self._files.close()
            except OSError as exc:  # an .open file left: the next run cuts it to its last record
                problem = disk.WriteProblem.of(exc, self.crawler.settings["WARC_DIR"])
                disk.write_failed(self.crawler, "to the archive", problem, "set WARC_DIR to another folder")

    # -- per fetch -------------------------------------------------------------------

    def capture(
        self, url: str, exchange: HttpExchange, body: bytes, truncated: bool, previous: dict[str, str] | None = None
    ) -> Capture:
        """Archive one fetch of ``url`` (its response ``body`` as received; ``previous``: the
        capture of its last answer, which a 304 refers to)."""
        date = self.builder.now()
        digest = payload_digest(body)
        dedup = exchange.status in _DEDUP_STATUSES and body and not truncated
        original = self.files.payloads.get(digest) if dedup else None
        if exchange.status == NOT_MODIFIED and previous and not body:
            original = Stored(previous["record_id"], previous["uri"], previous["date"], "")
            digest = previous["digest"]
            refers = (original.record_id, original.uri, original.date)
            response = self.builder.revisit(url, exchange, digest, refers, date, profile=SERVER_NOT_MODIFIED)
        elif original is not None:
            refers = (original.record_id, original.uri, original.date)
            response = self.builder.revisit(url, exchange, digest, refers, date)
        else:
            response = self.builder.response(url, exchange, body, date, truncated)
        record_id = response.rec_headers.get_header("WARC-Record-ID")
        request = self.builder.request(url, exchange, date)
        request.rec_headers.add_header("WARC-Concurrent-To", record_id)
        with self._writing():
            stored, _ = self.files.write(response, request)
            if original is None and dedup:
                self.files.remember_payload(digest, stored)
        self.crawler.stats.inc_value("warc/revisits" if original else "warc/responses")
        return Capture(record_id, url, date, digest, exchange, original or stored)

    # -- per page --------------------------------------------------------------------

    def identify(self, capture: Capture, page: Page, via: str | None) -> None:
        """Archive what the crawl knows of the page made from ``capture`` (``via``: the
        canonical URL of the page that linked it), and tell the page where its payload is."""
        page.capture = capture.as_dict()
        fields: list[tuple[str, object]] = [("canonical-url", page.url)]
        fields += [("alias", alias) for alias in page.aliases]
        fields += [("mirror", page.mirror), *self._rule_fields(page)]
        fields += [("depth", page.depth), ("hopsFromSeed", page.depth), ("via", via)]
        records = [self.builder.metadata(capture.uri, capture.record_id, fields, capture.date)]
        refers = (capture.payload.record_id, capture.payload.uri, capture.payload.date)
        profile = SERVER_NOT_MODIFIED if capture.exchange.status == NOT_MODIFIED else None
        for identity in dict.fromkeys([page.url, *page.aliases]):
            if identity != capture.uri:
                records.append(
                    self.builder.revisit(identity, capture.exchange, capture.digest, refers, capture.date, profile)
                )
        with self._writing():
            self.files.write(*records)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Around every write to WARC_DIR: once one has failed, the crawl stops (:mod:`crawler.disk`) and
        nothing more is written; the fetch whose records are not archived raises :class:`NotArchived`,
        so that its page is not stored either (the next run fetches it again)."""
        if disk.stopping(self.crawler):
            raise NotArchived("the crawl is stopping for a failed write")
        try:
            yield
        except OSError as exc:
            problem = disk.WriteProblem.of(exc, self.crawler.settings["WARC_DIR"])
            disk.write_failed(self.crawler, "to the archive", problem, "set WARC_DIR to another folder")
            raise NotArchived(problem.reason) from None

    def _rule_fields(self, page: Page) -> list[tuple[str, object]]:
        plan = self._plan()
        if plan is None:
            return []
        rules = plan.normalizer.rules
        mirror = plan.normalizer.mirror_for_host(urlsplit(page.fetched_url).hostname or "")
        site = rules.site_for_host(urlsplit(page.url).hostname or "")
        return [
            ("site", site.key if site else None),
            ("rule", Path(site.path).name if site else None),
            ("mirror-source", mirror.source if mirror else None),
        ]

    def _plan(self) -> MirrorPlan | None:
        from crawler.context import CrawlContext  # here, not at the top: this method is all that asks

        return CrawlContext.of(self.crawler).mirror_plan

    # -- per file --------------------------------------------------------------------

    def _warcinfo(self, filename: str) -> Any:
        settings = self.crawler.settings
        fields: list[tuple[str, object]] = [
            (
                "software",
                f"onion-news-crawler/{_version('onion-news-crawler')} (Scrapy/{_version('scrapy')}, "
                f"warcio/{_version('warcio')})",
            ),
            ("format", "WARC File Format 1.1"),
            ("conformsTo", _WARC_1_1),
            ("isPartOf", settings["WARC_PREFIX"]),
            ("robots", "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore"),
            ("http-header-user-agent", settings["USER_AGENT"]),
        ]
        plan = self._plan()
        if plan is not None:
            for site in plan.normalizer.rules.sites:
                fields.append(("rules", f"{Path(site.path).name} {_file_digest(site.path)}"))
            for choice in plan.choices.values():
                mirror = choice.mirror
                fields.append(
                    ("mirror", f"{choice.scheme}://{mirror.host} = {mirror.domain} (source: {mirror.source})")
                )
        return self.builder.warcinfo(filename, fields)


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


def _file_digest(path: str) -> str:
    try:
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""
