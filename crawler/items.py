"""The item a crawl yields for every page it fetched (or failed to fetch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Page:
    """One fetched page, known by its canonical URL.

    ``url`` is the identity; ``fetched_url`` the address on the mirror. ``aliases``
    are other canonical URLs that turned out to be this page (a redirect source,
    the URL a ``rel=canonical`` corrected). ``error`` is set when no response came.
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
    extra: dict[str, Any] = field(default_factory=dict)
