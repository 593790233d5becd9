"""End to end: crawl the sample mirror, then check the store, the cleaned pages and the exports."""

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from crawler.samplemirror import MirrorServer, RecordingSocks5Server, build_site
from crawler.store import Store
from crawler.url.normalize import default_normalizer
from tests.crawling import article_fetches, crawl_command, read_items, run_crawl, run_scrapy

MIRROR_LABELS = [m.onion for m in default_normalizer().rules.mirrors]
OFFSITE = "https://www.example.org/story.html"
TRACKING = ("rref=", "contentCollection=", "pgtype=", "smid=", "utm_", "fbclid=", "partner=rss", "emc=")


@pytest.fixture(scope="module")
def stored_crawl(whole_crawl):
    assert whole_crawl.result.returncode == 0, whole_crawl.result.stderr[-3000:]
    return whole_crawl.site, whole_crawl.workdir, whole_crawl.result


def test_store_holds_every_item_once(stored_crawl):
    site, workdir, result = stored_crawl
    with Store(workdir / "crawl.sqlite3", create=False) as store:
        urls = [row[0] for row in store.db.execute("SELECT url FROM pages")]
        assert sorted(urls) == sorted({item["url"] for item in result.items})
        assert site.article_urls() <= set(urls)
        links = store.db.execute("SELECT COUNT(*) FROM links").fetchone()[0]
        assert links == len(
            {(i["url"], link["url"], link["kind"], link["text"]) for i in result.items for link in i["links"]}
        )


def test_articles_are_cleaned_with_metadata(stored_crawl):
    site, _, result = stored_crawl
    by_url = {item["url"]: item for item in result.items}
    for article in site.articles:
        item = by_url[article.canonical_url]
        assert item["title"] == article.title
        assert item["authors"] == [article.author]
        assert item["published"].startswith(article.published[:10])
        assert article.paragraphs[0][:60] in item["text"]
        assert "Related coverage" not in item["text"][:200]
        assert len(item["content_hash"]) == 64


def test_normalized_html_has_no_mirror_host_and_no_tracking(stored_crawl):
    _, _, result = stored_crawl
    pages = [item for item in result.items if item["html"]]
    assert len(pages) > 40
    for item in pages:
        html = item["html"].lower()
        for label in MIRROR_LABELS:
            assert label not in html, (item["url"], label)
        for param in TRACKING:
            assert param.lower() not in html, (item["url"], param)
        assert 'href="/' not in html and "href='/" not in html  # every href absolute


def test_crawl_log_ends_with_a_summary(stored_crawl):
    _, _, result = stored_crawl
    assert "Crawl summary" in result.stderr
    assert "unique articles:       40" in result.stderr
    assert "duplicates collapsed:" in result.stderr and "links by kind:" in result.stderr


def test_pages_export_again(stored_crawl):
    _, workdir, result = stored_crawl
    done = run_scrapy(workdir, "pages", "-o", "again.jsonl")
    assert done.returncode == 0, done.stderr
    again = read_items(workdir / "again.jsonl")
    assert {p["url"] for p in again} == {i["url"] for i in result.items}
    by_url = {i["url"]: i for i in result.items}
    for page in again:
        original = by_url[page["url"]]
        for key in ("title", "text", "html", "authors", "status", "content_hash"):
            assert page[key] == original[key], key
        assert sorted(map(json.dumps, page["links"])) == sorted(map(json.dumps, original["links"]))
    assert run_scrapy(workdir, "pages", "-o", "again.csv").returncode == 0
    assert run_scrapy(workdir, "summary").stdout.startswith("pages stored:")


def test_commands_on_a_bad_store_say_so(tmp_path):
    (tmp_path / "crawl.sqlite3").write_text("not a database " * 100)
    for command in (["pages", "-o", "x.jsonl"], ["summary"]):
        done = run_scrapy(tmp_path, *command)
        assert done.returncode == 2
        assert "error:" in done.stderr and "not a usable SQLite store" in done.stderr
        assert "Traceback" not in done.stderr


def test_a_store_that_cannot_be_created_stops_the_crawl_with_one_message(tmp_path):
    """STORE_PATH in a folder that is a file (as root, a read-only folder is writable: this fails for
    root too): one message naming the path and SQLite's reason, exit 1, no traceback."""
    (tmp_path / "blocker").write_text("a file, not a folder")
    result = run_crawl(tmp_path, "socks5h://127.0.0.1:9", timeout=60, settings={"STORE_PATH": "blocker/crawl.sqlite3"})
    assert result.returncode == 1
    assert result.stderr.count("Cannot use the store: blocker/crawl.sqlite3: cannot open or create the store") == 1
    assert "Traceback" not in result.stderr


