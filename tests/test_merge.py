"""Merging worker stores: one page per URL, a deterministic winner, order-independent, idempotent."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.store import PAGE_COLUMNS, Store, StoreError
from crawler.store.graph import export_graph
from crawler.store.merge import MergeStats, merge_stores

PROJECT = Path(__file__).resolve().parents[1]
NYT = "https://www.nytimes.com"
A, B, C, D = (f"{NYT}/2016/12/05/world/{name}.html" for name in "abcd")
DAY1, DAY2 = "2026-11-25T00:00:00+00:00", "2026-11-26T00:00:00+00:00"


def page(url=A, *, status=200, fetched_at=DAY1, title=None, content_hash="h1", links=(), **extra):
    return {
        "url": url,
        "fetched_url": url.replace(NYT, "http://x.onion"),
        "mirror": "x.onion",
        "status": status,
        "fetched_at": fetched_at,
        "depth": 1,
        "title": title or url.rsplit("/", 1)[1],
        "text": "body",
        "content_hash": content_hash,
        "links": [{"url": u, "text": u[-6:], "kind": "article"} for u in links],
        **extra,
    }


def make_store(path: Path, items: list[dict]) -> Path:
    with Store(path) as store:
        store.write(items)
    return path


def dump(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as db:
        return {
            # Every column but version_count: the merged store counts the versions of all inputs.
            "pages": db.execute(
                f"SELECT {', '.join(PAGE_COLUMNS)}, round, checked_at, changed_at FROM pages ORDER BY url"
            ).fetchall(),
            "links": db.execute("SELECT * FROM links ORDER BY source, target, kind, text").fetchall(),
            "aliases": db.execute("SELECT * FROM aliases ORDER BY alias").fetchall(),
        }


def stored_pages(path: Path) -> dict[str, dict]:
    with Store(path, create=False) as store:
        return {p["url"]: p for p in store.pages()}


@pytest.fixture
def workers(tmp_path):
    """Two overlapping workers: A in both (worker 2 fetched it later, with other links)."""
    one = make_store(
        tmp_path / "worker1.sqlite3",
        [
            page(A, links=[B, C], aliases=[f"{NYT}/a-old.html"]),
            page(B, links=[A]),
        ],
    )
    two = make_store(
        tmp_path / "worker2.sqlite3",
        [
            page(A, fetched_at=DAY2, title="A, later", content_hash="h2", links=[D]),
            page(D, status=301, redirect_to=A),
        ],
    )
    return one, two


def test_disjoint_stores_merge_to_the_union_and_equal_one_store(tmp_path):
    items1 = [page(A, links=[B, C], aliases=[f"{NYT}/a-old.html"]), page(B, links=[A])]
    items2 = [page(C, links=[A, D]), page(D, status=301, redirect_to=A), page(f"{NYT}/x.html", status=None)]
    one = make_store(tmp_path / "one.sqlite3", items1)
    two = make_store(tmp_path / "two.sqlite3", items2)
    single = make_store(tmp_path / "single.sqlite3", items1 + items2)

    stats = merge_stores(tmp_path / "out.sqlite3", [one, two])
    assert stats == MergeStats(pages=5, links=5, aliases=2, conflicts=0, stores=2, versions=3, rounds=1)
    assert dump(tmp_path / "out.sqlite3") == dump(single)

    with Store(tmp_path / "out.sqlite3") as merged, Store(single) as reference:
        export_graph(merged, tmp_path / "merged.json")
        export_graph(reference, tmp_path / "single.json")
    merged_json = (tmp_path / "merged.json").read_text().replace(str(tmp_path / "out.sqlite3"), "STORE")
    single_json = (tmp_path / "single.json").read_text().replace(str(single), "STORE")
    assert merged_json == single_json


def test_an_overlapping_url_goes_to_the_later_fetch_with_its_own_links(tmp_path, workers):
    stats = merge_stores(tmp_path / "out.sqlite3", workers)
    assert stats == MergeStats(pages=3, links=2, aliases=2, conflicts=1, stores=2, versions=3, rounds=1)
    pages = stored_pages(tmp_path / "out.sqlite3")
    assert pages[A]["title"] == "A, later"
    assert [link["url"] for link in pages[A]["links"]] == [D]  # worker 2's links only, no union
    assert [link["url"] for link in pages[B]["links"]] == [A]
    assert pages[A]["aliases"] == [f"{NYT}/a-old.html"]  # aliases: the union


@pytest.mark.parametrize(
    ("loser", "winner"),
    [
        (page(status=None, fetched_at=DAY2, content_hash=None, error="timeout"), page(links=[B])),  # status first
        (page(status=503, fetched_at=DAY2, content_hash=None), page(links=[B])),  # a final answer beats a later 5xx
        (page(status=429, fetched_at=DAY2, content_hash=None), page(status=404, content_hash=None)),
        (page(status=None, fetched_at=DAY2, content_hash=None, error="timeout"), page(status=503, content_hash=None)),
        (page(fetched_at=DAY1, content_hash="h9", links=[C]), page(fetched_at=DAY2, content_hash="h1", links=[B])),
        (page(content_hash="h1", links=[C]), page(content_hash="h2", links=[B])),
        (page(content_hash=None, links=[C]), page(content_hash="h0", links=[B])),
        (page(links=[C]), page(links=[B], fetched_url="http://y.onion/a.html")),
        (page(title="A", links=[C]), page(title="Z", links=[B])),  # all four equal: the other columns decide
        (page(links=[A]), page(links=[B])),  # identical rows: the larger link list
    ],
)
def test_the_winner_by_the_rule_in_either_order(tmp_path, loser, winner):
    lose = make_store(tmp_path / "lose.sqlite3", [loser])
    win = make_store(tmp_path / "win.sqlite3", [winner])
    merge_stores(tmp_path / "ab.sqlite3", [lose, win])
    merge_stores(tmp_path / "ba.sqlite3", [win, lose])
    assert dump(tmp_path / "ab.sqlite3") == dump(tmp_path / "ba.sqlite3") == dump(win)


def test_a_failed_fetch_loses_to_a_fetched_page_in_either_order(tmp_path):
    failed = make_store(tmp_path / "failed.sqlite3", [page(status=None, fetched_at=DAY2, error="timeout")])
    fetched = make_store(tmp_path / "fetched.sqlite3", [page(links=[B])])
    for name, inputs in (("ab", [failed, fetched]), ("ba", [fetched, failed])):
        merge_stores(tmp_path / f"{name}.sqlite3", inputs)
        [stored] = stored_pages(tmp_path / f"{name}.sqlite3").values()
        assert stored["status"] == 200 and stored["error"] is None
        assert [link["url"] for link in stored["links"]] == [B]


def test_order_independence(tmp_path, workers):
    three = make_store(
        tmp_path / "worker3.sqlite3",
        [
            page(A, fetched_at=DAY2, content_hash="h1", links=[B]),  # loses to worker 2 on the hash
            page(B, status=None, fetched_at=DAY2),
            page(C, aliases=[f"{NYT}/a-old.html"]),  # an alias conflict: the smaller target (A) stays
        ],
    )
    orders = [[*workers, three], [three, *workers], [workers[1], three, workers[0]]]
    dumps = []
    for number, inputs in enumerate(orders):
        assert merge_stores(tmp_path / f"out{number}.sqlite3", inputs).conflicts == 2
        dumps.append(dump(tmp_path / f"out{number}.sqlite3"))
    assert dumps[0] == dumps[1] == dumps[2]
    assert (f"{NYT}/a-old.html", A, "canonical") in dumps[0]["aliases"]


def test_idempotence(tmp_path, workers):
    out = tmp_path / "out.sqlite3"
    first = merge_stores(out, workers)
    before = dump(out)
    assert merge_stores(out, workers) == first
    assert dump(out) == before
    assert merge_stores(out, [workers[1]]).pages == first.pages  # an input already merged in
    assert dump(out) == before
    # Merging a merge with one of its inputs (into another output) changes nothing either.
    again = merge_stores(tmp_path / "again.sqlite3", [out, workers[0]])
    assert dump(tmp_path / "again.sqlite3") == before and again.conflicts == 2


def test_errors_name_the_file(tmp_path, workers):
    with pytest.raises(StoreError, match="missing.sqlite3: no such store"):
        merge_stores(tmp_path / "out.sqlite3", [workers[0], tmp_path / "missing.sqlite3"])
    assert not (tmp_path / "out.sqlite3").exists()  # inputs are checked before the output is created
    with pytest.raises(ValueError, match="the output is also an input"):
        merge_stores(workers[0], workers)
    with pytest.raises(ValueError, match="no input stores"):
        merge_stores(tmp_path / "out.sqlite3", [])
    # The same input named twice is merged once.
    assert merge_stores(tmp_path / "out.sqlite3", [workers[0], workers[0]]).stores == 1


# -- the command ---------------------------------------------------------------------------


def scrapy_merge(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start ``scrapy merge ARGS`` (the runs of a test go in parallel: Scrapy takes a while to start)."""
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawler.settings")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "scrapy.cmdline", "merge", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, stderr


