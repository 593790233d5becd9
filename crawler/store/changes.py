"""What changed in the stored articles: edits, headline changes, removals, restorations.

:func:`changes` compares each article's latest version (``versions``, see
:mod:`crawler.store.database`) with the version it had before ``since`` (with its first
version when ``since`` is None) and lists the articles whose title or text changed, those
taken down (latest version ``removed``) and those that came back (``restored``). Only
articles count: a URL whose path its site's rules call an article
(:meth:`~crawler.url.rules.Site.is_article_path`); home pages and sections change every
round, and their changes are noise. Headline changes come first, then the largest changes.

Each change carries a word diff of the title and of the text (:func:`word_diff`): segments
``(op, text)``, ``op`` one of ``equal``, ``insert``, ``delete``; a long unchanged run keeps
only a few words each side of an edit (the rest is ``…``).

The diff is :class:`difflib.SequenceMatcher` (standard library), paragraph by paragraph
and then word by word inside the paragraphs that differ. The peers were weighed and left
out: EDGI's ``web-monitoring-diff`` diffs characters of whole HTML pages through
``diff_match_patch`` (its text diff splits words: ``Delet|Add|ed``), and pins ``lxml<5``
and ``html5-parser``, which clash with trafilatura's ``lxml>=5.2``; ``diff-match-patch``
itself is a character diff too (a word diff needs its lines-to-chars trick redone for
words) and buys a time limit we do not need once paragraphs are matched first. For the
extracted text of an article, words over matched paragraphs read well and cost nothing.

The store's exports also read versions from here: :func:`iter_versions` (every version,
``scrapy pages --versions``) and :func:`pages_at` (the store as it stood at an instant,
``scrapy pages --at DATE``).

>>> from crawler.store import Store
>>> store = Store(":memory:")
>>> def page(url, when, title, text, status=200):
...     return {"url": "https://www.nytimes.com" + url, "fetched_url": "http://x.onion" + url,
...             "mirror": "x.onion", "status": status, "fetched_at": when, "title": title, "text": text}
>>> story, home = "/2026/01/02/world/talks.html", "/"
>>> n = store.begin_round("2026-01-02T00:00:00+00:00").number
>>> _ = store.write([page(story, "2026-01-02T00:00:00+00:00", "Talks Resume", "Talks resumed on Monday."),
...                  page(home, "2026-01-02T00:00:00+00:00", "Home", "Talks Resume")], round=n)
>>> store.end_round(n, "finished", "2026-01-02T01:00:00+00:00")
>>> n = store.begin_round("2026-01-03T00:00:00+00:00").number
>>> _ = store.write([page(story, "2026-01-03T00:00:00+00:00", "Talks Collapse", "Talks collapsed on Monday."),
...                  page(home, "2026-01-03T00:00:00+00:00", "Home", "Talks Collapse")], round=n)
>>> [change] = changes(store)  # the home page changed too: a hub, not listed
>>> change.kind, change.headline_changed, change.title_before, change.title_after
('edited', True, 'Talks Resume', 'Talks Collapse')
>>> change.text_diff[:2]
[Segment(op='equal', text='Talks '), Segment(op='delete', text='resumed ')]
>>> wdiff(change.text_diff)
'Talks [-resumed-] {+collapsed+} on Monday.'
>>> change.chars_added, change.chars_removed
(17, 13)
>>> changes(store, since="2026-01-04"), changes(store, site="bbc")
([], [])
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from difflib import SequenceMatcher
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from crawler.exceptions import ExportError
from crawler.store.database import PAGE_COLUMNS, VERSION_FIELDS, Store
from crawler.url.normalize import normalizer_for
from crawler.url.rules import Rules, Site

__all__ = [
    "CONTEXT_WORDS",
    "KINDS",
    "VERSION_EXPORT_FIELDS",
    "ArticleChange",
    "Segment",
    "article_site",
    "changes",
    "iter_versions",
    "pages_at",
    "parse_when",
    "resolve_site",
    "rounds_info",
    "sort_key",
    "wdiff",
    "word_diff",
]

CONTEXT_WORDS = 8  # words of unchanged text kept each side of an edit
KINDS = ("edited", "restored", "removed")  # ArticleChange.kind
ELLIPSIS = "…"
# One item per version (scrapy pages --versions): the columns of versions, in this order.
VERSION_EXPORT_FIELDS = ("url", "version", "round", "fetched_at", "status", "change", *VERSION_FIELDS, "capture")
_CHUNK = 500  # ids per IN (...) query: well below SQLite's limit on variables


class Segment(NamedTuple):
    """One run of a word diff: ``op`` is ``equal``, ``insert`` or ``delete``."""

    op: str
    text: str


@dataclass(frozen=True)
class ArticleChange:
    """How one article changed between two of its versions.

    ``kind``: ``edited`` (the title or the text changed), ``removed`` (the page answers 404
    or 410 now: ``title_after`` is None, the diffs are empty but for the title's deletion,
    ``chars_removed`` counts the last text it had) or ``restored`` (it answers again after a
    removal, compared with the last version it had before). ``chars_added`` and
    ``chars_removed``: characters of the words inserted and deleted, title and text
    together. ``title_diff``: every word of the title; ``text_diff``: a few words of context
    around each edit (empty when only the title changed). ``version_before``,
    ``version_after``: the versions compared
    (``first_fetched_at``, ``last_fetched_at``: when they were fetched); ``versions``: how
    many versions the URL has in all; ``rounds``: the rounds that recorded the versions
    after ``version_before``.
    """

    url: str
    site: str
    kind: str
    title_before: str | None
    title_after: str | None
    headline_changed: bool
    chars_added: int
    chars_removed: int
    title_diff: list[Segment]
    text_diff: list[Segment]
    versions: int
    version_before: int
    version_after: int
    first_fetched_at: str
    last_fetched_at: str
    rounds: list[int]

    @property
    def size(self) -> int:
        return self.chars_added + self.chars_removed

    def to_dict(self) -> dict[str, Any]:
        """As JSON: the diffs as ``[op, text]`` pairs; ``url`` first."""
        return asdict(self)


def sort_key(change: ArticleChange) -> tuple[bool, int, str]:
    """Headline changes first, then by size of change (largest first), then by URL."""
    return (not change.headline_changed, -change.size, change.url)


# -- times and sites -------------------------------------------------------------


def parse_when(value: str | datetime, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 date or timestamp as an aware UTC datetime (no zone: UTC). A date alone is
    its first instant (midnight), or its last with ``end_of_day``.

    >>> parse_when("2026-01-02").isoformat(), parse_when("2026-01-02", end_of_day=True).isoformat()
    ('2026-01-02T00:00:00+00:00', '2026-01-02T23:59:59.999999+00:00')
    >>> parse_when("2026-01-02T12:30+02:00").isoformat()
    '2026-01-02T10:30:00+00:00'
    >>> parse_when("last tuesday")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    crawler.exceptions.ExportError: 'last tuesday' is not an ISO date or timestamp (such as 2026-01-31 or ...)
    """
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    text = value.strip()
    try:
        if len(text) in (8, 10) and "T" not in text and " " not in text:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(), tzinfo=UTC)
            return moment + timedelta(days=1, microseconds=-1) if end_of_day else moment
        return parse_when(datetime.fromisoformat(text))
    except ValueError:
        raise ExportError(
            f"{value!r} is not an ISO date or timestamp (such as 2026-01-31 or 2026-01-31T18:00:00+00:00)"
        ) from None


