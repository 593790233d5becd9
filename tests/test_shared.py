"""Several workers, one crawl: real redis-server, real worker processes, the sample mirror."""

import json
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
from tests.crawling import ScriptedMirror, article_fetches, crawl_command, html_page, read_items, run_crawl, run_scrapy
from tests.support.localredis import LocalRedis, free_port

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


def start_workers(tmp_path, proxy_url, redis_url, count, settings=None, first=1):
    workers = []
    for number in range(first, first + count):
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
    assert shared.exists("mirror:dupefilter:1")  # state persists for the other workers (round 1)
    status = run_scrapy(tmp_path, "shared", "-s", f"REDIS_URL={redis_url}")
    assert "queued requests: 0" in status.stdout and "round: 1 (finished)" in status.stdout
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


def test_no_proxy_credentials_go_to_redis():
    """A request that comes back to the queue (a retry) carries the proxy it went through; the
    serializer leaves the proxy URL, its credentials and an HTTP proxy's header out."""
    from scrapy import Request

    from crawler.shared import JsonRequestSerializer

    secret = "s3cret-token"
    request = Request(
        "http://x.onion/a.html",
        headers={"Proxy-Authorization": f"Basic {secret}", "Referer": "http://x.onion/"},
        meta={
            "proxy": f"socks5h://crawl-{secret}:{secret}@127.0.0.1:9050",
            "_auth_proxy": f"http://127.0.0.1:8118#{secret}",
            "_scheme_proxy": True,
            "retry_times": 1,
        },
    )
    text = JsonRequestSerializer.dumps(request.to_dict())
    assert secret not in text and "proxy" not in text.lower()
    back = JsonRequestSerializer.loads(text)
    assert back["meta"] == {"retry_times": 1} and back["headers"] == {b"Referer": [b"http://x.onion/"]}


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


# -- requests that failed transiently are kept in Redis and fetched again (crawler/shared/retry.py) --

ARTICLES = [f"/2016/12/05/world/article-{n:02d}.html" for n in range(12)]
NOT_FOUND = "/2016/12/05/world/gone.html"
QUICK = {"MIRROR_PROBE_DELAY": "0.5", "MIRROR_PROBE_MAX_DELAY": "1", "RETRY_TIMES": "1", "DEPTH_LIMIT": "5"}


def scripted_site(failing):
    """A home page linking ARTICLES and NOT_FOUND (404); ``failing(path, attempt)`` returns a
    reply, or "drop" to drop the connection, or None to answer the page."""

    def answer(path, attempt):
        reply = failing(path, attempt)
        if reply == "drop":
            return None
        if reply is not None:
            return reply
        if path == NOT_FOUND:
            return 404, {}, html_page("Not found")
        return 200, {}, html_page("Home" if path == "/" else path, *ARTICLES, NOT_FOUND)

    return ScriptedMirror(answer)


def fetches_of(mirror, since=0):
    return Counter(path for _, path in mirror.requests[since:] if path != "/robots.txt")


def statuses(path):
    with sqlite3.connect(path) as db:
        return {
            url.split(".onion", 1)[-1].removeprefix("https://www.nytimes.com"): status
            for url, status in db.execute("SELECT url, status FROM pages")
        }


def retry_entries(client):
    """path -> (due score, the request kept) of every entry of the retry set."""
    from crawler.shared import JsonRequestSerializer

    entries = {}
    for fingerprint, due in client.zrange("mirror:retry", 0, -1, withscores=True):
        request = JsonRequestSerializer.loads(client.hget("mirror:retry:requests", fingerprint))
        entries[request["url"].split(".onion", 1)[1]] = (due, request)
    return entries


