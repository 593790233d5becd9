"""Merge the stores of several crawl workers into one: ``scrapy merge -o OUT IN [IN ...]``.

Pages are keyed by canonical URL. A URL that several inputs have gets one winner,
chosen by a total order on page rows, so that the result depends neither on the order
of the inputs nor on how often they are merged:

1. a row answered for good (200, 3xx, 404, 410...) beats a transient failure (no response,
   5xx, 408, 429): a later 503 never replaces an earlier 200, as in the store itself;
2. then a row with a ``status`` (a response came) beats one without (a failed fetch);
3. then the later ``fetched_at`` (compared as text: ISO 8601, all in UTC);
4. then the larger ``content_hash`` (a missing hash is the smallest);
5. then the larger ``fetched_url``;
6. then, to make the order total, the remaining columns in schema order (``mirror``,
   ``status``, ``error``, ``depth``, ... ``redirect_to``; a ``NULL`` is the smallest);
7. two identical page rows with different links: the larger link list wins (the sorted
   ``(target, kind, text)`` tuples, compared as Python compares lists).

The winner's links (the ``links`` rows whose source is that URL) come from the same input
as the winning page row: never a union of the links of two fetches. Aliases are the
union of the inputs' aliases; an alias that two inputs map to different URLs keeps the
smaller ``(url, reason)``.

Versions are the union of the inputs' versions of each URL, in the order they were
fetched: a version that two inputs hold (the same URL, time, change and article) is kept
once, a version whose article is the one just before it is no new version, and each
URL's versions are numbered again from 1 (the first is ``new``, an edit ``changed``, a
404 or 410 after an answer ``removed``, an answer after that ``restored``). A 404 or 410
that one worker met for a page another worker had fetched is that page's removal. Rounds are
the union by number (a round is finished when every input finished it); a check of a
URL in a round recorded for good beats a transient failure, then the later one wins.

The output is created when missing, and may be a store that earlier merges (or a crawl)
wrote: it takes part like one more input, so merging the same inputs again, or an input
that is already merged in, changes nothing. Each input is merged in one transaction.

>>> import tempfile
>>> from pathlib import Path
>>> def item(url, fetched_at, title, *links):
...     return {"url": url, "fetched_url": url.replace("https://www.nytimes.com", "http://x.onion"),
...             "mirror": "x.onion", "status": 200, "fetched_at": fetched_at, "title": title,
...             "links": [{"url": link, "text": "", "kind": "article"} for link in links]}
>>> A, B, C = (f"https://www.nytimes.com/{name}.html" for name in "abc")
>>> folder = Path(tempfile.mkdtemp())
>>> with Store(folder / "worker1.sqlite3") as one, Store(folder / "worker2.sqlite3") as two:
...     _ = one.write([item(A, "2026-01-01T00:00:00+00:00", "A, first", B, C)])
...     _ = two.write([item(A, "2026-01-02T00:00:00+00:00", "A, again", B), item(B, "2026-01-02T00:00:00+00:00", "B")])
>>> merge_stores(folder / "crawl.sqlite3", [folder / "worker1.sqlite3", folder / "worker2.sqlite3"])
MergeStats(pages=2, links=1, aliases=0, conflicts=1, stores=2, versions=3, rounds=1)
>>> with Store(folder / "crawl.sqlite3") as merged:
...     [(page["title"], len(page["links"])) for page in merged.pages()]
[('A, again', 1), ('B', 0)]
>>> merge_stores(folder / "crawl.sqlite3", [folder / "worker2.sqlite3", folder / "worker1.sqlite3"])
MergeStats(pages=2, links=1, aliases=0, conflicts=1, stores=2, versions=3, rounds=1)
>>> import shutil; shutil.rmtree(folder)
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crawler.exceptions import ExportError, StoreError
from crawler.store.database import (
    PAGE_COLUMNS,
    REMOVED_STATUSES,
    STORE_COLUMNS,
    Check,
    Store,
)
from crawler.transient import transient_sql

__all__ = ["MergeStats", "merge_stores", "page_order_key"]


@dataclass(frozen=True)
class MergeStats:
    """The merged store's row counts, and how many URLs were in more than one input."""

    pages: int
    links: int
    aliases: int
    conflicts: int
    stores: int
    versions: int
    rounds: int


