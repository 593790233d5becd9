"""Benchmark the shared (Redis) frontier: one crawl of the sample mirror by 1, 2 and 4 worker processes.

Run as ``python bench/bench_distributed.py [--articles N] [--delay S] [--quick] [--rounds R] [--keep DIR]`` from
the project root, with the ``distributed`` extra installed and ``redis-server`` on the PATH (or /usr/bin).

One run starts its own ``redis-server`` (free port, password, ``--save ''``, stopped by its pid at the end) and one
sample mirror (``build_site(N)``, default 1500 articles, ``--quick`` 150) served with a per-request delay standing in
for Tor latency (default 0.3 s), behind the recording SOCKS5 proxy. The whole mirror is then crawled with 1, 2 and 4
workers (separate runs, interleaved 1-2-4 1-2-4; 2 rounds, ``--quick`` 1; the median of each figure is reported).
Every worker is a ``scrapy crawl mirror`` subprocess (SCRAPY_SETTINGS_MODULE=crawler.settings) with
``REDIS_URL`` set, the same CONCURRENT_REQUESTS=4 and CONCURRENT_REQUESTS_PER_DOMAIN=4 each,
SHARED_CONCURRENT_REQUESTS_PER_MIRROR=64 (above what 4 workers use together), AUTOTHROTTLE off, DEPTH_LIMIT=N+10,
LOG_LEVEL=INFO into its own log file and its own STORE_PATH. Before each run: FLUSHALL, and the mirror server's
request log and its per-page attempt counter are reset, so every run meets the same 503-once page.

Per run: wall time (first worker started -> last worker exited); Scrapy's time (``start_time`` .. ``finish_time``
of the "Dumping Scrapy stats" dicts: the earliest start to the latest finish; for one worker its
``elapsed_time_seconds``), so process start-up is left out; the fetch window (first to last request the mirror
answered), so start-up and closing are both left out; unique articles fetched and article requests per unique
article (raw, and without the requests answered 5xx, which the retry repeats); pages/s = unique articles / wall;
each worker's share of the stored pages (rows with status 200 in its SQLite ``pages`` table); exit statuses;
whether every reachable article was fetched; CPU use (the workers' CPU seconds from ``os.times()`` of the children,
the machine's busy share from /proc/stat, the peak 1-minute load average).

Then Redis memory, measured on its own: N=10,000 JSON requests (``JsonRequestSerializer``, NYT mirror URLs of
``build_site``) pushed into a fresh ZSET and N 40-hex SHA-1 fingerprints into a fresh SET; ``MEMORY USAGE key
SAMPLES 0`` per key and the ``used_memory`` delta from ``INFO memory`` as a cross-check.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import platform
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import redis
import scrapy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.samplemirror import MIRROR_V3, MirrorServer, RecordingSocks5Server, SampleSite, build_site  # noqa: E402
from crawler.samplemirror.crawls import scrapy_command  # noqa: E402
from crawler.samplemirror.server import _origin_form  # noqa: E402
from crawler.shared import JsonRequestSerializer  # noqa: E402
from tests.support.localredis import LocalRedis  # noqa: E402

START_URL = f"http://{MIRROR_V3}/"
PASSWORD = "bench-distributed-pw"
WORKER_COUNTS = (1, 2, 4)
PER_WORKER_CONCURRENCY = 4
SHARED_LIMIT = 64
RUN_TIMEOUT = 900.0
MEMORY_N = 10_000
TARGETS = {2: 1.8, 4: 3.4}
CPU_BOUND_SHARE = 0.85  # machine busy share above which a run counts as CPU-bound


# -- the mirror, with the time and status of every answer --------------------------------------------------------


class TimedMirrorServer(MirrorServer):
    """The sample mirror server that also records ``(monotonic time, path, status)`` of each answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: list[tuple[float, str, int]] = []

    def respond(self, method: str, host: str, target: str) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = super().respond(method, host, target)
        path = _origin_form(host, target)[1].split("?", 1)[0]
        with self._lock:
            self.answers.append((time.monotonic(), path, status))
        return status, headers, body

    def reset(self) -> None:
        """Forget recorded requests and the flaky page's attempt count."""
        with self._lock:
            self.requests.clear()
            self._attempts.clear()
            self.answers.clear()


