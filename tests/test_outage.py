"""A mirror that Tor cannot reach for a while: real crawls through real proxies, the fault injected for real.

The sample mirror's :class:`~crawler.samplemirror.Outage` makes it unreachable after M articles
(SOCKS errors from the SOCKS5 proxy, privoxy's 503 from the HTTP proxy, open connections cut).
"""

import math
import time

import pytest

from crawler.samplemirror import MirrorServer, Outage, RecordingHttpProxy, RecordingSocks5Server, build_site
from tests.crawling import ScriptedMirror, article_fetches, html_page, run_crawl

# Probes every half second to a second, so that a test's outage of a few seconds is short to wait out.
QUICK_PROBES = {"MIRROR_PROBE_DELAY": "0.5", "MIRROR_PROBE_MAX_DELAY": "1", "DEPTH_LIMIT": "30"}
ARTICLES = 60


@pytest.fixture(scope="module")
def big_site():
    return build_site(ARTICLES)


def _stored_ok(result, site):
    return site.article_urls() & {item["url"] for item in result.items if item["status"] == 200}


def _outage_lines(result):
    return [line for line in result.stderr.splitlines() if "crawler.tor.outage" in line]


@pytest.mark.parametrize(
    "proxy_kind, socks_reply, said",
    [
        ("socks", 0x04, "host unreachable (SOCKS 0x04)"),
        ("socks", 0xF0, "onion service descriptor not found (SOCKS 0xF0)"),  # Tor with ExtendedErrors
        ("http", None, "the proxy says 503 Forwarding failure"),  # privoxy in front of Tor
    ],
)
def test_a_short_outage_is_waited_out_and_every_article_stored(tmp_path, big_site, proxy_kind, socks_reply, said):
    outage = Outage(after_articles=15, seconds=4, socks_reply=socks_reply or 0x04, start_delay=0.05)
    proxy_cls = RecordingSocks5Server if proxy_kind == "socks" else RecordingHttpProxy
    with MirrorServer(big_site, delay=0.05, outage=outage) as server, proxy_cls(server.address, outage=outage) as proxy:
        result = run_crawl(tmp_path, proxy.url, settings=QUICK_PROBES)
        fetches = article_fetches(server, big_site)
    assert outage.over
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert _stored_ok(result, big_site) == big_site.article_urls()  # every article, by the crawl itself
    assert [item["url"] for item in result.items if item["status"] is None] == []  # nothing recorded failed
    lines = _outage_lines(result)
    [down] = [line for line in lines if "is unreachable since" in line]  # said once, in words
    assert said in down and "www.nytimesn7" in down and "probing it in" in down
    assert len([line for line in lines if "answers again" in line]) == 1
    assert max(fetches.values()) <= 3  # the flaky page's 503 and its retry, or a response cut mid-way


def test_a_long_outage_stops_the_crawl_and_the_same_command_finishes_it(tmp_path, big_site):
    settings = {**QUICK_PROBES, "MIRROR_PATIENCE": "3", "JOBDIR": str(tmp_path / "job")}
    outage = Outage(after_articles=15, seconds=math.inf, socks_reply=0xF2, start_delay=0.05)
    with (
        MirrorServer(big_site, delay=0.05, outage=outage) as server,
        RecordingSocks5Server(server.address, outage=outage) as proxy,
    ):
        started = time.monotonic()
        first = run_crawl(tmp_path, proxy.url, settings=settings, output="part1.jsonl")
        stopped_after = time.monotonic() - started
        assert first.returncode == 75, first.stderr[-3000:]  # EX_TEMPFAIL: try again later
        assert "Traceback" not in first.stderr
        [message] = [line for line in first.stderr.splitlines() if "Stopping the crawl" in line]
        assert "onion service introduction failed (SOCKS 0xF2)" in message
        assert "www.nytimesn7" in message and "run the same command again" in message
        assert [item for item in first.items if item["status"] is None] == []
        assert stopped_after < 60
        stored_first = _stored_ok(first, big_site)
        assert 10 <= len(stored_first) < ARTICLES
        fetched_first = article_fetches(server, big_site)

        outage.end()  # the mirror is back
        second = run_crawl(tmp_path, proxy.url, settings=settings, output="part2.jsonl")
        fetched_second = article_fetches(server, big_site) - fetched_first
    assert second.returncode == 0, second.stderr[-3000:]
    assert "interrupted before, taken up again" in second.stderr
    assert _stored_ok(first, big_site) | _stored_ok(second, big_site) == big_site.article_urls()
    stored_paths = {big_site.article(url).path for url in stored_first}
    assert not stored_paths & set(fetched_second)  # no stored article fetched again