# Columns of the total order after the first five criteria (see the module docstring).
_OTHER_COLUMNS = tuple(c for c in PAGE_COLUMNS if c not in ("url", "fetched_at", "content_hash", "fetched_url"))


def page_order_key(table: str) -> str:
    """The SQL row value that orders the page rows of ``table`` (an alias) by the merge
    rule: the larger value wins. A nullable column ``c`` becomes the pair
    ``c IS NOT NULL, IFNULL(c, 0)``, so that ``NULL`` is the smallest and never makes
    the comparison ``NULL``.

    >>> page_order_key("p")[:64]
    '(NOT (p.status IS NULL OR p.status >= 500 OR p.status IN (408, 4'
    """

    def nullable(column: str) -> str:
        return f"{table}.{column} IS NOT NULL, IFNULL({table}.{column}, 0)"

    parts = [
        f"NOT {transient_sql(table)}",
        f"{table}.status IS NOT NULL",
        f"{table}.fetched_at",
        nullable("content_hash"),
        f"{table}.fetched_url",
    ]
    parts += [nullable(column) for column in _OTHER_COLUMNS]
    return f"({', '.join(parts)})"


_COLUMNS = ", ".join((*PAGE_COLUMNS, *STORE_COLUMNS))
_SAME_ROW = " AND ".join(f"s.{c} IS m.{c}" for c in PAGE_COLUMNS)

_SQL_SETUP = """
CREATE TEMP TABLE IF NOT EXISTS merge_winners (url TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS merge_seen (url TEXT PRIMARY KEY, inputs INTEGER NOT NULL) WITHOUT ROWID;
DELETE FROM temp.merge_seen;
"""

# The URLs whose page row in the input beats the output's (or that the output lacks).
_SQL_WINNERS = f"""
INSERT INTO temp.merge_winners (url)
SELECT s.url FROM src.pages s LEFT JOIN main.pages m ON m.url = s.url
WHERE m.url IS NULL OR {page_order_key("s")} > {page_order_key("m")}
"""

# Identical page rows whose link sets differ: rule 6 decides, in Python (rare).
_SQL_TIED_LINKS = f"""
WITH tied(url) AS (SELECT s.url FROM src.pages s JOIN main.pages m ON m.url = s.url WHERE {_SAME_ROW}),
src_links AS (SELECT source, target, kind, text FROM src.links WHERE source IN tied),
main_links AS (SELECT source, target, kind, text FROM main.links WHERE source IN tied)
SELECT source FROM (SELECT * FROM src_links EXCEPT SELECT * FROM main_links)
UNION
SELECT source FROM (SELECT * FROM main_links EXCEPT SELECT * FROM src_links)
"""

_SQL_UPSERT_PAGES = f"""
INSERT INTO main.pages ({_COLUMNS})
SELECT {_COLUMNS} FROM src.pages WHERE url IN (SELECT url FROM temp.merge_winners)
ON CONFLICT (url) DO UPDATE SET {", ".join(f"{c} = excluded.{c}" for c in (*PAGE_COLUMNS[1:], *STORE_COLUMNS))}
"""

_VERSION_COLUMNS = (
    "url, round, fetched_at, status, change, title, authors, published, modified, section, language, text, "
    "content_hash, article_hash, capture"
)
# Versions the output lacks, numbered -id for now (numbered again from 1 per URL after).
_SQL_UNION_VERSIONS = f"""
INSERT INTO main.versions (version, {_VERSION_COLUMNS})
SELECT -s.id - 1000000000, {", ".join("s." + c.strip() for c in _VERSION_COLUMNS.split(","))} FROM src.versions s
WHERE NOT EXISTS (SELECT 1 FROM main.versions m WHERE m.url = s.url AND m.fetched_at = s.fetched_at
                  AND m.change = s.change AND m.article_hash IS s.article_hash)
"""