# -- redis-server ------------------------------------------------------------------------------------------------


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM by pid, then SIGKILL by pid if it does not go."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# -- machine sampling --------------------------------------------------------------------------------------------


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat (zeros where there is none)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def loadavg() -> float:
    try:
        with open("/proc/loadavg") as load:
            return float(load.read().split()[0])
    except OSError:
        return float("nan")


class Sampler(threading.Thread):
    """Every 0.25 s: the shared queue's length, a few queued members' sizes, the machine's busy share."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        super().__init__(daemon=True)
        self.client, self.key = client, key
        self.stopping = threading.Event()
        self.queue_lengths: list[int] = []
        self.member_sizes: list[int] = []
        self.sample_member = ""
        self.busy_shares: list[float] = []
        self.loads: list[float] = []

    def run(self) -> None:
        last = cpu_ticks()
        while not self.stopping.wait(0.25):
            try:
                self.queue_lengths.append(int(self.client.zcard(self.key)))
                if len(self.member_sizes) < 400:
                    members = self.client.zrandmember(self.key, 5) or []
                    self.member_sizes += [len(m) for m in members]
                    if members and not self.sample_member:
                        self.sample_member = members[0].decode()
            except redis.RedisError:
                pass
            now = cpu_ticks()
            if now[1] > last[1]:
                self.busy_shares.append((now[0] - last[0]) / (now[1] - last[1]))
            last = now
            self.loads.append(loadavg())

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)


# -- one run -----------------------------------------------------------------------------------------------------


@dataclass
class Worker:
    number: int
    returncode: int | None
    exit_after: float  # seconds after the first worker started
    stored_200: int = 0
    stored_articles: set[str] = field(default_factory=set)
    elapsed: float = float("nan")
    start_time: datetime | None = None
    finish_time: datetime | None = None
    finish_reason: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Result:
    workers: int
    wall: float
    scrapy_span: float
    fetch_window: float
    first_answer: float
    last_answer: float
    article_requests: int
    article_5xx: int
    unique_articles: int
    server_requests: int
    all_reached: bool
    worker_cpu: float
    bench_cpu: float
    busy_share: float
    peak_busy: float
    peak_load: float
    peak_queue: int
    member_sizes: list[int]
    sample_member: str
    per_worker: list[Worker]
    dupefilter_bytes: int
    dupefilter_members: int

    @property
    def per_article(self) -> float:
        return self.article_requests / self.unique_articles if self.unique_articles else float("nan")

    @property
    def per_article_no_5xx(self) -> float:
        return (
            (self.article_requests - self.article_5xx) / self.unique_articles if self.unique_articles else float("nan")
        )

    @property
    def pages_per_second(self) -> float:
        return self.unique_articles / self.wall

    @property
    def tail(self) -> float:
        """Seconds from the mirror's last answer to the last worker's exit."""
        return self.wall - self.last_answer

    @property
    def exits_ok(self) -> bool:
        return all(w.returncode == 0 for w in self.per_worker)

    @property
    def overlap(self) -> int:
        """Articles stored by more than one worker."""
        seen: set[str] = set()
        twice = 0
        for worker in self.per_worker:
            twice += len(worker.stored_articles & seen)
            seen |= worker.stored_articles
        return twice

    @property
    def shares(self) -> list[int]:
        return [w.stored_200 for w in self.per_worker]


def worker_command(
    number: int, workdir: Path, proxy_url: str, redis_url: str, depth_limit: int
) -> tuple[list[str], dict[str, str]]:
    settings = {
        "REDIS_URL": redis_url,
        "ONION_PROXY": proxy_url,
        "CONCURRENT_REQUESTS": str(PER_WORKER_CONCURRENCY),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(PER_WORKER_CONCURRENCY),
        "SHARED_CONCURRENT_REQUESTS_PER_MIRROR": str(SHARED_LIMIT),
        "AUTOTHROTTLE_ENABLED": "False",
        "DEPTH_LIMIT": str(depth_limit),
        "LOG_LEVEL": "INFO",
        "STORE_PATH": str(workdir / f"worker{number}.sqlite3"),
    }
    return scrapy_command(["crawl", "mirror", "-a", f"start_urls={START_URL}"], settings, pythonpath=[ROOT])


_DATETIME = re.compile(r"datetime\.datetime\(([\d,\s]+)(?:,\s*tzinfo=[^)]*)?\)")
_LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \[([^\]]+)\] (\w+): (.*)$")


def parse_stats(log: str) -> dict[str, Any]:
    """The "Dumping Scrapy stats" dict of a worker log (datetimes as naive UTC ``datetime``)."""
    marker = log.rfind("Dumping Scrapy stats:")
    if marker < 0:
        return {}
    lines = log[marker:].splitlines()[1:]
    body = []
    for line in lines:
        if _LOG_LINE.match(line):
            break
        body.append(line)
    text = _DATETIME.sub(lambda m: f"('__datetime__', {m.group(1)})", "\n".join(body))
    try:
        stats = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return {}
    for key, value in stats.items():
        if isinstance(value, tuple) and value and value[0] == "__datetime__":
            stats[key] = datetime(*value[1:])
    return stats


def log_notes(log: str) -> list[str]:
    """What a worker log says beyond the ordinary: warnings, errors, hand-backs, tracebacks, the password."""
    notes: dict[str, int] = {}
    for line in log.splitlines():
        match = _LOG_LINE.match(line)
        if match is None:
            continue
        logger_name, level, message = match.groups()
        interesting = level in ("WARNING", "ERROR", "CRITICAL") or "Handed" in message or "back in the queue" in message
        if interesting:
            key = f"{level} [{logger_name}] {re.sub(r'<[^>]*>', '<...>', message)[:110]}"
            notes[key] = notes.get(key, 0) + 1
    found = [f"{n}x {key}" for key, n in notes.items()]
    if "Traceback" in log:
        found.append(f"{log.count('Traceback')}x Traceback")
    if PASSWORD in log:
        found.append("THE REDIS PASSWORD IS IN THE LOG")
    return found


def stored(path: Path) -> tuple[int, set[str]]:
    if not path.exists():
        return 0, set()
    with sqlite3.connect(path) as db:
        urls = [url for (url,) in db.execute("SELECT url FROM pages WHERE status = 200")]
    return len(urls), set(urls)


def run_once(
    count: int,
    site: SampleSite,
    server: TimedMirrorServer,
    proxy: RecordingSocks5Server,
    client: redis.Redis,
    redis_url: str,
    depth_limit: int,
    workdir: Path,
) -> Result:
    rundir = Path(tempfile.mkdtemp(prefix=f"run-{count}w-", dir=workdir))
    client.flushall()
    server.reset()
    proxy.reset()
    sampler = Sampler(client, "mirror:requests")
    times0 = os.times()
    ticks0 = cpu_ticks()
    sampler.start()
    processes: list[subprocess.Popen[bytes]] = []
    logs = []
    started = time.monotonic()
    for number in range(1, count + 1):
        command, env = worker_command(number, rundir, proxy.url, redis_url, depth_limit)
        log = (rundir / f"worker{number}.log").open("wb")
        logs.append(log)
        processes.append(subprocess.Popen(command, cwd=rundir, env=env, stdout=log, stderr=subprocess.STDOUT))
    exit_after: dict[int, float] = {}
    deadline = started + RUN_TIMEOUT
    while len(exit_after) < count:
        for number, process in enumerate(processes, 1):
            if number not in exit_after and process.poll() is not None:
                exit_after[number] = time.monotonic() - started
        if time.monotonic() > deadline:
            for number, process in enumerate(processes, 1):
                if number not in exit_after:
                    print(f"  worker {number} (pid {process.pid}) still running after {RUN_TIMEOUT:.0f} s: killed")
                    stop_process(process)
                    exit_after[number] = time.monotonic() - started
        time.sleep(0.02)
    wall = max(exit_after.values())
    sampler.stop()
    ticks1 = cpu_ticks()
    times1 = os.times()
    for log in logs:
        log.close()

    article_paths = {a.path for a in site.articles}
    reachable = {a.path for a in site.articles if a.canonical_url in site.article_urls()}
    with server._lock:
        paths = [target.split("?", 1)[0] for _method, _host, target in server.requests]
        answers = list(server.answers)
    fetched = [p for p in paths if p in article_paths]
    article_5xx = sum(1 for _t, path, status in answers if path in article_paths and status >= 500)
    answer_times = [t - started for t, _path, _status in answers]

    workers = []
    for number, process in enumerate(processes, 1):
        text = (rundir / f"worker{number}.log").read_text(errors="replace")
        stats = parse_stats(text)
        n200, urls = stored(rundir / f"worker{number}.sqlite3")
        workers.append(
            Worker(
                number=number,
                returncode=process.returncode,
                exit_after=exit_after[number],
                stored_200=n200,
                stored_articles=urls & site.article_urls(),
                elapsed=float(stats.get("elapsed_time_seconds", float("nan"))),
                start_time=stats.get("start_time"),
                finish_time=stats.get("finish_time"),
                finish_reason=str(stats.get("finish_reason", "")),
                notes=log_notes(text),
            )
        )
    starts = [w.start_time for w in workers if w.start_time]
    finishes = [w.finish_time for w in workers if w.finish_time]
    if count == 1:
        scrapy_span = workers[0].elapsed
    elif starts and finishes and len(finishes) == count:
        scrapy_span = (max(finishes) - min(starts)).total_seconds()
    else:
        scrapy_span = float("nan")
    busy_total = ticks1[1] - ticks0[1]
    return Result(
        workers=count,
        wall=wall,
        scrapy_span=scrapy_span,
        fetch_window=(max(answer_times) - min(answer_times)) if answer_times else float("nan"),
        first_answer=min(answer_times, default=float("nan")),
        last_answer=max(answer_times, default=float("nan")),
        article_requests=len(fetched),
        article_5xx=article_5xx,
        unique_articles=len(set(fetched)),
        server_requests=len(paths),
        all_reached=reachable <= set(fetched),
        worker_cpu=(times1.children_user + times1.children_system) - (times0.children_user + times0.children_system),
        bench_cpu=(times1.user + times1.system) - (times0.user + times0.system),
        busy_share=(ticks1[0] - ticks0[0]) / busy_total if busy_total else float("nan"),
        peak_busy=max(sampler.busy_shares, default=float("nan")),
        peak_load=max(sampler.loads, default=float("nan")),
        peak_queue=max(sampler.queue_lengths, default=0),
        member_sizes=sampler.member_sizes,
        sample_member=sampler.sample_member,
        per_worker=workers,
        dupefilter_bytes=int(client.memory_usage("mirror:dupefilter", samples=0) or 0),
        dupefilter_members=int(client.scard("mirror:dupefilter")),
    )


# -- Redis memory --------------------------------------------------------------------------------------------------


class _MirrorSpiderShape(scrapy.Spider):
    """Only for ``Request.to_dict``: the real spider's callback and errback names."""

    name = "mirror"

    def parse(self, response: Any) -> None:
        pass

    def on_error(self, failure: Any) -> None:
        pass


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def measure_memory(client: redis.Redis, n: int) -> dict[str, Any]:
    site = build_site(n)
    spider = _MirrorSpiderShape()
    members, with_referer = [], []
    for number, article in enumerate(site.articles):
        url = f"http://{MIRROR_V3}{article.path}"
        meta = {"canonical": article.canonical_url, "depth": 3}
        request = scrapy.Request(url, callback=spider.parse, errback=spider.on_error, meta=meta)
        members.append(JsonRequestSerializer.dumps(request.to_dict(spider=spider)))
        # As the crawl queues them: Scrapy's RefererMiddleware adds the linking page's address.
        referer = f"http://{MIRROR_V3}{site.articles[number - 1].path}"
        request = request.replace(headers={"Referer": referer})
        with_referer.append(JsonRequestSerializer.dumps(request.to_dict(spider=spider)))
    fingerprints = [hashlib.sha1(f"GET\0{a.canonical_url}\0".encode()).hexdigest() for a in site.articles]
    client.flushall()
    out: dict[str, Any] = {
        "n": len(members),
        "member_len": statistics.mean(len(m) for m in members),
        "referer_member_len": statistics.mean(len(m) for m in with_referer),
        "sample_member": members[0],
    }
    before = used_memory(client)
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(members), 1000):
        pipe.zadd("bench:requests", {m: 0 for m in members[start : start + 1000]})
    pipe.execute()
    middle = used_memory(client)
    for start in range(0, len(fingerprints), 1000):
        pipe.sadd("bench:dupefilter", *fingerprints[start : start + 1000])
    pipe.execute()
    after = used_memory(client)
    for start in range(0, len(with_referer), 1000):
        pipe.zadd("bench:requests-referer", {m: 0 for m in with_referer[start : start + 1000]})
    pipe.execute()
    out["referer_delta"] = used_memory(client) - after
    out["referer_usage"] = int(client.memory_usage("bench:requests-referer", samples=0))
    out["zset_usage"] = int(client.memory_usage("bench:requests", samples=0))
    out["set_usage"] = int(client.memory_usage("bench:dupefilter", samples=0))
    out["zset_delta"] = middle - before
    out["set_delta"] = after - middle
    out["zset_encoding"] = client.object("encoding", "bench:requests").decode()
    out["set_encoding"] = client.object("encoding", "bench:dupefilter").decode()
    client.flushall()
    return out


