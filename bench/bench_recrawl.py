"""Benchmark a recrawl: round 2 of the project's crawl on the sample mirror's next edition, against bare Scrapy's
HTTP cache (``RFC2616Policy``) doing the same two rounds.

Run as ``python bench/bench_recrawl.py [--articles N] [--delay S] [--keep DIR] [--no-peer]`` from the project root.

One run serves one sample mirror (``build_site(N, noise=True)``, default 1,000 articles: three articles in four send
``ETag`` and ``Last-Modified`` and answer a matching conditional request with 304; the others, and the hub pages,
carry per-fetch noise, so their bytes differ on every fetch as on real mirrors) behind the recording SOCKS5 proxy.
Each contestant crawls it twice in one working folder: round 1 on edition 0, then (``set_site``) round 2 on edition
1, ``site.next_edition()`` (2% new articles, 5% edited, 1% removed; its ``changes`` are the ground truth).

1. ``ours``: ``scrapy crawl mirror -a start_urls=http://<v3>/`` with the fast settings of tests/crawling.py, the
   project's pipelines (SQLite store) and ``WARC_DIR=warc``; round 2 is the same command again with
   ``RECRAWL_ALL=1``: the sample's articles are dated 2016, and the default schedule (crawler/schedule.py) would
   leave them alone, checking only the hubs and the links never fetched.
2. ``peer``: a bare CrawlSpider (:class:`PeerSpider`, this file, ``scrapy runspider``, no project settings)
   following every plain-HTTP link on the mirror host (query strings and fragments dropped, so that it fetches each
   page once, like ours: the comparison is about revalidation, not URL variants), through the same proxy with
   Scrapy's httpx download handler (``http_proxy=socks5h://...`` in its environment: Scrapy's HttpProxyMiddleware
   sets ``request.meta["proxy"]``), ``HTTPCACHE_ENABLED``, ``HTTPCACHE_POLICY=RFC2616Policy`` and a cache folder
   kept between its two rounds (each round a fresh process).
3. ``peer-max-age=0``: the same peer sending ``Cache-Control: max-age=0`` with every request (DEFAULT_REQUEST_HEADERS),
   which makes RFC2616Policy revalidate every cached page: by default it takes a page whose ``Last-Modified`` is
   old for fresh (10% of its age, Firefox's heuristic) and does not ask the mirror at all.

Both use CONCURRENT_REQUESTS=16 (per domain too), AutoThrottle off, ROBOTSTXT_OBEY and DEPTH_LIMIT=N+10 (Scrapy
crawls depth-first; no path between articles is longer than N). Figures per round: the requests the mirror
answered, how many were conditional and how many it answered 304; bytes on the wire, the response bytes the
mirror wrote to the connection (status line, headers and body, counted by a subclass of the server in this file;
the proxy's relayed bytes, counted by a subclass of the proxy, are a cross-check), overall and for the "validator
pages" (the articles of edition 0 that send validators: the 10% target is about them); bytes written: the growth of
the store (``crawl.sqlite3`` with its ``-wal`` and ``-shm``) and of WARC_DIR, or of the peer's cache folder, and the
bytes the crawl process handed to ``write()`` (``wchar`` of /proc/self/io at its exit, its log on stderr included:
rewrites in place and SQLite's WAL and checkpoints count there, not in the growth). Then the ground truth: in
ours, the checks and versions of round 2 against ``changes``; in the peers, which of the new, edited and removed
pages it fetched in round 2 (it keeps one response per URL: no versions, no history).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import platform
import re
import runpy
import select
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule

ROOT = Path(__file__).resolve().parent.parent
THIS_FILE = Path(__file__).resolve()
sys.path.insert(0, str(ROOT))

from crawler.samplemirror import (  # noqa: E402
    CANONICAL_HOST,
    MIRROR_V3,
    MirrorServer,
    RecordingSocks5Server,
    SampleSite,
    build_site,
)
from crawler.samplemirror.crawls import scrapy_command  # noqa: E402
from tests.crawling import FAST  # noqa: E402

START_URL = f"http://{MIRROR_V3}/"
HOME = f"https://{CANONICAL_HOST}/"
CRAWL_TIMEOUT = 1800.0
IO_WRAPPER = "--io-wrapper"  # python bench_recrawl.py --io-wrapper OUT -m scrapy.cmdline ARGS (see _run_with_io_report)
TARGET = 0.10  # round 2 bytes / round 1 bytes on the validator pages
HTTPCACHE_STATS = re.compile(r"'(httpcache/[a-z_]+)': (\d+)")
CONDITIONAL = ("If-None-Match", "If-Modified-Since")


# -- the peer: a bare Scrapy spider with Scrapy's HTTP cache ---------------------------------------------------------


def _plain_link(value: str) -> str | None:
    """Follow a link without its query string and fragment; not ``https:`` ones (the sample mirror speaks HTTP)."""
    if value.strip().lower().startswith("https:"):
        return None
    return value.split("#", 1)[0].split("?", 1)[0] or None


class PeerSpider(CrawlSpider):
    """What a Scrapy user writes to crawl the mirror twice with Scrapy's own revalidation (settings on the command)."""

    name = "peer"
    allowed_domains = [MIRROR_V3]
    start_urls = [START_URL]
    rules = (Rule(LinkExtractor(allow_domains=[MIRROR_V3], process_value=_plain_link), follow=True),)


