"""Several workers, one crawl: real redis-server, real worker processes, the sample mirror."""

import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import redis

from crawler.samplemirror import MirrorServer, RecordingSocks5Server, build_site
from crawler.samplemirror.localredis import LocalRedis, free_port
from tests.crawling import article_fetches, crawl_command, read_items, run_crawl, run_scrapy

PASSWORD = "s3cret-test-pw"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def redis_url():
    with LocalRedis(PASSWORD) as server:
        yield server.url


@pytest.fixture
def shared(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    return client


def start_workers(tmp_path, proxy_url, redis_url, count, settings=None):
    workers = []
    for number in range(1, count + 1):
        command, env = crawl_command(
            tmp_path,
            proxy_url,
            output=f"items{number}.jsonl",
            settings={
                "REDIS_URL": redis_url,
                "STORE_PATH": f"worker{number}.sqlite3",
                "DEPTH_LIMIT": "10",
                **(settings or {}),
            },
        )
        log = (tmp_path / f"worker{number}.log").open("w")
        workers.append(subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=log))
    return workers


def wait_all(workers, timeout=120):
    ends = []
    for worker in workers:
        worker.wait(timeout=timeout)
        ends.append(time.monotonic())
    return ends


def stored_urls(path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [url for (url,) in db.execute("SELECT url FROM pages WHERE status = 200")]


def test_two_workers_share_one_crawl(tmp_path, shared, redis_url):
    site = build_site()
    # Two requests in flight per worker: the shared queue fills up, and both workers take from it.
    # Both archive into one WARC_DIR: each writes a series of its own.
    settings = {"CONCURRENT_REQUESTS": "2", "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "WARC_DIR": str(tmp_path / "warc")}
    with MirrorServer(site, delay=0.1) as server, RecordingSocks5Server(server.address) as proxy:
        workers = start_workers(tmp_path, proxy.url, redis_url, 2, settings)
        ends = wait_all(workers)
        fetches = article_fetches(server, site)
        socks_users = {request.username for request in proxy.requests}
    logs = [(tmp_path / f"worker{n}.log").read_text() for n in (1, 2)]
    assert [w.returncode for w in workers] == [0, 0], logs[0][-2000:]
    assert len(socks_users) == 2 and None not in socks_users  # each worker on circuits of its own
    expected = Counter({a.path: 1 for a in site.articles})
    expected[site.flaky_path] = 2
    assert fetches == expected  # each article once in total (the flaky one: 503, then the retry)
    shares = [stored_urls(tmp_path / f"worker{n}.sqlite3") for n in (1, 2)]
    assert all(len(share) > 0 for share in shares)  # every worker did a share
    assert not set(shares[0]) & set(shares[1])
    assert site.article_urls() <= set(shares[0]) | set(shares[1])
    assert max(ends) - min(ends) < 8  # they close together
    for log in logs:
        assert PASSWORD not in log  # never in logs or stats
        assert "Traceback" not in log

    merged = run_scrapy(tmp_path, "merge", "-o", "merged.sqlite3", "worker1.sqlite3", "worker2.sqlite3")
    assert merged.returncode == 0, merged.stderr
    series = {path.name.rsplit("-", 1)[1] for path in (tmp_path / "warc").glob("*.warc.gz")}
    assert len(series) == 2  # one per worker
    packed = run_scrapy(tmp_path, "wacz", "-o", "shared.wacz", "--warc", "warc", "-s", "STORE_PATH=merged.sqlite3")
    assert packed.returncode == 0, packed.stderr
    validate = subprocess.run(
        [BIN / "wacz", "validate", "-f", tmp_path / "shared.wacz"], capture_output=True, text=True
    )
    assert validate.returncode == 0, validate.stdout
    with MirrorServer(site) as server, RecordingSocks5Server(server.address) as proxy:
        single_dir = tmp_path / "single"
        single_dir.mkdir()
        single = run_crawl(single_dir, proxy.url, settings={"DEPTH_LIMIT": "10"})
    assert single.returncode == 0
    with sqlite3.connect(tmp_path / "merged.sqlite3") as db:
        merged_pages = {url: status for url, status in db.execute("SELECT url, status FROM pages")}
        merged_links = set(db.execute("SELECT source, target, kind, text FROM links"))
    with sqlite3.connect(single_dir / "crawl.sqlite3") as db:
        single_pages = {url: status for url, status in db.execute("SELECT url, status FROM pages")}
        single_links = set(db.execute("SELECT source, target, kind, text FROM links"))
    assert merged_pages == single_pages
    assert merged_links == single_links


def test_a_killed_worker_loses_nothing(tmp_path, shared, redis_url):
    site = build_site()
    settings = {"CONCURRENT_REQUESTS": "3", "SHARED_HEARTBEAT_TTL": "3"}
    with MirrorServer(site, delay=0.2) as server, RecordingSocks5Server(server.address) as proxy:
        workers = start_workers(tmp_path, proxy.url, redis_url, 3, settings)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.05)
            # Killed with pages stored and requests claimed (so that there is something to hand back).
            claims = [key for key in shared.scan_iter(match=f"mirror:claims:*:{workers[0].pid}:*") if shared.hlen(key)]
            first_store = tmp_path / "worker1.sqlite3"
            if claims and first_store.exists() and len(stored_urls(first_store)) >= 3:
                break
        os.kill(workers[0].pid, signal.SIGKILL)
        wait_all(workers)
        fetches = article_fetches(server, site)
    assert [w.returncode for w in workers[1:]] == [0, 0]
    stored = set()
    for number in (1, 2, 3):
        stored |= set(stored_urls(tmp_path / f"worker{number}.sqlite3"))
    assert site.article_urls() <= stored  # nothing missing
    refetched = sum(n - (2 if path == site.flaky_path else 1) for path, n in fetches.items())
    # At most what the dead worker held: requests downloading (3) and responses waiting to be parsed.
    assert refetched <= 6
    assert "back in the queue" in "".join((tmp_path / f"worker{n}.log").read_text() for n in (2, 3))


def test_a_pickle_planted_in_redis_is_refused(tmp_path, shared, redis_url):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    shared.zadd("mirror:requests", {pickle.dumps(Exploit()): 0})
    site = build_site(8)
    with MirrorServer(site) as server, RecordingSocks5Server(server.address) as proxy:
        result = run_crawl(tmp_path, proxy.url, settings={"REDIS_URL": redis_url})
    assert result.returncode == 0, result.stderr[-2000:]
    assert not marker.exists()
    assert "Refused a request in the shared queue" in result.stderr
    assert site.article_urls() <= {i["url"] for i in result.items}


def test_redis_down_gives_one_clear_message(tmp_path):
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    result = run_crawl(tmp_path, "socks5h://127.0.0.1:9", settings={"REDIS_URL": url}, timeout=60)
    assert result.returncode == 1
    assert result.stderr.count("ERROR: Cannot reach Redis at redis://:***@127.0.0.1") == 1
    assert "Traceback" not in result.stderr and PASSWORD not in result.stderr


def test_wrong_password_gives_one_clear_message(tmp_path, redis_url):
    url = redis_url.replace(PASSWORD, "wrong-password")
    result = run_crawl(tmp_path, "socks5h://127.0.0.1:9", settings={"REDIS_URL": url}, timeout=60)
    assert result.returncode == 1
    assert "refused the password" in result.stderr
    assert "Traceback" not in result.stderr and "wrong-password" not in result.stderr


def test_shared_politeness_limit_holds_for_all_workers(tmp_path, shared, redis_url):
    site = build_site(12)
    settings = {"SHARED_CONCURRENT_REQUESTS_PER_MIRROR": "2", "CONCURRENT_REQUESTS": "8"}
    with MirrorServer(site, delay=0.15) as server, RecordingSocks5Server(server.address) as proxy:
        workers = start_workers(tmp_path, proxy.url, redis_url, 2, settings)
        wait_all(workers)
        assert [w.returncode for w in workers] == [0, 0]
        assert server.max_in_flight <= 2


def test_canary_stock_scrapy_redis_dupefilter_still_over_crawls(shared):
    """If this fails, scrapy-redis's dupefilter learned the crawler's fingerprinter, and
    SharedDupeFilter may no longer be needed. Stock, it sees one article as many requests."""
    from scrapy import Request
    from scrapy_redis.dupefilter import RFPDupeFilter

    from crawler.fingerprint import CanonicalRequestFingerprinter
    from crawler.shared import SharedDupeFilter
    from crawler.url.normalize import default_normalizer

    path = "/2016/12/05/world/middleeast/russia-lavrov-kerry-aleppo-rebels.html"
    addresses = [
        f"http://www.nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion{path}",
        f"http://www.nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion{path}?smid=tw-share",
        f"http://www.nytimes3xbfgragh.onion{path}?rref=collection&pgtype=collection",
        f"https://www.nytimes.com{path}#comments",
        f"HTTP://WWW.NYTIMES3XBFGRAGH.ONION:80{path}?action=click",
    ]
    stock = RFPDupeFilter(shared, key="canary:stock")
    ours = SharedDupeFilter(shared, key="canary:ours")
    ours.fingerprinter = CanonicalRequestFingerprinter(default_normalizer())
    stock_fetches = sum(not stock.request_seen(Request(url)) for url in addresses)
    our_fetches = sum(not ours.request_seen(Request(url)) for url in addresses)
    assert our_fetches == 1
    assert stock_fetches == len(addresses)


def test_items_feed_of_a_shared_crawl(tmp_path, shared, redis_url):
    site = build_site(8)
    with MirrorServer(site) as server, RecordingSocks5Server(server.address) as proxy:
        result = run_crawl(tmp_path, proxy.url, settings={"REDIS_URL": redis_url})
    assert result.returncode == 0
    assert read_items(tmp_path / "pages.jsonl") == result.items
    assert shared.exists("mirror:dupefilter")  # state persists for the other workers
    status = run_scrapy(tmp_path, "shared", "-s", f"REDIS_URL={redis_url}")
    assert "queued requests: 0" in status.stdout and "seen fingerprints: " in status.stdout
    assert run_scrapy(tmp_path, "shared", "--clear", "-s", f"REDIS_URL={redis_url}").returncode == 0
    assert not shared.exists("mirror:dupefilter")


def test_json_serializer_round_trips_a_real_request():
    from scrapy import Request

    from crawler.shared import JsonRequestSerializer

    request = Request(
        "http://x.onion/a.html",
        headers={"Referer": "http://x.onion/"},
        body=b"\x00\xff\x80",
        meta={"canonical": "https://www.nytimes.com/a.html", "depth": 3},
        priority=-2,
    )
    as_dict = request.to_dict()
    text = JsonRequestSerializer.dumps(as_dict)
    assert JsonRequestSerializer.loads(text) == as_dict
    assert JsonRequestSerializer.loads(text.encode()) == as_dict
    for bad in (pickle.dumps(as_dict), b"\x80\x04junk", "[1, 2]", "{not json", '{"no": "url"}'):
        with pytest.raises(ValueError):
            JsonRequestSerializer.loads(bad)


def test_a_redis_restart_is_a_blip(tmp_path):
    """redis-server (append-only file on) killed with -9 under two workers after a third of the
    articles, started again 5 s later: one warning per worker, no traceback, nothing lost, nothing
    fetched twice beyond what was in flight, and the crawl at full speed again within seconds."""
    site = build_site(90)
    settings = {"CONCURRENT_REQUESTS": "2", "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "DEPTH_LIMIT": "100"}
    with (
        LocalRedis(PASSWORD, appendonly=True) as server,
        MirrorServer(site, delay=0.05) as mirror,
        RecordingSocks5Server(mirror.address) as proxy,
    ):
        workers = start_workers(tmp_path, proxy.url, server.url, 2, settings)
        deadline = time.monotonic() + 60
        while sum(article_fetches(mirror, site).values()) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()
        killed_at = time.monotonic()
        time.sleep(5)
        server.start()
        back_at = time.monotonic()
        ends = wait_all(workers, timeout=180)
        fetches = article_fetches(mirror, site)
        answers_after = sorted(when for when, path in mirror.request_times if when > back_at and site.is_article(path))
    logs = [(tmp_path / f"worker{n}.log").read_text() for n in (1, 2)]
    assert [w.returncode for w in workers] == [0, 0], logs[0][-3000:]
    for log in logs:
        assert "Traceback" not in log, log[-3000:]
        assert log.count("does not answer") == 1  # one warning per worker
        assert "answers again" in log
    stored = set(stored_urls(tmp_path / "worker1.sqlite3")) | set(stored_urls(tmp_path / "worker2.sqlite3"))
    assert site.article_urls() <= stored  # nothing lost
    twice = {path: n for path, n in fetches.items() if n > 1 and path != site.flaky_path}
    assert len(twice) <= 4  # at most what was in flight (2 workers x 2 requests)
    assert answers_after and answers_after[0] - back_at < 10  # fetching again within seconds
    assert max(ends) - back_at < 60 and killed_at < back_at
