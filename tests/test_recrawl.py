"""Rounds: the same `scrapy crawl mirror` command again, on a living sample mirror.

Real crawls through a real SOCKS5 proxy, a real SQLite store, real WARC files read back with
warcio and replayed in a real pywb. The sample mirror's editions (crawler.samplemirror) add,
edit, remove and restore articles, answer conditional requests with 304 where they sent
validators, and send per-fetch noise on the pages without validators."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from types import SimpleNamespace

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.samplemirror import MirrorServer, RecordingSocks5Server, build_site
from tests.crawling import article_fetches, crawl_command, run_crawl, run_scrapy
from tests.test_archive import fetch, pywb_bin, pywb_replaying  # noqa: F401 - pywb_bin is a fixture
from tests.test_shared import redis_url, shared, start_workers, wait_all  # noqa: F401 - fixtures

AUDIT = {"DEPTH_LIMIT": "10", "WARC_DIR": "warc", "RECRAWL_ALL": "1"}
HOME = "https://www.nytimes.com/"


def rows(workdir, sql, *args):
    with sqlite3.connect(workdir / "crawl.sqlite3") as db:
        return db.execute(sql, args).fetchall()


def checks(workdir, number):
    return dict(rows(workdir, "SELECT outcome, COUNT(*) FROM checks WHERE round = ? GROUP BY outcome", number))


def urls(workdir, sql, *args):
    return {url for (url,) in rows(workdir, sql, *args)}


@pytest.fixture(scope="module")
def living(tmp_path_factory):
    """Four rounds of one crawl: edition 0, edition 0 again, edition 1, edition 2 (RECRAWL_ALL:
    the sample mirror's articles are dated 2016, which the schedule would leave alone)."""
    workdir = tmp_path_factory.mktemp("living")
    editions = [build_site(noise=True)]
    editions += [editions[0], editions[0].next_edition()]
    editions.append(editions[2].next_edition())
    results, requests = [], []
    with MirrorServer(editions[0]) as server, RecordingSocks5Server(server.address) as proxy:
        for number, site in enumerate(editions, start=1):
            server.set_site(site)
            before = len(server.requests)
            results.append(run_crawl(workdir, proxy.url, settings=AUDIT, output=f"round{number}.jsonl"))
            requests.append(server.requests[before:])
    return SimpleNamespace(workdir=workdir, editions=editions, results=results, requests=requests)


def test_every_round_finishes_and_is_recorded(living):
    for result in living.results:
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
    recorded = rows(living.workdir, "SELECT round, finished_at IS NOT NULL, outcome, runs FROM rounds ORDER BY round")
    assert recorded == [(n, 1, "finished", 1) for n in (1, 2, 3, 4)]
    assert "Round 2 of crawl.sqlite3, a new round" in living.results[1].stderr


def test_round_2_on_an_unchanged_mirror_makes_no_version(living):
    site, workdir = living.editions[0], living.workdir
    found = checks(workdir, 2)
    assert "new" not in found and "changed" not in found and "removed" not in found
    with_validators = {a.canonical_url for a in site.articles if a.has_validators}
    assert urls(workdir, "SELECT url FROM checks WHERE round = 2 AND outcome = 'not-modified'") == with_validators
    # The pages without validators send noise in their bytes: the same article all the same.
    unchanged = urls(workdir, "SELECT url FROM checks WHERE round = 2 AND outcome = 'unchanged'")
    assert {a.canonical_url for a in site.articles if not a.has_validators} <= unchanged
    assert rows(workdir, "SELECT COUNT(*) FROM versions WHERE round = 2") == [(0,)]
    conditional = [r for r in living.requests[1] if r.conditional]
    assert len(conditional) == len(with_validators)
    assert Counter(r.status for r in conditional) == Counter({304: len(with_validators)})
    # A 304 goes no further than the store: the round's feed holds the pages fetched with a body.
    assert {item["status"] for item in living.results[1].items} <= {200, 301, 404}


def test_a_304_is_a_server_not_modified_revisit_of_the_earlier_capture(living):
    records = {}
    for path in sorted((living.workdir / "warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                records[record.rec_headers.get_header("WARC-Record-ID")] = record.rec_headers
    revisits = [
        h
        for h in records.values()
        if h.get_header("WARC-Profile") == "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
    ]
    assert len(revisits) >= sum(1 for a in living.editions[0].articles if a.has_validators)
    for headers in revisits:
        original = records[headers.get_header("WARC-Refers-To")]
        assert original.get_header("WARC-Type") == "response"
        assert original.get_header("WARC-Target-URI") == headers.get_header("WARC-Refers-To-Target-URI")
        assert original.get_header("WARC-Date") == headers.get_header("WARC-Refers-To-Date")
        assert original.get_header("WARC-Payload-Digest") == headers.get_header("WARC-Payload-Digest")


def test_pywb_replays_a_304_as_the_earlier_capture(living, pywb_bin, tmp_path):  # noqa: F811 - the fixture
    site = living.editions[0]
    article = next(a for a in site.articles if a.has_validators)
    onion = f"http://{site_host()}{article.path}"
    captured = None
    files = sorted((living.workdir / "warc").glob("*.warc.gz"))
    for path in files:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response" and record.rec_headers.get_header("WARC-Target-URI") == onion:
                    captured = record.content_stream().read()
    assert captured
    with pywb_replaying(pywb_bin, files, tmp_path) as collection:
        # The newest capture of the page (round 4's, or round 2's 304) replays as the payload of round 1.
        status, body = fetch(f"{collection}/2030id_/{onion}")
        listing = fetch(f"{collection}/cdx?url={onion}&output=json")[1].decode()
    assert status == 200 and body == captured
    assert listing.count("warc/revisit") >= 1  # the 304s are in the index, as revisits


def site_host() -> str:
    from crawler.samplemirror import MIRROR_V3

    return MIRROR_V3


def test_round_3_on_the_next_edition_finds_every_change(living):
    site, workdir = living.editions[2], living.workdir
    changes = site.changes
    found = urls(workdir, "SELECT url FROM checks WHERE round = 3 AND outcome = 'new'")
    assert found == set(changes.added)  # every new article found
    edited = urls(workdir, "SELECT url FROM versions WHERE round = 3 AND change = 'changed'")
    assert edited - {HOME} == set(changes.edited)  # exactly the edited articles are new versions
    assert HOME in edited  # the home page lists the new articles: a hub's versions are kept too
    removed = rows(workdir, "SELECT url, status FROM versions WHERE round = 3 AND change = 'removed'")
    assert dict(removed) == dict(changes.removed)
    # A removal is a version; the page's row is its latest state: the 404 or 410 (until it comes back).
    for url, status in changes.removed.items():
        if url in living.editions[3].changes.restored:
            continue
        assert rows(workdir, "SELECT status FROM pages WHERE url = ?", url) == [(status,)]
    headline = next(url for url, kind in changes.edited.items() if kind == "headline")
    titles = [t for (t,) in rows(workdir, "SELECT title FROM versions WHERE url = ? ORDER BY version", headline)]
    assert len(titles) == 2 and titles[0] != titles[1]
    assert titles[1] == site.article(headline).title


def test_round_4_records_the_restored_article_as_a_new_version(living):
    site, workdir = living.editions[3], living.workdir
    assert site.changes.restored
    restored = urls(workdir, "SELECT url FROM versions WHERE round = 4 AND change = 'restored'")
    assert restored == set(site.changes.restored)
    edited = urls(workdir, "SELECT url FROM versions WHERE round = 4 AND change = 'changed'")
    assert edited - {HOME} == set(site.changes.edited)
    for url in restored:
        changes = [c for (c,) in rows(workdir, "SELECT change FROM versions WHERE url = ? ORDER BY version", url)]
        assert changes[-2:] == ["removed", "restored"]


def test_the_pages_table_stays_the_latest_version(living):
    workdir = living.workdir
    latest = rows(
        workdir,
        """SELECT p.url FROM pages p JOIN versions v ON v.url = p.url
           WHERE v.version = (SELECT MAX(version) FROM versions w WHERE w.url = p.url)
             AND v.change != 'removed' AND (p.title IS NOT v.title OR p.text IS NOT v.text)""",
    )
    assert latest == []


def test_the_schedule_leaves_old_articles_alone_and_finds_the_new_ones(tmp_path):
    """Without RECRAWL_ALL: the hubs and the articles never fetched, not the 2016 articles."""
    first = build_site()
    second = first.next_edition()
    settings = {"DEPTH_LIMIT": "10"}
    with MirrorServer(first) as server, RecordingSocks5Server(server.address) as proxy:
        assert run_crawl(tmp_path, proxy.url, settings=settings).returncode == 0
        server.set_site(second)
        before = article_fetches(server, second)
        result = run_crawl(tmp_path, proxy.url, settings=settings, output="round2.jsonl")
        fetched = article_fetches(server, second) - before
    assert result.returncode == 0, result.stderr[-3000:]
    assert {second.article(path).canonical_url for path in fetched} == set(second.changes.added)
    assert "1 hubs" in result.stderr  # the home page, known from round 1 (fetched as the start URL)
    # The dupefilter starts with the articles left alone (their links from the home page are filtered),
    # filled without Scrapy's deprecated `fingerprints` copy.
    assert "ScrapyDeprecationWarning" not in result.stderr, result.stderr[-3000:]
    assert urls(tmp_path, "SELECT url FROM checks WHERE round = 2 AND outcome = 'new'") == set(second.changes.added)


def test_kill_9_in_round_2_then_the_same_command_finishes_round_2(tmp_path):
    first = build_site()
    second = first.next_edition()
    settings = {**AUDIT, "CONCURRENT_REQUESTS": "2", "CONCURRENT_REQUESTS_PER_DOMAIN": "2"}
    with MirrorServer(first) as server, RecordingSocks5Server(server.address) as proxy:
        assert run_crawl(tmp_path, proxy.url, settings=settings).returncode == 0
        server.set_site(second)
        server.delay = 0.1
        round1 = article_fetches(server, second)
        command, env = crawl_command(tmp_path, proxy.url, settings=settings, output="part1.jsonl")
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while sum((article_fetches(server, second) - round1).values()) < 15 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        killed = article_fetches(server, second) - round1
        checked = urls(tmp_path, "SELECT url FROM checks WHERE round = 2 AND outcome != 'failed'")
        assert 10 <= len(checked) < len(second.article_urls())
        assert rows(tmp_path, "SELECT round, finished_at FROM rounds ORDER BY round")[-1] == (2, None)

        server.delay = 0.0
        result = run_crawl(tmp_path, proxy.url, settings=settings, output="part2.jsonl")
        again = article_fetches(server, second) - round1 - killed
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Round 2 of crawl.sqlite3, interrupted before, taken up again" in result.stderr
    assert rows(tmp_path, "SELECT round, finished_at IS NOT NULL, runs FROM rounds ORDER BY round") == [
        (1, 1, 1),
        (2, 1, 2),
    ]
    path_of = {a.canonical_url: a.path for a in second.articles}
    assert not {path_of[url] for url in checked if url in path_of} & set(again)  # checked in round 2: not again
    # Every article of the edition was checked in round 2, and each change found once.
    every = urls(tmp_path, "SELECT url FROM checks WHERE round = 2 AND outcome != 'failed'")
    assert second.article_urls() <= every
    edited = urls(tmp_path, "SELECT url FROM versions WHERE round = 2 AND change = 'changed'")
    assert edited - {HOME} == set(second.changes.edited)
    assert rows(tmp_path, "SELECT url, COUNT(*) FROM versions WHERE round = 2 GROUP BY url HAVING COUNT(*) > 1") == []


def test_two_workers_two_rounds_then_merge_keep_every_version_once(tmp_path, shared, redis_url):  # noqa: F811
    """A shared crawl: round 2 fetches every article once across both workers (one seen-set per
    round in Redis), and `scrapy merge` unions the workers' versions and rounds, none lost, none doubled."""
    first = build_site(noise=True)
    second = first.next_edition()
    settings = {"CONCURRENT_REQUESTS": "2", "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "RECRAWL_ALL": "1"}
    with MirrorServer(first, delay=0.02) as server, RecordingSocks5Server(server.address) as proxy:
        workers = start_workers(tmp_path, proxy.url, redis_url, 2, settings)
        wait_all(workers)
        assert [w.returncode for w in workers] == [0, 0], (tmp_path / "worker1.log").read_text()[-3000:]
        server.set_site(second)
        before = article_fetches(server, second)
        workers = start_workers(tmp_path, proxy.url, redis_url, 2, settings)
        wait_all(workers)
        round2 = article_fetches(server, second) - before
    logs = [(tmp_path / f"worker{n}.log").read_text() for n in (1, 2)]
    assert [w.returncode for w in workers] == [0, 0], logs[0][-3000:]
    assert round2 == Counter({a.path: 1 for a in second.articles})  # each article once in round 2
    assert any("Shared round 2 (begun here" in log for log in logs) and any(
        "Shared round 2 (joined" in log for log in logs
    )
    for n in (1, 2):
        with sqlite3.connect(tmp_path / f"worker{n}.sqlite3") as db:
            assert [r for (r,) in db.execute("SELECT round FROM rounds ORDER BY round")] == [1, 2]

    merged = run_scrapy(tmp_path, "merge", "-o", "merged.sqlite3", "worker1.sqlite3", "worker2.sqlite3")
    assert merged.returncode == 0, merged.stderr
    with sqlite3.connect(tmp_path / "merged.sqlite3") as db:
        versions = db.execute("SELECT url, version, change FROM versions ORDER BY url, version").fetchall()
        finished = db.execute("SELECT round, finished_at IS NOT NULL FROM rounds ORDER BY round").fetchall()
    assert finished == [(1, 1), (2, 1)]
    by_url: dict[str, list[str]] = {}
    for url, number, change in versions:
        by_url.setdefault(url, []).append(change)
        assert number == len(by_url[url])  # numbered 1, 2, ... with no gap or double
    for article in second.articles:
        url = article.canonical_url
        if url in second.changes.added:
            assert by_url[url] == ["new"], url
        elif url in second.changes.edited:
            assert by_url[url] == ["new", "changed"], url
        elif url in second.changes.removed:
            assert by_url[url] == ["new", "removed"], url
        else:
            assert by_url[url] == ["new"], url


def test_summary_and_the_viewer_name_the_rounds_and_what_the_last_one_found(living):
    from crawler.store import Store
    from crawler.store.graph import viewer_graph

    summary = run_scrapy(living.workdir, "summary")
    assert summary.returncode == 0, summary.stderr[-2000:]
    assert "rounds:                4; round 4 started" in summary.stdout
    changes = living.editions[3].changes
    changed = len(changes.edited) + len(changes.removed) + len(changes.restored) + 1  # and the home page
    assert f"last round's checks:   {changed} changed;" in summary.stdout
    with Store(living.workdir / "crawl.sqlite3", create=False) as store:
        header = viewer_graph(store).summary
    assert header["rounds"] == 4
    assert header["last_round"]["number"] == 4 and header["last_round"]["finished"] is True
    assert header["last_round"]["changed"] == changed
    assert header["last_round"]["new"] == len(changes.added)


def test_a_truncated_spider_state_in_jobdir_is_set_aside(tmp_path):
    """A crash or a full disk can leave JOBDIR's spider.state cut short: the same command then
    warns once, sets it aside and finishes, with no traceback (Scrapy alone raises EOFError)."""
    site = build_site(12)
    settings = {"DEPTH_LIMIT": "10", "JOBDIR": "job"}
    with MirrorServer(site) as server, RecordingSocks5Server(server.address) as proxy:
        first = run_crawl(tmp_path, proxy.url, settings=settings)
        assert first.returncode == 0, first.stderr[-3000:]
        state = tmp_path / "job" / "spider.state"
        state.write_bytes(state.read_bytes()[:3])  # cut short, as a full disk leaves it
        again = run_crawl(tmp_path, proxy.url, settings=settings, output="again.jsonl")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Traceback" not in again.stderr
    assert again.stderr.count("could not be read") == 1 and "spider.state.damaged" in again.stderr
    assert (tmp_path / "job" / "spider.state.damaged").exists()
    assert rows(tmp_path, "SELECT round, finished_at IS NOT NULL FROM rounds") == [(1, 1), (2, 1)]