# -- counting what the mirror sends ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One response the mirror wrote."""

    path: str
    status: int
    conditional: bool
    sent: int  # bytes written to the connection: status line, headers, body


class _CountingFile:
    """A handler's ``wfile`` that counts the bytes written through it."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.count = 0

    def write(self, data: bytes) -> int:
        written = self.raw.write(data)
        self.count += len(data)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def _counting_handler(base: type, server: CountingMirrorServer) -> type:
    """``base`` (the sample mirror's request handler) recording an :class:`Answer` per response."""

    class Handler(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            super().setup()
            self.wfile = _CountingFile(self.wfile)

        def send_response(self, code: int, message: str | None = None) -> None:
            self.bench_status = code
            super().send_response(code, message)

        def _answer(self, with_body: bool) -> None:
            start = self.wfile.count
            self.bench_status = 0
            conditional = any(self.headers.get(name) is not None for name in CONDITIONAL)
            try:
                super()._answer(with_body)
            finally:
                path = self.path.split("://", 1)[-1] if "://" in self.path else self.path
                path = path[path.index("/") :] if "/" in path else "/"
                answer = Answer(path.split("?", 1)[0], self.bench_status, conditional, self.wfile.count - start)
                with server._lock:
                    server.answers.append(answer)

    return Handler


class CountingMirrorServer(MirrorServer):
    """The sample mirror server, also recording the bytes of every response (:attr:`answers`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: list[Answer] = []
        self._httpd.RequestHandlerClass = _counting_handler(self._httpd.RequestHandlerClass, self)


class CountingSocks5Server(RecordingSocks5Server):
    """The recording SOCKS5 proxy, also counting the bytes it relays each way (``down``: to the client)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.down = 0
        self.up = 0

    def relay(self, a: socket.socket, b: socket.socket) -> None:
        """:meth:`RecordingSocks5Server.relay` (``a`` the client, ``b`` the upstream), counting."""
        open_dirs = {a: b, b: a}
        while open_dirs and not self._stopping.is_set():
            readable, _, _ = select.select(list(open_dirs), [], [], 0.2)
            for src in readable:
                data = src.recv(65536)
                dst = open_dirs[src]
                if data:
                    dst.sendall(data)
                    with self._lock:
                        if src is b:
                            self.down += len(data)
                        else:
                            self.up += len(data)
                    continue
                del open_dirs[src]
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)


# -- one round -------------------------------------------------------------------------------------------------------


@dataclass
class Round:
    label: str
    wall: float
    returncode: int
    answers: list[Answer]
    proxy_down: int
    proxy_up: int
    store_growth: int  # the store (ours) or the cache folder (peer)
    warc_growth: int
    write_calls: int  # wchar of /proc/self/io at the crawl process's exit: bytes handed to write() (files, log)
    log: str
    httpcache: dict[str, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.answers)

    @property
    def conditional(self) -> int:
        return sum(1 for a in self.answers if a.conditional)

    @property
    def not_modified(self) -> int:
        return sum(1 for a in self.answers if a.status == 304)

    @property
    def wire(self) -> int:
        return sum(a.sent for a in self.answers)

    def wire_for(self, paths: set[str]) -> int:
        return sum(a.sent for a in self.answers if a.path in paths)

    @property
    def written(self) -> int:
        return self.store_growth + self.warc_growth


def folder_size(path: Path, pattern: str = "**/*") -> int:
    return sum(p.stat().st_size for p in path.glob(pattern) if p.is_file()) if path.exists() else 0


def store_size(workdir: Path) -> int:
    return folder_size(workdir, "crawl.sqlite3*")


def run_round(
    label: str,
    command: list[str],
    env: dict[str, str],
    workdir: Path,
    server: CountingMirrorServer,
    proxy: CountingSocks5Server,
    sizes: tuple[Callable[[Path], int], Callable[[Path], int]],
) -> Round:
    store_of, warc_of = sizes
    store_before, warc_before = store_of(workdir), warc_of(workdir)
    io_path = workdir / f"{label}.io"
    with server._lock:
        first = len(server.answers)
    with proxy._lock:
        down, up = proxy.down, proxy.up
    started = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=CRAWL_TIMEOUT)
    wall = time.perf_counter() - started
    time.sleep(0.3)  # let the server's and the proxy's threads finish their bookkeeping
    with server._lock:
        answers = server.answers[first:]
    with proxy._lock:
        down, up = proxy.down - down, proxy.up - up
    (workdir / f"{label}.log").write_text(done.stderr)
    if done.returncode != 0:
        print(f"  [{label}] exit {done.returncode}; stderr:\n" + _indent(done.stderr[-3000:]))
    io = dict(line.split(": ") for line in io_path.read_text().splitlines()) if io_path.exists() else {}
    stats = {name: int(n) for name, n in HTTPCACHE_STATS.findall(done.stderr)}
    return Round(
        label,
        wall,
        done.returncode,
        answers,
        down,
        up,
        store_of(workdir) - store_before,
        warc_of(workdir) - warc_before,
        int(io.get("wchar", 0)),
        done.stderr,
        stats,
    )


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _io_python(workdir: Path, label: str) -> list[str]:
    return [sys.executable, str(THIS_FILE), IO_WRAPPER, str(workdir / f"{label}.io")]


