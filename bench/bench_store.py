"""Benchmark the crawl store and the graph export at crawl scale.

Run as ``python bench/bench_store.py [--quick] [--keep DIR]`` from the project root.

1. synthesize a store of 100k pages and 1M links (``--quick``: 10k / 100k) with
   NYT-shaped canonical URLs, ~10 links a page in a mix of kinds, ~10% of link targets
   never fetched, 1% of pages with a canonical alias; written through ``Store.write`` in
   batches of 500 pages (pages/s and links/s);
2. export the graph as ``.json`` and ``.csv`` with :func:`crawler.store.graph.export_graph`,
   each in a fresh child process that reports its wall time and its own peak RSS
   (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), so the exports do not share a heap;
3. the naive way for comparison, also in a child: a ``networkx.DiGraph`` built from the
   same rows and ``json.dump(nx.node_link_data(G, edges="edges"))``.

Targets: the 1M-link JSON export in under 30 s and under 300 MB peak RSS. The corpus is
deterministic (``random.Random(1)``).
"""

from __future__ import annotations

import argparse
import platform
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.store import Store  # noqa: E402

NYT = "https://www.nytimes.com"
MIRROR = "nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion"
SECTIONS = [
    "world/europe",
    "world/asia",
    "us/politics",
    "business",
    "technology",
    "arts/music",
    "sports/soccer",
    "opinion",
    "science",
    "health",
    "style",
    "nyregion",
    "climate",
    "books/review",
]
_WORDS = (
    "election budget climate court market storm vaccine senate police music film team season city school "
    "border trade energy war peace strike data privacy health art museum crisis report plan deal law"
)
WORDS = _WORDS.split(" ")
BATCH = 500
JSON_SECONDS, JSON_MB = 30.0, 300.0


def article_url(rng: random.Random, number: int) -> str:
    year = 2020 + number % 6
    slug = "-".join(rng.choices(WORDS, k=rng.randint(3, 8)))
    return f"{NYT}/{year}/{1 + number % 12:02d}/{1 + number % 28:02d}/{rng.choice(SECTIONS)}/{slug}-{number}.html"


def synthesize(pages: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Page items: section fronts first, then articles; ~10 links each, 10% to unfetched targets."""
    fronts = [f"{NYT}/section/{section}" for section in SECTIONS]
    urls = fronts + [article_url(rng, n) for n in range(pages - len(fronts))]
    unfetched = [article_url(rng, pages + n) for n in range(pages // 10)]
    for number, url in enumerate(urls):
        links = []
        for _ in range(rng.randint(8, 12)):
            roll = rng.random()
            if roll < 0.10:  # dangling: never fetched
                kind = rng.choice(["article", "article", "image", "external", "file", "onion"])
                target = {
                    "article": lambda: rng.choice(unfetched),
                    "image": lambda: f"https://static01.nyt.com/images/{rng.randrange(10**6)}.jpg",
                    "external": lambda: f"https://example{rng.randrange(500)}.com/{rng.choice(WORDS)}",
                    "file": lambda: f"{NYT}/files/{rng.choice(WORDS)}-{rng.randrange(10**4)}.pdf",
                    "onion": lambda: f"http://{rng.choice(WORDS)}{rng.randrange(100)}xyzabcdefghij.onion/",
                }[kind]()
            elif roll < 0.25:
                kind, target = "navigation", rng.choice(fronts)
            else:
                kind, target = "article", urls[rng.randrange(len(urls))]
            links.append({"url": target, "kind": kind, "text": " ".join(rng.choices(WORDS, k=rng.randint(0, 6)))})
        yield {
            "url": url,
            "fetched_url": url.replace(NYT, f"http://{MIRROR}"),
            "mirror": MIRROR,
            "status": 200,
            "fetched_at": "2026-01-01T00:00:00+00:00",
            "depth": 0 if number < len(fronts) else 1 + number % 4,
            "title": " ".join(rng.choices(WORDS, k=8)).capitalize(),
            "links": links,
            "aliases": [url.replace(".html", "-amp.html")] if number % 100 == 0 else [],
        }


def build_store(path: Path, pages: int) -> tuple[float, int, int]:
    rng = random.Random(1)
    start = time.perf_counter()
    with Store(path) as store:
        batch: list[dict[str, Any]] = []
        for page in synthesize(pages, rng):
            batch.append(page)
            if len(batch) == BATCH:
                store.write(batch)
                batch = []
        store.write(batch)
        seconds = time.perf_counter() - start
        counts = store.counts()
    return seconds, counts["pages"], counts["links"]


_EXPORT = """
import resource, sys, time
from crawler.store.graph import export_graph
from crawler.store import Store
start = time.perf_counter()
with Store(sys.argv[1], create=False) as store:
    stats = export_graph(store, sys.argv[2])
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, stats.nodes, stats.edges)
"""

_NAIVE = """
import json, resource, sqlite3, sys, time
import networkx as nx
start = time.perf_counter()
db = sqlite3.connect(sys.argv[1])
G = nx.DiGraph()
for url, title, status, depth in db.execute("SELECT url, title, status, depth FROM pages"):
    G.add_node(url, title=title, status=status, fetched=status is not None, depth=depth, kind="page")
