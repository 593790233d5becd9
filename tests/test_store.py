"""The SQLite store: idempotent writes, schema checks, clear errors."""

import shutil
import sqlite3
from pathlib import Path

import pytest

from crawler.store import SCHEMA_VERSION, Store, StoreError

A = "https://www.nytimes.com/2016/12/05/world/a.html"
B = "https://www.nytimes.com/2016/12/05/world/b.html"


def page(url=A, status=200, title="A", links=(), **extra):
    return {
        "url": url,
        "fetched_url": url.replace("https://www.nytimes.com", "http://x.onion"),
        "mirror": "x.onion",
        "status": status,
        "fetched_at": "2026-11-25T00:00:00+00:00",
        "title": title,
        "links": [{"url": u, "text": t, "kind": k} for u, t, k in links],
        **extra,
    }


def test_a_page_crawled_again_updates_its_row(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.write([page(links=[(B, "b", "article"), (B, "b again", "article")])])
        store.write([page(title="A, updated", links=[(B, "b", "article")])])
        assert store.counts() == {"pages": 1, "links": 1, "aliases": 0, "versions": 2, "rounds": 1}
        [stored] = list(store.pages())
        assert stored["title"] == "A, updated"
        assert stored["links"] == [{"url": B, "text": "b", "kind": "article"}]


def test_a_failed_refetch_keeps_the_page(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.write([page(text="body", links=[(B, "b", "article")])])
        store.write([page(status=None, error="DownloadTimeoutError: took too long")])
        [stored] = list(store.pages())
        assert stored["status"] == 200 and stored["text"] == "body" and stored["error"] is None
        assert len(stored["links"]) == 1


def test_aliases_from_canonical_and_redirects(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.write(
            [
                page(aliases=["https://www.nytimes.com/old.html"]),
                page(url="https://www.nytimes.com/moved.html", status=301, redirect_to=A),
            ]
        )
        rows = set(store.db.execute("SELECT alias, url, reason FROM aliases"))
        assert rows == {
            ("https://www.nytimes.com/old.html", A, "canonical"),
            ("https://www.nytimes.com/moved.html", A, "redirect"),
        }
        assert "https://www.nytimes.com/moved.html" in store.done_urls()


def test_frontier_is_unanswered_article_links(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.write([page(depth=2, links=[(B, "b", "article"), ("https://x.org/", "x", "external")])])
        assert store.frontier() == [(B, 3)]
        store.write([page(url=B, depth=3)])
        assert store.frontier() == []


def test_schema_version_is_recorded(tmp_path):
    path = tmp_path / "s.sqlite3"
    Store(path).close()
    meta = dict(sqlite3.connect(path).execute("SELECT key, value FROM meta"))
    assert meta == {"application": "onion-news-crawler", "schema_version": str(SCHEMA_VERSION)}


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.sqlite3"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema 99 is newer"):
        Store(path)


def test_corrupt_and_foreign_files_are_refused_clearly(tmp_path):
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="not a usable SQLite store"):
        Store(garbage)
    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(StoreError, match="not a crawl store"):
        Store(foreign)
    with pytest.raises(StoreError, match="no such store"):
        Store(tmp_path / "missing.sqlite3", create=False)


def test_a_foreign_file_is_left_untouched(tmp_path):
    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE customers (id INTEGER)")
    before = foreign.read_bytes()
    with pytest.raises(StoreError):
        Store(foreign)
    assert foreign.read_bytes() == before
    assert not (tmp_path / "foreign.sqlite3-wal").exists()


def test_an_empty_file_is_not_a_store_to_read(tmp_path):
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    with pytest.raises(StoreError, match="empty file"):
        Store(empty, create=False)


def test_a_transient_failure_is_fetched_again_and_never_overwrites_a_good_page(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.write([page(depth=1, links=[(B, "b", "article")]), page(url=B, status=503, depth=2, error=None)])
        assert B not in store.done_urls()
        assert store.frontier() == [(B, 2)]  # a 5xx after every retry is worth another try
        store.write([page(url=B, status=None, depth=2, error="DownloadTimeoutError")])
        assert store.frontier() == [(B, 2)]
        store.write([page(url=B, status=404, depth=2)])
        assert B in store.done_urls() and store.frontier() == []  # a 404 is an answer
        store.write([page(url=A, status=429, depth=1)])
        [first] = [p for p in store.pages() if p["url"] == A]
        assert first["status"] == 200  # a 429 on a refetch leaves the good page as it was


# -- schema 1 to 2 ---------------------------------------------------------------------------

SCHEMA_1 = Path(__file__).parent / "fixtures" / "stores" / "schema1.sqlite3"  # a crawl by release 991d4be


def _rows(path, sql):
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def test_a_schema_1_store_is_migrated_in_place_nothing_lost(tmp_path):
    path = tmp_path / "crawl.sqlite3"
    shutil.copy(SCHEMA_1, path)
    columns = "url, fetched_url, mirror, status, error, fetched_at, depth, title, authors, published, text, html"
    before = {
        "pages": _rows(path, f"SELECT {columns} FROM pages ORDER BY url"),
        "links": _rows(path, "SELECT * FROM links ORDER BY source, target, kind, text"),
        "aliases": _rows(path, "SELECT * FROM aliases ORDER BY alias"),
    }
    assert _rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]
    with Store(path) as store:
        migrated = list(store.pages())
        assert len(migrated) == len(before["pages"])
    assert _rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("2",)]
    assert _rows(path, f"SELECT {columns} FROM pages ORDER BY url") == before["pages"]
    assert _rows(path, "SELECT * FROM links ORDER BY source, target, kind, text") == before["links"]
    assert _rows(path, "SELECT * FROM aliases ORDER BY alias") == before["aliases"]
    # The crawl so far is round 1, finished; each answered page's article is its version 1.
    first, last = _rows(path, "SELECT MIN(fetched_at), MAX(fetched_at) FROM pages")[0]
    assert _rows(path, "SELECT round, started_at, finished_at, outcome FROM rounds") == [(1, first, last, "migrated")]
    answered = _rows(path, "SELECT url, title, text FROM pages WHERE status = 200 AND title != '' ORDER BY url")
    assert _rows(path, "SELECT url, title, text FROM versions WHERE version = 1 ORDER BY url") == answered
    assert len(answered) >= 12
    assert _rows(path, "SELECT COUNT(*) FROM checks WHERE round = 1") == [(len(before["pages"]),)]
    # Opening it again changes nothing; the next fetch of an unchanged article is no new version.
    with Store(path) as store:
        page = next(p for p in store.pages() if p["title"] and p["status"] == 200)
        assert store.write([{**page, "fetched_at": "2027-01-01T00:00:00+00:00"}]) == ["unchanged"]
        assert store.counts()["versions"] == len(answered)


def test_a_failed_migration_leaves_the_store_as_it_was(tmp_path):
    path = tmp_path / "crawl.sqlite3"
    shutil.copy(SCHEMA_1, path)
    with sqlite3.connect(path) as db:  # a column the migration adds, there already: the migration fails midway
        db.execute("ALTER TABLE pages ADD COLUMN changed_at TEXT")
    snapshot = path.read_bytes()
    with pytest.raises(StoreError):
        Store(path)
    assert path.read_bytes() == snapshot
    assert _rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]