def _run_with_io_report(out: str, argv: list[str]) -> None:
    """Run ``python -m scrapy.cmdline ARGV`` in this process; at exit, copy /proc/self/io to ``out``."""
    io = Path("/proc/self/io")
    atexit.register(lambda: Path(out).write_text(io.read_text() if io.exists() else ""))
    sys.argv = ["scrapy", *argv]
    runpy.run_module("scrapy.cmdline", run_name="__main__", alter_sys=True)


def common_settings(proxy_url: str, depth_limit: int) -> dict[str, str]:
    return {
        **FAST,
        "ONION_PROXY": proxy_url,
        "AUTOTHROTTLE_ENABLED": "False",
        "ROBOTSTXT_OBEY": "True",
        "DEPTH_LIMIT": str(depth_limit),
        "LOG_LEVEL": "INFO",
    }


def ours(
    workdir: Path,
    editions: list[SampleSite],
    server: CountingMirrorServer,
    proxy: CountingSocks5Server,
    depth_limit: int,
) -> list[Round]:
    rounds = []
    for number, site in enumerate(editions, start=1):
        server.set_site(site)
        settings = {**common_settings(proxy.url, depth_limit), "WARC_DIR": "warc"}
        if number > 1:
            settings["RECRAWL_ALL"] = "1"
        label = f"ours-round{number}"
        command, env = scrapy_command(
            ["crawl", "mirror", "-a", f"start_urls={START_URL}"],
            settings,
            pythonpath=[ROOT],
            python=_io_python(workdir, label),
        )
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        rounds.append(
            run_round(label, command, env, workdir, server, proxy, (store_size, lambda w: folder_size(w / "warc")))
        )
        _progress(rounds[-1])
    return rounds


