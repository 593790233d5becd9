"""Tests of crawler.samplemirror: the generated site, its server and the recording proxies."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx2 as httpx  # the httpx fork that scrapy[httpx] installs
import pytest

from crawler.samplemirror import (
    BAD_CHECKSUM_V3,
    CANONICAL_HOST,
    DEAD_PATH,
    LOOKALIKE,
    MIRROR_V2,
    MIRROR_V3,
    PDF_PATH,
    REDIRECT_PATH,
    SHAPE_NAMES,
    MirrorServer,
    ProxyRequest,
    RecordingHttpProxy,
    RecordingSocks5Server,
    SampleSite,
    build_site,
    hosts_asked,
)

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site() -> SampleSite:
    return build_site()


@pytest.fixture(scope="module")
def mirror(site: SampleSite) -> Iterator[MirrorServer]:
    with MirrorServer(site) as server:
        yield server


@pytest.fixture(scope="module")
def http_proxy(mirror: MirrorServer) -> Iterator[RecordingHttpProxy]:
    with RecordingHttpProxy(mirror.address) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def socks_proxy(mirror: MirrorServer) -> Iterator[RecordingSocks5Server]:
    with RecordingSocks5Server(mirror.address) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def tls_mirror(site: SampleSite) -> Iterator[MirrorServer]:
    """The mirror as the real v3 onion serves it: HTTPS, and plain HTTP redirected to it."""
    with MirrorServer(site, tls=True, https_redirect=True) as server:
        yield server


@pytest.fixture(scope="module")
def tls_socks(tls_mirror: MirrorServer) -> Iterator[RecordingSocks5Server]:
    with RecordingSocks5Server.for_server(tls_mirror) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def tls_http_proxy(tls_mirror: MirrorServer) -> Iterator[RecordingHttpProxy]:
    with RecordingHttpProxy.for_server(tls_mirror) as proxy:
        yield proxy


class _Page(HTMLParser):
    """Collects hrefs, meta tags, the canonical link and JSON-LD of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.meta: dict[str, str] = {}
        self.canonical = ""
        self.imgs: list[str] = []
        self.ld_json: list[str] = []
        self.paragraphs = 0
        self._in_ld = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a":
            self.hrefs.append(a["href"])
        elif tag == "meta" and ("name" in a or "property" in a):
            self.meta[a.get("name") or a["property"]] = a["content"]
        elif tag == "link" and a.get("rel") == "canonical":
            self.canonical = a["href"]
        elif tag == "img":
            self.imgs.append(a["src"])
        elif tag == "p" and a.get("class") == "story-body-text":
            self.paragraphs += 1
        self._in_ld = tag == "script" and a.get("type") == "application/ld+json"

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self.ld_json.append(data)
            self._in_ld = False


def parse(body: bytes) -> _Page:
    page = _Page()
    page.feed(body.decode("utf-8", "replace"))
    return page


def onion_v3_checksum_ok(host: str) -> bool:
    """Verify a v3 onion address per rend-spec-v3 (checksum and version)."""
    raw = base64.b32decode(host.split(".")[-2].upper())
    pubkey, checksum, version = raw[:32], raw[32:34], raw[34:]
    digest = hashlib.sha3_256(b".onion checksum" + pubkey + version).digest()
    return version == b"\x03" and digest[:2] == checksum


def recv_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        assert chunk, "connection closed early"
        buf += chunk
    return buf


def raw_proxy_request(proxy: RecordingHttpProxy, request: bytes) -> bytes:
    with socket.create_connection(proxy.address, timeout=5) as sock:
        sock.sendall(request)
        return recv_all(sock)


