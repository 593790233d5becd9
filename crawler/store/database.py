"""The crawl store: pages, links and aliases in one SQLite file.

Pages are keyed by canonical URL, so a page crawled again updates its row and a
resumed crawl adds no duplicate. Writes come in batches, one transaction each
(WAL journal). The schema version is recorded in ``meta`` so that a later
release can migrate an old store.

>>> store = Store(":memory:")
>>> store.write([{"url": "https://www.nytimes.com/a.html", "fetched_url": "http://x.onion/a.html",
...               "mirror": "x.onion", "status": 200, "fetched_at": "2026-01-01T00:00:00+00:00",
...               "links": [{"url": "https://www.nytimes.com/b.html", "text": "B", "kind": "article"}]}])
>>> store.counts()
{'pages': 1, 'links': 1, 'aliases': 0}
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from crawler.exceptions import StoreError
from crawler.items import FOLLOWED_KINDS, LinkKind, Page

SCHEMA_VERSION = 1
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
}
PAGE_COLUMNS = tuple(_PAGE_COLUMN_TYPES)
_NOT_COLUMNS = {"links", "aliases", "extra"}
if {f.name for f in fields(Page)} - _NOT_COLUMNS != set(PAGE_COLUMNS):  # pragma: no cover - a developer's slip
    raise RuntimeError("crawler.items.Page and the store's pages columns disagree")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    {", ".join(f"{name} {kind}" for name, kind in _PAGE_COLUMN_TYPES.items())}
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
"""

# A transient failure (no response, a 5xx, 408 or 429: worth another try) never makes a page
# done, and never overwrites a page that was answered for good (200, 301, 404, 410...).
TRANSIENT_STATUSES = (408, 429)  # besides no response and every 5xx
# is_transient in SQL, from the same constant ({t}: the table alias).
_TRANSIENT = (
    "({t}.status IS NULL OR {t}.status >= 500 OR {t}.status IN (" + ", ".join(map(str, TRANSIENT_STATUSES)) + "))"
)
_FINAL = f"NOT {_TRANSIENT}"


def transient_sql(table: str) -> str:
    """:func:`is_transient` of ``table``'s ``status`` column, in SQL (``table``: an alias)."""
    return _TRANSIENT.format(t=table)


_UPSERT_PAGE = f"""
INSERT INTO pages ({", ".join(PAGE_COLUMNS)}) VALUES ({", ".join("?" * len(PAGE_COLUMNS))})
ON CONFLICT (url) DO UPDATE SET {", ".join(f"{c} = excluded.{c}" for c in PAGE_COLUMNS[1:])}
WHERE {_FINAL.format(t="excluded")} OR {_TRANSIENT.format(t="pages")}
"""


def is_transient(status: int | None) -> bool:
    """True when a fetch that ended with ``status`` (None: no response) is worth another try.

    >>> [is_transient(s) for s in (None, 200, 404, 410, 429, 503)]
    [True, False, False, False, True, True]
    """
    return status is None or status >= 500 or status in TRANSIENT_STATUSES


def store_path(settings: Any) -> str:
    """The store a crawl or a command uses: the ``STORE_PATH`` setting."""
    return settings.get("STORE_PATH") or DEFAULT_PATH


class Store:
    """An open store. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = str(path)
        if not create and self.path != ":memory:" and not Path(self.path).is_file():
            raise StoreError(f"{self.path}: no such store (run a crawl first, or set STORE_PATH)")
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
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
        # Migrations from older schema versions go here, one step per version.
        self.db.execute("CREATE INDEX IF NOT EXISTS aliases_by_url ON aliases (url)")

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)

    # -- writes ------------------------------------------------------------------

    def write(self, pages: Iterable[Mapping[str, Any]]) -> None:
        """Write a batch of page items (with their links and aliases) in one transaction."""
        with self._transaction():
            for page in pages:
                self._write_page(page)

    def _write_page(self, page: Mapping[str, Any]) -> None:
        row = [page.get(column) for column in PAGE_COLUMNS]
        row[PAGE_COLUMNS.index("authors")] = json.dumps(page.get("authors") or [])
        row[PAGE_COLUMNS.index("depth")] = page.get("depth") or 0
        cursor = self.db.execute(_UPSERT_PAGE, row)
        if cursor.rowcount == 0:
            return  # a failed refetch of a page we already have
        url = page["url"]
        self.db.execute("DELETE FROM links WHERE source = ?", (url,))
        self.db.executemany(
            "INSERT OR IGNORE INTO links (source, target, kind, text) VALUES (?, ?, ?, ?)",
            [(url, link["url"], link["kind"], link.get("text") or "") for link in page.get("links") or ()],
        )
        self.db.executemany(
            "INSERT OR REPLACE INTO aliases (alias, url, reason) VALUES (?, ?, ?)",
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
            for table in ("pages", "links", "aliases")
        }

    def pages(self) -> Iterator[dict[str, Any]]:
        """Every stored page as an item dict (links and aliases included), by URL."""
        cursor = self.db.execute(f"SELECT {', '.join(PAGE_COLUMNS)} FROM pages ORDER BY url")
        for row in cursor:
            page = dict(zip(PAGE_COLUMNS, row, strict=True))
            page["authors"] = json.loads(page["authors"] or "[]")
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

    def done_urls(self) -> set[str]:
        """Canonical URLs answered for good (see :func:`is_transient`), and their aliases."""
        urls = {url for (url,) in self.db.execute(f"SELECT url FROM pages p WHERE {_FINAL.format(t='p')}")}
        urls |= {alias for (alias,) in self.db.execute("SELECT alias FROM aliases")}
        return urls

    def frontier(self, kinds: tuple[str, ...] = FOLLOWED_KINDS) -> list[tuple[str, int]]:
        """What a crawl still has to fetch, with the depth to fetch it at: pages whose last
        fetch failed transiently, and link targets of ``kinds`` that no page answers for good
        (at their shallowest source's depth + 1)."""
        marks = ", ".join("?" * len(kinds))
        return list(
            self.db.execute(
                f"""
            SELECT url, MIN(depth) FROM (
                SELECT l.target AS url, p.depth + 1 AS depth FROM links l JOIN pages p ON p.url = l.source
                WHERE l.kind IN ({marks}) AND {_FINAL.format(t="p")}
                UNION ALL
                SELECT p.url, p.depth FROM pages p WHERE {_TRANSIENT.format(t="p")}
            ) AS wanted
            WHERE NOT EXISTS (SELECT 1 FROM pages q WHERE q.url = wanted.url AND {_FINAL.format(t="q")})
              AND NOT EXISTS (SELECT 1 FROM aliases a WHERE a.alias = wanted.url)
            GROUP BY url ORDER BY url
            """,
                kinds,
            )
        )


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
