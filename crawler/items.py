"""The item a crawl yields for every page it fetched (or failed to fetch), and the kinds of its links.

>>> LinkKind.ARTICLE == "article", f"{LinkKind.REDIRECT}"
(True, 'redirect')
>>> [kind.value for kind in LinkKind if kind.followed]
['article', 'redirect']
>>> set(LINK_KINDS) == set(LinkKind)  # every kind has its place and colour in the link graph
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class LinkKind(StrEnum):
    """What a link points at; stored as its value in the store's ``links.kind``."""

    ARTICLE = "article"  # a page of a crawled site that its rules call an article: followed
    NAVIGATION = "navigation"  # any other page of a crawled site: recorded, not followed
    FILE = "file"  # a PDF, a video... of a crawled site
    IMAGE = "image"
    EXTERNAL = "external"  # another host
    ONION = "onion"  # an onion that is not a known mirror: never fetched
    REDIRECT = "redirect"  # the target of a 3xx: followed

    @property
    def followed(self) -> bool:
        """Whether the crawl follows links of this kind (see :func:`crawler.links.follow_address`)."""
        return self in FOLLOWED_KINDS


#: The kinds of link a crawl follows (fetches), in the store's and the spider's eyes alike.
FOLLOWED_KINDS: tuple[LinkKind, ...] = (LinkKind.ARTICLE, LinkKind.REDIRECT)

#: The link graph's table of kinds (:mod:`crawler.store.graph` and its viewer, :mod:`crawler.viewer`):
#: every kind in order of precedence (a page that links to one target in several ways makes one edge,
#: of the first of their kinds), with the colour the viewer draws a node of that kind in.
LINK_KINDS: dict[LinkKind, str] = {
    LinkKind.REDIRECT: "#b7791f",
    LinkKind.ARTICLE: "#2b6cb0",
    LinkKind.NAVIGATION: "#805ad5",
    LinkKind.FILE: "#4a5568",
    LinkKind.IMAGE: "#319795",
    LinkKind.ONION: "#c53030",
    LinkKind.EXTERNAL: "#dd6b20",
}
_RANKS = {kind.value: rank for rank, kind in enumerate(LINK_KINDS)}


def kind_rank(kind: str) -> tuple[int, str]:
    """Sort key of a kind by its precedence in :data:`LINK_KINDS`; a kind no link has (a graph node's
    ``page`` or ``host``) comes after them, by name.

    >>> sorted(["external", "zzz", "article", "navigation", "redirect"], key=kind_rank)
    ['redirect', 'article', 'navigation', 'external', 'zzz']
    """
    return (_RANKS.get(kind, len(_RANKS)), kind)


@dataclass
class Page:
    """One fetched page, known by its canonical URL.

    ``url`` is the identity; ``fetched_url`` the address on the mirror. ``aliases``
    are other canonical URLs that turned out to be this page (a redirect source,
    the URL a ``rel=canonical`` corrected). ``error`` is set when no response came.
    A ``status`` of 304 is a check that found the page not modified (no body, no article).
    """

    url: str
    fetched_url: str
    mirror: str
    status: int | None
    fetched_at: str
    depth: int = 0
    content_type: str = ""
    title: str = ""
    links: list[dict[str, str]] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    redirect_to: str | None = None
    error: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    section: str | None = None
    language: str | None = None
    text: str = ""
    html: str = ""
    content_hash: str = ""
    modified: str | None = None  # when the page says its article was last updated (ISO 8601)
    etag: str | None = None  # the response's validators, sent back when the page is checked again
    last_modified: str | None = None
    capture: dict[str, str] | None = None  # the WARC record holding the payload (record_id, uri, date, digest)
    extra: dict[str, Any] = field(default_factory=dict)