def socks_connect(
    proxy: RecordingSocks5Server,
    atyp: int,
    addr: bytes,
    port: int = 80,
    credentials: tuple[bytes, bytes] | None = None,
) -> tuple[socket.socket, int]:
    """Hand-written SOCKS5 client: greet, maybe authenticate, CONNECT; return (sock, REP)."""
    sock = socket.create_connection(proxy.address, timeout=5)
    if credentials:
        sock.sendall(b"\x05\x02\x00\x02")
        assert recv_exact(sock, 2) == b"\x05\x02"
        user, password = credentials
        sock.sendall(bytes([1, len(user)]) + user + bytes([len(password)]) + password)
        assert recv_exact(sock, 2) == b"\x01\x00"
    else:
        sock.sendall(b"\x05\x01\x00")
        assert recv_exact(sock, 2) == b"\x05\x00"
    sock.sendall(bytes([5, 1, 0, atyp]) + addr + struct.pack("!H", port))
    ver, rep, _rsv, bound_atyp = recv_exact(sock, 4)
    assert ver == 5 and bound_atyp == 1
    recv_exact(sock, 6)
    return sock, rep


def domain(name: str) -> bytes:
    return bytes([len(name)]) + name.encode()


# --------------------------------------------------------------------------
# the generated site
# --------------------------------------------------------------------------


def test_site_is_deterministic(site: SampleSite) -> None:
    again = build_site()
    assert [a.path for a in again.articles] == [a.path for a in site.articles]
    for path in site.html_pages():
        assert again.render(path, attempt=2) == site.render(path, attempt=2)
    assert [a.path for a in build_site(seed=8).articles] != [a.path for a in site.articles]


def test_article_paths(site: SampleSite) -> None:
    paths = [a.path for a in site.articles]
    assert len(paths) == len(set(paths)) == 40
    dated = [p for p in paths if re.fullmatch(r"/2016/\d\d/\d\d/[a-z]+/[a-z0-9-]+\.html", p)]
    videos = [p for p in paths if re.fullmatch(r"/video/world/\d{15}/[a-z0-9-]+\.html", p)]
    assert len(dated) == 38 and len(videos) == 2
    assert {a.section for a in site.articles} >= {"world", "us", "politics"}
    for art in site.articles:
        assert art.canonical_url == f"https://{CANONICAL_HOST}{art.path}"
        assert art.published.startswith(art.path[1:11].replace("/", "-")) or art.kind == "video"


def test_graph_ground_truth(site: SampleSite) -> None:
    urls = {a.canonical_url for a in site.articles}
    assert site.article_urls() == urls
    assert site.articles[0].canonical_url in site.related("/")
    assert site.depth_of(site.articles[0].canonical_url) == 1
    for art in site.articles:
        assert 4 <= len(site.related(art.path)) <= 7
        assert site.related(art.canonical_url) == site.related(art.path)
        depth = site.depth_of(art.canonical_url)
        parents = (
            ["/"] if depth == 1 else [a.path for a in site.articles if site.depth_of(a.canonical_url) == depth - 1]
        )
        assert any(art.canonical_url in site.related(p) for p in parents)
        assert all(site.depth_of(u) <= depth + 1 for u in site.related(art.path))
    in_degree = Counter(u for a in site.articles for u in site.related(a.path))
    assert sum(1 for n in in_degree.values() if n >= 2) >= 20
    with pytest.raises(KeyError):
        site.depth_of(f"https://{CANONICAL_HOST}{DEAD_PATH}")


def test_every_link_shape_appears_many_times(site: SampleSite) -> None:
    counts = site.shape_counts()
    assert all(counts[name] >= 10 for name in SHAPE_NAMES)
    html = b"".join(site.render(p, attempt=2)[2] for p in site.html_pages()).decode("utf-8", "replace")
    needles = [
        f'href="http://{MIRROR_V3}/2016/',
        "&amp;contentCollection=world&amp;region=stream",
        f'href="https://{MIRROR_V3}/',
        "?smid=tw-share",
        f'href="http://{MIRROR_V2}/',
        '.html?action=click&pgtype=Article&region=Footer"',
        f'href="//{MIRROR_V3}/',
        "?partner=rss&amp;emc=rss",
        f'href="HTTP://{MIRROR_V3.upper()}/',
        f"{MIRROR_V3}:80/",
        '.html#comments"',
        "?utm_source=twitter&amp;utm_medium=social&amp;fbclid=abc",
    ]
    for needle in needles:
        assert html.count(needle) >= 5, needle
    for extra in (DEAD_PATH, REDIRECT_PATH, PDF_PATH, LOOKALIKE, BAD_CHECKSUM_V3, "www.example.org"):
        assert extra in html