def test_a_store_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "crawl.sqlite3"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer than this release"):
        Store(path)


# -- checks and versions -----------------------------------------------------------------------

TEXT = "Talks resumed on Monday in Geneva. " * 20


def test_a_far_shorter_extraction_is_no_version_and_the_last_good_one_stands(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        assert store.write([page(text=TEXT, fetched_at="2026-12-01T00:00:00+00:00")]) == ["new"]
        truncated = page(text=TEXT[:100], fetched_at="2026-12-02T00:00:00+00:00")
        assert store.write([truncated]) == ["extraction-failed"]
        assert store.write([page(text="", title="", fetched_at="2026-12-03T00:00:00+00:00")]) == ["extraction-failed"]
        [stored] = store.pages()
        assert stored["text"] == TEXT and stored["fetched_at"] == "2026-12-01T00:00:00+00:00"
        assert store.counts()["versions"] == 1
        checked = store.db.execute("SELECT checked_at FROM pages").fetchone()[0]
        assert checked == "2026-12-03T00:00:00+00:00"  # the check is recorded; the version stands


def test_a_page_removed_then_back_is_a_version_each_time(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.begin_round("2026-12-01T00:00:00+00:00")
        assert store.write([page(text=TEXT)]) == ["new"]
        store.end_round(1, "finished")
        store.begin_round("2026-12-02T00:00:00+00:00")
        assert store.write([page(status=410, title="Gone", text="", fetched_at="2026-12-02T01:00:00+00:00")]) == [
            "removed"
        ]
        store.end_round(2, "finished")
        store.begin_round("2026-12-03T00:00:00+00:00")
        assert store.write([page(status=503, fetched_at="2026-12-03T01:00:00+00:00")]) == ["failed"]
        assert store.write([page(text=TEXT, fetched_at="2026-12-03T02:00:00+00:00")]) == ["restored"]
        rows = store.db.execute("SELECT version, round, change, status FROM versions ORDER BY version").fetchall()
        assert rows == [(1, 1, "new", 200), (2, 2, "removed", 410), (3, 3, "restored", 200)]
        # In round 3 the transient failure was replaced by the answer: one check per page and round.
        assert store.db.execute("SELECT outcome FROM checks WHERE round = 3").fetchall() == [("restored",)]


def test_a_304_only_records_the_check(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        first = page(text=TEXT, etag='"v1"', fetched_at="2026-12-01T00:00:00+00:00")
        store.write([first])
        store.end_round(1, "finished")
        store.begin_round("2026-12-02T00:00:00+00:00")
        assert store.write([page(status=304, title="", fetched_at="2026-12-02T00:00:00+00:00")]) == ["not-modified"]
        [stored] = store.pages()
        assert (stored["status"], stored["etag"], stored["text"]) == (200, '"v1"', TEXT)
        assert store.db.execute("SELECT round, checked_at, changed_at FROM pages").fetchone() == (
            2,
            "2026-12-02T00:00:00+00:00",
            "2026-12-01T00:00:00+00:00",
        )
