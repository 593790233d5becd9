"""Article text and metadata from a page's HTML.

trafilatura does the extraction (main text, title, author, date, categories);
when it finds nothing, the page's own metadata and paragraphs are used.

>>> html = ('<html lang="en"><head><title>T - The New York Times</title><meta name="byl" content="By Ann Lee">'
...         '</head><body><article><h1>T</h1><p>One sentence here.</p></article></body></html>')
>>> article = extract_article(html, "https://www.nytimes.com/2016/a.html")
>>> article.authors, article.language, "One sentence here." in article.text
(['Ann Lee'], 'en', True)

``published`` and ``modified`` are the page's own timestamps, normalized to ISO 8601 with the
page's offset (:func:`normalize_date`), from the most trusted source that gives one: the page's
JSON-LD article object, then its meta tags, then microdata ``<time>`` elements (and, for
``modified``, a site rule's "Updated" line first); trafilatura's date (a date only, and taken
from the URL first when the URL holds one) is the last fallback for ``published``.

>>> html = ('<html><head><script type="application/ld+json">{"@type": "NewsArticle",'
...         ' "datePublished": "2019-11-18T17:56:52.000Z", "dateModified": "2019-11-19T09:44:09Z"}</script>'
...         '</head><body><article><p>Text.</p></article></body></html>')
>>> article = extract_article(html, "https://www.nytimes.com/2019/11/19/world/a.html")
>>> article.published, article.modified
('2019-11-18T17:56:52+00:00', '2019-11-19T09:44:09+00:00')
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

import trafilatura
from dateutil import parser as dateutil_parser
from dateutil import tz as dateutil_tz
from lxml import etree
from parsel import Selector

from crawler.exceptions import ExtractionSkipped

__all__ = [
    "PARSER_MAX_DEPTH",
    "Article",
    "check_size",
    "extract_article",
    "normalize_date",
    "parse_date_text",
    "utf8_size",
]

logger = logging.getLogger(__name__)

_BYLINE_PREFIX = re.compile(r"^\s*by\s+", re.IGNORECASE)
_AUTHOR_SPLIT = re.compile(r"\s*(?:;|,|\band\b)\s*")
# A str can hold a lone surrogate (text decoded with "surrogateescape"); lxml cannot.
_SURROGATE = re.compile("[\ud800-\udfff]")

# trafilatura logs every page it finds too short; that is a fallback here, not news.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

# libxml2 keeps at most 256 levels of elements in a document parsed without XML_PARSE_HUGE
# (xmlParserMaxDepth); trafilatura parses so, and drops without a word what lies deeper, so its text
# of a deeper page would be cut short. parsel parses with huge_tree (2,048 levels): its tree shows it.
# https://gitlab.gnome.org/GNOME/libxml2/-/blob/v2.14.6/include/libxml/parserInternals.h
PARSER_MAX_DEPTH = 256
_DEEPER_THAN_PARSER = etree.XPath("boolean(" + "/*" * (PARSER_MAX_DEPTH + 1) + ")")  # C, ~0.05 ms a page
_ENCODE_CHUNK = 1 << 20  # a page's UTF-8 size is counted a MiB of text at a time, not in one copy


@dataclass
class Article:
    title: str = ""
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    modified: str | None = None
    section: str | None = None
    language: str | None = None
    text: str = ""


def extract_article(html: str, url: str, updated_selector: str | None = None) -> Article:
    """Extract the article of ``html`` (fetched as ``url``, its canonical URL).

    ``updated_selector``, a site rule's CSS selector for the page's "Updated" line, gives
    ``modified`` when the page's JSON-LD and meta tags give none: the element's ``datetime``
    attribute, else its text read as a date (:func:`parse_date_text`).

    Raises :class:`~crawler.exceptions.ExtractionSkipped` for a page nested deeper than
    :data:`PARSER_MAX_DEPTH`, whose text trafilatura would cut short (``too-deep``). What a page
    costs to extract grows with its size and its tags: :func:`check_size` bounds them, unparsed.

    >>> extract_article("<div>" * 300 + "<p>Deep.</p>", "https://www.nytimes.com/a.html")
    Traceback (most recent call last):
    crawler.exceptions.ExtractionSkipped: too-deep: elements nested past 256 levels (the parser's limit)
    """
    if html and _SURROGATE.search(html):
        html = _SURROGATE.sub("\ufffd", html)
    selector = Selector(text=html or "<html></html>")
    if _DEEPER_THAN_PARSER(selector.root):
        raise ExtractionSkipped("too-deep", f"elements nested past {PARSER_MAX_DEPTH} levels (the parser's limit)")
    try:
        document = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=True
        )
    except Exception:  # noqa: BLE001 - a page trafilatura chokes on still gets its fallback
        document = None
    ld_articles = _ld_articles(selector, url)
    article = Article(
        title=_first(getattr(document, "title", None), _meta(selector, "og:title"), selector.css("title::text").get()),
        # The publisher's own byline first: trafilatura normalizes names ("R." becomes "R").
        authors=_authors(_meta(selector, "byl", "author", "article:author") or getattr(document, "author", None)),
        published=_published(selector, ld_articles, getattr(document, "date", None)),
        modified=_modified(selector, ld_articles, updated_selector),
        section=_first(_meta(selector, "article:section"), *(getattr(document, "categories", None) or [])) or None,
        language=_first(getattr(document, "language", None), selector.xpath("/html/@lang").get()) or None,
        text=(getattr(document, "text", None) or "").strip() or _paragraphs(selector),
    )
    return article


def check_size(html: str, max_bytes: int = 0, max_tags: int = 0) -> None:
    """Raise :class:`~crawler.exceptions.ExtractionSkipped` when ``html`` is past ``max_bytes`` (its
    UTF-8 size: ``too-large``) or ``max_tags`` (its ``<`` characters, an upper bound of its tags:
    ``too-many-tags``); 0 is no limit. Both are counted without parsing and without a copy of the page.

    Extraction takes about 36 times a text-heavy page's size in memory and about 0.9 KB a tag of a
    tag-dense one (bench/bench_memory.py), so each limit bounds one of the two.

    >>> check_size("<p>" * 10, max_tags=5)
    Traceback (most recent call last):
    crawler.exceptions.ExtractionSkipped: too-many-tags: 10 tags > EXTRACT_MAX_TAGS (5)
    >>> check_size("<p>caf\u00e9</p>", max_bytes=12, max_tags=4) is None
    True
    """
    if max_bytes and len(html) > max_bytes // 4:  # a character takes at most 4 bytes: else it is under
        size = utf8_size(html)
        if size > max_bytes:
            raise ExtractionSkipped("too-large", f"{size} bytes > EXTRACT_MAX_BYTES ({max_bytes})")
    if max_tags:
        tags = html.count("<")
        if tags > max_tags:
            raise ExtractionSkipped("too-many-tags", f"{tags} tags > EXTRACT_MAX_TAGS ({max_tags})")


def utf8_size(text: str) -> int:
    """How many bytes ``text`` takes in UTF-8 (a lone surrogate: 3), counted a MiB at a time.

    >>> utf8_size("caf\u00e9"), utf8_size("\U0001f600" * 3)
    (5, 12)
    """
    if text.isascii():  # CPython knows this without looking at the text
        return len(text)
    return sum(
        len(text[start : start + _ENCODE_CHUNK].encode("utf-8", "surrogatepass"))
        for start in range(0, len(text), _ENCODE_CHUNK)
    )


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


# --- Dates -------------------------------------------------------------------------------------

# schema.org's Article and its subtypes: the JSON-LD object (or microdata scope) that is the page's article.
_ARTICLE_TYPES = frozenset(
    {
        "article",
        "advertisercontentarticle",
        "newsarticle",
        "analysisnewsarticle",
        "askpublicnewsarticle",
        "backgroundnewsarticle",
        "opinionnewsarticle",
        "reportagenewsarticle",
        "reviewnewsarticle",
        "report",
        "satiricalarticle",
        "scholarlyarticle",
        "medicalscholarlyarticle",
        "socialmediaposting",
        "blogposting",
        "liveblogposting",
        "discussionforumposting",
        "techarticle",
        "apireference",
    }
)
# A microdata date inside one of these scopes is the page's own (a Comment's or a Review's is not).
_PAGE_SCOPES = _ARTICLE_TYPES | {"webpage", "itempage"}

# ISO 8601, extended (2019-11-18T17:56:52.000Z) or basic (20191118T175652Z) form; a space for the T.
_ISO_DATE = re.compile(
    r"(?P<year>\d{4})(?P<sep>-?)(?P<month>\d{2})(?P=sep)(?P<day>\d{2})"
    r"(?:[Tt ]\s*(?P<hour>\d{2})(?P<tsep>:?)(?P<minute>\d{2})(?:(?P=tsep)(?P<second>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_h>\d{2})(?::?(?P<off_m>\d{2}))?)?)?"
)
# Years before 1000 are CMS placeholders ("0001-01-01T00:00:00"), not publication dates.
_MIN_YEAR = 1000
_MAX_TEXT = 200  # an "Updated" line longer than this is not one

# Zone abbreviations news pages print after a time ("9:44 a.m. ET", "17:56 BST"); dateutil knows only
# UTC/GMT. Named zones give the offset in force on that day (ET is -05:00 in November, -04:00 in June).
_ZONE_NAMES: dict[str, str | int] = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
    "EST": -5 * 3600,
    "EDT": -4 * 3600,
    "CST": -6 * 3600,
    "CDT": -5 * 3600,
    "MST": -7 * 3600,
    "MDT": -6 * 3600,
    "PST": -8 * 3600,
    "PDT": -7 * 3600,
    "BST": 1 * 3600,
    "CET": 1 * 3600,
    "CEST": 2 * 3600,
    "EET": 2 * 3600,
    "EEST": 3 * 3600,
    "MSK": 3 * 3600,
    "JST": 9 * 3600,
    "AEST": 10 * 3600,
    "AEDT": 11 * 3600,
}
_AM_PM = re.compile(r"\b([ap])\.\s?m\.", re.IGNORECASE)  # "a.m." as dateutil reads it: "am"
_DOTTED_TIME = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{2})(?![\d.])")  # the Guardian's "11.30 GMT"
_DOTTED_DATE = re.compile(r"\b\d{1,2}\.\d{1,2}\.\d{2,4}\b")  # "05.11.2019": day first
# Two defaults that differ in every field: a field the text does not give differs between the two readings.
_DEFAULTS = (datetime(2000, 1, 1, 0, 0, 0), datetime(2001, 2, 2, 1, 1, 1))


def normalize_date(value: str | None) -> str | None:
    """A machine-readable date or timestamp (ISO 8601, or RFC 2822 as in feeds) in ISO 8601.

    A timestamp keeps the page's own offset (``Z`` is written ``+00:00``), loses its fractional
    seconds, and has no offset when the value gives none; a date stays a date. Anything else,
    an impossible date included, gives None, never an exception.

    >>> normalize_date("2019-11-18T17:56:52.000Z")
    '2019-11-18T17:56:52+00:00'
    >>> normalize_date("2019-11-19T09:44:09+0000"), normalize_date("2019-11-18T12:56:52-05:00")
    ('2019-11-19T09:44:09+00:00', '2019-11-18T12:56:52-05:00')
    >>> normalize_date("2019-11-19"), normalize_date("2019-11-19T09:44")
    ('2019-11-19', '2019-11-19T09:44:00')
    >>> normalize_date("Tue, 19 Nov 2019 09:44:09 GMT")
    '2019-11-19T09:44:09+00:00'
    >>> normalize_date("2019-02-30"), normalize_date("yesterday"), normalize_date("")
    (None, None, None)
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > _MAX_TEXT:
        return None
    try:
        match = _ISO_DATE.fullmatch(text)
        if match:
            return _from_iso_match(match)
        if any(c.isalpha() for c in text):  # RFC 2822 names its weekday or month
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return _isoformat(parsedate_to_datetime(text), with_time=True)
    except (ValueError, TypeError, OverflowError, IndexError):
        pass
    return None


def parse_date_text(text: str | None) -> str | None:
    """The date of a human-written line such as "Updated 18 November 2019, 17:56 GMT", in ISO 8601.

    The line must name a year, a month and a day; without a time it gives a date, and with a time
    but no zone a timestamp without offset. A zone is kept as its offset on that day (``ET`` is
    ``-05:00`` in November). Read with python-dateutil; never raises.

    >>> parse_date_text("Updated 18 November 2019, 17:56 GMT")
    '2019-11-18T17:56:00+00:00'
    >>> parse_date_text("Updated Nov. 19, 2019, 9:44 a.m. ET")
    '2019-11-19T09:44:00-05:00'
    >>> parse_date_text("Updated Nov. 19, 2019, 9:44 a.m."), parse_date_text("Updated 19 November 2019")
    ('2019-11-19T09:44:00', '2019-11-19')
    >>> parse_date_text("Updated 2 hours ago") is None
    True
    """
    if not isinstance(text, str):
        return None
    line = " ".join(text.split())
    if not line or len(line) > _MAX_TEXT:
        return None
    exact = normalize_date(line)
    if exact:
        return exact
    line = _DOTTED_TIME.sub(r"\1:\2", _AM_PM.sub(r"\1m", line))
    dayfirst = bool(_DOTTED_DATE.search(line))
    readings = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # UnknownTimezoneWarning: such a time stays without offset
            for default in _DEFAULTS:
                readings.append(
                    dateutil_parser.parse(line, default=default, fuzzy=True, dayfirst=dayfirst, tzinfos=_zone)
                )
    except (ValueError, TypeError, OverflowError, IndexError, LookupError, ArithmeticError):
        return None
    first, second = readings
    if (first.year, first.month, first.day) != (second.year, second.month, second.day):
        return None  # the text lacks the year, the month or the day
    try:
        return _isoformat(first, with_time=first.hour == second.hour)
    except ValueError:  # dateutil reads "-30" as a zone 30 hours off, which datetime refuses
        return None


def _zone(name: str | None, offset: int | None) -> tzinfo | int | None:
    """dateutil's tzinfos: the zones of :data:`_ZONE_NAMES`; an unknown name leaves the time naive."""
    if offset is not None:
        return offset
    zone = _ZONE_NAMES.get(name.upper()) if name else None
    if isinstance(zone, str):
        found: tzinfo | None = dateutil_tz.gettz(zone)  # dateutil has no type information
        return found
    return zone


def _from_iso_match(match: re.Match[str]) -> str | None:
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    if match["hour"] is None:
        return _isoformat(datetime(year, month, day), with_time=False)
    zone: tzinfo | None = None
    if match["utc"]:
        zone = UTC
    elif match["sign"]:
        hours, minutes = int(match["off_h"]), int(match["off_m"] or 0)
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        zone = timezone(-offset if match["sign"] == "-" else offset)
    stamp = datetime(year, month, day, int(match["hour"]), int(match["minute"]), int(match["second"] or 0), tzinfo=zone)
    return _isoformat(stamp, with_time=True)


def _isoformat(stamp: datetime, with_time: bool) -> str | None:
    if stamp.year < _MIN_YEAR:
        return None
    if not with_time:
        return stamp.date().isoformat()
    offset = stamp.utcoffset()
    if offset is not None and (offset % timedelta(minutes=1) or abs(offset) >= timedelta(hours=24)):
        return None  # not an offset ISO 8601 can write
    return stamp.replace(microsecond=0).isoformat()


def _published(selector: Selector, ld_articles: list[dict[str, Any]], extracted: str | None) -> str | None:
    return _first_date(
        _ld_values(ld_articles, "datePublished"),
        _meta_values(selector, "article:published_time"),
        _meta_values(selector, "article:published"),  # NYT: with itemprop="datePublished"
        _itemprop_values(selector, "meta", "datePublished"),
        _itemprop_values(selector, "time", "datePublished"),
        [extracted],  # trafilatura (htmldate): a date only, the URL's first
    )


def _modified(selector: Selector, ld_articles: list[dict[str, Any]], updated_selector: str | None) -> str | None:
    found = _first_date(
        _ld_values(ld_articles, "dateModified"),
        _meta_values(selector, "article:modified_time"),
        _meta_values(selector, "article:modified"),  # NYT: with itemprop="dateModified"
        _meta_values(selector, "og:updated_time"),
        _itemprop_values(selector, "meta", "dateModified"),
    )
    if found is None and updated_selector:
        found = _updated_line(selector, updated_selector)
    return found or _first_date(_itemprop_values(selector, "time", "dateModified"))


def _first_date(*sources: Iterable[str | None]) -> str | None:
    """The first value of the first source that normalizes (sources are lazy: the rest are not read)."""
    for source in sources:
        for value in source:
            normalized = normalize_date(value)
            if normalized:
                return normalized
    return None


def _ld_articles(selector: Selector, url: str) -> list[dict[str, Any]]:
    """The page's article objects in its JSON-LD: top-level, in a top-level list, in ``@graph``, or a
    page's ``mainEntity``; one whose URL is the page's first. Malformed JSON-LD is skipped."""
    found: list[dict[str, Any]] = []
    for script in selector.xpath("//script[@type]"):
        if script.attrib.get("type", "").split(";")[0].strip().lower() != "application/ld+json":
            continue
        document = _load_json(script.xpath("string()").get() or "")
        stack: list[tuple[Any, int]] = [(document, 0)]
        while stack:
            node, depth = stack.pop(0)
            if depth > 4:
                continue
            if isinstance(node, list):
                stack[:0] = [(item, depth + 1) for item in node]
            elif isinstance(node, dict):
                if _is_article(node.get("@type")):
                    found.append(node)
                for key in ("@graph", "mainEntity"):
                    if isinstance(node.get(key), (list, dict)):
                        stack.append((node[key], depth + 1))
    page = _url_key(url)
    return sorted(found, key=lambda obj: page not in _ld_urls(obj))


def _load_json(text: str) -> Any:
    text = text.strip()
    text = re.sub(r"^(?:<!--|(?://\s*)?<!\[CDATA\[)|(?:-->|(?://\s*)?\]\]>)$", "", text).strip()
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return None


def _is_article(types: Any) -> bool:
    names = types if isinstance(types, list) else [types]
    return any(isinstance(name, str) and _type_name(name) in _ARTICLE_TYPES for name in names)


def _type_name(name: str) -> str:
    """``NewsArticle``, ``schema:NewsArticle`` and ``https://schema.org/NewsArticle`` alike: ``newsarticle``."""
    return re.split(r"[/:#]", name.strip())[-1].lower()


def _ld_urls(obj: dict[str, Any]) -> set[str]:
    values = [obj.get("url"), obj.get("@id"), obj.get("mainEntityOfPage")]
    if isinstance(values[2], dict):
        values[2] = values[2].get("@id") or values[2].get("url")
    return {_url_key(value) for value in values if isinstance(value, str)}


def _url_key(url: str) -> str:
    """A URL without scheme, ``www.``, query, fragment and final slash, for comparison."""
    url = re.sub(r"^[a-z][a-z0-9+.-]*://(?:www\.)?", "", url.strip(), flags=re.IGNORECASE)
    return re.split(r"[?#]", url)[0].rstrip("/").lower()


def _ld_values(ld_articles: list[dict[str, Any]], key: str) -> Iterator[str | None]:
    for obj in ld_articles:
        value = obj.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):  # {"@type": "DateTime", "@value": "..."}
                item = item.get("@value")
            if isinstance(item, str):
                yield item