def _instant(stored: str) -> datetime:
    """A stored ``fetched_at`` as an aware datetime (one that does not parse: the oldest)."""
    try:
        return parse_when(datetime.fromisoformat(stored))
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)


def default_rules() -> Rules:
    """The bundled rules (the ``RULES_DIR`` setting names others: pass them to :func:`changes`)."""
    return normalizer_for(None).rules


def resolve_site(name: str | Site, rules: Rules | None = None) -> Site:
    """The site ``name`` names: its rules' key (``nytimes``, ``bbc``), its name, or a host of it.

    >>> resolve_site("bbc").key, resolve_site("www.nytimes.com").key, resolve_site("The Guardian").key
    ('bbc', 'nytimes', 'guardian')
    >>> resolve_site("example.org")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    crawler.exceptions.ExportError: unknown site 'example.org' (the rules know ..., or a host of theirs)
    """
    if isinstance(name, Site):
        return name
    rules = rules or default_rules()
    wanted = name.strip().lower()
    for site in rules.sites:
        if wanted in (site.key.lower(), site.name.lower()):
            return site
    host = urlsplit(wanted).hostname if "//" in wanted else wanted.rstrip(".")
    found = rules.site_for_host(host or "")
    if found is None:
        known = ", ".join(sorted(site.key for site in rules.sites))
        raise ExportError(f"unknown site {name!r} (the rules know {known}, or a host of theirs)")
    return found


