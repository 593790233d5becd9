"""The ``mirror`` spider: follow related articles on an onion mirror, through Tor.

    scrapy crawl mirror -a start_urls=https://www.nytimesn7...onion/ -O pages.jsonl

``start_urls`` is comma-separated, mirror or canonical URLs (a canonical one is
fetched on the site's newest mirror). Article links are followed, on the
mirror, once per canonical URL; everything else is recorded as a link. Every
fetched page, and every failure, becomes one :class:`~crawler.items.Page`.

What a hostile page costs stays bounded: a page of more bytes than ``PAGE_MAX_BYTES``
is recorded (and archived) but not decoded or parsed, one of more tags than
``PAGE_MAX_TAGS`` is kept but not parsed (``extra["parse_skipped"]`` either way), and
of a page with more links than ``LINKS_MAX_PER_PAGE`` only the first are read, recorded
and followed (``extra["links_capped"]``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import HtmlResponse, Response
from twisted.python.failure import Failure

from crawler.context import CrawlContext
from crawler.items import LinkKind, Page
from crawler.links import PageLink, count_links, extract_links, follow_address
from crawler.rounds import PREVIOUS_CAPTURE, RoundPlan
from crawler.tor.outage import Postponed
from crawler.url.normalize import InvalidUrl, normalizer_for
from crawler.url.plan import MirrorPlan

REDIRECT_CODES = (301, 302, 303, 307, 308)
NOT_MODIFIED = 304
MAX_SAME_PAGE_REDIRECTS = 3


class MirrorSpider(scrapy.Spider):
    name = "mirror"
    # The spider sees redirects (to record them) and error pages (to record them).
    # and the 304 that answers a conditional request.
    handle_httpstatus_list = [*REDIRECT_CODES, NOT_MODIFIED, *range(400, 600)]
    plan: MirrorPlan  # set by from_crawler: the mirror each site is fetched on (the crawl's context has it too)
    max_bytes = 0  # PAGE_MAX_BYTES, PAGE_MAX_TAGS and LINKS_MAX_PER_PAGE, set by from_crawler (0: no limit)
    max_tags = 0
    max_links = 0

    def __init__(self, start_urls: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_url_list = [u.strip() for u in start_urls.split(",") if u.strip()]
        if not self.start_url_list:
            raise ValueError("give start URLs: scrapy crawl mirror -a start_urls=URL[,URL...]")

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> MirrorSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        normalizer = normalizer_for(crawler.settings.get("RULES_DIR"))
        spider.plan = MirrorPlan.from_start_urls(spider.start_url_list, normalizer)
        spider.max_bytes = crawler.settings.getint("PAGE_MAX_BYTES")
        spider.max_tags = crawler.settings.getint("PAGE_MAX_TAGS")
        spider.max_links = crawler.settings.getint("LINKS_MAX_PER_PAGE")
        # The components (staying on the mirror, per-site circuits, the archive) read it from the crawler.
        CrawlContext.of(crawler).mirror_plan = spider.plan
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # The round decides the rest (crawler.rounds); Scrapy's dupefilter drops what it leaves alone.
        this_round = RoundPlan.of(self.crawler)
        starts = set()
        for url in self.start_url_list:
            canonical = self.plan.normalizer.normalize(url)
            starts.add(canonical)
            address = self.plan.fetch_address(canonical)
            assert address is not None  # the plan was made from the start URLs
            if canonical in this_round.checked:
                continue  # this interrupted round has checked it already
            self.logger.info("start: %s, fetched at %s", canonical, address)
            # Every round, known or not; in a shared crawl, once (Redis's seen-set decides).
            yield self._request(address, canonical, dont_filter=not this_round.shared)
        for canonical, depth in this_round.to_fetch:
            address = self.plan.fetch_address(canonical)
            if address is not None and canonical not in starts:
                yield self._request(address, canonical, depth=depth)

    def _request(
        self,
        address: str,
        canonical: str,
        dont_filter: bool = False,
        depth: int | None = None,
        via: str | None = None,
    ) -> scrapy.Request:
        meta: dict[str, Any] = {"canonical": canonical}
        if depth is not None:
            meta["depth"] = depth
        if via is not None:
            meta["via"] = via  # the canonical URL of the page that linked it
        # A known page is asked for only if it changed: the validators of its last answer.
        validators = RoundPlan.of(self.crawler).validators.get(canonical)
        headers = validators.headers() if validators is not None else {}
        capture = validators.capture if validators is not None else None
        if capture:
            meta[PREVIOUS_CAPTURE] = capture
        return scrapy.Request(
            address,
            callback=self.parse,
            errback=self.on_error,
            meta=meta,
            headers=headers,
            dont_filter=dont_filter,
        )

    # -- responses ---------------------------------------------------------------

    def parse(self, response: Response) -> Iterator[Page | scrapy.Request]:
        canonical = response.meta.get("canonical") or self.plan.normalizer.normalize(response.url)
        page = self._page(response, canonical)
        if response.status == NOT_MODIFIED:
            yield page  # unchanged since the last check: its stored version, links and capture stand
            return
        if response.status in REDIRECT_CODES:
            yield from self._redirect(response, page)
            return
        if not isinstance(response, HtmlResponse):
            self.crawler.stats.inc_value("mirror/skipped_not_html")
            page.extra["skipped"] = "not HTML"
            yield page
            return
        too_large = self._too_large(response)
        if too_large:
            self._record_treatment(page, "parse_skipped", too_large)
            yield page  # not decoded: its HTML would cost up to four times its bytes
            return
        page.html = response.text  # cleaned and normalized by ArticlePipeline
        too_many_tags = self._too_many_tags(response)
        if too_many_tags:
            self._record_treatment(page, "parse_skipped", too_many_tags)
            links = []
        else:
            links = self._read(response, page)
        _let_go(response)
        yield page
        if response.status < 400:
            yield from self._follow(links, page.url)

    def _read(self, response: HtmlResponse, page: Page) -> list[PageLink]:
        """The page's title, declared canonical URL and links, into ``page``; its links."""
        page.title = " ".join((response.css("title::text").get() or "").split())
        self._apply_declared_canonical(response, page)
        links, invalid, stripped = extract_links(response, self.plan, self._link_limit(response, page))
        stats = self.crawler.stats
        stats.inc_value("mirror/invalid_links", invalid)
        stats.inc_value("mirror/params_stripped", stripped)
        page.links = [link.as_dict() for link in links]
        return links

    def _too_large(self, response: HtmlResponse) -> str:
        """``too-large: ...`` for a body past PAGE_MAX_BYTES, else ``""``."""
        size = len(response.body)
        if self.max_bytes and size > self.max_bytes:
            return f"too-large: {size} bytes > PAGE_MAX_BYTES ({self.max_bytes})"
        return ""

    def _too_many_tags(self, response: HtmlResponse) -> str:
        """``too-many-tags: ...`` for a body of more ``<`` than PAGE_MAX_TAGS (each tag opens with one:
        counted in the bytes, without parsing), else ``""``."""
        tags = response.body.count(b"<") if self.max_tags else 0
        if tags > self.max_tags:
            return f"too-many-tags: {tags} tags > PAGE_MAX_TAGS ({self.max_tags})"
        return ""

    def _link_limit(self, response: HtmlResponse, page: Page) -> int:
        """LINKS_MAX_PER_PAGE when the page holds more links than that (recorded), else 0: every link."""
        if not self.max_links:
            return 0
        found = count_links(response)
        if found <= self.max_links:
            return 0
        treatment = f"{found} links > LINKS_MAX_PER_PAGE ({self.max_links}): the first {self.max_links} kept"
        self._record_treatment(page, "links_capped", treatment)
        return self.max_links

    def _record_treatment(self, page: Page, name: str, treatment: str) -> None:
        """A bound met by ``page``: in its ``extra[name]``, as the stat ``mirror/<name>``, and one warning."""
        page.extra[name] = treatment
        self.crawler.stats.inc_value(f"mirror/{name}")
        self.logger.warning("%s: %s (%s)", name.replace("_", " ").capitalize(), page.url, treatment)

    def _page(self, response: Response, canonical: str) -> Page:
        return Page(
            url=canonical,
            fetched_url=response.url,
            mirror=self._mirror_of(canonical),
            status=response.status,
            fetched_at=_now(),
            depth=response.meta.get("depth", 0),
            content_type=(response.headers.get(b"Content-Type") or b"").decode("latin-1"),
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
        )

    def _mirror_of(self, canonical: str) -> str:
        choice = self.plan.choice_for(canonical)
        return choice.mirror.host if choice is not None else ""

    def _follow(self, links: list[PageLink], via: str) -> Iterator[scrapy.Request]:
        for link in links:
            address = follow_address(link.url, link.kind, self.plan)
            if address is not None:
                yield self._request(address, link.url, via=via)

    def _redirect(self, response: Response, page: Page) -> Iterator[Page | scrapy.Request]:
        location = (response.headers.get(b"Location") or b"").decode("latin-1")
        try:
            target = self.plan.normalizer.normalize(location, response.url)
        except InvalidUrl:
            page.error = f"redirect to an unusable Location: {location!r}"
            yield page
            return
        if target == page.url:
            yield from self._same_page_redirect(response, location)
            return
        page.redirect_to = target
        page.links = [PageLink(target, "", LinkKind.REDIRECT).as_dict()]
        yield page
        address = follow_address(target, LinkKind.REDIRECT, self.plan)
        if address is not None:
            # The target is fetched once, like any article: the fingerprint dedups it.
            yield self._request(address, target, via=page.url)

    def _same_page_redirect(self, response: Response, location: str) -> Iterator[scrapy.Request]:
        """Another address of the same page on the mirror (http to https, above all): go
        there, and fetch on that scheme from now on, as the mirror insists."""
        address = response.urljoin(location)
        hops = response.meta.get("same_page_redirects", 0)
        if not self.plan.is_on_mirror(address) or hops >= MAX_SAME_PAGE_REDIRECTS:
            self.crawler.stats.inc_value("mirror/redirect_loops")
            return
        if self.plan.adopt_scheme(address):
            self.logger.info("The mirror redirects to %s: fetching on that scheme from now on", address)
        request = self._request(address, response.meta["canonical"], dont_filter=True)
        request.meta["same_page_redirects"] = hops + 1
        yield request

    def _apply_declared_canonical(self, response: HtmlResponse, page: Page) -> None:
        """Record the page under its own rel=canonical / og:url when that names
        another URL of the same site; keep the URL it was reached by as an alias."""
        declared = (
            response.css('link[rel="canonical"]::attr(href)').get()
            or response.css('meta[property="og:url"]::attr(content)').get()
        )
        if not declared:
            return
        try:
            declared_url = self.plan.normalizer.normalize(declared, response.url)
        except InvalidUrl:
            return
        if declared_url == page.url:
            return
        site = self.plan.site_for(page.url)
        if site is None or self.plan.site_for(declared_url) is not site:
            self.crawler.stats.inc_value("mirror/canonical_ignored_other_site")
            return
        page.aliases.append(page.url)
        page.url = declared_url
        self.crawler.stats.inc_value("mirror/canonical_corrected")
        self._mark_seen(declared_url)

    def _mark_seen(self, canonical: str) -> None:
        """Tell Scrapy's dupefilter the declared URL is fetched, so it is not fetched again."""
        scheduler = getattr(getattr(self.crawler.engine, "_slot", None), "scheduler", None)
        dupefilter = getattr(scheduler, "df", None)
        address = self.plan.fetch_address(canonical)
        if dupefilter is not None and address is not None:
            dupefilter.request_seen(scrapy.Request(address))

    # -- failures ----------------------------------------------------------------

    def on_error(self, failure: Failure) -> Iterator[Page]:
        if failure.check(Postponed):
            return  # no answer, not a failure: the mirror was unreachable; a resumed crawl fetches it
        request = failure.request  # type: ignore[attr-defined]  # Scrapy sets it on errback failures
        canonical = request.meta.get("canonical") or request.url
        assert failure.type is not None  # typed Optional, but Failure() sets it (or raises NoCurrentExceptionError)
        self.crawler.stats.inc_value(f"mirror/failed/{failure.type.__name__}")
        yield Page(
            url=canonical,
            fetched_url=request.url,
            mirror=self._mirror_of(canonical),
            status=None,
            fetched_at=_now(),
            depth=request.meta.get("depth", 0),
            error=f"{failure.type.__name__}: {failure.getErrorMessage()}",
        )


def _let_go(response: HtmlResponse) -> None:
    """Drop the decoded text and the parsed tree that Scrapy keeps on ``response``.

    Scrapy holds a response until the items of its callback are through the pipelines, so each
    page waiting for the extractor or the store would keep its tree (3 to 4 times its bytes) and its
    text beside the item's: a mirror answering 16 requests with pages of 8 MiB took the crawl to
    912 MiB with them, 469 MiB without (bench/bench_memory.py). The two are TextResponse's caches
    (scrapy/http/response/text.py): whatever reads them later decodes and parses again.
    """
    for cache in ("_cached_selector", "_cached_ubody"):
        if hasattr(response, cache):
            setattr(response, cache, None)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