# A worker that finds a page gone which another worker had fetched (a 404 or 410 in its store,
# no version of its own): the merged page answered before, so this is its removal.
_SQL_REMOVALS = f"""
INSERT INTO main.versions (version, url, round, fetched_at, status, change)
SELECT -p.rowid - 2000000000, p.url, COALESCE(p.round, 0), p.fetched_at, p.status, '{Check.REMOVED.value}'
FROM main.pages p
WHERE p.status IN ({", ".join(map(str, REMOVED_STATUSES))})
  AND (SELECT v.change FROM main.versions v WHERE v.url = p.url ORDER BY v.fetched_at DESC, v.version DESC LIMIT 1)
      != '{Check.REMOVED.value}'
  AND (SELECT MAX(v.fetched_at) FROM main.versions v WHERE v.url = p.url) < p.fetched_at
"""

_SQL_UNION_ROUNDS = """
INSERT INTO main.rounds (round, started_at, finished_at, outcome, runs)
SELECT round, started_at, finished_at, outcome, runs FROM src.rounds WHERE true
ON CONFLICT (round) DO UPDATE SET
    started_at = MIN(rounds.started_at, excluded.started_at),
    finished_at = CASE WHEN rounds.finished_at IS NULL OR excluded.finished_at IS NULL THEN NULL
                       ELSE MAX(rounds.finished_at, excluded.finished_at) END,
    outcome = CASE WHEN rounds.finished_at IS NOT NULL AND excluded.finished_at IS NOT NULL THEN 'finished'
                   ELSE COALESCE(CASE WHEN rounds.finished_at IS NULL THEN rounds.outcome END, excluded.outcome) END,
    runs = rounds.runs + excluded.runs
"""

_SQL_UNION_CHECKS = """
INSERT INTO main.checks (round, url, checked_at, status, outcome)
SELECT round, url, checked_at, status, outcome FROM src.checks WHERE true
ON CONFLICT (round, url) DO UPDATE SET checked_at = excluded.checked_at, status = excluded.status,
    outcome = excluded.outcome
WHERE ((excluded.outcome != 'failed'), excluded.checked_at, excluded.outcome)
    > ((checks.outcome != 'failed'), checks.checked_at, checks.outcome)
"""

_SQL_REPLACE_LINKS = """
DELETE FROM main.links WHERE source IN (SELECT url FROM temp.merge_winners);
INSERT INTO main.links (source, target, kind, text)
SELECT source, target, kind, text FROM src.links WHERE source IN (SELECT url FROM temp.merge_winners);
"""

_SQL_UNION_ALIASES = """
INSERT INTO main.aliases (alias, url, reason)
SELECT alias, url, reason FROM src.aliases WHERE true
ON CONFLICT (alias) DO UPDATE SET url = excluded.url, reason = excluded.reason
WHERE (excluded.url, excluded.reason) < (aliases.url, aliases.reason)
"""

_SQL_COUNT_SEEN = """
INSERT INTO temp.merge_seen (url, inputs) SELECT url, 1 FROM src.pages WHERE true
ON CONFLICT (url) DO UPDATE SET inputs = inputs + 1
"""


def merge_stores(output: str | Path, inputs: Sequence[str | Path]) -> MergeStats:
    """Merge the crawl stores ``inputs`` into the store ``output`` (created if missing).

    See the module docstring for the rule that picks one page per URL. The same input
    named twice is merged once. Raises :class:`~crawler.exceptions.ExportError` for no inputs or an output that is
    one of the inputs, and :class:`~crawler.store.StoreError` (naming the file) for an
    input that is missing, corrupt, foreign or from a newer release, or an unusable
    output; every input is checked before the output is opened.
    """
    paths = _distinct_inputs(inputs)
    if not paths:
        raise ExportError("no input stores to merge")
    for path in paths:
        if _same_file(output, path):
            raise ExportError(f"{output}: the output is also an input; merge into a new or another store")
    for path in paths:
        Store(path, create=False).close()  # a StoreError names the file

    with Store(output) as store:
        db = store.db
        db.execute("PRAGMA busy_timeout = 10000")
        db.executescript(_SQL_SETUP)
        for path in paths:
            _merge_one(db, path)
        store.rebuild_wanted()  # what is left to fetch, from the merged links and pages
        store.recount_versions()
        conflicts = db.execute("SELECT COUNT(*) FROM temp.merge_seen WHERE inputs > 1").fetchone()[0]
        db.executescript("DROP TABLE temp.merge_seen; DROP TABLE temp.merge_winners;")
        counts = store.counts()
    return MergeStats(
        counts["pages"], counts["links"], counts["aliases"], conflicts, len(paths), counts["versions"], counts["rounds"]
    )