# -- report --------------------------------------------------------------------------------------------------------


def med(results: list[Result], attribute: str) -> float:
    return statistics.median(getattr(r, attribute) for r in results)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_tables(by_count: dict[int, list[Result]], reachable: int, delay: float) -> None:
    header = (
        f"{'workers':>7} {'wall s':>7} {'scrapy s':>8} {'fetch s':>7} {'1st ans':>7} {'tail s':>6} "
        f"{'art reqs':>8} {'unique':>6} {'req/uniq':>8} {'-5xx':>6} {'pages/s':>7} {'server reqs':>11} "
        f"{'all reached':>13} {'exits':>7}"
    )
    print(header)
    print("-" * len(header))
    for count, runs in by_count.items():
        exits = ",".join(sorted({str(w.returncode) for r in runs for w in r.per_worker}))
        ok = "yes" if all(r.all_reached for r in runs) else "NO"
        reached = f"{ok} ({med(runs, 'unique_articles'):.0f}/{reachable})"
        print(
            f"{count:>7} {med(runs, 'wall'):>7.2f} {med(runs, 'scrapy_span'):>8.2f} "
            f"{med(runs, 'fetch_window'):>7.2f} {med(runs, 'first_answer'):>7.2f} {med(runs, 'tail'):>6.2f} "
            f"{med(runs, 'article_requests'):>8.0f} "
            f"{med(runs, 'unique_articles'):>6.0f} {med(runs, 'per_article'):>8.4f} "
            f"{med(runs, 'per_article_no_5xx'):>6.3f} {med(runs, 'pages_per_second'):>7.2f} "
            f"{med(runs, 'server_requests'):>11.0f} {reached:>13} {exits:>7}"
        )
    print(
        f"(scrapy s: earliest start_time to latest finish_time of the workers' stats, i.e. without process start-up;"
        f" fetch s: the mirror's first to last answer; 1st ans: seconds from the first worker's start to the"
        f" mirror's first answer; tail s: the mirror's last answer to the last worker's exit; -5xx: req/uniq without"
        f" the requests answered 5xx; ideal fetch-bound rate {PER_WORKER_CONCURRENCY / delay:.1f} requests/s"
        f" per worker)"
    )
    print()
    header = (
        f"{'workers':>7} {'stored per worker (status 200), each run':<44} {'stored twice':>12} "
        f"{'worker CPU s':>12} {'cores used':>10} {'machine busy':>12} {'peak busy':>9} {'peak load1':>10} "
        f"{'peak queue':>10}"
    )
    print(header)
    print("-" * len(header))
    for count, runs in by_count.items():
        shares = "; ".join(
            "/".join(f"{s}" for s in r.shares)
            + (f" ({', '.join(f'{s / sum(r.shares):.0%}' for s in r.shares)})" if count > 1 and sum(r.shares) else "")
            for r in runs
        )
        print(
            f"{count:>7} {shares:<44} {max(r.overlap for r in runs):>12} {med(runs, 'worker_cpu'):>12.1f} "
            f"{statistics.median(r.worker_cpu / r.wall for r in runs):>10.2f} {med(runs, 'busy_share'):>12.0%} "
            f"{med(runs, 'peak_busy'):>9.0%} {max(r.peak_load for r in runs):>10.2f} "
            f"{max(r.peak_queue for r in runs):>10}"
        )