def test_article_page_is_nyt_shaped(site: SampleSite) -> None:
    art = site.articles[0]
    status, headers, body = site.render(art.path)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert body.startswith(b"<!DOCTYPE html>")
    page = parse(body)
    assert page.canonical == page.meta["og:url"] == art.canonical_url
    assert page.meta["og:title"] == art.title
    assert page.meta["byl"] == f"By {art.author}"
    assert page.meta["article:published_time"] == art.published
    ld = json.loads(page.ld_json[0])
    assert ld["@type"] == "NewsArticle" and ld["headline"] == art.title
    assert ld["url"] == ld["mainEntityOfPage"] == f"https://{MIRROR_V3}{art.path}"
    assert f'"url":"https:\\/\\/{MIRROR_V3}\\/' in body.decode()
    assert page.imgs[0].startswith("https://static01.nyt.com/images/2016/")
    assert 5 <= page.paragraphs <= 10
    assert len(body.decode().split()) > 300
    for nav in (
        "/section/world",
        f"https://{CANONICAL_HOST}/section/us",
        "/subscription?campaignId=7JFJX",
        "https://myaccount.nytimes.com/auth/login?response_type=cookie&client_id=vi",
    ):
        assert nav in page.hrefs
    assert any(h.startswith("/by/") for h in page.hrefs)


def test_special_responses(site: SampleSite) -> None:
    assert site.render(DEAD_PATH)[0] == 404
    status, headers, _ = site.render(REDIRECT_PATH)
    assert status == 301 and headers["Location"] == f"http://{MIRROR_V3}{site.redirect_target}"
    assert site.article(site.redirect_target)
    status, headers, body = site.render(PDF_PATH)
    assert (status, headers["Content-Type"]) == (200, "application/pdf") and body.startswith(b"%PDF")
    robots = site.render("/robots.txt")[2].decode()
    assert "Disallow: /search" in robots and "Disallow: /svc/" in robots
    assert site.render("/section/world")[0] == 200 and site.render("/section/nope")[0] == 404
    assert site.render("/no/such/page.html")[0] == 404


def test_flaky_and_badly_encoded_articles_are_linked(site: SampleSite) -> None:
    flaky, bad = site.flaky_path, site.bad_encoding_path
    assert flaky and bad and flaky != bad
    assert site.render(flaky, attempt=1)[0] == 503
    assert site.render(flaky, attempt=2)[0] == 200
    status, headers, body = site.render(bad)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert b"caf\xe9" in body
    for path in (flaky, bad):
        url = site.article(path).canonical_url
        assert url in site.article_urls()
        assert any(url in site.related(a.path) for a in site.articles)


def test_onion_checksums() -> None:
    assert onion_v3_checksum_ok(MIRROR_V3)
    assert not onion_v3_checksum_ok(BAD_CHECKSUM_V3)
    assert len(BAD_CHECKSUM_V3) == len(MIRROR_V3)
    assert sum(x != y for x, y in zip(BAD_CHECKSUM_V3, MIRROR_V3, strict=True)) == 1


def test_small_sites_stay_connected() -> None:
    for n in (1, 2, 3, 5, 8, 13):
        small = build_site(n)
        assert len(small.articles) == n
        assert small.article_urls() == {a.canonical_url for a in small.articles}


# --------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------


def test_server_serves_any_host_and_records(site: SampleSite, capfd: pytest.CaptureFixture[str]) -> None:
    with MirrorServer(site, delay=0.05) as server:
        conn = http.client.HTTPConnection(*server.address, timeout=5)
        started = time.monotonic()
        conn.request("GET", "/?a=1", headers={"Host": MIRROR_V2})
        response = conn.getresponse()
        assert response.status == 200 and response.read() == site.render("/")[2]
        assert time.monotonic() - started >= 0.05
        flaky = site.flaky_path
        assert flaky
        statuses = []
        for _ in range(2):
            conn.request("GET", flaky, headers={"Host": MIRROR_V3})
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
        assert statuses == [503, 200]
        conn.close()
        assert server.requests[0] == ("GET", MIRROR_V2, "/?a=1")
        assert server.hits("/") == 1 and server.hits("/?a=1") == 1 and server.hits(flaky) == 2
    assert capfd.readouterr().err == ""