def peer(
    name: str,
    workdir: Path,
    editions: list[SampleSite],
    server: CountingMirrorServer,
    proxy: CountingSocks5Server,
    depth_limit: int,
    max_age_0: bool,
) -> list[Round]:
    cache = workdir / "httpcache"
    settings = {
        **common_settings(proxy.url, depth_limit),
        "DOWNLOAD_HANDLERS": json.dumps(
            {
                "http": "scrapy.core.downloader.handlers._httpx.HttpxDownloadHandler",
                "https": "scrapy.core.downloader.handlers._httpx.HttpxDownloadHandler",
            }
        ),
        "HTTPCACHE_ENABLED": "True",
        "HTTPCACHE_POLICY": "scrapy.extensions.httpcache.RFC2616Policy",
        "HTTPCACHE_DIR": str(cache),
    }
    if max_age_0:
        settings["DEFAULT_REQUEST_HEADERS"] = json.dumps(
            {
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Language": "en",
                "Cache-Control": "max-age=0",
            }
        )
    rounds = []
    for number, site in enumerate(editions, start=1):
        server.set_site(site)
        label = f"{name}-round{number}"
        command, env = scrapy_command(
            ["runspider", str(THIS_FILE)], settings, project=False, python=_io_python(workdir, label)
        )
        for variable in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY", "HTTP_PROXY", "https_proxy"):
            env.pop(variable, None)
        env["http_proxy"] = proxy.url  # Scrapy's HttpProxyMiddleware: request.meta["proxy"]
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        rounds.append(
            run_round(label, command, env, workdir, server, proxy, (lambda w: folder_size(cache), lambda w: 0))
        )
        _progress(rounds[-1])
    return rounds


def _progress(r: Round) -> None:
    print(
        f"  {r.label:<24} wall {r.wall:6.1f} s, {r.requests} requests ({r.conditional} conditional, "
        f"{r.not_modified} answered 304), {r.wire:,} bytes sent, exit {r.returncode}",
        flush=True,
    )


# -- ground truth ----------------------------------------------------------------------------------------------------


@dataclass
class Classes:
    """Paths of the mirror by kind, for the breakdowns."""

    validators: set[str]  # articles of edition 0 that send ETag and Last-Modified
    no_validators: set[str]  # the other articles of edition 0
    new: set[str]  # the articles edition 1 added

    def of(self, path: str) -> str:
        if path in self.validators:
            return "articles with validators"
        if path in self.no_validators:
            return "articles without validators"
        if path in self.new:
            return "new articles"
        if path == "/" or path.startswith(("/section/", "/by/")):
            return "hubs (/, /section/, /by/)"
        return "other (robots.txt, redirect, dead link, PDF...)"


def _path(url: str) -> str:
    return url.split(CANONICAL_HOST, 1)[1]