def print_ratios(by_count: dict[int, list[Result]], cores: int) -> None:
    one = by_count[1]
    rows: list[tuple[str, str, str, str]] = []
    for count, target in TARGETS.items():
        if count not in by_count:
            continue
        runs = by_count[count]
        wall = med(one, "wall") / med(runs, "wall")
        scrapy_speedup = med(one, "scrapy_span") / med(runs, "scrapy_span")
        fetch = med(one, "fetch_window") / med(runs, "fetch_window")
        pages = med(runs, "pages_per_second") / med(one, "pages_per_second")
        goal = f">= {target:.1f}x"
        rows += [
            (f"{count} workers / 1 worker, pages/s (wall)", f"{pages:.2f}x", goal, verdict(pages >= target)),
            (f"{count} workers / 1 worker, wall time speedup", f"{wall:.2f}x", goal, verdict(wall >= target)),
            (
                f"{count} workers / 1 worker, Scrapy-elapsed speedup",
                f"{scrapy_speedup:.2f}x",
                goal,
                verdict(scrapy_speedup >= target),
            ),
            (f"{count} workers / 1 worker, fetch-window speedup", f"{fetch:.2f}x", "", "(no start-up, no close)"),
        ]
    for count, runs in by_count.items():
        value = med(runs, "per_article_no_5xx")
        rows.append(
            (
                f"article requests / unique, {count} worker(s), without 5xx",
                f"{value:.3f}",
                "1.00",
                verdict(all(r.per_article_no_5xx == 1.0 for r in runs)),
            )
        )
        rows.append((f"article requests / unique, {count} worker(s), raw", f"{med(runs, 'per_article'):.4f}", "", ""))
    every = [r for runs in by_count.values() for r in runs]
    rows.append(
        (
            "every worker exited 0",
            "yes" if all(r.exits_ok for r in every) else "NO",
            "yes",
            verdict(all(r.exits_ok for r in every)),
        )
    )
    rows.append(
        (
            "every reachable article fetched",
            "yes" if all(r.all_reached for r in every) else "NO",
            "yes",
            verdict(all(r.all_reached for r in every)),
        )
    )
    shared = [r for r in every if r.workers > 1]
    rows.append(
        (
            "every worker stored a share, none twice",
            "yes" if all(min(r.shares) > 0 and r.overlap == 0 for r in shared) else "NO",
            "yes",
            verdict(all(min(r.shares) > 0 and r.overlap == 0 for r in shared)),
        )
    )
    print(f"{'ratio / check':<54} {'value':>8}  {'target':<8} result")
    print("-" * 90)
    for label, value, target, result in rows:
        print(f"{label:<54} {value:>8}  {target:<8} {result}")
    four = by_count.get(max(by_count))
    if four:
        busy = med(four, "busy_share")
        cores_used = statistics.median((r.worker_cpu + r.bench_cpu) / r.wall for r in four)
        bound = busy >= CPU_BOUND_SHARE
        print(
            f"\nCPU: {cores} cores. With {max(by_count)} workers the machine was {busy:.0%} busy over the run "
            f"(workers + this process's mirror/proxy threads used {cores_used:.2f} cores on average; peak 0.25 s "
            f"sample {med(four, 'peak_busy'):.0%}): "
            + ("CPU-bound." if bound else "not CPU-bound over the run (start-up bursts aside).")
        )