def _meta_values(selector: Selector, name: str) -> Iterator[str | None]:
    yield from selector.xpath(f'//meta[@name="{name}" or @property="{name}"]/@content').getall()


def _itemprop_values(selector: Selector, tag: str, prop: str) -> Iterator[str | None]:
    """Microdata ``<meta itemprop=... content>`` or ``<time itemprop=... datetime>`` (else its text),
    in document order, outside the scope of a Comment, a Review, a Person..."""
    has_prop = f'contains(concat(" ", normalize-space(@itemprop), " "), " {prop} ")'
    for element in selector.xpath(f"//{tag}[{has_prop}]"):
        scope = element.xpath("ancestor::*[@itemscope][1]/@itemtype").get()
        if scope and not any(_type_name(name) in _PAGE_SCOPES for name in scope.split()):
            continue
        if tag == "meta":
            yield element.attrib.get("content")
        else:
            yield element.attrib.get("datetime") or element.xpath("string()").get()


def _updated_line(selector: Selector, css: str) -> str | None:
    """The date of the first element ``css`` matches that gives one: its ``datetime``, else its text."""
    try:
        elements = selector.css(css)
    except Exception as err:  # noqa: BLE001 - a site rule's bad selector costs the date, not the page
        logger.warning("Ignored the updated_selector %r: %s", css, err)
        return None
    for element in elements:
        if isinstance(element.root, str):  # a ::text or ::attr() selector
            found = parse_date_text(element.root)
        else:
            found = normalize_date(element.attrib.get("datetime")) or parse_date_text(element.xpath("string()").get())
        if found:
            return found
    return None