def article_site(url: str, rules: Rules, only: Site | None = None) -> Site | None:
    """The site of ``url`` when its rules call it an article (and it is ``only``'s, when given)."""
    parts = urlsplit(url)
    site = rules.site_for_host((parts.hostname or "").lower())
    if site is None or (only is not None and site.key != only.key):
        return None
    return site if site.is_article_path(parts.path or "/") else None


def rounds_info(store: Store) -> tuple[int, str | None]:
    """How many rounds the store has, and when the last one started (None: no round)."""
    (count,) = store.db.execute("SELECT COUNT(*) FROM rounds").fetchone()
    last = store.last_round()
    return count, (last[1] if last else None)


# -- word diffs ----------------------------------------------------------------------

_Token = tuple[str, str]  # a word and the space after it ("\n" ends a paragraph, "" the text)


def _tokens(paragraphs: Sequence[Sequence[str]]) -> list[_Token]:
    tokens: list[_Token] = []
    for index, words in enumerate(paragraphs):
        last = index == len(paragraphs) - 1
        tokens += [(word, " ") for word in words[:-1]]
        tokens.append((words[-1], "" if last else "\n"))
    return tokens


def _paragraphs(text: str | None) -> list[list[str]]:
    return [words for words in (line.split() for line in (text or "").split("\n")) if words]


def word_diff(before: str | None, after: str | None, context: int | None = CONTEXT_WORDS) -> list[Segment]:
    """The word diff of two texts, as segments (whitespace differences are no change).
    Paragraphs (lines) are matched first, then words within the paragraphs that differ.
    ``context``: unchanged words kept each side of an edit (None: all of them).

    >>> word_diff("The talks resumed.", "The talks resumed on Monday.")[0]
    Segment(op='equal', text='The talks ')
    >>> wdiff(word_diff("The talks resumed.", "The talks resumed on Monday."))
    'The talks [-resumed.-] {+resumed on Monday.+}'
    >>> wdiff(word_diff("one two three four five six seven", "one two three four five six SEVEN", context=2))
    '… five six [-seven-] {+SEVEN+}'
    >>> word_diff("Same.\\n\\nText.", "Same. Text.")
    [Segment(op='equal', text='Same. Text.')]
    """
    old, new = _paragraphs(before), _paragraphs(after)
    old_tokens, new_tokens = _tokens(old), _tokens(new)
    if [w for w, _ in old_tokens] == [w for w, _ in new_tokens]:
        runs: list[tuple[str, list[_Token]]] = [("equal", new_tokens)] if new_tokens else []
    else:
        runs = _merge(_diff_paragraphs(old, new, old_tokens, new_tokens))
    return _segments(runs, context)


def _offsets(paragraphs: Sequence[Sequence[str]]) -> list[int]:
    offsets = [0]
    for words in paragraphs:
        offsets.append(offsets[-1] + len(words))
    return offsets


