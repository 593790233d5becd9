"""The archive: real crawls with WARC on, read back by the field's own tools (warcio
check and index, wacz validate, a real pywb replaying the capture)."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import shutil
import signal
import socket
import socketserver
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.files import OPEN_SUFFIX, complete_length
from crawler.samplemirror import MIRROR_V3, MirrorServer, RecordingSocks5Server, build_site
from crawler.store import Store
from tests.crawling import crawl_command, run_crawl, run_scrapy

BIN = Path(sys.executable).parent
NYT = "https://www.nytimes.com"
ONION = f"http://{MIRROR_V3}"


def read_records(folder: Path) -> list:
    """Every record of every WARC file in ``folder``, with its file's name and payload."""
    records = []
    for path in sorted(folder.glob("*.warc.gz")):
        with open(path, "rb") as file:
            for record in ArchiveIterator(file):
                record.filename = path.name
                record.body = record.raw_stream.read()  # the payload as stored (still gzip if it came so)
                records.append(record)
    return records


def header(record, name: str) -> str | None:
    return record.rec_headers.get_header(name)


def warcio_check(folder: Path) -> subprocess.CompletedProcess[str]:
    files = sorted(str(p) for p in folder.glob("*.warc.gz"))
    assert files
    return subprocess.run([BIN / "warcio", "check", *files], capture_output=True, text=True, timeout=120)