# --------------------------------------------------------------------------
# the HTTP proxy
# --------------------------------------------------------------------------


def test_http_proxy_forwards_absolute_form(
    site: SampleSite, mirror: MirrorServer, http_proxy: RecordingHttpProxy
) -> None:
    path = site.articles[2].path + "?smid=tw-share"
    reply = raw_proxy_request(
        http_proxy, f"GET http://{MIRROR_V3}{path} HTTP/1.1\r\nHost: {MIRROR_V3}\r\n\r\n".encode()
    )
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Connection: close" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert body == site.render(path)[2]
    assert ProxyRequest(MIRROR_V3, 80, "GET", f"http://{MIRROR_V3}{path}", True) in http_proxy.requests
    assert ("GET", MIRROR_V3, path) in mirror.requests


def test_http_proxy_with_http_client_and_urllib(site: SampleSite, http_proxy: RecordingHttpProxy) -> None:
    conn = http.client.HTTPConnection(*http_proxy.address, timeout=5)
    conn.request("GET", f"http://{MIRROR_V2.upper()}:80/robots.txt")
    response = conn.getresponse()
    assert response.status == 200 and b"Disallow: /svc/" in response.read()
    conn.close()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": http_proxy.url}))
    with opener.open(f"http://{MIRROR_V3}{REDIRECT_PATH}", timeout=5) as resp:
        assert resp.geturl() == f"http://{MIRROR_V3}{site.redirect_target}"
        assert parse(resp.read()).canonical == site.article(site.redirect_target).canonical_url
    assert MIRROR_V2.upper() in {r.host for r in http_proxy.requests}