def print_memory(memory: dict[str, Any], real: list[Result]) -> None:
    n = memory["n"]
    print(f"Redis memory, {n:,} entries each (MEMORY USAGE key SAMPLES 0; INFO used_memory delta as a cross-check):")
    print(
        f"  queued request (ZSET {memory['zset_encoding']}, JSON member {memory['member_len']:.0f} chars on "
        f"average): {memory['zset_usage'] / n:.0f} bytes each (used_memory delta {memory['zset_delta'] / n:.0f}); "
        f"1M queued requests ~ {memory['zset_usage'] / n * 1e6 / 2**20:.0f} MiB"
    )
    print(
        f"  queued request with its Referer header, as the crawl queues them (JSON member "
        f"{memory['referer_member_len']:.0f} chars on average): {memory['referer_usage'] / n:.0f} bytes each "
        f"(used_memory delta {memory['referer_delta'] / n:.0f}); "
        f"1M queued requests ~ {memory['referer_usage'] / n * 1e6 / 2**20:.0f} MiB"
    )
    print(
        f"  seen fingerprint (SET {memory['set_encoding']}, 40-hex SHA-1): {memory['set_usage'] / n:.0f} bytes "
        f"each (used_memory delta {memory['set_delta'] / n:.0f}); "
        f"1M seen ~ {memory['set_usage'] / n * 1e6 / 2**20:.0f} MiB"
    )
    sizes = [s for r in real for s in r.member_sizes]
    if sizes:
        print(
            f"  cross-check: members sampled from the real queue during the crawls: {statistics.mean(sizes):.0f} "
            f"chars on average ({len(sizes)} samples)"
        )
    last = real[-1] if real else None
    if last and last.dupefilter_members:
        print(
            f"  cross-check: the real mirror:dupefilter after a {last.workers}-worker run: {last.dupefilter_members} "
            f"fingerprints, {last.dupefilter_bytes / last.dupefilter_members:.0f} bytes each"
        )
    print(f"  synthetic member: {memory['sample_member']}")
    sample = next((r.sample_member for r in real if r.sample_member), "")
    if sample:
        print(f"  a real member:    {sample}")