def test_command(tmp_path, workers):
    (tmp_path / "corrupt.sqlite3").write_bytes(b"not a database" * 200)
    # None of the failing runs touches crawl.sqlite3, so they can run while the good one writes it.
    failing = {
        "error: missing.sqlite3: no such store": ["worker1.sqlite3", "missing.sqlite3"],
        "error: corrupt.sqlite3: not a usable SQLite store": ["worker1.sqlite3", "corrupt.sqlite3"],
        "error: crawl.sqlite3: the output is also an input": ["worker1.sqlite3", "./crawl.sqlite3"],
        "error: no input stores": [],
    }
    good = scrapy_merge("-o", "crawl.sqlite3", "worker1.sqlite3", "worker2.sqlite3", cwd=tmp_path)
    bad = {message: scrapy_merge("-o", "crawl.sqlite3", *args, cwd=tmp_path) for message, args in failing.items()}

    status, stdout, stderr = finish(good)
    assert status == 0, stderr
    assert stdout.strip() == "crawl.sqlite3: 3 pages, 2 links, 2 aliases from 2 stores (1 URLs in more than one)"
    assert stored_pages(tmp_path / "crawl.sqlite3")[A]["title"] == "A, later"
    for message, process in bad.items():
        status, stdout, stderr = finish(process)
        assert status == 2, (message, stdout, stderr)
        assert stderr.startswith(message) and stderr.count("\n") == 1, stderr
        assert "Traceback" not in stderr