def test_crawl_with_a_corrupt_store_stops_with_a_clear_error(tmp_path):
    (tmp_path / "crawl.sqlite3").write_text("not a database " * 100)
    result = run_crawl(tmp_path, "socks5h://127.0.0.1:9", timeout=60)
    assert "Cannot use the store" in result.stderr
    assert "Traceback" not in result.stderr


def test_kill_9_and_resume_leaves_no_duplicate_and_no_gap(tmp_path):
    site = build_site()
    in_flight = 2
    settings = {
        "JOBDIR": str(tmp_path / "job"),
        "DEPTH_LIMIT": "10",
        "CONCURRENT_REQUESTS": str(in_flight),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(in_flight),
    }
    store_path = tmp_path / "crawl.sqlite3"
    with MirrorServer(site, delay=0.1) as server, RecordingSocks5Server(server.address) as proxy:
        command, env = crawl_command(tmp_path, proxy.url, settings=settings, output="part1.jsonl")
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        committed: dict[str, str] = {}
        while len(committed) < 12 and time.monotonic() < deadline:
            time.sleep(0.1)
            if store_path.exists():
                with contextlib.suppress(sqlite3.OperationalError), sqlite3.connect(store_path) as db:
                    committed = dict(db.execute("SELECT url, content_hash FROM pages WHERE status = 200"))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        with sqlite3.connect(store_path) as db:
            committed = dict(db.execute("SELECT url, content_hash FROM pages WHERE status = 200"))
        assert 12 <= len(committed) < len(site.article_urls())
        fetched_before = article_fetches(server, site)

        second = run_crawl(tmp_path, proxy.url, settings=settings, output="part2.jsonl")
        assert second.returncode == 0, second.stderr[-3000:]
        assert "interrupted before, taken up again" in second.stderr
        fetched_again = set(article_fetches(server, site) - fetched_before) & set(fetched_before)
    # A page counts as done once committed: the resumed crawl fetches again only what was in
    # flight (fetched, not yet committed: up to CONCURRENT_REQUESTS downloads, and responses
    # still in the spider or pipeline, more of them on a loaded machine), never a committed page.
    path_of = {article.canonical_url: article.path for article in site.articles}
    committed_paths = {path_of[url] for url in committed if url in path_of}
    assert not (fetched_again - {site.flaky_path}) & committed_paths
    assert len(fetched_again - {site.flaky_path}) <= len(set(fetched_before) - committed_paths)

    with Store(store_path, create=False) as store:
        rows = list(store.db.execute("SELECT url, content_hash FROM pages WHERE status = 200"))
    urls = [url for url, _ in rows]
    assert len(urls) == len(set(urls))  # no duplicate
    assert site.article_urls() <= set(urls)  # no gap
    stored = dict(rows)
    assert all(stored[url] == digest for url, digest in committed.items())  # nothing committed lost


@pytest.mark.parametrize("extension", [".json", ".graphml", ".gexf", ".csv"])
def test_graph_exports_load_back_and_match_the_site(stored_crawl, extension):
    import csv

    import networkx as nx

    site, workdir, _ = stored_crawl
    output = workdir / f"graph{extension}"
    done = run_scrapy(workdir, "graph", "-o", output.name)
    assert done.returncode == 0, done.stderr
    if extension == ".json":
        graph = nx.node_link_graph(json.loads(output.read_text()), edges="edges")
    elif extension == ".graphml":
        graph = nx.read_graphml(output)
    elif extension == ".gexf":
        graph = nx.read_gexf(output)
    else:
        graph = nx.DiGraph()
        with output.open(newline="") as handle:
            for row in csv.DictReader(handle):
                graph.add_edge(row["source"], row["target"], kind=row["kind"])
    for article in site.articles:
        article_edges = {t for _, t, kind in graph.out_edges(article.canonical_url, data="kind") if kind == "article"}
        assert site.related(article.path) <= article_edges, article.path
    if extension != ".csv":
        fetched = {n for n, is_fetched in graph.nodes(data="fetched") if is_fetched in (True, "true", "True", 1)}
        assert site.article_urls() <= fetched
        assert OFFSITE in graph and graph.nodes[OFFSITE]["fetched"] in (False, "false", "False", 0)