def _diff_paragraphs(
    old: list[list[str]], new: list[list[str]], old_tokens: list[_Token], new_tokens: list[_Token]
) -> Iterator[tuple[str, list[_Token]]]:
    at_old, at_new = _offsets(old), _offsets(new)
    matcher = SequenceMatcher(None, [" ".join(p) for p in old], [" ".join(p) for p in new], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        removed, added = old_tokens[at_old[i1] : at_old[i2]], new_tokens[at_new[j1] : at_new[j2]]
        if op == "equal":
            yield "equal", added
        elif op == "delete":
            yield "delete", removed
        elif op == "insert":
            yield "insert", added
        else:
            yield from _diff_words(removed, added)


def _diff_words(old: list[_Token], new: list[_Token]) -> Iterator[tuple[str, list[_Token]]]:
    matcher = SequenceMatcher(None, [w for w, _ in old], [w for w, _ in new], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            yield "equal", new[j1:j2]
            continue
        if op in ("delete", "replace"):
            yield "delete", old[i1:i2]
        if op in ("insert", "replace"):
            yield "insert", new[j1:j2]


def _merge(runs: Iterable[tuple[str, list[_Token]]]) -> list[tuple[str, list[_Token]]]:
    """Adjacent runs of one op as one; a deletion always before the insertion beside it."""
    merged: list[tuple[str, list[_Token]]] = []
    for op, tokens in runs:
        if not tokens:
            continue
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + tokens)
        elif op == "delete" and merged and merged[-1][0] == "insert":
            if len(merged) > 1 and merged[-2][0] == "delete":
                merged[-2] = ("delete", merged[-2][1] + tokens)
            else:
                merged.insert(len(merged) - 1, (op, tokens))
        else:
            merged.append((op, tokens))
    return merged


def _text(tokens: Sequence[_Token]) -> str:
    return "".join(word + space for word, space in tokens)


def _segments(runs: list[tuple[str, list[_Token]]], context: int | None) -> list[Segment]:
    segments = []
    for index, (op, tokens) in enumerate(runs):
        if op != "equal" or context is None or len(runs) == 1:
            segments.append(Segment(op, _text(tokens)))
            continue
        first, last = index == 0, index == len(runs) - 1
        keep_before = 0 if first else context  # words kept after the edit before this run
        keep_after = 0 if last else context  # words kept before the edit after this run
        if len(tokens) <= keep_before + keep_after + 1:
            segments.append(Segment(op, _text(tokens)))
            continue
        head = _text(tokens[:keep_before])
        tail = _text(tokens[len(tokens) - keep_after :]) if keep_after else ""
        middle = ELLIPSIS if last else f"{ELLIPSIS} "
        segments.append(Segment(op, f"{head}{middle}{tail}" if not first else f"{ELLIPSIS} {tail}"))
    return segments


def wdiff(segments: Iterable[Segment]) -> str:
    """Segments as one line of text, the way ``wdiff`` and ``git diff --word-diff`` show
    them: ``[-deleted-]``, ``{+inserted+}`` (the spaces around an edit kept outside it).

    >>> wdiff([Segment("equal", "Talks "), Segment("delete", "resumed "), Segment("insert", "collapsed")])
    'Talks [-resumed-] {+collapsed+}'
    """
    marks = {"delete": ("[-", "-]"), "insert": ("{+", "+}")}
    line, previous = "", "equal"
    for op, text in segments:
        if op in marks:
            lead = " " if text[:1].isspace() or previous in marks else ""
            text = f"{lead}{marks[op][0]}{_squeeze(text)}{marks[op][1]}{' ' if text[-1:].isspace() else ''}"
        line, previous = line + text, op
    return " ".join(line.split())


def _count(segments: Iterable[Segment], op: str) -> int:
    return sum(len(_squeeze(segment.text)) for segment in segments if segment.op == op)


# -- reading versions ----------------------------------------------------------------


class _Meta(NamedTuple):
    id: int
    url: str
    version: int
    round: int
    fetched_at: str
    change: str


def _version_metas(store: Store) -> Iterator[list[_Meta]]:
    """Every URL's versions (no text), one list per URL, by URL and version."""
    cursor = store.db.execute("SELECT id, url, version, round, fetched_at, change FROM versions ORDER BY url, version")
    group: list[_Meta] = []
    for row in cursor:
        meta = _Meta(*row)
        if group and group[-1].url != meta.url:
            yield group
            group = []
        group.append(meta)
    if group:
        yield group


def _rows_by_id(store: Store, columns: str, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    rows: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        for row in store.db.execute(f"SELECT id, {columns} FROM versions WHERE id IN ({marks})", chunk):
            rows[row[0]] = row[1:]
    return rows


def _json_list(value: str | None) -> list[Any]:
    return json.loads(value) if value else []


def _json_or_none(value: str | None) -> Any:
    return json.loads(value) if value else None


def iter_versions(store: Store) -> Iterator[dict[str, Any]]:
    """Every version of every page as an item (:data:`VERSION_EXPORT_FIELDS`), by URL and
    version, streamed: ``authors`` a list, ``capture`` a dict or None."""
    cursor = store.db.execute(f"SELECT {', '.join(VERSION_EXPORT_FIELDS)} FROM versions ORDER BY url, version")
    for row in cursor:
        item = dict(zip(VERSION_EXPORT_FIELDS, row, strict=True))
        item["authors"] = _json_list(item["authors"])
        item["capture"] = _json_or_none(item["capture"])
        yield item


# What a version knows of a page item (scrapy pages --at); the rest of the item is None.
_AT_COLUMNS = VERSION_EXPORT_FIELDS[3:5] + VERSION_EXPORT_FIELDS[6:]


def pages_at(store: Store, when: str | datetime) -> Iterator[dict[str, Any]]:
    """The store as it stood at ``when`` (a date alone: its end): for each URL the latest
    version fetched at or before then, as a page item with the fields of :meth:`Store.pages`
    (by URL). What versions do not keep (the fetched URL, the mirror, the HTML, links...) is
    None; a page whose version then was a removal, or that had none yet, is left out."""
    moment = parse_when(when, end_of_day=True)
    chosen: list[int] = []
    for metas in _version_metas(store):
        then = [meta for meta in metas if _instant(meta.fetched_at) <= moment]
        if then and then[-1].change != "removed":
            chosen.append(then[-1].id)
    for start in range(0, len(chosen), _CHUNK):
        ids = chosen[start : start + _CHUNK]
        rows = _rows_by_id(store, "url, " + ", ".join(_AT_COLUMNS), ids)
        for version_id in ids:
            url, *values = rows[version_id]
            item: dict[str, Any] = dict.fromkeys(PAGE_COLUMNS)
            item.update(zip(_AT_COLUMNS, values, strict=True))
            item["url"] = url
            item["authors"] = _json_list(item["authors"])
            item["capture"] = _json_or_none(item["capture"])
            item["links"] = None
            item["aliases"] = None
            yield item


# -- changes ---------------------------------------------------------------------


def changes(
    store: Store,
    since: str | datetime | None = None,
    site: str | Site | None = None,
    *,
    rules: Rules | None = None,
    context: int | None = CONTEXT_WORDS,
) -> list[ArticleChange]:
    """The articles that changed (see the module's docstring), headline changes first, then
    by size of change (:func:`sort_key`).

    ``since``: an ISO date or timestamp (:func:`parse_when`); each article's latest version
    is compared with its last version fetched before then (its first version, when it had
    none), and an article with no version since then is left out. None: with its first
    version. ``site``: a site's key, name or host (:func:`resolve_site`): only its articles.
    ``rules``: the rules that tell sites and articles (default: the bundled ones).
    ``context``: see :func:`word_diff`.
    """
    rules = rules or default_rules()
    only = resolve_site(site, rules) if site is not None else None
    moment = parse_when(since) if since is not None else None
    plans: list[tuple[str, str, list[_Meta], _Meta, _Meta]] = []
    for metas in _version_metas(store):
        found = article_site(metas[0].url, rules, only)
        if found is None:
            continue
        before = [m for m in metas if _instant(m.fetched_at) < moment] if moment is not None else metas[:1]
        base = before[-1] if before else metas[0]
        latest = metas[-1]
        if latest.version <= base.version:
            continue
        after = [m for m in metas if m.version > base.version]
        if latest.change == "removed":
            # What was taken down: the last version that had an article.
            kind, compared = "removed", _last_live(metas, latest.version) or base
        else:
            restored = base.change == "removed" or any(m.change == "restored" for m in after)
            kind, compared = ("restored" if restored else "edited"), _last_live(metas, base.version + 1) or base
        plans.append((found.key, kind, after, compared, latest))
    texts = _rows_by_id(store, "title, text", sorted({m.id for plan in plans for m in plan[3:]}))
    found_changes = []
    for site_key, kind, after, compared, latest in plans:
        title_before, text_before = texts[compared.id]
        title_after, text_after = texts[latest.id]
        if kind == "edited" and _same(title_before, title_after) and _same(text_before, text_after):
            continue  # only the authors or the dates changed, or the article changed back
        if kind == "removed":
            title_diff = [Segment("delete", _squeeze(title_before))] if _squeeze(title_before) else []
            text_diff: list[Segment] = []
            added, removed = 0, len(_squeeze(title_before)) + len(_squeeze(text_before))
            headline = False
        else:
            title_diff = word_diff(title_before, title_after, context=None)
            text_diff = [] if _same(text_before, text_after) else word_diff(text_before, text_after, context=context)
            added = _count(title_diff, "insert") + _count(text_diff, "insert")
            removed = _count(title_diff, "delete") + _count(text_diff, "delete")
            headline = not _same(title_before, title_after)
        found_changes.append(
            ArticleChange(
                url=latest.url,
                site=site_key,
                kind=kind,
                title_before=title_before,
                title_after=None if kind == "removed" else title_after,
                headline_changed=headline,
                chars_added=added,
                chars_removed=removed,
                title_diff=title_diff,
                text_diff=text_diff,
                versions=latest.version,
                version_before=compared.version,
                version_after=latest.version,
                first_fetched_at=compared.fetched_at,
                last_fetched_at=latest.fetched_at,
                rounds=sorted({m.round for m in after}),
            )
        )
    return sorted(found_changes, key=sort_key)


def _last_live(metas: Sequence[_Meta], below: int) -> _Meta | None:
    """The last version before version ``below`` that had an article (not a removal)."""
    live = [m for m in metas if m.version < below and m.change != "removed"]
    return live[-1] if live else None


def _squeeze(text: str | None) -> str:
    return " ".join((text or "").split())


def _same(a: str | None, b: str | None) -> bool:
    return _squeeze(a) == _squeeze(b)