def check_ours(workdir: Path, site: SampleSite, articles: set[str]) -> list[tuple[bool, str]]:
    changes = site.changes
    with sqlite3.connect(workdir / "crawl.sqlite3") as db:
        new = {u for (u,) in db.execute("SELECT url FROM checks WHERE round = 2 AND outcome = 'new'")}
        changed = {u for (u,) in db.execute("SELECT url FROM versions WHERE round = 2 AND change = 'changed'")}
        removed = dict(db.execute("SELECT url, status FROM versions WHERE round = 2 AND change = 'removed'"))
        outcomes = Counter(dict(db.execute("SELECT outcome, COUNT(*) FROM checks WHERE round = 2 GROUP BY outcome")))
        versions = dict(db.execute("SELECT round, COUNT(*) FROM versions GROUP BY round"))
    hubs = {u for u in changed if u not in articles}
    lines = [
        (
            new == set(changes.added),
            f"every new article found: checks 'new' in round 2 = {len(new)}, edition's added = {len(changes.added)}"
            + _diff(new, set(changes.added)),
        ),
        (
            changed - hubs == set(changes.edited),
            f"versions exactly the edited ones: {len(changed - hubs)} articles with a 'changed' version in round 2, "
            f"{len(changes.edited)} edited" + _diff(changed - hubs, set(changes.edited)) + f" (left out: "
            f"{', '.join(sorted(_path(u) for u in hubs)) or 'none'}, hub pages whose lists changed: their versions "
            "are kept too)",
        ),
        (
            removed == dict(changes.removed),
            f"removals recorded: {len(removed)} 'removed' versions with their status, {len(changes.removed)} removed"
            + _diff(set(removed.items()), set(changes.removed.items())),
        ),
    ]
    print(f"  ours, round 2 checks by outcome: {dict(sorted(outcomes.items()))}; versions by round: {versions}")
    return lines


def check_peer(name: str, r2: Round, site: SampleSite, classes: Classes) -> list[tuple[bool, str]]:
    changes = site.changes
    got = {a.path for a in r2.answers if a.status == 200}
    added = {_path(u) for u in changes.added}
    edited = {_path(u) for u in changes.edited}
    removed = {_path(u): s for u, s in changes.removed.items()}
    seen_removed = {a.path for a in r2.answers if removed.get(a.path) == a.status}
    edited_v = edited & classes.validators
    return [
        (added <= got, f"{name}: new articles fetched in round 2: {len(added & got)} of {len(added)}"),
        (
            edited <= got,
            f"{name}: edited articles fetched with 200 in round 2 (it saw the edit): {len(edited & got)} of "
            f"{len(edited)} ({len(edited_v & got)} of the {len(edited_v)} that send validators); "
            "no versions: its cache keeps the latest response only",
        ),
        (
            set(removed) <= seen_removed,
            f"{name}: removed articles answered 404/410 in round 2: {len(seen_removed)} of {len(removed)} "
            "(RFC2616Policy does not store a 404: its cache keeps the old 200)",
        ),
    ]


def _diff(found: set[Any], truth: set[Any]) -> str:
    missing, extra = truth - found, found - truth
    parts = [f"missing {sorted(missing)[:5]}" if missing else "", f"extra {sorted(extra)[:5]}" if extra else ""]
    text = "; ".join(p for p in parts if p)
    return f" ({text})" if text else ""


# -- report ----------------------------------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1%}" if b else "n/a"


def print_table(rows: list[Round], classes: Classes) -> None:
    header = (
        f"{'round':<24} {'requests':>8} {'cond.':>6} {'304':>5} {'wire bytes':>12} {'validator pages':>15} "
        f"{'proxy down':>12} {'store/cache +':>13} {'WARC +':>11} {'write() bytes':>13} {'wall s':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.label:<24} {r.requests:>8,} {r.conditional:>6,} {r.not_modified:>5,} {r.wire:>12,} "
            f"{r.wire_for(classes.validators):>15,} {r.proxy_down:>12,} {r.store_growth:>13,} {r.warc_growth:>11,} "
            f"{r.write_calls:>13,} {r.wall:>7.1f}"
        )