def test_http_proxy_refuses_unknown_hosts_and_records_addresses(http_proxy: RecordingHttpProxy) -> None:
    for host in (LOOKALIKE, BAD_CHECKSUM_V3, "127.0.0.1"):
        reply = raw_proxy_request(http_proxy, f"GET http://{host}/ HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert reply.startswith(b"HTTP/1.1 502 Bad Gateway")
    records = {r.host: r for r in http_proxy.requests}
    assert records[LOOKALIKE].as_name and not records["127.0.0.1"].as_name
    assert {LOOKALIKE, BAD_CHECKSUM_V3.lower(), "127.0.0.1"} <= hosts_asked(http_proxy)
    assert raw_proxy_request(http_proxy, b"GET / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400")


def test_http_proxy_connect_is_tunnelled_and_recorded(http_proxy: RecordingHttpProxy) -> None:
    with socket.create_connection(http_proxy.address, timeout=5) as sock:
        sock.sendall(f"CONNECT {MIRROR_V3}:443 HTTP/1.1\r\nHost: {MIRROR_V3}:443\r\n\r\n".encode())
        assert recv_exact(sock, 39) == b"HTTP/1.1 200 Connection established\r\n\r\n"
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")  # plain HTTP inside
        assert recv_all(sock).startswith(b"HTTP/1.1 200")
    expected = ProxyRequest(MIRROR_V3, 443, "CONNECT", f"{MIRROR_V3}:443", True)
    assert expected in http_proxy.requests
    reply = raw_proxy_request(http_proxy, f"CONNECT {LOOKALIKE}:443 HTTP/1.1\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 502")


def test_http_proxy_survives_abrupt_clients(site: SampleSite, http_proxy: RecordingHttpProxy) -> None:
    for junk in (b"", b"GET http://", b"GET http://" + MIRROR_V3.encode() + b"/ HTTP/1.1\r\n"):
        sock = socket.create_connection(http_proxy.address, timeout=5)
        sock.sendall(junk)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # RST
    reply = raw_proxy_request(http_proxy, f"GET http://{MIRROR_V3}/ HTTP/1.1\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(site.render("/")[2])


def test_httpx_through_http_proxy(site: SampleSite, http_proxy: RecordingHttpProxy) -> None:
    path = site.articles[1].path
    with httpx.Client(proxy=http_proxy.url, timeout=5) as client:
        response = client.get(f"http://{MIRROR_V3}{path}")
    assert response.status_code == 200 and response.content == site.render(path)[2]
    assert any(r.host == MIRROR_V3 and r.target.endswith(path) and r.as_name for r in http_proxy.requests)


# --------------------------------------------------------------------------
# the SOCKS5 server
# --------------------------------------------------------------------------


def test_socks5_domain_connect_relays(site: SampleSite, socks_proxy: RecordingSocks5Server) -> None:
    sock, rep = socks_connect(socks_proxy, 3, domain(MIRROR_V3))
    with sock:
        assert rep == 0
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {MIRROR_V3}\r\nConnection: close\r\n\r\n".encode())
        assert recv_all(sock).endswith(site.render("/")[2])
    assert ProxyRequest(MIRROR_V3, 80, "CONNECT", f"{MIRROR_V3}:80", True) in socks_proxy.requests


def test_socks5_refuses_addresses_and_unknown_names(socks_proxy: RecordingSocks5Server) -> None:
    for atyp, addr in (
        (1, socket.inet_aton("127.0.0.1")),
        (3, domain(LOOKALIKE)),
        (4, socket.inet_pton(socket.AF_INET6, "::1")),
    ):
        sock, rep = socks_connect(socks_proxy, atyp, addr)
        sock.close()
        assert rep == 4
    records = {r.host: r for r in socks_proxy.requests}
    assert not records["127.0.0.1"].as_name and not records["::1"].as_name
    assert records[LOOKALIKE].as_name and records["::1"].target == "[::1]:80"


def test_socks5_username_password(socks_proxy: RecordingSocks5Server) -> None:
    sock, rep = socks_connect(socks_proxy, 3, domain(MIRROR_V2), 80, (b"isolation-7", b"x"))
    sock.close()
    assert rep == 0
    assert any(r.host == MIRROR_V2 and r.username == "isolation-7" for r in socks_proxy.requests)


def test_socks5_rejects_bad_greetings_and_survives(socks_proxy: RecordingSocks5Server) -> None:
    with socket.create_connection(socks_proxy.address, timeout=5) as sock:
        sock.sendall(b"\x05\x01\x01")  # GSSAPI only
        assert recv_all(sock) == b"\x05\xff"
    for junk in (b"", b"\x05", b"\x05\x01\x00\x05\x01\x00\x03\x10abc"):
        sock = socket.create_connection(socks_proxy.address, timeout=5)
        sock.sendall(junk)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    sock, rep = socks_connect(socks_proxy, 3, domain(MIRROR_V3))
    sock.close()
    assert rep == 0


def test_httpx_socks5h_sends_onion_as_name(site: SampleSite, socks_proxy: RecordingSocks5Server) -> None:
    path = site.articles[4].path
    socks_proxy.reset()
    with httpx.Client(proxy=socks_proxy.url, timeout=5) as client:
        response = client.get(f"http://{MIRROR_V3}{path}")
    assert response.status_code == 200 and response.content == site.render(path)[2]
    assert socks_proxy.url.startswith("socks5h://127.0.0.1:")
    assert socks_proxy.requests == [ProxyRequest(MIRROR_V3, 80, "CONNECT", f"{MIRROR_V3}:80", True)]
    assert hosts_asked(socks_proxy) == {MIRROR_V3}


# --------------------------------------------------------------------------
# HTTPS like the real v3 mirror
# --------------------------------------------------------------------------


def test_httpx_socks5h_https_reaches_tls_port(
    site: SampleSite, tls_mirror: MirrorServer, tls_socks: RecordingSocks5Server
) -> None:
    path = site.articles[3].path
    tls_socks.reset()
    before = len(tls_mirror.requests)
    with httpx.Client(proxy=tls_socks.url, verify=False, timeout=5) as client:
        home = client.get(f"https://{MIRROR_V3}/")
        article = client.get(f"https://{MIRROR_V3}{path}")
    assert home.status_code == 200 and home.content == site.render("/")[2]
    assert article.status_code == 200 and article.content == site.render(path)[2]
    # the onion went to the SOCKS server as a NAME with port 443, and TLS reached the HTTPS port
    assert tls_socks.requests == [ProxyRequest(MIRROR_V3, 443, "CONNECT", f"{MIRROR_V3}:443", True)]
    assert tls_mirror.requests[before:] == [("GET", MIRROR_V3, "/"), ("GET", MIRROR_V3, path)]
    assert tls_mirror.request_schemes[before:] == ["https", "https"]
    assert [r.scheme for r in tls_mirror.requests[before:]] == ["https", "https"]


def test_plain_port_redirects_to_https(site: SampleSite, tls_mirror: MirrorServer) -> None:
    conn = http.client.HTTPConnection(*tls_mirror.address, timeout=5)
    for method, path, host in (
        ("GET", "/robots.txt", MIRROR_V3),
        ("HEAD", "/", f"{MIRROR_V3}:80"),
        ("GET", site.articles[0].path + "?smid=tw-share", MIRROR_V2),
    ):
        conn.request(method, path, headers={"Host": host})
        response = conn.getresponse()
        assert response.status == 301 and response.reason == "Moved Permanently"
        assert response.getheader("Location") == f"https://{host.removesuffix(':80')}{path}"
        assert response.read() == b"" and response.getheader("Content-Length") == "0"
    conn.close()


def test_request_log_records_both_schemes(site: SampleSite) -> None:
    flaky = site.flaky_path
    assert flaky
    with (
        MirrorServer(site, tls=True, https_redirect=True) as server,
        RecordingSocks5Server.for_server(server) as proxy,
        httpx.Client(proxy=proxy.url, verify=False, timeout=5, follow_redirects=True) as client,
    ):
        first = client.get(f"http://{MIRROR_V3}{flaky}")
        second = client.get(f"http://{MIRROR_V3}{flaky}")
        assert [r.status_code for r in first.history] == [301] and first.url == f"https://{MIRROR_V3}{flaky}"
        # the redirect does not use up the flaky page's failure: the first HTTPS fetch still fails
        assert (first.status_code, second.status_code) == (503, 200)
        assert server.requests == [("GET", MIRROR_V3, flaky)] * 4
        assert server.request_schemes == ["http", "https", "http", "https"]
        assert server.hits(flaky) == 4 and server.hits(flaky, "http") == server.hits(flaky, "https") == 2
        assert [r.port for r in proxy.requests] == [80, 443] and all(r.as_name for r in proxy.requests)  # keep-alive
        assert server.max_in_flight == 1


def test_tls_certificate_names(tls_mirror: MirrorServer) -> None:
    assert tls_mirror.tls_certificate and tls_mirror.tls_address
    assert tls_mirror.tls_url == f"https://127.0.0.1:{tls_mirror.tls_address[1]}"
    context = ssl.create_default_context(cafile=tls_mirror.tls_certificate)
    v3 = MIRROR_V3.removeprefix("www.")
    for name in (MIRROR_V3, v3, f"static.{v3}", MIRROR_V2):
        with (
            socket.create_connection(tls_mirror.tls_address, timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            sans = {value for _kind, value in tls.getpeercert()["subjectAltName"]}
    assert sans == {f"*.{v3}", v3, "*.nytimes3xbfgragh.onion"}
    with (
        socket.create_connection(tls_mirror.tls_address, timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        context.wrap_socket(raw, server_hostname=LOOKALIKE)


def test_http_proxy_for_server_tunnels_tls(
    site: SampleSite, tls_mirror: MirrorServer, tls_http_proxy: RecordingHttpProxy
) -> None:
    with httpx.Client(proxy=tls_http_proxy.url, verify=False, timeout=5) as client:
        assert client.get(f"https://{MIRROR_V3}/").content == site.render("/")[2]
        plain = client.get(f"http://{MIRROR_V3}/robots.txt")
    assert plain.status_code == 301 and plain.headers["location"] == f"https://{MIRROR_V3}/robots.txt"
    assert ProxyRequest(MIRROR_V3, 443, "CONNECT", f"{MIRROR_V3}:443", True) in tls_http_proxy.requests
    # absolute-form https:// (no CONNECT) is fetched over TLS too
    reply = raw_proxy_request(tls_http_proxy, f"GET https://{MIRROR_V3}/robots.txt HTTP/1.1\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 200") and b"Disallow: /svc/" in reply
    assert tls_mirror.requests[-1] == ("GET", MIRROR_V3, "/robots.txt") and tls_mirror.request_schemes[-1] == "https"


def test_upstream_mapping_and_options(site: SampleSite, mirror: MirrorServer, tls_mirror: MirrorServer) -> None:
    assert mirror.tls_address is None and mirror.tls_url is None and mirror.tls_certificate is None
    with pytest.raises(ValueError, match="tls"):
        MirrorServer(site, https_redirect=True)
    assert tls_mirror.tls_address
    proxy = RecordingSocks5Server({80: tls_mirror.address, 443: tls_mirror.tls_address})
    assert proxy.upstream == tls_mirror.address and proxy.upstream_for(8080) == tls_mirror.address
    assert proxy.upstream_for(443) == tls_mirror.tls_address
    assert RecordingSocks5Server.for_server(mirror).upstreams == {80: mirror.address}
    legacy = RecordingHttpProxy(mirror.address)
    assert legacy.upstream_for(443) == legacy.upstream == mirror.address
    only_tls = RecordingSocks5Server({443: tls_mirror.tls_address}).start()
    try:
        sock, rep = socks_connect(only_tls, 3, domain(MIRROR_V3), 80)
        sock.close()
        assert rep == 5  # nothing for port 80: refused
    finally:
        for service in (proxy, legacy, only_tls):
            service.stop()
    with MirrorServer(site, tls=True) as both:  # TLS without the redirect: both ports serve the site
        for url in (both.url, both.tls_url):
            assert httpx.get(f"{url}/robots.txt", verify=False, timeout=5).status_code == 200
        assert both.request_schemes == ["http", "https"]


def test_plain_server_does_not_import_cryptography() -> None:
    code = (
        "import sys; from crawler.samplemirror import MirrorServer, build_site; "
        "MirrorServer(build_site(1)).stop(); print(any(m.startswith('cryptography') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "False", out.stderr


# --------------------------------------------------------------------------
# lifecycle and command line
# --------------------------------------------------------------------------


def test_proxies_stop_cleanly_with_open_tunnels(mirror: MirrorServer) -> None:
    socks = RecordingSocks5Server(mirror.address).start()
    http = RecordingHttpProxy(mirror.address).start()
    tunnel, rep = socks_connect(socks, 3, domain(MIRROR_V3))
    idle = socket.create_connection(http.address, timeout=5)
    started = time.monotonic()
    socks.stop()
    http.stop()
    assert time.monotonic() - started < 1.5 and rep == 0
    assert tunnel.recv(10) == b""
    for proxy in (socks, http):
        with pytest.raises(OSError):
            socket.create_connection(proxy.address, timeout=1)
    tunnel.close()
    idle.close()


def test_command_line_runs_until_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.samplemirror", "--articles", "10", "--delay", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(4)]
        services = dict(line.split(": ", 1) for line in lines)
        assert services["start url"] == f"http://{MIRROR_V3}/"
        assert re.fullmatch(r"socks5h://127\.0\.0\.1:\d+", services["socks5 proxy"])
        with httpx.Client(proxy=services["http proxy"], timeout=5) as client:
            assert client.get(services["start url"]).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        proc.kill()
        proc.wait()


def test_command_line_https() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.samplemirror", "--articles", "5", "--https"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(5)]
        services = dict(line.split(": ", 1) for line in lines)
        assert services["start url"] == f"https://{MIRROR_V3}/"
        assert re.fullmatch(r"https://127\.0\.0\.1:\d+", services["mirror server (tls)"])
        with httpx.Client(proxy=services["socks5 proxy"], verify=False, timeout=5) as client:
            assert client.get(services["start url"]).status_code == 200
            plain = client.get(f"http://{MIRROR_V3}/")
            assert plain.status_code == 301 and plain.headers["location"] == services["start url"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        proc.kill()
        proc.wait()
