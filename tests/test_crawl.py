"""Real `scrapy crawl mirror` runs against the sample mirror, through real proxies."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from crawler.samplemirror import (
    DEAD_PATH,
    LOOKALIKE,
    MIRROR_V3,
    OFFSITE_URL,
    REDIRECT_PATH,
    MirrorServer,
    RecordingSocks5Server,
    canonical,
    hosts_asked,
)
from tests.crawling import START_URL, article_fetches, crawl_command, read_items, run_crawl


@pytest.fixture(scope="module")
def full_crawl(whole_crawl):
    return whole_crawl.site, whole_crawl.server, whole_crawl.proxy, whole_crawl.result


def test_crawl_finishes_cleanly(full_crawl):
    _, _, _, result = full_crawl
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr


def test_every_request_goes_to_the_mirror_through_the_proxy_by_name(full_crawl):
    _, server, proxy, result = full_crawl
    assert hosts_asked(proxy) == {MIRROR_V3}
    assert all(request.as_name for request in proxy.requests)
    assert result.dns_lookups == []  # nothing resolved on this machine
    assert {host.lower() for _, host, _ in server.requests} == {MIRROR_V3}
    assert LOOKALIKE not in {r.host.lower() for r in proxy.requests}


def test_each_article_is_fetched_once(full_crawl):
    site, server, _, result = full_crawl
    fetches = article_fetches(server, site)
    assert set(fetches) == {a.path for a in site.articles}
    expected = Counter({a.path: 1 for a in site.articles})
    expected[site.flaky_path] = 2  # a 503, then the retry
    assert fetches == expected
    assert sum(fetches.values()) / len(site.article_urls()) <= 1.05


def test_one_item_per_page_with_canonical_urls(full_crawl):
    site, _, _, result = full_crawl
    by_url = result.by_url()
    assert all(len(items) == 1 for items in by_url.values()), [u for u, i in by_url.items() if len(i) > 1]
    fetched = {url for url, items in by_url.items() if items[0]["status"] == 200}
    assert site.article_urls() <= fetched
    for item in result.items:
        assert item["url"].startswith("https://www.nytimes.com/")
        assert item["fetched_url"].startswith(f"http://{MIRROR_V3}/")
        assert "onion" not in item["url"]


def test_links_are_recorded_canonical_with_kinds(full_crawl):
    site, _, _, result = full_crawl
    for item in result.items:
        for link in item["links"]:
            assert "nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd" not in link["url"]
            assert "rref=" not in link["url"] and "utm_" not in link["url"] and "#" not in link["url"]
    by_url = {item["url"]: item for item in result.items}
    for article in site.articles:
        page = by_url[article.canonical_url]
        followed = {link["url"] for link in page["links"] if link["kind"] == "article"}
        assert site.related(article.path) <= followed, article.path
    kinds = Counter(link["kind"] for item in result.items for link in item["links"])
    assert {"article", "navigation", "image", "external", "onion", "file"} <= set(kinds)
    all_links = {(link["url"], link["kind"]) for item in result.items for link in item["links"]}
    assert (OFFSITE_URL, "external") in all_links
    assert any(kind == "onion" and LOOKALIKE in url for url, kind in all_links)


def test_redirects_and_dead_links_are_recorded(full_crawl):
    site, _, _, result = full_crawl
    by_url = result.by_url()
    redirect = by_url[canonical(REDIRECT_PATH)][0]
    assert redirect["status"] == 301
    assert redirect["redirect_to"] == canonical(site.redirect_target)
    assert by_url[canonical(DEAD_PATH)][0]["status"] == 404


def test_broken_encoding_page_is_still_parsed(full_crawl):
    site, _, _, result = full_crawl
    article = next(a for a in site.articles if a.path == site.bad_encoding_path)
    item = result.by_url()[article.canonical_url][0]
    assert item["status"] == 200 and item["title"] and item["links"]


def test_http_proxy_crawl_stays_on_the_mirror(tmp_path, http_proxy, mirror, site):
    result = run_crawl(tmp_path, http_proxy.url, settings={"DEPTH_LIMIT": "10"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert hosts_asked(http_proxy) == {MIRROR_V3}
    assert result.dns_lookups == []
    assert site.article_urls() <= {i["url"] for i in result.items if i["status"] == 200}


def test_depth_limit_holds(tmp_path, socks_proxy, mirror, site):
    result = run_crawl(tmp_path, socks_proxy.url, settings={"DEPTH_LIMIT": "1"})
    assert result.returncode == 0
    fetched = {i["url"] for i in result.items if i["status"] == 200} - {canonical("/")}
    assert fetched == site.related("/")
    assert max(i["depth"] for i in result.items) <= 1


def test_canonical_start_url_is_fetched_on_the_mirror(tmp_path, socks_proxy, mirror, site):
    article = site.articles[3]
    start = f"{START_URL},{article.canonical_url}?smid=tw-share"
    result = run_crawl(tmp_path, socks_proxy.url, start=start, settings={"DEPTH_LIMIT": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert hosts_asked(socks_proxy) == {MIRROR_V3}
    by_url = result.by_url()
    assert by_url[article.canonical_url][0]["fetched_url"] == f"http://{MIRROR_V3}{article.path}"
    assert by_url[article.canonical_url][0]["depth"] == 0


def test_proxy_down_gives_one_clear_message(tmp_path):
    start = time.monotonic()
    result = run_crawl(tmp_path, "socks5h://127.0.0.1:9", timeout=60)
    assert time.monotonic() - start < 30
    assert result.returncode == 1
    assert result.stderr.count("Cannot reach the proxy ONION_PROXY=socks5h://127.0.0.1:9") == 1
    assert "Start Tor" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.items == []


def test_bad_proxy_setting_is_refused(tmp_path):
    result = run_crawl(tmp_path, "socks4://127.0.0.1:9050", timeout=60)
    assert result.returncode == 1
    assert "scheme must be socks5h://" in result.stderr
    assert result.items == []


def test_kill_and_resume_with_jobdir(tmp_path, site):
    """Stop a slow crawl midway (SIGTERM), start it again with the same JOBDIR:
    it finishes the mirror and fetches no article twice."""
    settings = {
        "JOBDIR": str(tmp_path / "job"),
        "DEPTH_LIMIT": "10",
        "CONCURRENT_REQUESTS": "2",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
    }
    with MirrorServer(site, delay=0.15) as server, RecordingSocks5Server(server.address) as proxy:
        command, env = crawl_command(tmp_path, proxy.url, settings=settings, output="part1.jsonl")
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while sum(article_fetches(server, site).values()) < 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        first = read_items(tmp_path / "part1.jsonl")
        assert 0 < len({i["url"] for i in first}) < len(site.article_urls()), stderr[-2000:]

        second = run_crawl(tmp_path, proxy.url, settings=settings, output="part2.jsonl")
        assert second.returncode == 0, second.stderr[-2000:]
        fetched = {i["url"] for i in first + second.items if i["status"] == 200}
        assert site.article_urls() <= fetched
        fetches = article_fetches(server, site)
        refetched = {path: n for path, n in fetches.items() if n > (2 if path == site.flaky_path else 1)}
        assert refetched == {}


def test_the_dns_guard_itself_catches_a_local_lookup(tmp_path):
    """The guard the crawl tests rely on does see a local lookup when one happens."""
    _, env = crawl_command(tmp_path, "socks5h://127.0.0.1:9")
    code = "import socket\ntry:\n    socket.getaddrinfo('www.example.onion', 80)\nexcept OSError:\n    pass\n"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=30)
    assert (tmp_path / "dns.log").read_text().split() == ["www.example.onion"]


def test_https_mirror_that_redirects_http_to_https(tmp_path, site):
    """Like the real NYT v3 mirror: TLS through the SOCKS proxy, plain http answered with a 301."""
    with MirrorServer(site, tls=True, https_redirect=True) as server, RecordingSocks5Server.for_server(server) as proxy:
        result = run_crawl(tmp_path, proxy.url, settings={"DEPTH_LIMIT": "10"})
        fetches = article_fetches(server, site)
        schemes = Counter(server.request_schemes)
    assert result.returncode == 0, result.stderr[-3000:]
    assert hosts_asked(proxy) == {MIRROR_V3}
    assert {request.port for request in proxy.requests} <= {80, 443}
    assert site.article_urls() <= {i["url"] for i in result.items if i["status"] == 200}
    expected = Counter({a.path: 1 for a in site.articles})
    expected[site.flaky_path] = 2
    assert fetches == expected  # every article once, over https
    assert schemes["http"] <= 2  # the start page and robots.txt, redirected; then https only
    assert all(i["fetched_url"].startswith("https://") for i in result.items if i["status"] == 200)


def test_a_page_is_recorded_under_its_own_rel_canonical(tmp_path):
    """A page reached at another URL of the same site names its canonical URL: it is recorded
    under that URL, the URL it was reached by becomes an alias, and it is not fetched again."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    original, duplicate = "/2016/12/05/world/original.html", "/2016/12/05/world/duplicate.html"
    pages = {
        "/": f'<html><head><title>Home</title></head><body><a href="{duplicate}">dup</a></body></html>',
        duplicate: f'<html><head><title>Story</title><link rel="canonical" href="https://www.nytimes.com{original}">'
        f'</head><body><p>Story.</p><a href="{original}?smid=tw">same story</a></body></html>',
    }
    fetched = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            fetched.append(self.path)
            body = pages.get(self.path.split("?")[0], "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with RecordingSocks5Server(server.server_address[:2]) as proxy:
            result = run_crawl(tmp_path, proxy.url, settings={"DEPTH_LIMIT": "5"})
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr[-2000:]
    story = result.by_url()[canonical(original)]
    assert len(story) == 1 and story[0]["aliases"] == [canonical(duplicate)]
    assert canonical(duplicate) not in result.by_url()
    assert original not in [path.split("?")[0] for path in fetched]  # not fetched a second time


def test_each_crawl_has_circuits_of_its_own(tmp_path, socks_proxy, mirror):
    """Tor isolates streams by SOCKS credentials: every request of a crawl carries the crawl's
    own, another crawl has others, and none of them reaches the log."""
    first = run_crawl(tmp_path / "one", socks_proxy.url, settings={"DEPTH_LIMIT": "1"})
    first_users = {request.username for request in socks_proxy.requests}
    socks_proxy.reset()
    second = run_crawl(tmp_path / "two", socks_proxy.url, settings={"DEPTH_LIMIT": "1"})
    second_users = {request.username for request in socks_proxy.requests}
    assert first.returncode == second.returncode == 0, first.stderr[-2000:]
    [first_user], [second_user] = first_users, second_users
    assert first_user and second_user and first_user != second_user
    for result, user in ((first, first_user), (second, second_user)):
        assert user not in result.stderr and user.split("-")[1] not in result.stderr


def test_the_users_own_socks_credentials_are_kept_and_site_isolation(tmp_path, socks_proxy, mirror):
    host, port = socks_proxy.address
    kept = run_crawl(tmp_path / "kept", f"socks5h://researcher:pw@{host}:{port}", settings={"DEPTH_LIMIT": "1"})
    assert kept.returncode == 0, kept.stderr[-2000:]
    assert {request.username for request in socks_proxy.requests} == {"researcher"}
    assert "researcher" not in kept.stderr
    socks_proxy.reset()
    per_site = run_crawl(
        tmp_path / "site", socks_proxy.url, settings={"DEPTH_LIMIT": "1", "ONION_PROXY_ISOLATION": "site"}
    )
    assert per_site.returncode == 0, per_site.stderr[-2000:]
    [user] = {request.username for request in socks_proxy.requests}
    assert user.endswith("-nytimes")


def test_a_bad_isolation_setting_is_refused_with_one_message(tmp_path):
    result = run_crawl(tmp_path, "socks5h://127.0.0.1:9", timeout=60, settings={"ONION_PROXY_ISOLATION": "bogus"})
    assert result.returncode == 1
    assert result.stderr.count("ONION_PROXY_ISOLATION='bogus': use one of crawl, site, off") == 1
    assert "Traceback" not in result.stderr and result.items == []