def print_ratios(contestants: dict[str, list[Round]], classes: Classes) -> None:
    print(f"{'ratio':<58} {'wire':>8} {'validator pages':>15} {'store+WARC/cache +':>18} {'write() bytes':>13}")
    print("-" * 116)
    for name, (r1, r2) in contestants.items():
        v1, v2 = r1.wire_for(classes.validators), r2.wire_for(classes.validators)
        print(
            f"{name + ': round 2 / round 1':<58} {_ratio(r2.wire, r1.wire):>8} {_ratio(v2, v1):>15} "
            f"{_ratio(r2.written, r1.written):>18} {_ratio(r2.write_calls, r1.write_calls):>13}"
        )
    ours_r2 = contestants["ours"][1]
    for name, (_r1, r2) in contestants.items():
        if name == "ours":
            continue
        print(
            f"{'round 2, ours / ' + name:<58} {_ratio(ours_r2.wire, r2.wire):>8} "
            f"{_ratio(ours_r2.wire_for(classes.validators), r2.wire_for(classes.validators)):>15} "
            f"{_ratio(ours_r2.written, r2.written):>18} {_ratio(ours_r2.write_calls, r2.write_calls):>13}"
        )
    r1, r2 = contestants["ours"]
    share = r2.wire_for(classes.validators) / r1.wire_for(classes.validators)
    verdict = "met" if share <= TARGET else "MISSED"
    print(f"target: ours, round 2 bytes on the validator pages <= {TARGET:.0%} of round 1: {share:.1%}, {verdict}")


def print_breakdown(r: Round, classes: Classes) -> None:
    """Round ``r``'s answers by kind of page: what carries the bytes."""
    groups: dict[str, list[Answer]] = {}
    for answer in r.answers:
        groups.setdefault(classes.of(answer.path), []).append(answer)
    print(f"  {r.label}: {'pages':<50} {'requests':>8} {'statuses':<34} {'bytes':>11} {'share':>6} {'mean':>7}")
    for kind, answers in sorted(groups.items(), key=lambda kv: -sum(a.sent for a in kv[1])):
        statuses = Counter(a.status for a in answers)
        sent = sum(a.sent for a in answers)
        status_text = ", ".join(f"{n}x{s}" for s, n in sorted(statuses.items()))
        print(
            f"  {'':<{len(r.label) + 1}} {kind:<50} {len(answers):>8,} {status_text:<34} {sent:>11,} "
            f"{sent / r.wire:>6.1%} {sent / len(answers):>7,.0f}"
        )


def print_validator_detail(r2: Round, site: SampleSite, classes: Classes) -> None:
    """Ours, round 2, the validator pages: 304s, the edited pages' 200s, the removed pages' 404/410s."""
    edited = {_path(u) for u in site.changes.edited}
    removed = {_path(u) for u in site.changes.removed}
    kinds: dict[str, list[Answer]] = {}
    for a in r2.answers:
        if a.path not in classes.validators:
            continue
        kind = (
            "304 (unchanged)"
            if a.status == 304
            else "edited, 200"
            if a.path in edited
            else "removed, 404/410"
            if a.path in removed
            else f"other {a.status}"
        )
        kinds.setdefault(kind, []).append(a)
    total = sum(a.sent for a in r2.answers if a.path in classes.validators)
    parts = [
        f"{kind}: {len(v)} answers, {sum(a.sent for a in v):,} bytes ({sum(a.sent for a in v) / total:.0%}), "
        f"{sum(a.sent for a in v) / len(v):,.0f} a page"
        for kind, v in sorted(kinds.items())
    ]
    print("  ours, round 2, validator pages: " + "; ".join(parts))


def _round_line(log: str) -> str:
    for line in log.splitlines():
        if "Round " in line and " of crawl.sqlite3" in line:
            return line.split("] INFO: ", 1)[-1]
    return "(no round line in the log)"


def _problems(log: str) -> str:
    counts = Counter(
        line.split(" ", 2)[2][:80]
        for line in log.splitlines()
        if line[:2].isdigit() and line.count(" ") >= 2 and (" ERROR: " in line or " WARNING: " in line)
    )
    return "; ".join(f"{n}x {text}" for text, n in counts.most_common(6)) or "none"