def print_notes(by_count: dict[int, list[Result]]) -> None:
    print("Worker logs (WARNING and above, hand-backs; same message counted once per worker):")
    for count, runs in by_count.items():
        for number, run in enumerate(runs, 1):
            for worker in run.per_worker:
                exit_note = (
                    f"exit {worker.returncode} at {worker.exit_after:.2f} s, finish_reason "
                    f"{worker.finish_reason or '?'}, Scrapy elapsed {worker.elapsed:.2f} s"
                )
                print(f"  {count}w run {number} worker {worker.number}: {exit_note}")
                for note in worker.notes[:8]:
                    print(f"      {note}")
                if len(worker.notes) > 8:
                    print(f"      ... and {len(worker.notes) - 8} more kinds")


# -- main --------------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=None, help="articles on the sample mirror (default 1500)")
    parser.add_argument("--delay", type=float, default=0.3, help="server delay per request, seconds (default 0.3)")
    parser.add_argument("--quick", action="store_true", help="150 articles, one round")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of 1-2-4 workers (default 2, --quick 1)")
    parser.add_argument("--keep", type=Path, default=None, help="keep worker logs and stores in this folder")
    args = parser.parse_args()
    n_articles = args.articles or (150 if args.quick else 1500)
    rounds = args.rounds or (1 if args.quick else 2)
    depth_limit = n_articles + 10
    cores = os.cpu_count() or 1

    site = build_site(n_articles)
    reachable = len(site.article_urls())
    print(
        f"Python {platform.python_version()}, Scrapy {version('scrapy')}, scrapy-redis {version('scrapy-redis')}, "
        f"redis-py {version('redis')}; this machine has {cores} CPU cores (4 workers share them with the mirror, "
        f"the proxy and redis-server)"
    )
    print(
        f"sample mirror: {n_articles} articles ({reachable} reachable), server delay {args.delay * 1000:.0f} "
        f"ms/request; per worker CONCURRENT_REQUESTS={PER_WORKER_CONCURRENCY}, CONCURRENT_REQUESTS_PER_DOMAIN="
        f"{PER_WORKER_CONCURRENCY}; SHARED_CONCURRENT_REQUESTS_PER_MIRROR={SHARED_LIMIT}; DEPTH_LIMIT={depth_limit}; "
        f"{rounds} round(s) of {'-'.join(map(str, WORKER_COUNTS))} workers, median reported"
    )
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench_started = time.perf_counter()
    local_redis = LocalRedis(PASSWORD).start()
    redis_url = local_redis.url
    try:
        client = redis.Redis.from_url(redis_url)
        by_count: dict[int, list[Result]] = {count: [] for count in WORKER_COUNTS}
        with TimedMirrorServer(site, delay=args.delay) as server, RecordingSocks5Server(server.address) as proxy:
            for round_no in range(1, rounds + 1):
                for count in WORKER_COUNTS:
                    result = run_once(count, site, server, proxy, client, redis_url, depth_limit, workdir)
                    by_count[count].append(result)
                    print(
                        f"  round {round_no}, {count} worker(s): wall {result.wall:6.2f} s, Scrapy "
                        f"{result.scrapy_span:6.2f} s, {result.article_requests} article requests, "
                        f"{result.unique_articles} unique, stored {'/'.join(map(str, result.shares))}, "
                        f"exits {[w.returncode for w in result.per_worker]}",
                        flush=True,
                    )
        memory = measure_memory(client, MEMORY_N)
    finally:
        local_redis.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print_tables(by_count, reachable, args.delay)
    print()
    print_ratios(by_count, cores)
    print()
    print_memory(memory, [r for runs in by_count.values() for r in runs])
    print()
    print_notes(by_count)
    print()
    if args.keep:
        print(f"worker logs and stores kept in {workdir}")
    print(f"total bench time {time.perf_counter() - bench_started:.0f} s")


if __name__ == "__main__":
    main()