def test_a_transient_failure_is_kept_in_redis_and_fetched_by_the_next_shared_run(tmp_path, shared, redis_url):
    """Run 1: a 503 after its retry and a dropped connection are kept in Redis, a 404 is not.
    Run 2 (the mirror healthy again) fetches those two, and nothing else: the store has every page."""
    healthy = {"value": False}
    broken = {ARTICLES[1]: (503, {}, "busy"), ARTICLES[2]: "drop"}

    def failing(path, attempt):
        return None if healthy["value"] else broken.get(path)

    settings = {**QUICK, "REDIS_URL": redis_url, "SHARED_RETRY_ROUNDS": "0"}  # 0: only the next run
    with scripted_site(failing) as mirror, RecordingSocks5Server(mirror.address) as proxy:
        first = run_crawl(tmp_path, proxy.url, settings=settings, output="part1.jsonl")
        assert first.returncode == 0, first.stderr[-3000:]
        after_first = len(mirror.requests)
        kept = retry_entries(shared)
        status = run_scrapy(tmp_path, "shared", "-s", f"REDIS_URL={redis_url}")
        healthy["value"] = True
        second = run_crawl(tmp_path, proxy.url, settings=settings, output="part2.jsonl")
        again = fetches_of(mirror, after_first)
    assert second.returncode == 0, second.stderr[-3000:]
    first_status = {item["url"].removeprefix("https://www.nytimes.com"): item["status"] for item in first.items}
    assert first_status[ARTICLES[1]] == 503 and first_status[ARTICLES[2]] is None
    assert first_status[NOT_FOUND] == 404
    assert set(kept) == {ARTICLES[1], ARTICLES[2]}  # the transient failures, not the 404
    assert "failed transiently, to fetch again: 2 (2 by the next run)" in status.stdout
    for due, request in kept.values():
        assert due == float("inf")  # SHARED_RETRY_ROUNDS=0: for the next run
        assert "retry_times" not in request["meta"] and "proxy" not in request["meta"]  # a first attempt again
        assert request["meta"]["canonical"].startswith("https://www.nytimes.com/")
    # Only what failed, once each; and the start page: the next run is a new round (crawler.rounds).
    assert again == Counter({ARTICLES[1]: 1, ARTICLES[2]: 1, "/": 1})
    assert "Fetching again 2 requests that failed transiently in an earlier run" in second.stderr
    final = statuses(tmp_path / "crawl.sqlite3")
    assert {path: final[path] for path in ARTICLES} == dict.fromkeys(ARTICLES, 200)  # every page
    assert final[NOT_FOUND] == 404
    assert not shared.exists("mirror:retry") and not shared.exists("mirror:retry:requests")
    for result in (first, second):
        assert "Traceback" not in result.stderr and PASSWORD not in result.stderr


def test_an_empty_queue_fetches_the_failures_again_with_backoff_then_leaves_them_to_the_next_run(
    tmp_path, shared, redis_url
):
    """One run: a page that fails twice is fetched again SHARED_RETRY_DELAY later and stored; a page
    that always fails is fetched SHARED_RETRY_ROUNDS more times, each wait twice the one before,
    then kept for the next run, and the crawl ends."""
    flaky, dead = ARTICLES[3], ARTICLES[4]

    def failing(path, attempt):
        if path == dead or (path == flaky and attempt <= 2):
            return 503, {}, "busy"
        return None

    settings = {**QUICK, "REDIS_URL": redis_url, "SHARED_RETRY_DELAY": "1", "SHARED_RETRY_ROUNDS": "2"}
    with scripted_site(failing) as mirror, RecordingSocks5Server(mirror.address) as proxy:
        started = time.monotonic()
        result = run_crawl(tmp_path, proxy.url, settings=settings)
        took = time.monotonic() - started
        dead_hits, flaky_hits = mirror.hits(dead), mirror.hits(flaky)
    assert result.returncode == 0, result.stderr[-3000:]
    assert took < 30
    stored = statuses(tmp_path / "crawl.sqlite3")
    assert stored[flaky] == 200 and stored[dead] == 503
    assert len(flaky_hits) == 3  # the first round (2 attempts: RETRY_TIMES=1), then the round that answers
    assert flaky_hits[2] - flaky_hits[1] >= 1.0  # SHARED_RETRY_DELAY after the failure
    assert len(dead_hits) == 6  # 3 rounds of 2 attempts
    assert dead_hits[2] - dead_hits[1] >= 1.0 and dead_hits[4] - dead_hits[3] >= 2.0  # doubling
    assert {path: due for path, (due, _) in retry_entries(shared).items()} == {dead: float("inf")}
    assert "go back to it in" in result.stderr and "fetched again by the next run" in result.stderr
    assert fetches_of(mirror)[NOT_FOUND] == 1  # a final answer is not fetched again
    assert "Traceback" not in result.stderr
    assert run_scrapy(tmp_path, "shared", "--clear", "-s", f"REDIS_URL={redis_url}").returncode == 0
    assert not shared.exists("mirror:retry", "mirror:retry:requests", "mirror:retry:rounds")