def stored_pages(path: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT url, fetched_url, status FROM pages WHERE status IS NOT NULL"))


def assert_every_page_has_its_capture(records: list, store: Path) -> None:
    by_target: dict[str, set[str]] = {}
    for record in records:
        by_target.setdefault(header(record, "WARC-Target-URI") or "", set()).add(record.rec_type)
    for url, fetched_url, _ in stored_pages(store):
        assert {"request", "metadata"} <= by_target.get(fetched_url, set()), fetched_url
        assert by_target[fetched_url] & {"response", "revisit"}, fetched_url
        assert "revisit" in by_target.get(url, set()), url  # replayable under its canonical URL


# -- a whole crawl with WARC on ---------------------------------------------------------------


@pytest.fixture(scope="module")
def archived(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("archived")
    site = build_site()
    settings = {"DEPTH_LIMIT": "10", "WARC_DIR": str(workdir / "warc"), "WARC_MAX_SIZE": "60000"}
    with MirrorServer(site) as server, RecordingSocks5Server(server.address) as proxy:
        crawl = run_crawl(workdir, proxy.url, settings=settings)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    return workdir, site, crawl, read_records(workdir / "warc")


def test_every_warc_file_passes_warcio_check(archived):
    workdir, *_ = archived
    check = warcio_check(workdir / "warc")
    assert check.returncode == 0, check.stdout + check.stderr
    assert not list((workdir / "warc").glob(f"*{OPEN_SUFFIX}"))  # every file closed with the crawl


def test_files_rotate_and_each_opens_with_a_warcinfo_that_tells_no_secret(archived):
    workdir, _, _, records = archived
    files = sorted({r.filename for r in records})
    assert len(files) > 2  # WARC_MAX_SIZE=60000
    for name in files:
        first = next(r for r in records if r.filename == name)
        assert first.rec_type == "warcinfo" and header(first, "WARC-Filename") == name
        info = first.body.decode()
        assert "onion-news-crawler/" in info and "robots: obey" in info and "nytimes.toml sha256:" in info
        assert "127.0.0.1" not in info and "socks" not in info.lower()  # neither the proxy nor a local address
        assert name.startswith("onion-crawl-") and name.endswith(".warc.gz")
    assert not any(header(r, "WARC-IP-Address") for r in records)


def test_warcio_index_lists_request_response_and_metadata_for_every_page(archived):
    workdir, site, crawl, records = archived
    index = subprocess.run(
        [BIN / "warcio", "index", "-f", "warc-type,warc-target-uri", *sorted(map(str, (workdir / "warc").iterdir()))],
        capture_output=True,
        text=True,
        check=False,
    )
    entries = [json.loads(line) for line in index.stdout.splitlines()]
    kinds: dict[str, set[str]] = {}
    for entry in entries:
        kinds.setdefault(entry.get("warc-target-uri", ""), set()).add(entry["warc-type"])
    fetched = {item["fetched_url"] for item in crawl.items if item.get("status")}
    assert fetched and {url for url in fetched if url.startswith(ONION)} == fetched
    for url in fetched:
        assert {"request", "response", "metadata"} <= kinds[url], url
    assert_every_page_has_its_capture(records, workdir / "crawl.sqlite3")
    assert {f"{NYT}{path}" for path in (a.path for a in site.articles)} <= set(kinds)


def test_metadata_names_the_canonical_url_the_rule_and_the_page_that_linked_it(archived):
    _, site, _, records = archived
    article = site.articles[0]
    canonical = f"{NYT}{article.path}"
    [meta] = [r for r in records if r.rec_type == "metadata" and f"canonical-url: {canonical}\r\n" in r.body.decode()]
    response = next(r for r in records if header(r, "WARC-Record-ID") == header(meta, "WARC-Refers-To"))
    assert response.rec_type == "response" and header(meta, "WARC-Target-URI") == header(response, "WARC-Target-URI")
    fields = meta.body.decode()
    assert f"mirror: {MIRROR_V3.removeprefix('www.')}" in fields
    assert "site: nytimes\r\n" in fields and "rule: nytimes.toml\r\n" in fields and "mirror-source: " in fields
    assert "via: https://www.nytimes.com" in fields and "depth: " in fields


def test_the_canonical_revisit_refers_to_the_onion_capture(archived):
    _, site, _, records = archived
    canonical = f"{NYT}{site.articles[0].path}"
    [revisit] = [r for r in records if r.rec_type == "revisit" and header(r, "WARC-Target-URI") == canonical]
    assert header(revisit, "WARC-Profile") == "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    target = header(revisit, "WARC-Refers-To-Target-URI")
    original = next(
        r
        for r in records
        if r.rec_type == "response"
        and header(r, "WARC-Target-URI") == target
        and header(r, "WARC-Date") == header(revisit, "WARC-Refers-To-Date")
    )
    assert target.startswith(ONION) and header(original, "WARC-Payload-Digest") == header(
        revisit, "WARC-Payload-Digest"
    )
    assert header(original, "WARC-Payload-Digest").startswith("sha256:")
    assert header(original, "WARC-Block-Digest").startswith("sha256:")


def test_the_wacz_passes_wacz_validate_and_lists_every_article(archived):
    workdir, site, _, _ = archived
    output = workdir / "crawl.wacz"
    done = run_scrapy(workdir, "wacz", "-o", output.name, "-s", f"WARC_DIR={workdir / 'warc'}")
    assert done.returncode == 0, done.stderr
    validate = subprocess.run([BIN / "wacz", "validate", "-f", output], capture_output=True, text=True, timeout=120)
    assert validate.returncode == 0 and "is valid" in validate.stdout, validate.stdout + validate.stderr
    with zipfile.ZipFile(output) as package:
        names = set(package.namelist())
        warcs = {n for n in names if n.startswith("archive/")}
        assert {"pages/pages.jsonl", "indexes/index.cdx.gz", "datapackage.json", "datapackage-digest.json"} <= names
        assert all(package.getinfo(n).compress_type == zipfile.ZIP_STORED for n in warcs)
        lines = [json.loads(line) for line in package.read("pages/pages.jsonl").splitlines()]
    assert lines[0]["format"] == "json-pages-1.0"
    pages = {line["url"]: line for line in lines[1:]}
    assert site.article_urls() <= set(pages)
    first = pages[f"{NYT}{site.articles[0].path}"]
    assert first["title"] and first["text"] and first["ts"].endswith("Z")


def test_wacz_without_warc_files_is_one_clear_error(archived, tmp_path):
    workdir, *_ = archived
    done = run_scrapy(workdir, "wacz", "-o", str(tmp_path / "x.wacz"), "-s", f"WARC_DIR={tmp_path / 'none'}")
    assert done.returncode == 2 and "error:" in done.stderr and "Traceback" not in done.stderr


# -- the exchange as it crossed the wire ---------------------------------------------------


ARTICLE = "/2016/12/05/world/a.html"
ARTICLE_COPY = "/2016/12/05/world/b.html"  # the same payload at another address, linked from ARTICLE only
BROKEN = "/2016/12/05/world/c.html"  # the connection breaks in the middle of the body


class WireServer(socketserver.ThreadingTCPServer):
    """Answers with exact bytes: a reason phrase of its own, repeated headers, gzip,
    chunked transfer coding. Logs the request lines it got."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.request_lines: list[str] = []
        super().__init__(("127.0.0.1", 0), self._Handler)

    class _Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while True:
                line = self.rfile.readline().decode("latin-1").strip()
                if not line:
                    return
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                self.server.request_lines.append(line)  # type: ignore[attr-defined]
                target = line.split()[1]
                if target == BROKEN:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n<html><body>half")
                    return
                self.wfile.write(answer(target))

    @property
    def address(self) -> tuple[str, int]:
        return self.server_address[:2]  # type: ignore[return-value]


def article_html() -> bytes:
    body = "<p>The minister said the talks would go on. " * 20 + "</p>"
    return (
        "<html><head><title>Talks Go On</title></head>"
        f'<body><article><h1>Talks Go On</h1>{body}<a href="{ARTICLE_COPY}">more</a></article></body></html>'
    ).encode()


def home_html() -> bytes:
    return (
        f'<html><head><title>Home</title></head><body><a href="{ARTICLE}?page=2">a</a><a href="{BROKEN}">c</a>'
        "</body></html>"
    ).encode()


def answer(target: str) -> bytes:
    if target == "/robots.txt":
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    body = gzip.compress(home_html() if target == "/" else article_html(), mtime=0)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 100]), body[i : i + 100]) for i in range(0, len(body), 100))
    head = (
        "HTTP/1.1 200 Fine Thanks\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Set-Cookie: a=1; Path=/\r\n"
        "Set-Cookie: b=2; Path=/\r\n"
        "X-Repeated: one\r\n"
        "X-Repeated: two\r\n"
        "Content-Encoding: gzip\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    return head.encode() + chunks + b"0\r\n\r\n"


@pytest.fixture(scope="module")
def wire_crawl(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("wire")
    server = WireServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with RecordingSocks5Server(server.address) as proxy:
            crawl = run_crawl(workdir, proxy.url, settings={"WARC_DIR": str(workdir / "warc")})
    finally:
        server.shutdown()
        server.server_close()
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    return workdir, crawl, read_records(workdir / "warc"), server.request_lines


def test_the_response_record_is_the_response_as_received(wire_crawl):
    workdir, crawl, records, _ = wire_crawl
    assert warcio_check(workdir / "warc").returncode == 0
    [response] = [
        r for r in records if r.rec_type == "response" and header(r, "WARC-Target-URI") == f"{ONION}{ARTICLE}?page=2"
    ]
    http = response.http_headers
    assert http.protocol == "HTTP/1.1" and http.statusline == "200 Fine Thanks"
    assert [v for k, v in http.headers if k.lower() == "set-cookie"] == ["a=1; Path=/", "b=2; Path=/"]
    assert [v for k, v in http.headers if k.lower() == "x-repeated"] == ["one", "two"]
    assert http.get_header("Content-Encoding") == "gzip"  # the payload is the gzip the server sent...
    assert gzip.decompress(response.body) == article_html()
    assert http.get_header("Transfer-Encoding") is None  # ...without the chunking the client removed
    assert http.get_header("X-Crawler-Transfer-Encoding") == "chunked"
    # ...and the page is stored decoded, as ever.
    [page] = [i for i in crawl.items if i["url"] == f"{NYT}{ARTICLE}?page=2"]
    assert "The minister said" in page["text"]


def test_the_request_record_is_the_request_as_sent(wire_crawl):
    _, _, records, request_lines = wire_crawl
    [request] = [
        r for r in records if r.rec_type == "request" and header(r, "WARC-Target-URI") == f"{ONION}{ARTICLE}?page=2"
    ]
    line = f"{request.http_headers.protocol} {request.http_headers.statusline}"  # warcio splits at the method
    assert line == f"GET {ARTICLE}?page=2 HTTP/1.1"
    assert f"GET {ARTICLE}?page=2 HTTP/1.1" in request_lines
    assert request.http_headers.get_header("Host") == MIRROR_V3
    assert "gzip" in request.http_headers.get_header("Accept-Encoding")
    assert request.http_headers.get_header("Proxy-Authorization") is None
    response_id = header(request, "WARC-Concurrent-To")
    assert any(header(r, "WARC-Record-ID") == response_id for r in records)


def test_a_fetch_that_broke_off_leaves_no_record(wire_crawl):
    _, crawl, records, request_lines = wire_crawl
    assert f"GET {BROKEN} HTTP/1.1" in request_lines
    assert not [r for r in records if header(r, "WARC-Target-URI") in (f"{ONION}{BROKEN}", f"{NYT}{BROKEN}")]
    [failed] = {item["url"]: item for item in crawl.items if item["url"] == f"{NYT}{BROKEN}"}.values()
    assert failed["status"] is None  # recorded as a failure (transient: a resumed crawl fetches it again)


def test_an_identical_payload_at_another_address_is_a_revisit(wire_crawl):
    _, _, records, _ = wire_crawl
    target = f"{ONION}{ARTICLE_COPY}"
    [copy] = [r for r in records if header(r, "WARC-Target-URI") == target and r.rec_type in ("response", "revisit")]
    assert copy.rec_type == "revisit" and copy.body == b""
    assert header(copy, "WARC-Refers-To-Target-URI") == f"{ONION}{ARTICLE}?page=2"
    assert header(copy, "WARC-Profile").endswith("/revisit/identical-payload-digest")


# -- replay in a real pywb -------------------------------------------------------------------


@pytest.fixture(scope="session")
def pywb_bin() -> Path:
    """pywb, in a venv of its own inside the test venv (``.venv/pywb``: it pins an old redis client
    the shared crawl cannot use), as the README's test command and ``.ci/run`` install it."""
    home = Path(sys.prefix) / "pywb"
    if not (home / "bin" / "wayback").exists():
        pytest.skip(f"pywb is not installed: python3 -m venv {home} && {home}/bin/pip install -q pywb==2.10.0")
    return home / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


@contextlib.contextmanager
def pywb_replaying(pywb_bin: Path, files: list[Path], workdir: Path) -> Iterator[str]:
    """A real pywb (``wayback``) on a free loopback port, its collection ``crawl`` holding the WARC
    ``files``: yields the collection's URL once pywb answers."""
    subprocess.run([pywb_bin / "wb-manager", "init", "crawl"], cwd=workdir, check=True, capture_output=True)
    subprocess.run([pywb_bin / "wb-manager", "add", "crawl", *files], cwd=workdir, check=True, capture_output=True)
    port = free_port()
    wayback = subprocess.Popen(
        [pywb_bin / "wayback", "-p", str(port), "-b", "127.0.0.1"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                fetch(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/crawl"
    finally:
        wayback.terminate()
        wayback.wait(timeout=30)


def test_pywb_replays_a_page_under_its_onion_url_and_its_canonical_url(archived, pywb_bin, tmp_path):
    workdir, site, _, records = archived
    files = sorted((workdir / "warc").glob("*.warc.gz"))
    article = site.articles[0].path
    captured = next(
        r.body for r in records if r.rec_type == "response" and header(r, "WARC-Target-URI") == f"{ONION}{article}"
    )
    with pywb_replaying(pywb_bin, files, tmp_path) as collection:
        status, onion_body = fetch(f"{collection}/2030id_/{ONION}{article}")
        status_canonical, canonical_body = fetch(f"{collection}/2030id_/{NYT}{article}")
    assert (status, status_canonical) == (200, 200)
    assert onion_body == captured and canonical_body == captured


# -- kill -9 and resume ----------------------------------------------------------------------


def test_kill_9_with_warc_on_then_resume_leaves_every_file_readable_and_every_page_archived(tmp_path):
    site = build_site()
    warc = tmp_path / "warc"
    settings = {"JOBDIR": str(tmp_path / "job"), "DEPTH_LIMIT": "10", "WARC_DIR": str(warc)}
    store_path = tmp_path / "crawl.sqlite3"
    with MirrorServer(site, delay=0.05) as server, RecordingSocks5Server(server.address) as proxy:
        command, env = crawl_command(tmp_path, proxy.url, settings=settings, output="part1.jsonl")
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if store_path.exists() and len(stored_pages(store_path)) >= 10:
                break
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        left_open = list(warc.glob(f"*{OPEN_SUFFIX}"))
        assert left_open  # the killed run's file was never closed
        killed_pages = len(stored_pages(store_path))
        assert killed_pages < len(site.article_urls())

        second = run_crawl(tmp_path, proxy.url, settings=settings, output="part2.jsonl")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "interrupted before, taken up again" in second.stderr
    assert not list(warc.glob(f"*{OPEN_SUFFIX}"))
    check = warcio_check(warc)
    assert check.returncode == 0, check.stdout + check.stderr
    names = {path.name for path in warc.glob("*.warc.gz")}
    assert {path.name.removesuffix(OPEN_SUFFIX) for path in left_open} <= names and len(names) >= 2
    assert_every_page_has_its_capture(read_records(warc), store_path)
    with Store(store_path, create=False) as store:
        assert site.article_urls() <= {url for url, *_ in store.answered_pages()}


def test_a_partial_last_record_is_cut_when_the_series_is_opened_again(archived, tmp_path):
    workdir, *_ = archived
    source = sorted((workdir / "warc").glob("*.warc.gz"))[0]
    data = source.read_bytes()
    whole = complete_length(source)
    assert whole == len(data)
    folder = tmp_path / "warc"
    folder.mkdir()
    broken = folder / f"{source.name}{OPEN_SUFFIX}"
    broken.write_bytes(data + gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n" * 50)[:-30])
    from crawler.archive.files import WarcFiles

    WarcFiles(folder, "onion-crawl", 10**9, warcinfo=None).close()
    assert (folder / source.name).read_bytes() == data
    assert warcio_check(folder).returncode == 0


def test_an_unusable_warc_dir_stops_the_crawl_with_one_message(tmp_path):
    (tmp_path / "a-file").write_text("")
    with MirrorServer(build_site(1)) as server, RecordingSocks5Server(server.address) as proxy:
        crawl = run_crawl(tmp_path, proxy.url, settings={"WARC_DIR": str(tmp_path / "a-file" / "warc")})
    assert crawl.returncode == 1
    assert "Cannot archive in WARC_DIR" in crawl.stderr and "Traceback" not in crawl.stderr


def test_a_second_series_in_the_same_folder_leaves_a_live_file_alone(tmp_path):
    from warcio.recordbuilder import RecordBuilder

    from crawler.archive.files import WarcFiles

    builder = RecordBuilder(warc_version="1.1")
    warcinfo = lambda name: builder.create_warcinfo_record(name, {"software": "test"})  # noqa: E731
    live = WarcFiles(tmp_path, "onion-crawl", 10**9, warcinfo)
    live.write(builder.create_warc_record("urn:x", "resource", payload=io.BytesIO(b"x"), length=1))
    [open_file] = tmp_path.glob(f"*{OPEN_SUFFIX}")
    WarcFiles(tmp_path, "onion-crawl", 10**9, warcinfo).close()  # another worker starting
    assert open_file.exists()  # not taken for a killed run's
    live.close()
    assert not list(tmp_path.glob(f"*{OPEN_SUFFIX}")) and warcio_check(tmp_path).returncode == 0


def test_a_response_another_download_handler_fetched_is_archived_with_what_scrapy_knows(tmp_path):
    from scrapy import Request
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from crawler.archive.archive import Archive
    from crawler.archive.capture import WarcCaptureMiddleware

    settings = {"WARC_DIR": str(tmp_path), "WARC_PREFIX": "onion-crawl", "WARC_MAX_SIZE": 10**9}
    crawler = get_crawler(settings_dict=settings)
    crawler._apply_settings()
    archive = Archive.of(crawler)
    archive.open()
    request = Request(f"{ONION}/a.html?x=1")
    body = b"<html><title>A</title></html>"
    headers = {"Set-Cookie": ["a=1", "b=2"], "Content-Type": "text/html"}
    response = HtmlResponse(request.url, status=404, headers=headers, body=body, request=request)
    WarcCaptureMiddleware.from_crawler(crawler).process_response(request, response)
    archive.close()
    [stored, sent] = [r for r in read_records(tmp_path) if r.rec_type != "warcinfo"]
    assert stored.http_headers.statusline == "404 Not Found"  # the standard reason phrase: none was kept
    assert [v for k, v in stored.http_headers.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert stored.body == body and archive.captures[request].uri == request.url
    assert sent.rec_type == "request" and sent.http_headers.statusline == "/a.html?x=1 HTTP/1.1"
    assert warcio_check(tmp_path).returncode == 0


def test_a_recrawl_into_the_same_warc_dir_writes_revisits_for_unchanged_pages(archived, tmp_path):
    workdir, *_ = archived
    warc = tmp_path / "warc"
    shutil.copytree(workdir / "warc", warc)
    before = {path.name for path in warc.glob("*.warc.gz")}
    site = build_site()
    with MirrorServer(site) as server, RecordingSocks5Server(server.address) as proxy:
        again = run_crawl(tmp_path, proxy.url, settings={"DEPTH_LIMIT": "10", "WARC_DIR": str(warc)})
    assert again.returncode == 0, again.stderr[-3000:]
    new = [r for r in read_records(warc) if r.filename not in before]
    first_run = {header(r, "WARC-Record-ID") for r in read_records(workdir / "warc")}
    article = f"{ONION}{site.articles[0].path}"
    [capture] = [r for r in new if header(r, "WARC-Target-URI") == article and r.rec_type in ("response", "revisit")]
    assert capture.rec_type == "revisit" and header(capture, "WARC-Refers-To") in first_run
    assert header(capture, "WARC-Refers-To-Target-URI") == article
    assert warcio_check(warc).returncode == 0
