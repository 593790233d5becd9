"""The SQLite store: idempotent writes, schema checks, clear errors."""

import sqlite3

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
        assert store.counts() == {"pages": 1, "links": 1, "aliases": 0}
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