def test_two_workers_fetch_each_kept_request_once(tmp_path, shared, redis_url):
    """Every article failed in the first run; two workers start the second run together: each
    kept request goes back to the queue once (one script moves it), so it is fetched once in all."""
    healthy = {"value": False}

    def failing(path, attempt):
        return None if healthy["value"] or path not in ARTICLES else (503, {}, "busy")

    settings = {**QUICK, "SHARED_RETRY_ROUNDS": "0", "CONCURRENT_REQUESTS": "2"}
    with scripted_site(failing) as mirror, RecordingSocks5Server(mirror.address) as proxy:
        first = run_crawl(tmp_path / "first", proxy.url, settings={**settings, "REDIS_URL": redis_url})
        assert first.returncode == 0, first.stderr[-3000:]
        assert len(retry_entries(shared)) == len(ARTICLES)
        healthy["value"] = True
        after_first = len(mirror.requests)
        workers = start_workers(tmp_path, proxy.url, redis_url, 2, settings)
        wait_all(workers)
        again = fetches_of(mirror, after_first)
    logs = [(tmp_path / f"worker{n}.log").read_text() for n in (1, 2)]
    assert [w.returncode for w in workers] == [0, 0], logs[0][-3000:]
    # Each once, by one worker or the other. A new round (crawler.rounds) also fetches the start page,
    # once, and its link to the 404: these workers' stores are new and do not know it was an answer.
    assert again == Counter({**dict.fromkeys(ARTICLES, 1), "/": 1, NOT_FOUND: 1})
    stored = set(stored_urls(tmp_path / "worker1.sqlite3")) | set(stored_urls(tmp_path / "worker2.sqlite3"))
    assert {url.removeprefix("https://www.nytimes.com") for url in stored} - {"/"} == set(ARTICLES)
    assert not shared.exists("mirror:retry")
    for log in logs:
        assert "Traceback" not in log


class _Crawler:
    """What a RetrySet and RedisHealth read of a crawler, without a crawl."""

    def __init__(self, redis_url):
        from scrapy.settings import Settings
        from scrapy.statscollectors import MemoryStatsCollector

        from crawler import settings as project_settings

        self.settings = Settings()
        self.settings.setmodule(project_settings)
        self.settings.set("REDIS_URL", redis_url)
        self.spider = type("Spider", (), {"name": "mirror", "crawler": self})()
        self.stats = MemoryStatsCollector(self)

    def retry_set(self):
        from crawler.shared import ClaimingQueue, JsonRequestSerializer, redis_from_settings
        from crawler.shared.retry import RetrySet

        queue = ClaimingQueue(redis_from_settings(self.settings), self.spider, "mirror:requests", JsonRequestSerializer)
        return RetrySet.from_crawler(self, queue)


def test_requeueing_is_atomic_under_concurrent_workers(shared, redis_url):
    """Eight threads requeue one retry set of 2,000 entries at once: each entry is queued exactly
    once, and none is left behind."""
    import threading

    from scrapy import Request

    crawler = _Crawler(redis_url)
    retry_set = crawler.retry_set
    keeper = retry_set()
    pipe = shared.pipeline()
    for n in range(2000):
        request = keeper.queue._encode_request(Request(f"http://x.onion/{n}.html", priority=n % 3))
        pipe.zadd("mirror:retry", {f"fp{n}": float(n)})
        pipe.hset("mirror:retry:requests", f"fp{n}", request)
    pipe.execute()
    moved = []
    sets = [retry_set() for _ in range(8)]
    go = threading.Barrier(len(sets))

    def requeue(each):
        go.wait()
        moved.append(each.requeue(new_run=True))

    threads = [threading.Thread(target=requeue, args=(each,)) for each in sets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(moved) == 2000
    assert shared.zcard("mirror:requests") == 2000 and shared.zcard("mirror:retry") == 0
    assert shared.hlen("mirror:retry:requests") == 0
    assert {score for _, score in shared.zrange("mirror:requests", 0, -1, withscores=True)} == {0, -1, -2}


def test_a_worker_killed_with_kept_requests_in_hand_loses_none(tmp_path, shared, redis_url):
    """The worker that put the kept requests back in the queue is killed (-9) while fetching them:
    its claims go back to the queue, and the next worker stores every page."""
    healthy = {"value": False}

    def failing(path, attempt):
        if path not in ARTICLES:
            return None
        if not healthy["value"]:
            return 503, {}, "busy"
        time.sleep(0.3)  # slow enough to be killed with requests in hand
        return None

    settings = {**QUICK, "SHARED_RETRY_ROUNDS": "0", "CONCURRENT_REQUESTS": "2", "SHARED_HEARTBEAT_TTL": "2"}
    with scripted_site(failing) as mirror, RecordingSocks5Server(mirror.address) as proxy:
        first = run_crawl(tmp_path / "first", proxy.url, settings={**settings, "REDIS_URL": redis_url})
        assert first.returncode == 0, first.stderr[-3000:]
        assert len(retry_entries(shared)) == len(ARTICLES)
        healthy["value"] = True
        [killed] = start_workers(tmp_path, proxy.url, redis_url, 1, settings)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            claims = [key for key in shared.scan_iter(match=f"mirror:claims:*:{killed.pid}:*") if shared.hlen(key)]
            if claims and not shared.exists("mirror:retry"):
                break
            time.sleep(0.05)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=10)
        [survivor] = start_workers(tmp_path, proxy.url, redis_url, 1, settings, first=2)
        wait_all([survivor])
    log = (tmp_path / "worker2.log").read_text()
    assert survivor.returncode == 0, log[-3000:]
    assert "back in the queue" in log
    stored = set(stored_urls(tmp_path / "worker2.sqlite3"))
    if (tmp_path / "worker1.sqlite3").exists():
        stored |= set(stored_urls(tmp_path / "worker1.sqlite3"))
    assert {url.removeprefix("https://www.nytimes.com") for url in stored} - {"/"} == set(ARTICLES)
    assert not shared.exists("mirror:retry") and "Traceback" not in log