def _merge_one(db: sqlite3.Connection, path: str) -> None:
    db.execute("ATTACH DATABASE ? AS src", (path,))
    try:
        # Deferred: the inputs are only read, so no write lock is taken on them.
        db.execute("BEGIN")
        db.execute("DELETE FROM temp.merge_winners")
        db.execute(_SQL_WINNERS)
        for (url,) in db.execute(_SQL_TIED_LINKS).fetchall():
            if _links(db, "src", url) > _links(db, "main", url):
                db.execute("INSERT INTO temp.merge_winners (url) VALUES (?)", (url,))
        db.execute(_SQL_UPSERT_PAGES)
        for statement in _SQL_REPLACE_LINKS.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(_SQL_UNION_ALIASES)
        db.execute(_SQL_COUNT_SEEN)
        db.execute(_SQL_UNION_ROUNDS)
        db.execute(_SQL_UNION_CHECKS)
        db.execute(_SQL_UNION_VERSIONS)
        db.execute(_SQL_REMOVALS)
        _renumber_versions(db)
        db.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot merge this store ({exc})") from None
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.execute("DETACH DATABASE src")


def _renumber_versions(db: sqlite3.Connection) -> None:
    """Each URL that gained versions: its versions in the order they were fetched, one
    version per distinct article (removals and returns kept), numbered from 1."""
    urls = [url for (url,) in db.execute("SELECT DISTINCT url FROM main.versions WHERE version < 0")]
    for url in urls:
        rows = db.execute(
            "SELECT id, change, article_hash FROM main.versions WHERE url = ? "
            "ORDER BY fetched_at, version > 0 DESC, id",
            (url,),
        ).fetchall()
        kept: list[tuple[int, str]] = []
        previous: tuple[bool, str | None] | None = None
        for row_id, change, article_hash in rows:
            removed = change == Check.REMOVED
            state = (removed, None if removed else article_hash)
            if state == previous:
                db.execute("DELETE FROM main.versions WHERE id = ?", (row_id,))
                continue
            if removed:
                label = Check.REMOVED if previous is not None else None
            elif previous is None:
                label = Check.NEW
            else:
                label = Check.RESTORED if previous[0] else Check.CHANGED
            if label is None:  # a removal with no answer before it, in any input: not a version
                db.execute("DELETE FROM main.versions WHERE id = ?", (row_id,))
                continue
            previous = state
            kept.append((row_id, label.value))
        db.executemany("UPDATE main.versions SET version = -id - 1 WHERE id = ?", [(i,) for i, _ in kept])
        db.executemany(
            "UPDATE main.versions SET version = ?, change = ? WHERE id = ?",
            [(n, label, row_id) for n, (row_id, label) in enumerate(kept, start=1)],
        )


def _links(db: sqlite3.Connection, schema: str, url: str) -> list[tuple[str, str, str]]:
    return sorted(db.execute(f"SELECT target, kind, text FROM {schema}.links WHERE source = ?", (url,)))


def _distinct_inputs(inputs: Sequence[str | Path]) -> list[str]:
    """The inputs as strings, each file once (the first spelling kept)."""
    distinct: list[str] = []
    for path in inputs:
        if not any(_same_file(path, seen) for seen in distinct):
            distinct.append(str(path))
    return distinct


def _same_file(a: str | Path, b: str | Path) -> bool:
    if str(a) == ":memory:" or str(b) == ":memory:":
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return Path(a).resolve() == Path(b).resolve()
