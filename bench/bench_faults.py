"""Benchmark the crawl on a failing network: outages, kill -9, and the store's write rate.

Run as ``python bench/bench_faults.py [--quick]`` from the project root (``--quick``: a 20 s
outage only, two kills, a smaller store corpus; about 2 minutes; the whole run takes about
9 minutes, most of it the 5-minute outage).

1. Outages: the sample mirror (120 articles, 50 ms a request) becomes unreachable after 30
   articles for 20 s and for 5 minutes (SOCKS "host unreachable", open connections cut; through
   the HTTP proxy, privoxy's 503). Two contestants crawl it with the project's default settings
   (MIRROR_PATIENCE 900 s, probes 3 s doubling to 60 s): ``project``, and ``scrapy-retry``, the
   same crawl without the outage middleware (Scrapy's RetryMiddleware alone: what the crawl did
   before, and what a Scrapy user gets). Figures: articles stored with 200 and lost, wall time,
   and the time from the mirror's return to its next article answer and to the crawl's rate
   before the outage (the median time between article answers).
2. kill -9: a crawl (CONCURRENT_REQUESTS 8) killed after N article requests, then resumed with the
   same JOBDIR; articles the resumed crawl fetched again, against the 8 requests in flight (and,
   with ``--before DIR``, the same for a checkout of an earlier revision).
3. Store writes: pages of crawl size (60 links, 65 kB of HTML) written the way the pipeline
   wrote them before (synchronous batches of 100, committed every 100 pages or every second)
   and the way it writes them now (:class:`crawler.store.writer.StoreWriter`: each page committed
   before its item is done, a transaction per group of waiting pages), with 16 pages in flight
   (Scrapy's items in progress) and with one at a time.
4. A Redis restart: two workers share a crawl of 90 articles (2 requests in flight each); redis-server
   (append-only file on) is killed with -9 after 30 article requests and started again 5 s later.
   Figures: the article rate before the kill and after Redis is back, the time from its return to the
   next article answer, articles fetched twice, articles missing, warnings per worker.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.samplemirror import (  # noqa: E402
    MirrorServer,
    Outage,
    RecordingHttpProxy,
    RecordingSocks5Server,
    build_site,
)
from crawler.store import Store  # noqa: E402
from crawler.store.writer import StoreWriter  # noqa: E402
from tests.crawling import article_fetches, crawl_command, run_crawl  # noqa: E402

ARTICLES = 120
AFTER = 30
DEFAULTS = {
    "CONCURRENT_REQUESTS": "8",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "DEPTH_LIMIT": "200",
    "LOG_LEVEL": "WARNING",
}
WITHOUT_WATCH = {"MIRROR_OUTAGE_ENABLED": "0"}


def outage_run(contestant: str, seconds: float, proxy_kind: str) -> dict[str, float]:
    site = build_site(ARTICLES)
    outage = Outage(after_articles=AFTER, seconds=seconds, start_delay=0.05)
    proxy_cls = RecordingSocks5Server if proxy_kind == "socks" else RecordingHttpProxy
    settings = {**DEFAULTS, **(WITHOUT_WATCH if contestant == "scrapy-retry" else {})}
    with (
        tempfile.TemporaryDirectory() as folder,
        MirrorServer(site, delay=0.05, outage=outage) as server,
        proxy_cls(server.address, outage=outage) as proxy,
    ):
        started = time.monotonic()
        result = run_crawl(Path(folder), proxy.url, settings=settings, timeout=seconds + 1200)
        wall = time.monotonic() - started
        answers = [when for when, path in server.request_times if site.is_article(path)]
    stored = site.article_urls() & {item["url"] for item in result.items if item["status"] == 200}
    figures = {"stored": len(stored), "lost": ARTICLES - len(stored), "wall": wall, "exit": result.returncode}
    if outage.started_at is not None:
        back = outage.started_at + seconds
        before = [t for t in answers if t < outage.started_at]
        after = [t for t in answers if t > back]
        gap = statistics.median(b - a for a, b in zip(before, before[1:], strict=False)) if len(before) > 2 else 0
        figures["first_answer_after_return"] = (after[0] - back) if after else math.nan
        # Full speed: the first article answer after the return followed by 5 more at the old pace or better.
        full = next((after[i] for i in range(len(after) - 5) if after[i + 5] - after[i] <= 5 * gap * 1.5), math.nan)
        figures["full_speed_after_return"] = full - back
    return figures


def kill_run(kill_after: int, code: Path | None = None, delay: float = 0.05) -> dict[str, float]:
    """``code``: a checkout of another revision to run instead of this one (its crawler/ on PYTHONPATH)."""
    site = build_site(ARTICLES)
    with (
        tempfile.TemporaryDirectory() as folder,
        MirrorServer(site, delay=delay) as server,
        RecordingSocks5Server(server.address) as proxy,
    ):
        workdir = Path(folder)
        settings = {**DEFAULTS, "JOBDIR": str(workdir / "job")}
        command, env = crawl_command(workdir, proxy.url, settings=settings, output="part1.jsonl")
        if code is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(code), env["PYTHONPATH"]])
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while sum(article_fetches(server, site).values()) < kill_after and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        at_the_mirror = server.in_flight
        process.wait()
        before = article_fetches(server, site)
        with sqlite3.connect(workdir / "crawl.sqlite3") as db:
            committed = db.execute("SELECT COUNT(*) FROM pages WHERE status = 200").fetchone()[0]
        command, env = crawl_command(workdir, proxy.url, settings=settings, output="part2.jsonl")
        if code is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(code), env["PYTHONPATH"]])
        subprocess.run(command, cwd=workdir, env=env, capture_output=True, timeout=300)
        again = set(article_fetches(server, site) - before) & set(before)
        again.discard(site.flaky_path)
        with sqlite3.connect(workdir / "crawl.sqlite3") as db:
            stored = {url for (url,) in db.execute("SELECT url FROM pages WHERE status = 200")}
    return {
        "fetched_before_kill": sum(before.values()),
        "committed": committed,
        "at_the_mirror": at_the_mirror,
        "fetched_again": len(again),
        "complete": float(site.article_urls() <= stored),
    }


def page(i: int) -> dict[str, object]:
    return {
        "url": f"https://www.nytimes.com/2016/12/05/world/a{i}.html",
        "fetched_url": f"http://x.onion/a{i}.html",
        "mirror": "x.onion",
        "status": 200,
        "fetched_at": "2026-12-01T00:00:00+00:00",
        "text": "t" * 5000,
        "html": "<p>" + "h" * 65000,
        "links": [
            {"url": f"https://www.nytimes.com/2016/a{i + j}.html", "kind": "article", "text": "x"} for j in range(60)
        ],
    }


def write_batched(path: Path, pages: list[dict[str, object]]) -> float:
    """The pipeline before: a transaction per 100 pages (or per second)."""
    store = Store(path)
    started = time.perf_counter()
    buffer, last = [], time.monotonic()
    for item in pages:
        buffer.append(item)
        if len(buffer) >= 100 or time.monotonic() - last >= 1.0:
            store.write(buffer)
            buffer, last = [], time.monotonic()
    store.write(buffer)
    elapsed = time.perf_counter() - started
    store.close()
    return len(pages) / elapsed


def write_grouped(path: Path, pages: list[dict[str, object]], in_flight: int) -> tuple[float, float]:
    """The pipeline now: each page awaits its commit; ``in_flight`` pages are written at once."""
    writer = StoreWriter(Store(path), batch_size=100).start()

    async def run() -> None:
        gate = asyncio.Semaphore(in_flight)

        async def one(item: dict[str, object]) -> None:
            async with gate:
                await writer.write(item)

        await asyncio.gather(*(one(item) for item in pages))

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    writer.stop()
    writer.store.close()
    return len(pages) / elapsed, len(pages) / writer.transactions


def redis_restart_run() -> dict[str, float]:
    from tests.support.localredis import LocalRedis

    site = build_site(90)
    settings = {
        "CONCURRENT_REQUESTS": "2",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
        "DEPTH_LIMIT": "100",
        "LOG_LEVEL": "INFO",
    }
    with (
        tempfile.TemporaryDirectory() as folder,
        LocalRedis("bench-pw", appendonly=True) as redis_server,
        MirrorServer(site, delay=0.05) as server,
        RecordingSocks5Server(server.address) as proxy,
    ):
        workdir = Path(folder)
        workers = []
        for number in (1, 2):
            command, env = crawl_command(
                workdir,
                proxy.url,
                output=f"items{number}.jsonl",
                settings={**settings, "REDIS_URL": redis_server.url, "STORE_PATH": f"worker{number}.sqlite3"},
            )
            log = (workdir / f"worker{number}.log").open("w")
            workers.append(subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=log))
        while sum(article_fetches(server, site).values()) < 30:
            time.sleep(0.01)
        killed = time.monotonic()
        redis_server.kill()
        time.sleep(5)
        redis_server.start()
        back = time.monotonic()
        for worker in workers:
            worker.wait(timeout=300)
        fetches = article_fetches(server, site)
        answers = [when for when, path in server.request_times if site.is_article(path)]
        stored: set[str] = set()
        for number in (1, 2):
            with sqlite3.connect(workdir / f"worker{number}.sqlite3") as db:
                stored |= {url for (url,) in db.execute("SELECT url FROM pages WHERE status = 200")}
        warnings = [(workdir / f"worker{n}.log").read_text().count("does not answer") for n in (1, 2)]
    before = [t for t in answers if t < killed]
    after = [t for t in answers if t > back]
    twice = sum(1 for path, n in fetches.items() if n > 1 and path != site.flaky_path)
    return {
        "rate_before": len(before) / (before[-1] - before[0]),
        "rate_after": len(after) / (after[-1] - after[0]),
        "first_after": after[0] - back,
        "twice": twice,
        "missing": len(site.article_urls() - stored),
        "warnings": max(warnings),
        "exits": sum(worker.returncode for worker in workers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sections", default="1234", help="which sections to run, e.g. 2 or 34 (default 1234)")
    parser.add_argument(
        "--before",
        type=Path,
        help="a checkout of an earlier revision to compare kill -9 with (git worktree add /tmp/before REV)",
    )
    args = parser.parse_args()
    print(f"# bench_faults on {platform.node()} ({os.cpu_count()} cores), Python {platform.python_version()}")

    print(f"\n## 1. Outages ({ARTICLES} articles, unreachable after {AFTER}; project defaults)")
    print(
        "| outage | proxy | contestant | stored | lost | wall s | first answer after return s | full speed after s "
        "| exit |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    cases = [(20, "socks"), (20, "http")] + ([] if args.quick else [(300, "socks")])
    for seconds, proxy_kind in cases if "1" in args.sections else ():
        for contestant in ("project", "scrapy-retry"):
            f = outage_run(contestant, seconds, proxy_kind)
            first, full = f.get("first_answer_after_return", math.nan), f.get("full_speed_after_return", math.nan)
            print(
                f"| {seconds} s | {proxy_kind} | {contestant} | {f['stored']} | {f['lost']} | {f['wall']:.1f} | "
                f"{first:.1f} | {full:.1f} | {f['exit']} |",
                flush=True,
            )

    print("\n## 2. kill -9 and resume (CONCURRENT_REQUESTS 8)")
    print(
        "| code | mirror latency | killed after | committed | being served at the kill | fetched again on resume "
        "| complete |"
    )
    print("|---|---|---|---|---|---|---|")
    codes: list[tuple[str, Path | None]] = [("now", None)] + ([("before", args.before)] if args.before else [])
    kills = [(n, 0.05) for n in ((25, 60) if args.quick else (15, 30, 45, 60, 75, 90))] + [(40, 0.5), (80, 0.5)]
    for kill_after, delay in kills if "2" in args.sections else ():
        for label, code in codes:
            f = kill_run(kill_after, code, delay)
            print(
                f"| {label} | {delay * 1000:.0f} ms | {f['fetched_before_kill']} requests | {f['committed']} | "
                f"{f['at_the_mirror']} | {f['fetched_again']} | {'yes' if f['complete'] else 'NO'} |",
                flush=True,
            )

    if "3" not in args.sections:
        return
    count = 1000 if args.quick else 4000
    pages = [page(i) for i in range(count)]
    print(f"\n## 3. Store writes ({count} pages of 60 links and 65 kB HTML; best of 3)")
    with tempfile.TemporaryDirectory() as folder:

        def fresh(name: str, n: int) -> Path:
            return Path(folder) / f"{name}{n}.sqlite3"

        before = max(write_batched(fresh("batched", n), pages) for n in range(3))
        grouped16 = max((write_grouped(fresh("grouped16-", n), pages, 16) for n in range(3)), key=lambda r: r[0])
        grouped1 = max((write_grouped(fresh("grouped1-", n), pages, 1) for n in range(3)), key=lambda r: r[0])
    print("| writer | pages/s | pages per transaction | ratio to before |")
    print("|---|---|---|---|")
    print(f"| before: batches of 100, sync | {before:,.0f} | 100 | 1.00 |")
    for label, (rate, per_transaction) in (("16 in flight", grouped16), ("1 at a time", grouped1)):
        print(f"| now: group commit, {label} | {rate:,.0f} | {per_transaction:.1f} | {rate / before:.2f} |")

    if "4" not in args.sections:
        return
    print("\n## 4. redis-server killed under two workers, back after 5 s")
    f = redis_restart_run()
    print(
        f"articles/s before the kill {f['rate_before']:.1f}, after Redis is back {f['rate_after']:.1f}; next article "
        f"{f['first_after']:.2f} s after its return; fetched twice {f['twice']}, missing {f['missing']}, "
        f"warnings per worker {f['warnings']}, exit statuses summed {f['exits']}"
    )


if __name__ == "__main__":
    main()