def test_a_request_kept_while_redis_restarts_is_kept_once_it_answers():
    """Redis killed (-9) when a transient failure is to be kept: no error, the write waits in
    RedisHealth, and once Redis is back the claim ends and the request is in the retry set."""
    from scrapy import Request
    from scrapy.http import HtmlResponse

    from crawler.shared import RedisHealth

    with LocalRedis(PASSWORD, appendonly=True) as server:
        crawler = _Crawler(server.url)
        retry = crawler.retry_set()
        health = RedisHealth.of(crawler)
        client = redis.Redis.from_url(server.url)
        client.hset("mirror:claims:w1", "the-member", 0)
        request = Request("http://x.onion/a.html", meta={"canonical": "https://x.com/a.html", "retry_times": 3})
        write = retry.stored(503, HtmlResponse(request.url, status=503, request=request), b"fp-a")
        server.kill()
        assert health.call(write, "mirror:claims:w1", b"the-member") is False  # kept for later, no error
        assert health.down
        server.start()
        assert health.answered()
        assert client.hlen("mirror:claims:w1") == 0
        [(fingerprint, due)] = client.zrange("mirror:retry", 0, -1, withscores=True)
        assert fingerprint == b"fp-a" and due > time.time()  # SHARED_RETRY_DELAY from now
        kept = json.loads(client.hget("mirror:retry:requests", "fp-a"))
        assert kept["url"] == request.url and "retry_times" not in kept["meta"]
        # A final answer later takes it out again.
        final = retry.stored(200, HtmlResponse(request.url, status=200, request=request), b"fp-a")
        assert health.call(final, "mirror:claims:w1", None)
        assert not client.exists("mirror:retry") and not client.exists("mirror:retry:requests")


def test_what_a_starting_worker_puts_back_in_the_queue(shared, redis_url):
    """The first worker of a run: every entry. A worker that joins a run (another one beats, or a
    killed one's heartbeat has not expired yet): the due ones and those left for the next run,
    not those still waiting for their time in this run. The queue running dry: the due ones."""
    from scrapy import Request

    retry = _Crawler(redis_url).retry_set()

    def fill():
        shared.delete("mirror:requests")
        for name, due in {"due": time.time() - 1, "later": time.time() + 600, "next-run": float("inf")}.items():
            shared.zadd("mirror:retry", {name: due})
            shared.hset("mirror:retry:requests", name, retry.queue._encode_request(Request(f"http://x.onion/{name}")))

    def queued():
        return {json.loads(member)["url"].rsplit("/", 1)[1] for member in shared.zrange("mirror:requests", 0, -1)}

    fill()
    assert retry.requeue() == 1 and queued() == {"due"}
    fill()
    assert retry.requeue(starting=True) == 2 and queued() == {"due", "next-run"}
    assert [name for name, _ in shared.zrange("mirror:retry", 0, -1, withscores=True)] == [b"later"]
    fill()
    shared.hset("mirror:retry:rounds", "later", 2)
    assert retry.requeue(starting=True, new_run=True) == 3 and queued() == {"due", "later", "next-run"}
    assert not shared.exists("mirror:retry", "mirror:retry:requests", "mirror:retry:rounds")


@pytest.mark.parametrize(
    "status, failure, kept",
    [
        (200, None, False),
        (301, None, False),
        (404, None, False),
        (410, None, False),
        (500, None, True),
        (503, None, True),
        (408, None, True),
        (429, None, True),
        (None, "timeout", True),  # no response
        (None, "off-mirror", False),  # refused: no wait makes it fetchable
        (None, "robots", False),
    ],
)
def test_only_a_transient_failure_is_kept(shared, redis_url, status, failure, kept):
    from scrapy import Request
    from scrapy.exceptions import IgnoreRequest
    from scrapy.http import HtmlResponse
    from twisted.internet.error import TimeoutError as TwistedTimeout
    from twisted.python.failure import Failure

    from crawler.middlewares import OffMirror

    retry = _Crawler(redis_url).retry_set()
    request = Request("http://x.onion/a.html")
    if failure is None:
        response = HtmlResponse(request.url, status=status, request=request)
    else:
        error = {"timeout": TwistedTimeout(), "off-mirror": OffMirror("off"), "robots": IgnoreRequest("robots")}
        response = Failure(error[failure])
        response.request = request
    retry.stored(status, response, b"fp")("mirror:claims:w1", None)
    assert shared.zcard("mirror:retry") == int(kept)
