"""Benchmark a crawl's peak memory: normal pages, the hostile pages with the crawl's bounds, and without them.

Run as ``python bench/bench_memory.py [--articles N] [--rounds R] [--per-page] [--quick]`` from the project root.

One run serves one sample mirror (``build_site(N)``, default 300 articles) with its hostile pages
(``MirrorServer(site, hostile=True)``, crawler/samplemirror/hostile.py: a gzip bomb of 10 MiB expanding to 10 GiB,
100,000 and 1,000 nested ``<div>``, a 30 MiB page, 50,000 links, 1,000,000 ``<br>``, an unknown charset, a body
shorter than its Content-Length) behind the recording SOCKS5 proxy. Eight crawls, each ``scrapy crawl mirror`` in
its own subprocess and fresh folder, with the fast settings of tests/crawling.py (CONCURRENT_REQUESTS=16, per
domain too, AutoThrottle off), the project's pipelines (SQLite store) and ``-o pages.jsonl``:

1. ``normal``: the sample mirror from ``/``, DEPTH_LIMIT=N+10 (every article);
2. ``hostile``: the hostile pages from their hub, ``/hostile/``, DEPTH_LIMIT=1 (the hub and its pages; the 50,000
   links of the many-links page are recorded, not fetched), with the project's bounds (crawler/settings.py:
   PAGE_MAX_BYTES, PAGE_MAX_TAGS, LINKS_MAX_PER_PAGE, EXTRACT_MAX_BYTES, EXTRACT_MAX_TAGS);
3. ``hostile-archived``: the same with ``WARC_DIR`` (every answer archived as it came);
4. ``hostile-unbounded``: the same as 2 with those five settings at 0 (no limit): the crawl before the bounds;
5. ``huge x16``: a mirror whose every answer is the 30 MiB page (the hub links it 16 times, ``?copy=N``): what
   bodies in flight cost, which the five settings do not bound, at 16 requests at once, then at the project's
   default concurrency (8, 4 per mirror), then the same with ``DOWNLOAD_MAXSIZE`` at 8 MiB; and the same
   mirror with pages of 8 MiB (``&mib=8``), which are read (links, rewritten HTML) but not extracted.

Each crawl runs as the only child of a small runner process, which prints ``getrusage(RUSAGE_CHILDREN).ru_maxrss``
once it has ended: the crawl's own peak RSS (VmHWM), measured by the kernel. The table gives it (median and max of
the rounds: it moves by a few MiB), the wall time, the pages stored (status 200, and failures: no status), the
treatments recorded (``extra`` of the feed: parse_skipped, links_capped, clean_skipped) and the exit status; then
the ratios, and the verdict against the bound of docs/crawl.md (:data:`BOUND_MIB`). ``--per-page`` also crawls
each hostile page alone (``/hostile/?page=NAME``), bounded and unbounded: what each one costs over the hub alone.

A last table gives what each step costs a page, each measured in a fresh interpreter (peak RSS over what it held
before the step, and time): Scrapy parsing a page (``response.css``), reading its links (``extract_links``), the
rewriter on the 30 MiB page, and extraction (``extract_article``) of a text-heavy and of a tag-dense page: the
figures behind the defaults of the five settings. ``--quick``: 60 articles, smaller pages for the step costs.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler import settings as defaults  # noqa: E402
from crawler.samplemirror import MIRROR_V3, MirrorServer, RecordingSocks5Server, build_site  # noqa: E402
from crawler.samplemirror.crawls import scrapy_command  # noqa: E402
from crawler.samplemirror.hostile import HOSTILE_PAGES, HUB_PATH  # noqa: E402
from tests.crawling import FAST, read_items  # noqa: E402
from tests.support.peak import run_with_peak  # noqa: E402

BOUND_MIB = 512  # docs/crawl.md, "Hostile pages"; tests/test_hostile.py holds a crawl to it
BOUNDS = ("PAGE_MAX_BYTES", "PAGE_MAX_TAGS", "LINKS_MAX_PER_PAGE", "EXTRACT_MAX_BYTES", "EXTRACT_MAX_TAGS")
UNBOUNDED = dict.fromkeys(BOUNDS, "0")
CRAWL_TIMEOUT = 900.0
TREATMENTS = ("parse_skipped", "links_capped", "clean_skipped")
HUGE_COPIES = 16  # a mirror whose every answer is the 30 MiB page


# The crawl as the runner's only child; then its peak RSS (KiB) on stdout.
@dataclass(frozen=True)
class Contestant:
    name: str
    start: str  # path on the mirror
    settings: dict[str, str]


@dataclass
class Result:
    peak_mib: float
    wall: float
    ok: int  # pages stored with status 200
    failed: int  # pages stored without a status (no response)
    treatments: Counter[str]
    returncode: int


def run_crawl(contestant: Contestant, proxy_url: str) -> Result:
    """One crawl in a fresh folder, its peak RSS measured by the runner."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-memory-{contestant.name}-"))
    try:
        settings = {**FAST, "LOG_LEVEL": "WARNING", "ONION_PROXY": proxy_url, **contestant.settings}
        start = f"http://{MIRROR_V3}{contestant.start}"
        command, env = scrapy_command(
            ["crawl", "mirror", "-a", f"start_urls={start}", "-o", "pages.jsonl:jsonl"], settings
        )
        run = run_with_peak(command, timeout=CRAWL_TIMEOUT, cwd=workdir, env=env)
        if run.returncode != 0 or "Traceback" in run.stderr:
            print(f"  [{contestant.name}] exit {run.returncode}; stderr tail:\n{run.stderr[-2000:]}")
        return Result(
            peak_mib=run.peak_mib,
            wall=run.seconds,
            ok=_count(workdir, "status = 200"),
            failed=_count(workdir, "status IS NULL"),
            treatments=_treatments(workdir),
            returncode=run.returncode,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _count(workdir: Path, where: str) -> int:
    path = workdir / "crawl.sqlite3"
    if not path.exists():
        return 0
    store = sqlite3.connect(path)
    try:
        return int(store.execute(f"SELECT COUNT(*) FROM pages WHERE {where}").fetchone()[0])
    finally:
        store.close()


def _treatments(workdir: Path) -> Counter[str]:
    """``name: reason`` of every treatment recorded in the feed (``links_capped`` has no reason name)."""
    found: Counter[str] = Counter()
    for item in read_items(workdir / "pages.jsonl"):
        for name in TREATMENTS:
            if name in item["extra"]:
                reason = item["extra"][name].split(":", 1)[0]
                found[name if name == "links_capped" else f"{name}: {reason}"] += 1
    return found


# -- the whole crawls -------------------------------------------------------------------------------------------------


def contestants(n_articles: int) -> list[Contestant]:
    hostile = {"DEPTH_LIMIT": "1"}
    every_answer_huge = f"{HUB_PATH}?page=huge-page&copies={HUGE_COPIES}"
    at_default_concurrency = {
        "DEPTH_LIMIT": "1",
        "CONCURRENT_REQUESTS": str(defaults.CONCURRENT_REQUESTS),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(defaults.CONCURRENT_REQUESTS_PER_DOMAIN),
    }
    return [
        Contestant("normal", "/", {"DEPTH_LIMIT": str(n_articles + 10)}),
        Contestant("hostile", HUB_PATH, hostile),
        Contestant("hostile-archived", HUB_PATH, {**hostile, "WARC_DIR": "warc"}),
        Contestant("hostile-unbounded", HUB_PATH, {**hostile, **UNBOUNDED}),
        Contestant("huge x16, 16 at once", every_answer_huge, hostile),
        Contestant("huge x16, 8 at once", every_answer_huge, at_default_concurrency),
        Contestant(
            "  and maxsize 8 MiB", every_answer_huge, {**at_default_concurrency, "DOWNLOAD_MAXSIZE": str(8 << 20)}
        ),
        Contestant("8 MiB x16, 8 at once", f"{every_answer_huge}&mib=8", at_default_concurrency),
    ]


def print_crawls(runs: dict[str, list[Result]]) -> None:
    columns = f"{'peak RSS MiB':>12} {'(max)':>7} {'wall s':>7} {'200':>5} {'failed':>6} {'exit':>4}"
    header = f"{'crawl':<22} {columns}  treatments"
    print(header)
    print("-" * len(header))
    for name, results in runs.items():
        peak = statistics.median(r.peak_mib for r in results)
        wall = statistics.median(r.wall for r in results)
        exits = ",".join(sorted({str(r.returncode) for r in results}))
        treatments = ", ".join(f"{key} {n}" for key, n in sorted(results[-1].treatments.items())) or "-"
        print(
            f"{name:<22} {peak:>12.0f} {max(r.peak_mib for r in results):>7.0f} {wall:>7.1f} "
            f"{results[-1].ok:>5} {results[-1].failed:>6} {exits:>4}  {treatments}"
        )
    peak = {name: statistics.median(r.peak_mib for r in results) for name, results in runs.items()}
    wall = {name: statistics.median(r.wall for r in results) for name, results in runs.items()}
    print()
    print(f"hostile / normal peak RSS:            {peak['hostile'] / peak['normal']:.2f}x")
    print(f"hostile-archived / hostile peak RSS:  {peak['hostile-archived'] / peak['hostile']:.2f}x")
    unbounded, slower = (ratio["hostile-unbounded"] / ratio["hostile"] for ratio in (peak, wall))
    print(f"hostile-unbounded / hostile peak RSS: {unbounded:.2f}x (wall {slower:.1f}x)")
    bounded = ("normal", "hostile", "hostile-archived")
    worst = max(r.peak_mib for name in bounded for r in runs[name])
    verdict = "met" if worst < BOUND_MIB else "MISSED"
    print(f"bound: {', '.join(bounded)} under {BOUND_MIB} MiB: {verdict} (highest {worst:.0f} MiB)")


def per_page(proxy_url: str) -> None:
    """Each hostile page alone from a hub that links only it, bounded and unbounded."""
    hub_alone = run_crawl(Contestant("hub", f"{HUB_PATH}?page=none", {"DEPTH_LIMIT": "1"}), proxy_url).peak_mib
    print(f"{'page':<14} {'bounded MiB':>11} {'unbounded MiB':>13} {'bounded s':>9} {'unbounded s':>11}  treatment")
    print(f"{'(hub alone)':<14} {hub_alone:>11.0f}")
    for page in HOSTILE_PAGES:
        start = f"{HUB_PATH}?page={page.name}"
        bounded = run_crawl(Contestant(page.name, start, {"DEPTH_LIMIT": "1"}), proxy_url)
        unbounded = run_crawl(Contestant(page.name, start, {"DEPTH_LIMIT": "1", **UNBOUNDED}), proxy_url)
        treatment = ", ".join(sorted(bounded.treatments)) or ("failed" if bounded.failed else "-")
        print(
            f"{page.name:<14} {bounded.peak_mib:>11.0f} {unbounded.peak_mib:>13.0f} "
            f"{bounded.wall:>9.1f} {unbounded.wall:>11.1f}  {treatment}",
            flush=True,
        )


# -- what each step costs a page --------------------------------------------------------------------------------------

STEP = """
import sys, time
sys.path.insert(0, {root!r})
from scrapy.http import HtmlResponse
from crawler.samplemirror import MIRROR_V3, hostile
from crawler.url.normalize import normalizer_for
from crawler.url.plan import MirrorPlan
from crawler.url.rewrite import Rewriter
from crawler.links import extract_links
from crawler.extract import extract_article


def status(name):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(name + ":"))


url = "http://" + MIRROR_V3 + "/2016/12/06/hostile/x.html"
body = {body}
response = HtmlResponse(url, body=body, headers={{"Content-Type": "text/html; charset=utf-8"}})
text = response.text
plan = MirrorPlan.from_start_urls([url], normalizer_for(None))
if {step!r} != "parse":
    response.selector  # the parse is the step before
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # VmHWM starts again from VmRSS (Linux 4.0+)
started = time.perf_counter()
if {step!r} == "parse":
    response.css("title::text").get()
elif {step!r} == "links":
    found = extract_links(response, plan)
elif {step!r} == "rewrite":
    out = Rewriter(plan.normalizer).rewrite(text, base=url)
else:
    article = extract_article(text, "https://www.nytimes.com/2016/12/06/hostile/x.html")
seconds = time.perf_counter() - started
links = len(response.xpath("//a[@href]")) if {step!r} == "links" else 0
print((status("VmHWM") - before) / 1024, seconds, len(body), body.count(b"<"), links)
"""


def step_costs(quick: bool) -> None:
    """What one step on one page costs: its peak RSS over what the interpreter held just before (VmHWM, reset
    through /proc/self/clear_refs), and its time, each in a fresh interpreter."""
    scale = 4 if quick else 1
    huge = f"hostile.huge_page('/x', {30 * 2**20 // scale})"
    text_heavy = f"hostile.huge_page('/x', {4 * 2**20 // scale})"
    links = "hostile.render(hostile.HostilePage('many-links', '').path)[2]"
    tag_soup = f"b'<html><body>' + b'<br>' * {1_000_000 // scale}"
    paragraphs = f"b'<html><body>' + b'<p>x</p>' * {65_536 // scale}"
    cases = [
        ("parse", "article page", huge, "MiB"),
        ("parse", "<br> tag soup", tag_soup, "tag"),
        ("parse", "many-links page", links, "tag"),
        ("links", "many-links page", links, "link"),
        ("rewrite", "article page", huge, "MiB"),
        ("rewrite", "many-links page", links, "MiB"),
        ("extract", "article page", text_heavy, "MiB"),
        ("extract", "<p>x</p> tag soup", paragraphs, "tag"),
    ]
    print(f"{'step':<8} {'page':<18} {'MiB':>6} {'tags':>9}  {'peak RSS MiB':>12} {'seconds':>8}  per unit")
    for step, label, body, unit in cases:
        code = STEP.format(root=str(ROOT), body=body, step=step)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=CRAWL_TIMEOUT)
        if done.returncode != 0:
            print(f"{step:<8} {label:<18} failed: {done.stderr[-500:]}")
            continue
        mib, seconds, size, tags, n_links = (float(x) for x in done.stdout.split())
        units = {"MiB": size / 2**20, "tag": tags, "link": n_links}[unit]
        per = f"{mib / units:.1f} MiB/MiB" if unit == "MiB" else f"{mib * 2**20 / units:,.0f} bytes/{unit}"
        print(
            f"{step:<8} {label:<18} {size / 2**20:>6.1f} {tags:>9,.0f}  {mib:>12.0f} {seconds:>8.2f}  {per}",
            flush=True,
        )


