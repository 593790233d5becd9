"""Article text and metadata from a page's HTML.

trafilatura does the extraction (main text, title, author, date, categories);
when it finds nothing, the page's own metadata and paragraphs are used.

>>> html = ('<html lang="en"><head><title>T - The New York Times</title><meta name="byl" content="By Ann Lee">'
...         '</head><body><article><h1>T</h1><p>One sentence here.</p></article></body></html>')
>>> article = extract_article(html, "https://www.nytimes.com/2016/a.html")
>>> article.authors, article.language, "One sentence here." in article.text
(['Ann Lee'], 'en', True)
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import trafilatura
from parsel import Selector

__all__ = ["Article", "extract_article"]

_BYLINE_PREFIX = re.compile(r"^\s*by\s+", re.IGNORECASE)
_AUTHOR_SPLIT = re.compile(r"\s*(?:;|,|\band\b)\s*")
# A str can hold a lone surrogate (text decoded with "surrogateescape"); lxml cannot.
_SURROGATE = re.compile("[\ud800-\udfff]")

# trafilatura logs every page it finds too short; that is a fallback here, not news.
logging.getLogger("trafilatura").setLevel(logging.ERROR)


@dataclass
class Article:
    title: str = ""
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    section: str | None = None
    language: str | None = None
    text: str = ""


def extract_article(html: str, url: str) -> Article:
    """Extract the article of ``html`` (fetched as ``url``, its canonical URL)."""
    if html and _SURROGATE.search(html):
        html = _SURROGATE.sub("\ufffd", html)
    selector = Selector(text=html or "<html></html>")
    try:
        document = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=True
        )
    except Exception:  # noqa: BLE001 - a page trafilatura chokes on still gets its fallback
        document = None
    article = Article(
        title=_first(getattr(document, "title", None), _meta(selector, "og:title"), selector.css("title::text").get()),
        # The publisher's own byline first: trafilatura normalizes names ("R." becomes "R").
        authors=_authors(_meta(selector, "byl", "author", "article:author") or getattr(document, "author", None)),
        published=_first(_meta(selector, "article:published_time"), getattr(document, "date", None)) or None,
        section=_first(_meta(selector, "article:section"), *(getattr(document, "categories", None) or [])) or None,
        language=_first(getattr(document, "language", None), selector.xpath("/html/@lang").get()) or None,
        text=(getattr(document, "text", None) or "").strip() or _paragraphs(selector),
    )
    return article


def _meta(selector: Selector, *names: str) -> str | None:
    for name in names:
        value = selector.xpath(f'//meta[@name="{name}" or @property="{name}"]/@content').get()
        if value and value.strip():
            return value.strip()
    return None


def _first(*values: str | None) -> str:
    for value in values:
        if value and value.strip():
            return " ".join(value.split())
    return ""


def _authors(byline: str | None) -> list[str]:
    if not byline:
        return []
    names = _AUTHOR_SPLIT.split(_BYLINE_PREFIX.sub("", byline.strip()))
    return [name.strip() for name in names if name.strip()]


def _paragraphs(selector: Selector) -> str:
    """Fallback text: the paragraphs of <article>, else of the whole page."""
    paragraphs = selector.css("article p") or selector.css("p")
    texts = (" ".join(" ".join(p.css("::text").getall()).split()) for p in paragraphs)
    return "\n".join(text for text in texts if text)