# -- main ------------------------------------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] == IO_WRAPPER:
        out, rest = sys.argv[2], sys.argv[3:]
        if rest[:2] != ["-m", "scrapy.cmdline"]:
            raise SystemExit(f"{IO_WRAPPER} OUT -m scrapy.cmdline ARGS")
        _run_with_io_report(out, rest[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000, help="articles on the sample mirror (default 1000)")
    parser.add_argument("--delay", type=float, default=0.0, help="server delay per request, seconds (default 0)")
    parser.add_argument("--keep", type=Path, help="crawl in DIR and keep it (stores, WARC, caches, logs)")
    parser.add_argument("--no-peer", action="store_true", help="our crawler only")
    args = parser.parse_args()

    editions = [build_site(args.articles, noise=True)]
    editions.append(editions[0].next_edition())
    site0, site1 = editions
    changes = site1.changes
    classes = Classes(
        validators={a.path for a in site0.articles if a.has_validators},
        no_validators={a.path for a in site0.articles if not a.has_validators},
        new={_path(u) for u in changes.added},
    )
    articles = {a.canonical_url for a in site1.articles}
    depth_limit = args.articles + 10
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs (nproc), "
        f"Python {platform.python_version()}, Scrapy {version('scrapy')}, httpx2 {version('httpx2')}; sample mirror "
        f"{args.articles} articles ({len(classes.validators)} with validators), noise on, "
        f"server delay {args.delay * 1000:.0f} ms/request, DEPTH_LIMIT={depth_limit}; edition 1: "
        f"{len(changes.added)} added, {len(changes.edited)} edited "
        f"({len({_path(u) for u in changes.edited} & classes.validators)} with validators), "
        f"{len(changes.removed)} removed"
    )
    base = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="bench-recrawl-"))
    if any((folder / "scrapy.cfg").exists() for folder in (base, *base.parents)):
        raise SystemExit(f"{base} is inside a Scrapy project (scrapy.cfg): the peer would take its settings")
    base.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    contestants: dict[str, list[Round]] = {}
    try:
        with CountingMirrorServer(site0, delay=args.delay) as server, CountingSocks5Server(server.address) as proxy:
            workdirs = {name: base / name for name in ("ours", "peer", "peer-max-age=0")}
            for workdir in workdirs.values():
                if workdir.exists():
                    shutil.rmtree(workdir)
                workdir.mkdir()
            server.reset()
            contestants["ours"] = ours(workdirs["ours"], editions, server, proxy, depth_limit)
            if not args.no_peer:
                for name, max_age_0 in (("peer", False), ("peer-max-age=0", True)):
                    server.reset()  # the flaky page fails once again, for every contestant alike
                    contestants[name] = peer(name, workdirs[name], editions, server, proxy, depth_limit, max_age_0)
        print()
        print_table([r for rounds in contestants.values() for r in rounds], classes)
        print()
        print_ratios(contestants, classes)
        print()
        print("What carries the bytes, by kind of page:")
        for rounds in contestants.values():
            for r in rounds:
                print_breakdown(r, classes)
        print_validator_detail(contestants["ours"][1], site1, classes)
        print()
        for rounds in contestants.values():
            for r in rounds:
                extra = f"; httpcache stats {r.httpcache}" if r.httpcache else ""
                round_line = f"; {_round_line(r.log)}" if r.label.startswith("ours") else ""
                print(f"  {r.label}: warnings/errors: {_problems(r.log)}{round_line}{extra}")
                if r.proxy_down != r.wire:
                    print(f"    proxy relayed {r.proxy_down:,} bytes down, the server counted {r.wire:,}")
        if all(r.proxy_down == r.wire for rounds in contestants.values() for r in rounds):
            print("  cross-check: in every round the proxy relayed exactly the bytes the server counted")
        print()
        lines = check_ours(base / "ours", site1, articles)
        for name, rounds in contestants.items():
            if name != "ours":
                lines += check_peer(name, rounds[1], site1, classes)
        for ok, text in lines:
            print(f"{'PASS' if ok else 'FAIL'}  {text}")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
