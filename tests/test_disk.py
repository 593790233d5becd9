"""Every write can fail: real full disks (small tmpfs mounts) under the store, JOBDIR, WARC_DIR
and the feed, filled while a real crawl runs; then space freed and the same command run again.

Each crawl must stop within seconds with one message naming the path and the OS error, no
traceback, exit 75 (no space: try again later) or 1 (read-only), every committed page kept;
the second run must finish with every article stored once. The mounts need root (or
CAP_SYS_ADMIN): where the machine cannot mount a tmpfs, these tests skip, saying so.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.files import OPEN_SUFFIX, complete_length
from crawler.samplemirror import MirrorServer, RecordingSocks5Server, build_site
from tests.crawling import article_fetches, crawl_command, run_crawl

pytestmark = pytest.mark.slow

ARTICLES = 40
FILL_AFTER = 12  # articles fetched before the disk is filled
# A crawl of ARTICLES that takes a few seconds (the sample mirror answers at once): the disk fills mid-crawl.
SLOW = {"CONCURRENT_REQUESTS": "4", "CONCURRENT_REQUESTS_PER_DOMAIN": "4"}


@contextlib.contextmanager
def small_disk(path: Path, size: str = "64m", readonly: bool = False) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` for the test (skips where mounting is not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0777{',ro' if readonly else ''}"
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(disk: Path) -> Path:
    """Take every free byte of ``disk`` with one file; removing it frees the space again."""
    filler = disk / "filler"
    chunk = b"\0" * (1 << 20)
    with open(filler, "wb", buffering=0) as file:
        with contextlib.suppress(OSError):
            while True:
                file.write(chunk)
        with contextlib.suppress(OSError):
            while True:
                file.write(b"\0" * 4096)
    return filler


def crawl_until_full(
    tmp_path: Path, disk: Path, settings: dict[str, str], output: str = "pages.jsonl"
) -> tuple[subprocess.CompletedProcess[str], float, Path]:
    """Start a crawl, fill ``disk`` once FILL_AFTER articles were fetched, and wait for the crawl to stop.
    Returns the finished process, the seconds it took to stop after the disk was full, and the filler."""
    site = build_site(ARTICLES)
    with MirrorServer(site, delay=0.2) as server, RecordingSocks5Server(server.address) as proxy:
        command, env = crawl_command(tmp_path, proxy.url, settings={**SLOW, **settings}, output=output)
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while sum(article_fetches(server, site).values()) < FILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.02)
        filler = fill(disk)
        full_at = time.monotonic()
        _, stderr = process.communicate(timeout=120)
        stopped_after = time.monotonic() - full_at
    return subprocess.CompletedProcess(command, process.returncode, "", stderr), stopped_after, filler


def resume(tmp_path: Path, settings: dict[str, str], output: str = "again.jsonl"):
    site = build_site(ARTICLES)
    with MirrorServer(site) as server, RecordingSocks5Server(server.address) as proxy:
        return site, run_crawl(tmp_path, proxy.url, settings=settings, output=output)


def rows(store: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(store) as db:
        return db.execute(sql).fetchall()


def assert_stopped_cleanly(result, stopped_after: float, path: Path, status: int = 75) -> None:
    assert result.returncode == status, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-5000:]
    errors = [line for line in result.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1, "\n".join(errors)
    assert str(path) in errors[0] and ("No space left on device" in errors[0] or "disk is full" in errors[0])
    assert "every page stored so far is kept" in errors[0] and "run the same command again" in errors[0]
    assert stopped_after < 30, f"took {stopped_after:.1f} s to stop"


def assert_every_article_once(store: Path, site) -> None:
    assert rows(store, "PRAGMA integrity_check") == [("ok",)]
    stored = {url for (url,) in rows(store, "SELECT url FROM pages WHERE status = 200")}
    assert site.article_urls() <= stored
    assert rows(store, "SELECT url, COUNT(*) FROM versions GROUP BY url HAVING COUNT(*) > 1") == []
    assert rows(store, "SELECT round, finished_at IS NOT NULL FROM rounds") == [(1, 1)]


def test_the_store_on_a_disk_that_fills_mid_crawl(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        store = disk / "crawl.sqlite3"
        settings = {"DEPTH_LIMIT": "10", "STORE_PATH": str(store), "STORE_MIN_FREE_MB": "0"}
        result, stopped_after, filler = crawl_until_full(tmp_path, disk, settings)
        assert_stopped_cleanly(result, stopped_after, store)
        assert "finish_reason': 'disk_full'" in result.stderr
        committed = rows(store, "SELECT COUNT(*) FROM pages")[0][0]
        assert committed >= FILL_AFTER // 2  # what was committed before the disk filled is there
        filler.unlink()
        site, again = resume(tmp_path, settings)
        assert again.returncode == 0, again.stderr[-3000:]
        assert "interrupted before, taken up again" in again.stderr
        assert_every_article_once(store, site)


def test_jobdir_alone_on_a_disk_that_fills_mid_crawl(tmp_path):
    """Scrapy's queue and seen-set in JOBDIR fill the disk: the crawl stops (it went on logging
    tracebacks before), and the same command, with space again, finishes from the store."""
    with small_disk(tmp_path / "disk") as disk:
        settings = {"DEPTH_LIMIT": "10", "JOBDIR": str(disk / "job"), "STORE_MIN_FREE_MB": "0"}
        result, stopped_after, filler = crawl_until_full(tmp_path, disk, settings)
        assert_stopped_cleanly(result, stopped_after, disk / "job")
        filler.unlink()
        site, again = resume(tmp_path, settings)
        assert again.returncode == 0, again.stderr[-3000:]
        assert "Traceback" not in again.stderr
        assert_every_article_once(tmp_path / "crawl.sqlite3", site)


def test_warc_dir_alone_on_a_disk_that_fills_mid_crawl(tmp_path):
    """The archive's disk fills: the open WARC file is cut to its last complete record and closed,
    a page whose records could not be written is not stored, and the next run archives it."""
    with small_disk(tmp_path / "disk") as disk:
        warc = disk / "warc"
        settings = {"DEPTH_LIMIT": "10", "WARC_DIR": str(warc), "STORE_MIN_FREE_MB": "0"}
        result, stopped_after, filler = crawl_until_full(tmp_path, disk, settings)
        assert_stopped_cleanly(result, stopped_after, warc)
        assert not list(warc.glob(f"*{OPEN_SUFFIX}"))  # closed, not left open
        for path in warc.glob("*.warc.gz"):
            assert complete_length(path) == path.stat().st_size, path  # ends at a complete record
        filler.unlink()
        site, again = resume(tmp_path, settings)
        assert again.returncode == 0, again.stderr[-3000:]
        store = tmp_path / "crawl.sqlite3"
        assert_every_article_once(store, site)
        captured = set()
        for path in sorted(warc.glob("*.warc.gz")):
            with open(path, "rb") as file:
                for record in ArchiveIterator(file):
                    captured.add(record.rec_headers.get_header("WARC-Record-ID"))
        captures = rows(store, "SELECT json_extract(capture, '$.record_id') FROM pages WHERE status = 200")
        assert captures and {record_id for (record_id,) in captures} <= captured  # every stored page archived


def test_the_feed_on_a_disk_that_fills_mid_crawl(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        feed = disk / "pages.jsonl"
        settings = {"DEPTH_LIMIT": "10", "STORE_MIN_FREE_MB": "0"}
        result, stopped_after, filler = crawl_until_full(tmp_path, disk, settings, output=str(feed))
        assert_stopped_cleanly(result, stopped_after, feed)
        filler.unlink()
        site, again = resume(tmp_path, settings)
        assert again.returncode == 0, again.stderr[-3000:]
        assert_every_article_once(tmp_path / "crawl.sqlite3", site)


def test_low_disk_stops_the_crawl_before_a_write_fails(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        settings = {
            "DEPTH_LIMIT": "10",
            "STORE_PATH": str(disk / "crawl.sqlite3"),
            "STORE_MIN_FREE_MB": "32",
            "STORE_FREE_CHECK_INTERVAL": "0.2",
        }
        site = build_site(ARTICLES)
        with MirrorServer(site, delay=0.2) as server, RecordingSocks5Server(server.address) as proxy:
            command, env = crawl_command(tmp_path, proxy.url, settings={**SLOW, **settings})
            process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
            while sum(article_fetches(server, site).values()) < FILL_AFTER and process.poll() is None:
                time.sleep(0.02)
            with open(disk / "filler", "wb") as file:  # leaves 16 MiB free: under 32, and every write still fits
                status = os.statvfs(disk)
                file.write(b"\0" * (status.f_bavail * status.f_frsize - (16 << 20)))
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 75, stderr[-3000:]
            assert "Traceback" not in stderr and "No space left" not in stderr
            errors = [line for line in stderr.splitlines() if " ERROR: " in line]
            assert len(errors) == 1 and "under STORE_MIN_FREE_MB=32" in errors[0], errors

            # At start, the same: nothing is fetched.
            fetched = len(server.requests)
            started = run_crawl(tmp_path, proxy.url, settings=settings, output="again.jsonl")
            assert len(server.requests) == fetched
    assert started.returncode == 75, started.stderr[-3000:]
    assert "Traceback" not in started.stderr
    errors = [line for line in started.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1 and "under STORE_MIN_FREE_MB=32" in errors[0] and "Nothing was fetched" in errors[0]


def test_a_read_only_store_folder_at_start(tmp_path):
    site = build_site(4)
    with (
        MirrorServer(site) as server,
        RecordingSocks5Server(server.address) as proxy,
        small_disk(tmp_path / "disk", size="1m", readonly=True) as disk,
    ):
        result = run_crawl(tmp_path, proxy.url, settings={"STORE_PATH": str(disk / "crawl.sqlite3")})
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1 and str(disk / "crawl.sqlite3") in errors[0], errors
    assert "read-only" in errors[0].lower() or "readonly" in errors[0].lower(), errors


def test_a_read_only_jobdir_at_start(tmp_path):
    site = build_site(4)
    with (
        MirrorServer(site) as server,
        RecordingSocks5Server(server.address) as proxy,
        small_disk(tmp_path / "disk", size="1m") as disk,
    ):
        (disk / "requests.seen").write_text("left by an earlier run\n")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        result = run_crawl(tmp_path, proxy.url, settings={"JOBDIR": str(disk)})
        assert not server.requests  # nothing fetched
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1 and str(disk) in errors[0] and "Read-only file system" in errors[0], errors


def test_a_truncated_request_queue_and_state_in_jobdir(tmp_path):
    """A crash or a full disk can leave Scrapy's queue and state cut short: the same command reads
    past them with no traceback, and the store decides what is left to fetch."""
    site = build_site(12)
    settings = {"DEPTH_LIMIT": "10", "JOBDIR": "job"}
    with MirrorServer(site) as server, RecordingSocks5Server(server.address) as proxy:
        # Two requests at a time, 0.3 s each: the crawl is still running when its queue is on disk.
        slow = {**settings, "CONCURRENT_REQUESTS": "2", "CONCURRENT_REQUESTS_PER_DOMAIN": "2"}
        command, env = crawl_command(tmp_path, proxy.url, settings=slow)
        server.delay = 0.3
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
        queue = tmp_path / "job" / "requests.queue"
        deadline = time.monotonic() + 60
        while not [path for path in queue.glob("*") if path.stat().st_size] and time.monotonic() < deadline:
            time.sleep(0.05)
        process.kill()
        assert process.wait(timeout=30) == -9  # killed mid-crawl, not finished
        damaged = [path for path in [*queue.rglob("*"), tmp_path / "job" / "requests.seen"] if path.is_file()]
        assert damaged, "Scrapy wrote no queue in JOBDIR"
        for path in damaged:
            if path.exists():
                path.write_bytes(path.read_bytes()[: max(0, path.stat().st_size // 2 - 3)] + b"\x80\x04garbage")
        (tmp_path / "job" / "spider.state").write_bytes(b"\x80\x04\x95")
        server.delay = 0.0
        again = run_crawl(tmp_path, proxy.url, settings=settings, output="again.jsonl")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Traceback" not in again.stderr, again.stderr[-5000:]
    assert again.stderr.count("could not be read") == 1
    assert_every_article_once(tmp_path / "crawl.sqlite3", site)


def test_an_error_the_os_will_not_get_past_by_itself_exits_1():
    """Which errors mean "try again later" (exit 75) and which need a fix first (exit 1)."""
    from crawler.disk import WriteProblem

    assert WriteProblem.of(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "x").finish_reason == "disk_full"
    assert WriteProblem.of(OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)), "x").finish_reason == "disk_full"
    for code in (errno.EROFS, errno.EACCES, errno.EIO):
        assert WriteProblem.of(OSError(code, os.strerror(code)), "x").finish_reason == "write_failed"
    full = sqlite3.connect(":memory:")
    full.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.Error) as raised:
        full.execute("CREATE TABLE t (x)")
        full.executemany("INSERT INTO t VALUES (?)", [("x" * 4000,)] * 10)
    assert WriteProblem.of(raised.value, "crawl.sqlite3").finish_reason == "disk_full"
