"""Benchmark the archive: WARC overhead on crawl time, bytes per page, WACZ build time and memory.

Run as ``python bench/bench_archive.py [--articles N] [--delay S] [--rounds R] [--wacz-pages N] [--quick]
[--no-peer]`` from the project root.

1. **Overhead.** One sample mirror (``build_site(N)``, default 300 articles, ``--quick`` 60) with a per-request
   delay (default 0.05 s, standing in for Tor). Interleaved rounds (default 3, ``--quick`` 1) of four crawls,
   each in its own subprocess and fresh folder, with bench_crawl's settings (16 concurrent requests, no
   AutoThrottle, robots.txt obeyed):

   * ``project``: ``scrapy crawl mirror`` (store and extraction on), no archive;
   * ``project+warc``: the same with ``-s WARC_DIR=warc``;
   * ``peer``: a bare CrawlSpider on Scrapy 2.11 (what scrapy-webarchive installs with; it does not install
     on Scrapy 2.19), through the sample mirror's HTTP proxy;
   * ``peer+webarchive``: the same with scrapy-webarchive 0.5.3's ``WaczExporter`` (WARC written during the
     crawl, WACZ built when the spider closes).

   Reported: the median wall time of each, the overhead of the archive (``project+warc / project - 1``, target
   <= 10%) next to scrapy-webarchive's (``peer+webarchive / peer - 1``), and bytes per stored page.
2. **WACZ at scale.** One crawl of ``build_site(--wacz-pages)`` (default 10,000 articles, ``--quick`` 2,000;
   no delay) with WARC on, then ``scrapy wacz`` on it: its wall time and peak memory (ru_maxrss), the package's
   size, and ``wacz validate`` on it. Beside it the peer's crawl of the same mirror, with and without the
   exporter (its WACZ is built inside the crawl, at close): wall time and peak memory of each.

The peer runs in a venv of its own, made on first use in ``~/.cache/onion-news-crawler/bench-scrapy-webarchive``
(``pip install scrapy-webarchive==0.5.3 'w3lib<2.2' 'twisted<23.9'``: its Scrapy 2.11 fails to import with
today's w3lib); ``--no-peer`` leaves it out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH_DIR))

from bench_crawl import BARE_SPIDER, CONTESTANTS, command_for, reset  # noqa: E402

from crawler.samplemirror import (  # noqa: E402
    MIRROR_V3,
    MirrorServer,
    RecordingHttpProxy,
    RecordingSocks5Server,
    build_site,
)
from crawler.samplemirror.crawls import scrapy_command  # noqa: E402

START_URL = f"http://{MIRROR_V3}/"
PEER_VERSION = "0.5.3"
# scrapy-webarchive pins Scrapy 2.11, which no longer runs with today's w3lib and Twisted: pinned to what it ran with.
PEER_REQUIREMENTS = (f"scrapy-webarchive=={PEER_VERSION}", "w3lib<2.2", "twisted<23.9")
PEER_HOME = Path.home() / ".cache" / "onion-news-crawler" / "bench-scrapy-webarchive"
TIMEOUT = 3600.0


@dataclass
class Run:
    wall: float
    pages: int
    archive_bytes: int
    peak_kib: int
    returncode: int
    cpu: float
    note: str = ""


@dataclass
class Contestant:
    name: str
    runs: list[Run] = field(default_factory=list)

    def median(self, name: str) -> float:
        return statistics.median(getattr(run, name) for run in self.runs)


# -- running ---------------------------------------------------------------------------------------------------------


def timed(
    command: list[str], cwd: Path, env: dict[str, str]
) -> tuple[float, int, subprocess.CompletedProcess[str], float]:
    """Run ``command``; its wall time, peak resident memory (KiB, GNU time's %M), the process,
    and its CPU time (user + system seconds: what the archive adds, whatever else the machine does)."""
    report = cwd / ".time"
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M %U %S", "-o", str(report), *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    wall = time.perf_counter() - started
    figures = report.read_text().split()[-3:] if report.exists() else ["0", "0", "0"]
    return wall, int(figures[0]), done, float(figures[1]) + float(figures[2])


def folder_bytes(folder: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())


def count_lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip()) if path.exists() else 0


def project_crawl(workdir: Path, proxy_url: str, depth: int, warc: bool) -> Run:
    contestant = CONTESTANTS[0]
    command, env = command_for(contestant, proxy_url, depth, workdir)
    if warc:
        command += ["-s", f"WARC_DIR={workdir / 'warc'}"]
    wall, peak, done, cpu = timed(command, workdir, env)
    pages = count_lines(workdir / "pages.jsonl")
    return Run(wall, pages, folder_bytes(workdir, "*.warc.gz"), peak, done.returncode, cpu)


def peer_python() -> Path:
    python = PEER_HOME / "bin" / "python"
    if not python.exists():
        print(f"making the peer's venv in {PEER_HOME} (pip install scrapy-webarchive=={PEER_VERSION}) ...")
        venv.create(PEER_HOME, with_pip=True, clear=True)
        subprocess.run([python, "-m", "pip", "install", "-q", *PEER_REQUIREMENTS], check=True, timeout=900)
    return python


def peer_crawl(workdir: Path, http_proxy_url: str, depth: int, exporter: bool) -> Run:
    spider = workdir / "peer_spider.py"  # bench_crawl's bare spider; on Scrapy 2.11 the proxy comes from http_proxy
    spider.write_text(BARE_SPIDER.format(host=MIRROR_V3, start=START_URL))
    settings = {
        "CONCURRENT_REQUESTS": "16",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
        "AUTOTHROTTLE_ENABLED": "False",
        "DEPTH_LIMIT": str(depth),
        "ROBOTSTXT_OBEY": "True",
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": "False",
    }
    if exporter:
        settings["EXTENSIONS"] = json.dumps({"scrapy_webarchive.extensions.WaczExporter": 543})
        settings["SW_EXPORT_URI"] = f"file://{workdir / 'out'}/"
    command = [str(peer_python()), "-m", "scrapy", "runspider", str(spider), "-O", "pages.jsonl"]
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "http_proxy": http_proxy_url, "https_proxy": http_proxy_url, "PYTHONPATH": ""}
    wall, peak, done, cpu = timed(command, workdir, env)
    note = "" if done.returncode == 0 else done.stderr[-500:]
    size = folder_bytes(workdir, "*.wacz") or folder_bytes(workdir, "*.warc.gz")
    return Run(wall, count_lines(workdir / "pages.jsonl"), size, peak, done.returncode, cpu, note)


# -- sections --------------------------------------------------------------------------------------------------------


def overhead(n_articles: int, delay: float, rounds: int, with_peer: bool) -> None:
    site = build_site(n_articles)
    depth = 3 + n_articles // 8
    contestants = {name: Contestant(name) for name in ("project", "project+warc", "peer", "peer+webarchive")}
    if not with_peer:
        del contestants["peer"], contestants["peer+webarchive"]
    with (
        MirrorServer(site, delay=delay) as server,
        RecordingSocks5Server(server.address) as socks,
        RecordingHttpProxy(server.address) as http,
    ):
        for round_ in range(rounds):
            for name, contestant in contestants.items():
                workdir = Path(tempfile.mkdtemp(prefix=f"bench-archive-{name.replace('+', '-')}-"))
                try:
                    reset(server, socks)
                    if name.startswith("project"):
                        run = project_crawl(workdir, socks.url, depth, warc=name.endswith("warc"))
                    else:
                        run = peer_crawl(workdir, http.url, depth, exporter=name.endswith("webarchive"))
                    contestant.runs.append(run)
                    print(
                        f"  round {round_ + 1} {name:<16} {run.wall:7.2f} s wall {run.cpu:7.2f} s CPU  "
                        f"{run.pages} pages  exit {run.returncode}"
                    )
                    if run.note:
                        print("    " + run.note.replace("\n", "\n    "))
                finally:
                    shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"{'contestant':<18} {'wall s':>8} {'CPU s':>8} {'pages':>6} {'archive bytes':>14} {'bytes/page':>11}")
    for contestant in contestants.values():
        pages = contestant.median("pages")
        size = contestant.median("archive_bytes")
        per_page = f"{size / pages:>11.0f}" if size and pages else f"{'-':>11}"
        wall, cpu = contestant.median("wall"), contestant.median("cpu")
        print(f"{contestant.name:<18} {wall:>8.2f} {cpu:>8.2f} {pages:>6.0f} {size:>14.0f} {per_page}")
    print()
    pairs = [("project", "project+warc", "project")]
    if with_peer:
        pairs.append(("peer", "peer+webarchive", f"scrapy-webarchive {PEER_VERSION} on Scrapy 2.11"))
    for plain, archived, label in pairs:
        wall = contestants[archived].median("wall") / contestants[plain].median("wall") - 1
        cpu = contestants[archived].median("cpu") / contestants[plain].median("cpu") - 1
        verdict = f" (target <= 10%: {'met' if wall <= 0.10 else 'MISSED'})" if plain == "project" else ""
        print(f"archive overhead, {label}: {wall:+.1%} of wall time{verdict}, {cpu:+.1%} of CPU time")


def wacz_at_scale(n_articles: int, with_peer: bool) -> None:
    site = build_site(n_articles)
    depth = 3 + n_articles // 8
    workdir = Path(tempfile.mkdtemp(prefix="bench-archive-wacz-"))
    try:
        with (
            MirrorServer(site) as server,
            RecordingSocks5Server(server.address) as socks,
            RecordingHttpProxy(server.address) as http,
        ):
            (workdir / "project").mkdir()
            crawl = project_crawl(workdir / "project", socks.url, depth, warc=True)
            print(
                f"  project crawl with WARC: {crawl.wall:.1f} s, {crawl.pages} pages, "
                f"peak {crawl.peak_kib / 1024:.0f} MiB"
            )
            peers = []
            if with_peer:
                for exporter in (False, True):
                    folder = workdir / f"peer-{exporter}"
                    folder.mkdir()
                    reset(server, socks)
                    peers.append((exporter, peer_crawl(folder, http.url, depth, exporter)))
        command, env = scrapy_command(
            ["wacz", "-o", "crawl.wacz", "-s", f"WARC_DIR={workdir / 'project' / 'warc'}"], {}, pythonpath=[ROOT]
        )
        wall, peak, done, _ = timed(command, workdir / "project", env)
        if done.returncode:
            print(f"  scrapy wacz exited {done.returncode}: {done.stderr[-1000:]}")
        package = workdir / "project" / "crawl.wacz"
        warc_size = folder_bytes(workdir / "project" / "warc", "*.warc.gz")
        validate = subprocess.run(
            [Path(sys.executable).parent / "wacz", "validate", "-f", package], capture_output=True, text=True
        )
        print()
        print(f"WACZ of a {crawl.pages}-page crawl ({warc_size / 2**20:.1f} MiB of WARC):")
        print(
            f"  scrapy wacz: {wall:.1f} s, peak memory {peak / 1024:.0f} MiB, "
            f"package {package.stat().st_size / 2**20:.1f} MiB,"
            f" wacz validate: {'valid' if validate.returncode == 0 else 'INVALID ' + validate.stdout[-300:]}"
        )
        for exporter, run in peers:
            label = "peer+webarchive (WACZ built at close)" if exporter else "peer (no archive)"
            print(
                f"  {label:<38} crawl {run.wall:.1f} s, {run.pages} pages, peak memory {run.peak_kib / 1024:.0f} MiB"
                + (f", package {run.archive_bytes / 2**20:.1f} MiB" if exporter else "")
                + (f", exit {run.returncode}: {run.note[-200:]}" if run.returncode else "")
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=None, help="articles for the overhead section (default 300)")
    parser.add_argument("--delay", type=float, default=0.05, help="server delay per request, seconds (default 0.05)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3, --quick 1)")
    parser.add_argument("--wacz-pages", type=int, default=None, help="articles for the WACZ section (default 10000)")
    parser.add_argument("--quick", action="store_true", help="60 articles, one round, 2,000 for the WACZ")
    parser.add_argument("--no-peer", action="store_true", help="leave scrapy-webarchive out")
    parser.add_argument("--sections", default="1,2", help="which sections to run (default 1,2)")
    args = parser.parse_args()
    articles = args.articles or (60 if args.quick else 300)
    rounds = args.rounds or (1 if args.quick else 3)
    wacz_pages = args.wacz_pages or (2000 if args.quick else 10000)
    print(
        f"bench_archive: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    sections = set(args.sections.split(","))
    if "1" in sections:
        print(f"\n== 1. archive overhead: {articles} articles, {args.delay} s delay, {rounds} rounds ==")
        overhead(articles, args.delay, rounds, not args.no_peer)
    if "2" in sections:
        print(f"\n== 2. WACZ at scale: {wacz_pages} articles ==")
        wacz_at_scale(wacz_pages, not args.no_peer)


if __name__ == "__main__":
    main()