# -- main -------------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=None, help="articles on the sample mirror (default 300)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the crawls, interleaved (default 1)")
    parser.add_argument("--per-page", action="store_true", help="also crawl each hostile page alone")
    parser.add_argument("--quick", action="store_true", help="60 articles; smaller pages for the step costs")
    args = parser.parse_args()
    n_articles = args.articles or (60 if args.quick else 300)
    print(
        f"Python {platform.python_version()}, Scrapy {version('scrapy')}, lxml {version('lxml')}, "
        f"trafilatura {version('trafilatura')}, {os.cpu_count()} CPUs; sample mirror of {n_articles} articles "
        f"and {len(HOSTILE_PAGES)} hostile pages; bounds: "
        + ", ".join(f"{name}={getattr(defaults, name):,}" for name in BOUNDS)
        + f"; DOWNLOAD_MAXSIZE={defaults.DOWNLOAD_MAXSIZE:,}; {args.rounds} round(s)"
    )
    started = time.perf_counter()
    site = build_site(n_articles)
    with MirrorServer(site, hostile=True) as server, RecordingSocks5Server(server.address) as proxy:
        runs: dict[str, list[Result]] = {}
        for round_no in range(1, args.rounds + 1):
            for contestant in contestants(n_articles):
                with server._lock:
                    server._attempts.clear()  # every crawl meets the same 503-once page
                result = run_crawl(contestant, proxy.url)
                runs.setdefault(contestant.name, []).append(result)
                print(
                    f"  round {round_no} {contestant.name:<22} peak {result.peak_mib:6.0f} MiB, "
                    f"wall {result.wall:6.1f} s, {result.ok} pages 200, {result.failed} failed",
                    flush=True,
                )
        print()
        print_crawls(runs)
        if args.per_page:
            print()
            per_page(proxy.url)
    print()
    step_costs(args.quick)
    print()
    print(f"total bench time {time.perf_counter() - started:.0f} s; this process's peak RSS ", end="")
    print(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (the mirror and its pages)")


if __name__ == "__main__":
    main()