def test_a_permanent_tor_error_stops_at_once(tmp_path, big_site):
    outage = Outage(after_articles=5, socks_reply=0xF4, start_delay=0.05)  # client authorization missing
    with (
        MirrorServer(big_site, delay=0.05, outage=outage) as server,
        RecordingSocks5Server(server.address, outage=outage) as proxy,
    ):
        started = time.monotonic()
        result = run_crawl(tmp_path, proxy.url, settings=QUICK_PROBES)
    assert time.monotonic() - started < 30  # MIRROR_PATIENCE (900 s) is not waited for
    assert result.returncode == 75
    assert "no wait can help" in result.stderr and "needs client authorization (SOCKS 0xF4)" in result.stderr
    assert "Traceback" not in result.stderr


ARTICLE_A = "/2016/12/05/world/a.html"
ARTICLE_B = "/2016/12/05/world/b.html"


def test_a_page_that_fails_by_itself_is_retried_and_recorded_without_waiting(tmp_path):
    """A connection the mirror drops for one page only: the probe finds the mirror up, so the
    failure is the page's: retried, recorded as failed, and the crawl does not wait."""

    def answer(path, attempt):
        if path == ARTICLE_B:
            return None
        return 200, {}, html_page("Home" if path == "/" else path, ARTICLE_A, ARTICLE_B)

    with ScriptedMirror(answer) as mirror, RecordingSocks5Server(mirror.address) as proxy:
        started = time.monotonic()
        result = run_crawl(tmp_path, proxy.url, settings={**QUICK_PROBES, "RETRY_TIMES": "2"})
    assert time.monotonic() - started < 30
    assert result.returncode == 0, result.stderr[-2000:]
    failed = [item for item in result.items if item["url"].endswith(ARTICLE_B)]
    assert len(failed) == 1 and failed[0]["status"] is None and failed[0]["error"]
    assert len(mirror.hits(ARTICLE_B)) == 3  # the first try and RETRY_TIMES retries
    assert "is unreachable since" not in result.stderr


def test_retry_after_is_honoured(tmp_path):
    def answer(path, attempt):
        if path == ARTICLE_A and attempt == 1:
            return 429, {"Retry-After": "2"}, "slow down"
        return 200, {}, html_page("Home" if path == "/" else path, ARTICLE_A)

    with ScriptedMirror(answer) as mirror, RecordingSocks5Server(mirror.address) as proxy:
        result = run_crawl(tmp_path, proxy.url, settings=QUICK_PROBES)
    assert result.returncode == 0, result.stderr[-2000:]
    first, retry = mirror.hits(ARTICLE_A)
    assert retry - first >= 2.0
    [page] = [item for item in result.items if item["url"].endswith(ARTICLE_A)]
    assert page["status"] == 200


def test_a_transient_failure_is_fetched_again_when_the_crawl_resumes(tmp_path):
    """A 503 after every retry is recorded, but a resumed crawl (same JOBDIR) fetches it again,
    and nothing else."""
    healthy = {"value": False}

    def answer(path, attempt):
        if path == ARTICLE_B and not healthy["value"]:
            return 503, {}, "busy"
        return 200, {}, html_page("Home" if path == "/" else path, ARTICLE_A, ARTICLE_B)

    settings = {**QUICK_PROBES, "RETRY_TIMES": "1", "JOBDIR": str(tmp_path / "job")}
    with ScriptedMirror(answer) as mirror, RecordingSocks5Server(mirror.address) as proxy:
        first = run_crawl(tmp_path, proxy.url, settings=settings, output="part1.jsonl")
        assert first.returncode == 0, first.stderr[-2000:]
        [failed] = [item for item in first.items if item["url"].endswith(ARTICLE_B)]
        assert failed["status"] == 503
        before = len(mirror.requests)
        healthy["value"] = True
        second = run_crawl(tmp_path, proxy.url, settings=settings, output="part2.jsonl")
        again = [path for _, path in mirror.requests[before:]]
    assert second.returncode == 0, second.stderr[-2000:]
    assert [item["status"] for item in second.items if item["url"].endswith(ARTICLE_B)] == [200]
    assert ARTICLE_A not in again and again.count(ARTICLE_B) == 1


def test_a_proxy_that_restarts_is_waited_for(tmp_path, big_site):
    """Tor itself restarts mid-crawl: its port refuses connections for a few seconds."""
    import threading

    with MirrorServer(big_site, delay=0.05) as server:
        proxy = RecordingSocks5Server(server.address).start()
        port = proxy.port
        holder = {"proxy": proxy}

        def restart():
            while sum(article_fetches(server, big_site).values()) < 15:
                time.sleep(0.02)
            holder["proxy"].stop()
            time.sleep(3)
            holder["proxy"] = RecordingSocks5Server(server.address, port=port).start()

        restarter = threading.Thread(target=restart)
        restarter.start()
        try:
            result = run_crawl(tmp_path, f"socks5h://127.0.0.1:{port}", settings=QUICK_PROBES)
        finally:
            restarter.join()
            holder["proxy"].stop()
    assert result.returncode == 0, result.stderr[-3000:]
    assert _stored_ok(result, big_site) == big_site.article_urls()
    downs = [line for line in _outage_lines(result) if "is unreachable since" in line]
    assert len(downs) == 1 and "the proxy does not accept connections" in downs[0], _outage_lines(result)
