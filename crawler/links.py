"""Links of a page: canonical target, anchor text and kind (:class:`~crawler.items.LinkKind`),
and the one decision whether the crawl follows a link (:func:`follow_address`).

A link is followed when its kind is one the crawl follows (``LinkKind.followed``:
articles and redirect targets) and the crawl fetches its URL on a mirror
(:meth:`crawler.url.plan.MirrorPlan.fetch_address`); the address it is fetched at
is the mirror's. The spider asks :func:`follow_address` for every link and redirect;
the store's frontier (what a resumed crawl fetches) keeps the same kinds; and
:class:`~crawler.middlewares.StayOnMirrorMiddleware` applies ``fetch_address`` to
every request once more, as the last guard, so nothing leaves the mirror.
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


def extract_links(response: HtmlResponse, plan: MirrorPlan) -> tuple[list[PageLink], int, int]:
    """The page's links (anchors and images), canonical; how many were unusable;
    how many query parameters normalization stripped from them."""
    links: list[PageLink] = []
    seen: set[PageLink] = set()
    invalid = stripped = 0
    candidates = [(link.url, link.text, False) for link in _ANCHORS.extract_links(response)]
    candidates += [(src, "", True) for src in response.css("img::attr(src)").getall()]
    for url, text, image in candidates:
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


def _count_params(url: str) -> int:
    query = url.partition("#")[0].partition("?")[2]
    return sum(1 for piece in query.split("&") if piece)
