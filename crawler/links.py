"""Links of a page: canonical target, anchor text and kind (:class:`~crawler.items.LinkKind`),
and the one decision whether the crawl follows a link (:func:`follow_address`).

A link is followed when its kind is one the crawl follows (``LinkKind.followed``:
articles and redirect targets) and the crawl fetches its URL on a mirror
(:meth:`crawler.url.plan.MirrorPlan.fetch_address`); the address it is fetched at
is the mirror's. The spider asks :func:`follow_address` for every link and redirect;
the store's frontier (what a resumed crawl fetches) keeps the same kinds; and
:class:`~crawler.middlewares.StayOnMirrorMiddleware` applies ``fetch_address`` to
every request once more, as the last guard, so nothing leaves the mirror.

A page may hold more links than a crawl should read (Scrapy's link extractor takes about 1.3 KB and
0.08 ms a link: a hostile page holds 50,000 of them): :func:`count_links` counts them in lxml, without
reading them, and ``extract_links(..., limit=N)`` reads only the first N.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from scrapy.http import HtmlResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS, LinkExtractor

from crawler.items import LinkKind
from crawler.url.normalize import InvalidUrl
from crawler.url.plan import MirrorPlan

_FILE_SUFFIXES = tuple(f".{ext}" for ext in IGNORED_EXTENSIONS)

_ANCHORS = LinkExtractor(tags=("a", "area"), attrs=("href",), unique=False, deny_extensions=[], strip=True)
_ANCHOR_XPATH = "//a[@href] | //area[@href]"  # what _ANCHORS reads
_IMAGE_XPATH = "//img/@src"


@dataclass(frozen=True)
class PageLink:
    url: str
    text: str
    kind: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def classify(canonical_url: str, plan: MirrorPlan, image: bool = False) -> str:
    """The kind of a link to ``canonical_url`` in this crawl."""
    if image:
        return LinkKind.IMAGE
    parts = urlsplit(canonical_url)
    host = parts.hostname or ""
    site = plan.site_for_host(host)
    if site is not None:
        if parts.path.lower().endswith(_FILE_SUFFIXES):
            return LinkKind.FILE
        return LinkKind.ARTICLE if site.is_article_path(parts.path) else LinkKind.NAVIGATION
    return LinkKind.ONION if host.endswith(".onion") else LinkKind.EXTERNAL


def follow_address(url: str, kind: str, plan: MirrorPlan) -> str | None:
    """The mirror address at which the crawl fetches a link to canonical ``url`` of
    ``kind``, or None when the crawl does not follow it (its kind is not followed, or
    no mirror of the crawl serves it)."""
    if not LinkKind(kind).followed:
        return None
    try:
        return plan.fetch_address(url)
    except InvalidUrl:
        return None


def count_links(response: HtmlResponse) -> int:
    """How many links (anchors with an ``href``, images with a ``src``) the page holds, counted in
    lxml without reading one."""
    return int(float(response.xpath(f"count({_ANCHOR_XPATH}) + count({_IMAGE_XPATH})").get() or 0))


def extract_links(response: HtmlResponse, plan: MirrorPlan, limit: int = 0) -> tuple[list[PageLink], int, int]:
    """The page's links (anchors and images), canonical; how many were unusable;
    how many query parameters normalization stripped from them. ``limit``: read only the
    first ``limit`` anchors, then images up to ``limit`` in all (0: every link)."""
    links: list[PageLink] = []
    seen: set[PageLink] = set()
    invalid = stripped = 0
    for url, text, image in _candidates(response, limit):
        try:
            canonical = plan.normalizer.normalize(url, response.url)
        except InvalidUrl:
            invalid += 1
            continue
        stripped += max(0, _count_params(url) - _count_params(canonical))
        link = PageLink(canonical, " ".join(text.split()), classify(canonical, plan, image))
        if link not in seen:
            seen.add(link)
            links.append(link)
    return links, invalid, stripped


def _candidates(response: HtmlResponse, limit: int) -> list[tuple[str, str, bool]]:
    """``(url, text, is_image)`` of the page's anchors, then its images; the first ``limit`` if given."""
    if not limit:
        anchors = _ANCHORS.extract_links(response)
        images = response.css("img::attr(src)").getall()
    else:  # only the first anchors reach the extractor: it reads each as a document of its own
        first = LinkExtractor(
            tags=("a", "area"),
            attrs=("href",),
            unique=False,
            deny_extensions=[],
            strip=True,
            restrict_xpaths=f"({_ANCHOR_XPATH})[position() <= {limit}]",
        )
        anchors = first.extract_links(response)[:limit]
        room = limit - len(anchors)
        images = response.xpath(f"({_IMAGE_XPATH})[position() <= {room}]").getall() if room > 0 else []
    return [(link.url, link.text, False) for link in anchors] + [(src, "", True) for src in images]


def _count_params(url: str) -> int:
    query = url.partition("#")[0].partition("?")[2]
    return sum(1 for piece in query.split("&") if piece)
