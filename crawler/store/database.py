"""The crawl store: pages, their versions, links, aliases and rounds in one SQLite file.

Pages are keyed by canonical URL: ``pages`` holds each page's latest state, so a page
crawled again updates its row and a resumed crawl adds no duplicate. Every distinct
version of a page's article is kept in ``versions``, append-only; each run of a crawl is
a round (``rounds``), and each check of a page in a round is one row of ``checks`` (see
:meth:`Store.write` for how a fetch is told apart from an edit). Writes come in batches,
one transaction each (WAL journal). The schema version is recorded in ``meta``; an older
store is migrated in place, in one transaction, the first time a newer release opens it.

>>> store = Store(":memory:")
>>> def fetch(title, when, status=200):
...     return {"url": "https://www.nytimes.com/a.html", "fetched_url": "http://x.onion/a.html",
...             "mirror": "x.onion", "status": status, "fetched_at": when, "title": title,
...             "text": "Talks resumed on Monday.",
...             "links": [{"url": "https://www.nytimes.com/b.html", "text": "B", "kind": "article"}]}
>>> [check.value for check in store.write([fetch("Talks Resume", "2026-01-01T00:00:00+00:00")])]
['new']
>>> [check.value for check in store.write([fetch("Talks  Resume", "2026-01-02T00:00:00+00:00")])]
['unchanged']
>>> [check.value for check in store.write([fetch("Talks Collapse", "2026-01-03T00:00:00+00:00")])]
['changed']
>>> store.counts()
{'pages': 1, 'links': 1, 'aliases': 0, 'versions': 2, 'rounds': 1}
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from crawler.exceptions import StoreError
from crawler.items import FOLLOWED_KINDS, LinkKind, Page
from crawler.transient import is_transient, transient_sql

SCHEMA_VERSION = 2
DEFAULT_PATH = "crawl.sqlite3"  # STORE_PATH when no project settings name one
APPLICATION = "onion-news-crawler"

# The pages table, one column per field of the Page item (crawler.items) except those stored in
# tables of their own (links, aliases) or not at all (extra): declared once, here, with its SQL type.
_PAGE_COLUMN_TYPES = {
    "url": "TEXT PRIMARY KEY",
    "fetched_url": "TEXT NOT NULL",
    "mirror": "TEXT NOT NULL",
    "status": "INTEGER",
    "error": "TEXT",
    "fetched_at": "TEXT NOT NULL",
    "depth": "INTEGER NOT NULL DEFAULT 0",
    "content_type": "TEXT",
    "title": "TEXT",
    "authors": "TEXT",  # JSON list
    "published": "TEXT",
    "section": "TEXT",
    "language": "TEXT",
    "text": "TEXT",
    "html": "TEXT",
    "content_hash": "TEXT",
    "redirect_to": "TEXT",
    # schema 2
    "modified": "TEXT",
    "etag": "TEXT",  # the response's validators, sent back on the next check
    "last_modified": "TEXT",
    "capture": "TEXT",  # JSON: the WARC record that holds the page's payload (record_id, uri, date, digest)
}
PAGE_COLUMNS = tuple(_PAGE_COLUMN_TYPES)
# Columns of pages the store keeps itself (not fields of the item): the round of the last check,
# when the page was last checked (a fetch or a 304), when its article last changed.
_STORE_COLUMN_TYPES = {
    "round": "INTEGER",
    "checked_at": "TEXT",
    "changed_at": "TEXT",
    "version_count": "INTEGER NOT NULL DEFAULT 0",  # its versions: a round plans without reading them
}
STORE_COLUMNS = tuple(_STORE_COLUMN_TYPES)
_JSON_COLUMNS = ("authors", "capture")
# In this order on disk: the large text and HTML last, so that the columns a round plans with are
# read without walking each page's overflow pages (a store migrated from schema 1 keeps its order).
_LARGE = ("text", "html")
_PHYSICAL_PAGE_COLUMNS = {
    name: kind
    for name, kind in sorted(
        {**_PAGE_COLUMN_TYPES, **_STORE_COLUMN_TYPES}.items(), key=lambda column: column[0] in _LARGE
    )
}
_NOT_COLUMNS = {"links", "aliases", "extra"}
if {f.name for f in fields(Page)} - _NOT_COLUMNS != set(PAGE_COLUMNS):  # pragma: no cover - a developer's slip
    raise RuntimeError("crawler.items.Page and the store's pages columns disagree")

_FOLLOWED = frozenset(kind.value for kind in FOLLOWED_KINDS)

# The article fields a version keeps (besides url, round, time, status and capture).
VERSION_FIELDS = ("title", "authors", "published", "modified", "section", "language", "text", "content_hash")

_TABLES_2 = """
CREATE TABLE IF NOT EXISTS rounds (
    round INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,          -- NULL: running, or interrupted (the next run finishes it)
    outcome TEXT,              -- 'finished', or why the last run of it stopped
    runs INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    version INTEGER NOT NULL,  -- 1, 2, ... per url
    round INTEGER NOT NULL,
    fetched_at TEXT NOT NULL,
    status INTEGER,
    change TEXT NOT NULL,      -- new, changed, removed, restored
    title TEXT, authors TEXT, published TEXT, modified TEXT, section TEXT, language TEXT,
    text TEXT, content_hash TEXT,
    article_hash TEXT,         -- what tells an edit from noise (article_fingerprint)
    capture TEXT,
    UNIQUE (url, version)
);
CREATE INDEX IF NOT EXISTS versions_by_round ON versions (round);
CREATE TABLE IF NOT EXISTS wanted (
    url TEXT PRIMARY KEY,      -- a followed link's target that no page answers for good yet
    depth INTEGER NOT NULL     -- its shallowest source's depth + 1
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checks (
    round INTEGER NOT NULL,
    url TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    status INTEGER,
    outcome TEXT NOT NULL,     -- a Check value
    PRIMARY KEY (round, url)
) WITHOUT ROWID;
"""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    {", ".join(f"{name} {kind}" for name, kind in _PHYSICAL_PAGE_COLUMNS.items())}
);
CREATE TABLE IF NOT EXISTS links (
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (source, target, kind, text)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS links_by_target ON links (target);
CREATE TABLE IF NOT EXISTS aliases (
    alias TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS aliases_by_url ON aliases (url);
{_TABLES_2}
"""

# A transient failure (crawler.transient: no response, a 5xx, 408 or 429) never makes a page
# done, and never overwrites a page that was answered for good (200, 301, 404, 410...).
REMOVED_STATUSES = (404, 410)  # a page that answered 200 and now answers these was taken down
NOT_MODIFIED = 304
_TRANSIENT = transient_sql("{t}")  # formatted with the table alias below
_FINAL = f"NOT {_TRANSIENT}"


_ALL_COLUMNS = (*PAGE_COLUMNS, "round", "checked_at", "changed_at")
_UPSERT_PAGE = f"""
INSERT INTO pages ({", ".join(_ALL_COLUMNS)}) VALUES ({", ".join("?" * len(_ALL_COLUMNS))})
ON CONFLICT (url) DO UPDATE SET {", ".join(f"{c} = excluded.{c}" for c in PAGE_COLUMNS[1:])},
    round = excluded.round, checked_at = excluded.checked_at,
    changed_at = COALESCE(excluded.changed_at, pages.changed_at)
WHERE {_FINAL.format(t="excluded")} OR {_TRANSIENT.format(t="pages")}
"""
_INSERT_VERSION = f"""
INSERT INTO versions (
    url, version, round, fetched_at, status, change, {", ".join(VERSION_FIELDS)}, article_hash, capture
)
VALUES ({", ".join("?" * (8 + len(VERSION_FIELDS)))})
"""
# A check recorded for good is never replaced by a transient failure in the same round.
_RECORD_CHECK = """
INSERT INTO checks (round, url, checked_at, status, outcome) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (round, url) DO UPDATE SET checked_at = excluded.checked_at, status = excluded.status,
    outcome = excluded.outcome
WHERE excluded.outcome != 'failed' OR checks.outcome = 'failed'
"""


class Check(StrEnum):
    """What one check of a page in a round found (``checks.outcome``)."""

    NEW = "new"  # the first version of the page's article
    CHANGED = "changed"  # a new version: the article (title, text, authors, dates) changed
    UNCHANGED = "unchanged"  # fetched again, the same article (noise in the bytes aside)
    NOT_MODIFIED = "not-modified"  # the mirror answered 304 to a conditional request
    REMOVED = "removed"  # answered 200 before, 404 or 410 now: a version of its own
    RESTORED = "restored"  # answered again after it was removed: a new version
    EXTRACTION_FAILED = "extraction-failed"  # empty or far shorter than the last version: not a version
    RECORDED = "recorded"  # an answer with no article (a redirect, a 404 never answered 200, a PDF)
    FAILED = "failed"  # a transient failure: checked again later

    @property
    def is_version(self) -> bool:
        return self in (Check.NEW, Check.CHANGED, Check.REMOVED, Check.RESTORED)


def article_fingerprint(page: Mapping[str, Any]) -> str:
    """What tells an edit from noise: the extracted article (title, text, authors, published
    and modified dates), whitespace normalised, hashed. Ads, nonces and timestamps in the
    markup change the bytes of every fetch, not this.

    >>> a = {"title": "Talks  Resume", "text": "One.\\n\\nTwo.", "authors": ["Ann Lee"]}
    >>> article_fingerprint(a) == article_fingerprint({**a, "text": " One. Two. "})
    True
    >>> article_fingerprint(a) == article_fingerprint({**a, "title": "Talks Collapse"})
    False
    """
    parts = [
        _squeeze(page.get("title")),
        _squeeze(page.get("text")),
        "\x1e".join(_squeeze(name) for name in page.get("authors") or ()),
        page.get("published") or "",
        page.get("modified") or "",
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _squeeze(text: str | None) -> str:
    return " ".join((text or "").split())


def _has_article(page: Mapping[str, Any]) -> bool:
    return bool(_squeeze(page.get("title")) or _squeeze(page.get("text")))


def _fingerprint_of_columns(
    title: str | None, text: str | None, authors: str | None, published: str | None, modified: str | None
) -> str:
    """:func:`article_fingerprint` of a pages row (SQL function of the migration)."""
    names = json.loads(authors or "[]")
    return article_fingerprint(
        {"title": title, "text": text, "authors": names, "published": published, "modified": modified}
    )


def _json(value: Any, column: str) -> str | None:
    """A JSON column's text: ``authors`` is always a list, ``capture`` NULL when absent."""
    if column == "authors":
        return json.dumps(value or [])
    return json.dumps(value, sort_keys=True) if value else None


def store_path(settings: Any) -> str:
    """The store a crawl or a command uses: the ``STORE_PATH`` setting."""
    return settings.get("STORE_PATH") or DEFAULT_PATH


def utc_now() -> str:
    """This instant as the store writes times: ISO 8601, UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Round:
    """One run of a crawl over the store (or several runs, when one was interrupted)."""

    number: int
    started_at: str
    continued: bool  # True: an interrupted round taken up again


@dataclass(frozen=True)
class KnownPage:
    """What a round needs of a stored page to decide whether to check it again."""

    url: str
    status: int | None
    depth: int
    checked_at: str | None
    changed_at: str | None
    published: str | None
    modified: str | None
    etag: str | None
    last_modified: str | None
    capture: str | None  # JSON
    versions: int


class Store:
    """An open store. Use as a context manager, or call :meth:`close`.

    ``min_text_ratio``: a fetch whose text is shorter than this share of the last version's
    is an extraction that failed (a truncated page, a paywall, a layout the extractor
    misses), not an edit: it is recorded as a check, and the last good version stands.
    """

    def __init__(self, path: str | Path, *, create: bool = True, min_text_ratio: float = 0.5) -> None:
        self.path = str(path)
        self.min_text_ratio = min_text_ratio
        if not create and self.path != ":memory:" and not Path(self.path).is_file():
            raise StoreError(f"{self.path}: no such store (run a crawl first, or set STORE_PATH)")
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:  # a folder that is missing, not a folder, or not writable
            raise StoreError(f"{self.path}: cannot open or create the store ({_why_not(self.path, exc)})") from None
        try:
            # Check first: a file of another application is left exactly as it was.
            self._check_or_create(create)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA cache_size=-65536")  # 64 MiB: large link tables stay fast to write
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StoreError(f"{self.path}: not a usable SQLite store ({exc})") from None
        except StoreError:
            self.db.close()
            raise

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    # -- schema ------------------------------------------------------------------

    def _check_or_create(self, create: bool) -> None:
        tables = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables and not create:
            raise StoreError(f"{self.path}: an empty file, not a crawl store")
        if not tables:
            self.db.executescript(
                f"BEGIN; {_SCHEMA} INSERT INTO meta (key, value) VALUES "
                f"('application', '{APPLICATION}'), ('schema_version', '{SCHEMA_VERSION}'); COMMIT;"
            )
            return
        if "meta" not in tables:
            raise StoreError(f"{self.path}: a SQLite file, but not a crawl store (no meta table)")
        meta = dict(self.db.execute("SELECT key, value FROM meta"))
        if meta.get("application") != APPLICATION:
            raise StoreError(f"{self.path}: a SQLite file of another application ({meta.get('application')!r})")
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: store schema {version} is newer than this release understands ({SCHEMA_VERSION})"
            )
        if version < 2:
            self._migrate_to_2()
        else:
            self._catch_up_2(tables)
        self.db.execute("CREATE INDEX IF NOT EXISTS aliases_by_url ON aliases (url)")

    def _migrate_to_2(self) -> None:
        """Schema 1 to 2, in one transaction: the new columns and tables; the crawl so far
        becomes round 1 (finished: whatever it left unfetched, round 2 fetches as new), and
        each answered page's article its version 1."""
        self.db.create_function("article_fingerprint", 5, _fingerprint_of_columns, deterministic=True)
        added = {c: _PAGE_COLUMN_TYPES[c] for c in ("modified", "etag", "last_modified", "capture")}
        added.update(_STORE_COLUMN_TYPES)
        with self._transaction():
            for column, kind in added.items():
                self.db.execute(f"ALTER TABLE pages ADD COLUMN {column} {kind}")
            for statement in _TABLES_2.split(";"):  # not executescript: it would commit the transaction
                if statement.strip():
                    self.db.execute(statement)
            first, last = self.db.execute("SELECT MIN(fetched_at), MAX(fetched_at) FROM pages").fetchone()
            if first is not None:
                self.db.execute(
                    "INSERT INTO rounds (round, started_at, finished_at, outcome) VALUES (1, ?, ?, 'migrated')",
                    (first, last),
                )
                self.db.execute("UPDATE pages SET round = 1, checked_at = fetched_at, changed_at = fetched_at")
                self.db.execute(
                    f"""INSERT INTO versions (url, version, round, fetched_at, status, change,
                        {", ".join(VERSION_FIELDS)}, article_hash)
                    SELECT url, 1, 1, fetched_at, status, 'new', {", ".join(VERSION_FIELDS)},
                        article_fingerprint(title, text, authors, published, modified)
                    FROM pages WHERE status BETWEEN 200 AND 299
                        AND (TRIM(COALESCE(title, '')) != '' OR TRIM(COALESCE(text, '')) != '')"""
                )
                self.db.execute(
                    f"""INSERT INTO checks (round, url, checked_at, status, outcome)
                    SELECT 1, url, fetched_at, status,
                        CASE WHEN EXISTS (SELECT 1 FROM versions v WHERE v.url = p.url) THEN 'new'
                             WHEN {_TRANSIENT.format(t="p")} THEN 'failed' ELSE 'recorded' END
                    FROM pages p"""
                )
            self._fill_wanted()
            self._count_versions()
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

    def _catch_up_2(self, tables: set[str]) -> None:
        """A schema-2 store written by a development build of today, before ``wanted`` and
        ``version_count`` came (none was released): add them."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(pages)")}
        if "wanted" in tables and "version_count" in columns:
            return
        with self._transaction():
            if "version_count" not in columns:
                self.db.execute("ALTER TABLE pages ADD COLUMN version_count INTEGER NOT NULL DEFAULT 0")
                self._count_versions()
            if "wanted" not in tables:
                self._fill_wanted()

    def _count_versions(self) -> None:
        self.db.execute(
            "UPDATE pages SET version_count = "
            "COALESCE((SELECT MAX(v.version) FROM versions v WHERE v.url = pages.url), 0)"
        )

    def recount_versions(self) -> None:
        """Each page's ``version_count`` from its versions (after a merge renumbered them)."""
        with self._transaction():
            self._count_versions()

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)

    # -- rounds ------------------------------------------------------------------

    def last_round(self) -> tuple[int, str, str | None, str | None] | None:
        """``(round, started_at, finished_at, outcome)`` of the newest round, or None."""
        row: tuple[int, str, str | None, str | None] | None = self.db.execute(
            "SELECT round, started_at, finished_at, outcome FROM rounds ORDER BY round DESC LIMIT 1"
        ).fetchone()
        return row

    def begin_round(self, now: str | None = None, *, new: bool | None = None, number: int | None = None) -> Round:
        """The round a run works on: the last one again when it was interrupted (``new``
        None or False), else a new one (``new`` None or True; True always starts one).
        ``number``: the round a shared crawl is on (:mod:`crawler.shared.rounds`), taken up
        or begun here with that number."""
        now = now or utc_now()
        with self._transaction():
            if number is not None:
                return self._join_round(number, now)
            last = self.last_round()
            if last is not None and (new is False or (new is None and last[2] is None)):
                self.db.execute("UPDATE rounds SET runs = runs + 1, outcome = NULL WHERE round = ?", (last[0],))
                return Round(last[0], last[1], continued=True)
            number = (last[0] if last else 0) + 1
            self.db.execute("INSERT INTO rounds (round, started_at) VALUES (?, ?)", (number, now))
            return Round(number, now, continued=False)

    def _join_round(self, number: int, now: str) -> Round:
        known = self.db.execute("SELECT started_at FROM rounds WHERE round = ?", (number,)).fetchone()
        if known is not None:
            self.db.execute("UPDATE rounds SET runs = runs + 1, outcome = NULL WHERE round = ?", (number,))
            return Round(number, known[0], continued=True)
        self.db.execute("INSERT INTO rounds (round, started_at) VALUES (?, ?)", (number, now))
        return Round(number, now, continued=False)

    def end_round(self, number: int, outcome: str, now: str | None = None) -> None:
        """Record how a run of round ``number`` ended; ``"finished"`` closes the round."""
        finished = (now or utc_now()) if outcome == "finished" else None
        with self._transaction():
            self.db.execute(
                "UPDATE rounds SET finished_at = ?, outcome = ? WHERE round = ?", (finished, outcome, number)
            )

    def _current_round(self) -> int:
        last = self.last_round()
        return last[0] if last is not None else self.begin_round().number

    # -- writes ------------------------------------------------------------------

    def write(self, pages: Iterable[Mapping[str, Any]], round: int | None = None) -> list[Check]:
        """Write a batch of page items (with their links and aliases) in one transaction,
        as checks of round ``round`` (default: the newest round); returns what each check found.

        A transient failure never replaces an answer; a 304 only records the check; an
        answer with an article is compared with the page's last version (see
        :func:`article_fingerprint`): a changed article is a new version, the same one is
        not, and an empty or far shorter one is a failed extraction that changes nothing.
        """
        pages = list(pages)
        number = round if round is not None else self._current_round()
        with self._transaction():
            return [self._write_page(page, number) for page in pages]

    def _write_page(self, page: Mapping[str, Any], number: int) -> Check:
        url, status, when = page["url"], page.get("status"), page["fetched_at"]
        outcome = self._judge(page)
        if outcome in (Check.NOT_MODIFIED, Check.EXTRACTION_FAILED):
            self.db.execute("UPDATE pages SET checked_at = ?, round = ? WHERE url = ?", (when, number, url))
        else:
            known = self.db.execute("SELECT 1 FROM pages WHERE url = ?", (url,)).fetchone() is not None
            changed_at = when if outcome.is_version or not known else None
            row = [page.get(column) for column in PAGE_COLUMNS] + [number, when, changed_at]
            for column in _JSON_COLUMNS:
                row[PAGE_COLUMNS.index(column)] = _json(page.get(column), column)
            row[PAGE_COLUMNS.index("depth")] = page.get("depth") or 0
            if self.db.execute(_UPSERT_PAGE, row).rowcount:
                self._write_links(page)
                if not is_transient(status):
                    self.db.execute("DELETE FROM wanted WHERE url = ?", (url,))  # answered for good
            if outcome.is_version:
                self._add_version(page, number, outcome)
        self.db.execute(_RECORD_CHECK, (number, url, when, status, outcome.value))
        return outcome

    def _judge(self, page: Mapping[str, Any]) -> Check:
        status = page.get("status")
        if status == NOT_MODIFIED:
            return Check.NOT_MODIFIED
        if is_transient(status):
            return Check.FAILED
        last = self.db.execute(
            "SELECT change, article_hash, LENGTH(text) FROM versions WHERE url = ? ORDER BY version DESC LIMIT 1",
            (page["url"],),
        ).fetchone()
        answered = status is not None and 200 <= status < 300
        if answered and last is not None and last[0] == Check.REMOVED:
            return Check.RESTORED if _has_article(page) else Check.RECORDED
        if answered and _has_article(page):
            if last is None:
                return Check.NEW
            if article_fingerprint(page) == last[1]:
                return Check.UNCHANGED
            if len(_squeeze(page.get("text"))) < self.min_text_ratio * (last[2] or 0):
                return Check.EXTRACTION_FAILED
            return Check.CHANGED
        if answered and last is not None:
            return Check.EXTRACTION_FAILED  # nothing extracted from a page that had an article
        if status in REMOVED_STATUSES and last is not None and last[0] != Check.REMOVED:
            return Check.REMOVED
        return Check.RECORDED

    def _add_version(self, page: Mapping[str, Any], number: int, change: Check) -> None:
        (latest,) = self.db.execute("SELECT COALESCE(MAX(version), 0) FROM versions WHERE url = ?", (page["url"],))
        self.db.execute("UPDATE pages SET version_count = ? WHERE url = ?", (latest[0] + 1, page["url"]))
        removed = change == Check.REMOVED
        article = [None if removed else page.get(name) for name in VERSION_FIELDS]
        article[VERSION_FIELDS.index("authors")] = None if removed else _json(page.get("authors"), "authors")
        self.db.execute(
            _INSERT_VERSION,
            [
                page["url"],
                latest[0] + 1,
                number,
                page["fetched_at"],
                page.get("status"),
                change.value,
                *article,
                None if removed else article_fingerprint(page),
                _json(page.get("capture"), "capture"),
            ],
        )

    def _write_links(self, page: Mapping[str, Any]) -> None:
        url = page["url"]
        links = {(link["url"], link["kind"], link.get("text") or "") for link in page.get("links") or ()}
        stored = set(self.db.execute("SELECT target, kind, text FROM links WHERE source = ?", (url,)))
        # A page checked again mostly links where it linked before: only what changed is written.
        self.db.executemany(
            "DELETE FROM links WHERE source = ? AND target = ? AND kind = ? AND text = ?",
            [(url, *link) for link in stored - links],
        )
        added = links - stored
        self.db.executemany(
            "INSERT OR IGNORE INTO links (source, target, kind, text) VALUES (?, ?, ?, ?)",
            [(url, *link) for link in added],
        )
        depth = (page.get("depth") or 0) + 1
        self.db.executemany(
            f"""INSERT INTO wanted (url, depth) SELECT ?1, ?2
            WHERE NOT EXISTS (SELECT 1 FROM pages q WHERE q.url = ?1 AND {_FINAL.format(t="q")})
            ON CONFLICT (url) DO UPDATE SET depth = MIN(depth, excluded.depth)""",
            # A transient failure's links (rare: a 5xx page) are not followed, as the spider does not.
            [(target, depth) for target in {t for t, kind, _ in added if kind in _FOLLOWED}]
            if not is_transient(page.get("status"))
            else [],
        )
        self.db.executemany(
            "INSERT INTO aliases (alias, url, reason) VALUES (?, ?, ?) ON CONFLICT (alias) DO UPDATE SET "
            "url = excluded.url, reason = excluded.reason WHERE (url, reason) IS NOT (excluded.url, excluded.reason)",
            [(alias, url, "canonical") for alias in page.get("aliases") or ()],
        )
        if page.get("redirect_to"):
            self.db.execute(
                "INSERT OR REPLACE INTO aliases (alias, url, reason) VALUES (?, ?, ?)",
                (url, page["redirect_to"], LinkKind.REDIRECT.value),
            )

    # -- reads -------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {
            table: self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("pages", "links", "aliases", "versions", "rounds")
        }

    def pages(self) -> Iterator[dict[str, Any]]:
        """Every stored page as an item dict (links and aliases included), by URL."""
        cursor = self.db.execute(f"SELECT {', '.join(PAGE_COLUMNS)} FROM pages ORDER BY url")
        for row in cursor:
            page = dict(zip(PAGE_COLUMNS, row, strict=True))
            page["authors"] = json.loads(page["authors"] or "[]")
            page["capture"] = json.loads(page["capture"]) if page["capture"] else None
            page["links"] = self._links_of(page["url"])
            page["aliases"] = [
                a
                for (a,) in self.db.execute(
                    "SELECT alias FROM aliases WHERE url = ? AND reason = 'canonical' ORDER BY alias", (page["url"],)
                )
            ]
            yield page

    def _links_of(self, url: str) -> list[dict[str, str]]:
        return [
            {"url": target, "text": text, "kind": kind}
            for target, kind, text in self.db.execute(
                "SELECT target, kind, text FROM links WHERE source = ? ORDER BY target, kind, text", (url,)
            )
        ]

    def answered_pages(self) -> Iterator[tuple[str, str, str, str]]:
        """``(url, fetched_at, title, text)`` of every page answered with a 2xx, by URL:
        the pages a WACZ lists (:mod:`crawler.archive.wacz`). Streamed from the cursor."""
        yield from self.db.execute(
            "SELECT url, fetched_at, COALESCE(title, ''), COALESCE(text, '') FROM pages "
            "WHERE status BETWEEN 200 AND 299 ORDER BY url"
        )

    def known_pages(self) -> Iterator[KnownPage]:
        """Every stored page as a round plans with it (see :class:`KnownPage`), streamed."""
        cursor = self.db.execute(
            """SELECT p.url, p.status, p.depth, p.checked_at, p.changed_at, p.published, p.modified,
                      p.etag, p.last_modified, p.capture, p.version_count
               FROM pages p"""
        )
        for row in cursor:
            yield KnownPage(*row)

    def checked_in_round(self, number: int) -> set[str]:
        """The URLs round ``number`` has checked for good (a transient failure is no check)."""
        return {
            url
            for (url,) in self.db.execute("SELECT url FROM checks WHERE round = ? AND outcome != 'failed'", (number,))
        }

    def aliases(self) -> set[str]:
        """Every alias (a URL that is another page: a redirect source, a corrected canonical)."""
        return {alias for (alias,) in self.db.execute("SELECT alias FROM aliases")}

    def done_urls(self) -> set[str]:
        """Canonical URLs answered for good (see :func:`is_transient`), and their aliases."""
        urls = {url for (url,) in self.db.execute(f"SELECT url FROM pages p WHERE {_FINAL.format(t='p')}")}
        urls |= {alias for (alias,) in self.db.execute("SELECT alias FROM aliases")}
        return urls

    def frontier(self) -> list[tuple[str, int]]:
        """What a crawl still has to fetch, with the depth to fetch it at: pages whose last
        fetch failed transiently, and targets of followed links (``FOLLOWED_KINDS``) that no
        page answers for good, at their shallowest source's depth + 1. Kept up to date with
        every write (the ``wanted`` table), so a round over a large store does not join its
        links with its pages to find them."""
        return list(
            self.db.execute(
                f"""
            SELECT url, MIN(depth) FROM (
                SELECT w.url, w.depth FROM wanted w
                UNION ALL
                SELECT p.url, p.depth FROM pages p WHERE {_TRANSIENT.format(t="p")}
            ) AS wanted
            WHERE NOT EXISTS (SELECT 1 FROM aliases a WHERE a.alias = wanted.url)
            GROUP BY url ORDER BY url
            """
            )
        )

    def rebuild_wanted(self) -> None:
        """Fill ``wanted`` from the links and pages (a migrated or merged store): one pass."""
        with self._transaction():
            self._fill_wanted()

    def _fill_wanted(self) -> None:
        marks = ", ".join("?" * len(FOLLOWED_KINDS))
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS wanted (url TEXT PRIMARY KEY, depth INTEGER NOT NULL) WITHOUT ROWID"
        )
        self.db.execute("DELETE FROM wanted")
        self.db.execute(
            f"""INSERT INTO wanted (url, depth)
            SELECT l.target, MIN(p.depth) + 1 FROM links l JOIN pages p ON p.url = l.source
            WHERE l.kind IN ({marks}) AND {_FINAL.format(t="p")}
              AND NOT EXISTS (SELECT 1 FROM pages q WHERE q.url = l.target AND {_FINAL.format(t="q")})
            GROUP BY l.target""",
            [kind.value for kind in FOLLOWED_KINDS],
        )


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _why_not(path: str, error: sqlite3.Error) -> str:
    """The operating system's reason a store cannot be opened (SQLite says only "unable to open
    database file"): a missing folder, a read-only file system, a permission."""
    existed = os.path.lexists(path)
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))
    except OSError as exc:
        return exc.strerror or str(error)
    if not existed:
        os.unlink(path)  # only a probe: leave no empty file behind
    return str(error)