for source, target, kind, text in db.execute("SELECT source, target, kind, text FROM links"):
    G.add_edge(source, target, kind=kind, text=text)
with open(sys.argv[2], "w") as f:
    json.dump(nx.node_link_data(G, edges="edges"), f)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, G.number_of_nodes(),
      G.number_of_edges())
"""


def run_child(script: str, store: Path, output: Path) -> tuple[float, float, int, int]:
    """Wall seconds and peak RSS (MB) of ``script`` in a fresh interpreter, and what it wrote."""
    result = subprocess.run(
        [sys.executable, "-c", script, str(store), str(output)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if result.returncode:
        raise SystemExit(f"child failed:\n{result.stderr}")
    seconds, rss_kib, nodes, edges = result.stdout.split()
    return float(seconds), int(rss_kib) / 1024, int(nodes), int(edges)


def baseline_rss() -> float:
    """Peak RSS (MB) of an interpreter that only imports the export's modules: the floor."""
    script = "import resource, crawler.store.graph; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    return int(out.stdout) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k pages / 100k links instead of 100k / 1M")
    parser.add_argument("--keep", metavar="DIR", help="write the store and exports in DIR and keep them")
    args = parser.parse_args()
    pages = 10_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        store = folder / "bench.sqlite3"
        for stale in folder.glob("bench.sqlite3*"):
            stale.unlink()
        print(
            f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {platform.machine()}; "
            f"synthesizing {pages:,} pages ...",
            flush=True,
        )
        seconds, page_count, link_count = build_store(store, pages)
        size_mb = store.stat().st_size / 2**20
        print(
            f"\nstore write: {page_count:,} pages, {link_count:,} links in {seconds:.1f} s "
            f"({page_count / seconds:,.0f} pages/s, {link_count / seconds:,.0f} links/s), {size_mb:.0f} MB file, "
            f"batches of {BATCH}\n",
            flush=True,
        )

        floor = baseline_rss()
        rows = []
        for label, script, name in [
            ("export_graph .json (streamed)", _EXPORT, "graph.json"),
            ("export_graph .csv (streamed)", _EXPORT, "graph.csv"),
            ("naive networkx node_link_data", _NAIVE, "naive.json"),
        ]:
            seconds, rss, nodes, edges = run_child(script, store, folder / name)
            size = (folder / name).stat().st_size / 2**20
            rows.append((label, seconds, rss, nodes, edges, size))
            print(f"  done: {label}", flush=True)

        naive_seconds, naive_rss = rows[-1][1], rows[-1][2]
        print(
            f"\n{'export':32} {'time s':>8} {'peak RSS MB':>12} {'nodes':>10} {'edges':>10} {'file MB':>8} "
            f"{'time vs naive':>14} {'RSS vs naive':>13}"
        )
        for label, seconds, rss, nodes, edges, size in rows:
            print(
                f"{label:32} {seconds:8.1f} {rss:12.0f} {nodes:10,} {edges:10,} {size:8.0f} "
                f"{seconds / naive_seconds:13.2f}x {rss / naive_rss:12.2f}x"
            )
        print(f"(interpreter with crawler.store.graph imported, nothing exported: {floor:.0f} MB peak RSS)")
        print(
            "naive edges are link rows: one per anchor text, so duplicates of (source, target) collapse in the "
            "DiGraph; export_graph merges anchor texts per (source, target) and resolves aliases."
        )

        json_seconds, json_rss = rows[0][1], rows[0][2]
        scale = "1M-link" if not args.quick else "quick (100k-link)"
        verdict = json_seconds < JSON_SECONDS and json_rss < JSON_MB
        print(
            f"\ntarget ({scale} JSON export < {JSON_SECONDS:.0f} s and < {JSON_MB:.0f} MB peak): "
            f"{json_seconds:.1f} s, {json_rss:.0f} MB -> {'PASS' if verdict else 'FAIL'}"
        )


if __name__ == "__main__":
    main()
