"""Benchmark the graph viewer (``scrapy graph -o graph.html``): file size and time to first render
in headless chromium, at 1k nodes / 5k edges and 10k nodes / 50k edges, against pyvis.

Run as ``python bench/bench_viewer.py [--quick] [--sizes 1000:5000,10000:50000] [--peer-timeout S]``
from the project root, with the ``bench`` extra (websockets, pyvis) and Debian's chromium.

1. synthesize a store per size (``random.Random(1)``): 80% of the nodes fetched NYT-shaped articles
   (title, section, two authors, 2 kB of text), 20% link targets never fetched (articles, images,
   external pages); each edge from a fetched page to a target drawn with a Zipf-like skew, so that
   in-degrees spread as in a crawl;
2. write the page with :func:`crawler.store.graph.export_graph` (wall time, file size);
3. open it from disk in headless chromium (:mod:`crawler.viewer.headless`, SwiftShader WebGL, every
   request recorded): time to first render (``performance.now()`` when sigma's constructor has drawn,
   from the start of navigation), to the first painted frame, and to the end of ForceAtlas2; frames
   per second while the layout runs and while the camera moves afterwards; the time to draw one frame
   to the end (a pixel read back from each WebGL context); requests made;
4. the peer: the same graph through pyvis 0.3.2 (``cdn_resources="in_line"``, its defaults
   otherwise: vis-network with physics stabilization), opened in the same browser; time to its first
   drawing (``afterDrawing``, hooked into its page). Its page loads bootstrap from a CDN even so: the
   URLs are counted, then cut out of the page, so that the time is its drawing and not the browser
   giving up on the CDN; the requests it still tries (its relative ``node_modules`` links) are refused.

``--quick`` runs the 1k size only.
"""

from __future__ import annotations

import argparse
import platform
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.store import Store  # noqa: E402
from crawler.store.graph import export_graph  # noqa: E402
from crawler.viewer.headless import Chromium, chromium_missing  # noqa: E402

NYT = "https://www.nytimes.com"
SECTIONS = ["world", "us", "politics", "business", "technology", "arts", "sports", "opinion", "science", "health"]
_WORDS = (
    "election budget climate court market storm vaccine senate police music film team season city school "
    "border trade energy war peace strike data privacy health art museum crisis report plan deal law"
)
WORDS = _WORDS.split(" ")

# Frames counted in the page for two seconds.
_FPS = """new Promise(done => { let frames = 0; const until = performance.now() + 2000;
  (function tick() { frames++; if (performance.now() < until) requestAnimationFrame(tick); else done(frames / 2); })();
})"""

# One frame drawn, to the end: sigma's render, then a pixel read back from each of its WebGL contexts.
_FRAME = """(() => { const r = viewer.renderer, gls = Object.values(r.webGLContexts), px = new Uint8Array(4);
  const sync = () => gls.forEach(g => g.readPixels(0, 0, 1, 1, g.RGBA, g.UNSIGNED_BYTE, px));
  sync(); const t0 = performance.now(); for (let i = 0; i < 3; i++) { r.render(); sync(); }
  return (performance.now() - t0) / 3; })()"""


def synthesize(path: Path, nodes: int, edges: int, rng: random.Random) -> None:
    fetched = int(nodes * 0.8)
    urls = [f"{NYT}/2026/{1 + i % 12:02d}/{1 + i % 28:02d}/{SECTIONS[i % 10]}/story-{i}.html" for i in range(fetched)]
    targets = urls + [
        (
            f"https://static01.nyt.com/images/{i}.jpg"
            if i % 3 == 0
            else f"https://example{i % 50}.org/{i}"
            if i % 3 == 1
            else f"{NYT}/2025/12/01/world/old-{i}.html"
        )
        for i in range(nodes - fetched)
    ]
    kinds = {t: "image" if "static01" in t else "external" if "example" in t else "article" for t in targets}
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(targets))]
    order = targets[:]
    rng.shuffle(order)
    links: dict[str, set[str]] = {url: set() for url in urls}
    # Every node linked at least once (so the graph has them all), then skewed draws up to ``edges``.
    for i, target in enumerate(order):
        links[urls[i % fetched]].add(target)
    count = sum(len(v) for v in links.values())
    while count < edges:
        for target in rng.choices(order, weights, k=edges - count):
            source = urls[rng.randrange(fetched)]
            if target != source and target not in links[source]:
                links[source].add(target)
                count += 1
    pages = []
    for i, url in enumerate(urls):
        title = " ".join(rng.choice(WORDS) for _ in range(6)).capitalize()
        pages.append(
            {
                "url": url,
                "fetched_url": url.replace(NYT, "http://nyt.onion"),
                "mirror": "nyt.onion",
                "status": 200,
                "fetched_at": f"2026-12-01T08:{i % 60:02d}:00+00:00",
                "depth": 1 + i % 5,
                "title": title,
                "section": SECTIONS[i % 10],
                "authors": ["Jane Doe", "John Roe"],
                "published": "2026-11-30T12:00:00+00:00",
                "text": "\n".join(" ".join(rng.choice(WORDS) for _ in range(40)) for _ in range(8)),
                "links": [{"url": t, "kind": kinds[t], "text": title[:20]} for t in sorted(links[url])],
            }
        )
    with Store(path) as store:
        for start in range(0, len(pages), 500):
            store.write(pages[start : start + 500])


def measure_viewer(browser: Chromium, html: Path) -> dict[str, Any]:
    began = time.perf_counter()
    tab = browser.open(html, timeout=300)
    loaded = time.perf_counter() - began
    try:
        tab.wait_for("window.viewer && viewer.timings.painted", timeout=300)
        during = tab.evaluate(_FPS, await_promise=True)
        tab.wait_for("viewer.layout.done", timeout=600)
        after = tab.evaluate(
            "(() => { const c = viewer.renderer.getCamera(); c.animate({ratio: c.ratio / 3}, {duration: 2000}); })()"
        )
        after = tab.evaluate(_FPS, await_promise=True)
        frame_ms = tab.evaluate(_FRAME)
        timings = tab.evaluate("viewer.timings")
        result = {
            "order": tab.evaluate("[viewer.graph.order, viewer.graph.size]"),
            "load_s": loaded,
            "first_render_ms": timings["rendered"],
            "painted_ms": timings["painted"],
            "parsed_ms": timings["parsed"],
            "laid_out_ms": timings["laidOut"],
            "iterations": tab.evaluate("viewer.layout.iterations"),
            "fps_layout": during,
            "fps_after": after,
            "frame_ms": frame_ms,
            "requests": [url for url in tab.requests if url != tab.url],
            "errors": tab.errors,
        }
    finally:
        tab.close()
    return result


def pyvis_page(store_path: Path, out: Path) -> tuple[float, list[str]]:
    from pyvis.network import Network

    with Store(store_path, create=False) as store:
        nodes = dict(store.db.execute("SELECT url, title FROM pages"))
        edges = store.db.execute("SELECT source, target FROM links").fetchall()
    began = time.perf_counter()
    net = Network(directed=True, cdn_resources="in_line")
    for target in {t for _, t in edges} | set(nodes):
        net.add_node(target, label=nodes.get(target) or target, title=target)
    for source, target in edges:
        net.add_edge(source, target)
    page = net.generate_html()
    # Its page loads bootstrap from a CDN (with cdn_resources="in_line" too): counted, then cut out, so
    # that what is timed is its drawing, not the browser giving up on the CDN (tens of seconds here).
    cdn = re.findall(r'<(?:script|link)[^>]*(?:src|href)="(https?://[^"]+)"[^>]*>(?:</script>)?', page)
    page = re.sub(r'<(?:script|link)[^>]*(?:src|href)="https?://[^"]+"[^>]*>(?:</script>)?', "", page)
    hook = "network = new vis.Network(container, data, options);"
    assert hook in page
    page = page.replace(
        hook, hook + " network.once('afterDrawing', () => { window.__firstDraw = performance.now(); });"
    )
    out.write_text(page, encoding="utf-8")
    return time.perf_counter() - began, cdn


def measure_pyvis(browser: Chromium, html: Path, timeout: float) -> dict[str, Any]:
    began = time.monotonic()
    try:
        tab = browser.open(html, timeout=timeout)  # its script lays out before the load event, at 10k
    except TimeoutError:
        browser.send("Target.closeTarget", {"targetId": browser.last_target})
        return {"first_render_ms": None, "requests": []}
    try:
        try:
            first = tab.wait_for("window.__firstDraw", timeout=max(1, timeout - (time.monotonic() - began)))
        except TimeoutError:
            first = None
        requests = [url for url in tab.requests if url != tab.url]
    finally:
        tab.close()
    return {"first_render_ms": first, "requests": requests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the 1k size only")
    parser.add_argument("--sizes", default="1000:5000,10000:50000", help="NODES:EDGES,...")
    parser.add_argument("--peer-timeout", type=float, default=180, help="seconds to wait for pyvis's first drawing")
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    missing = chromium_missing()
    if missing:
        sys.exit(f"bench_viewer: {missing}")
    sizes = [tuple(int(x) for x in size.split(":")) for size in args.sizes.split(",")]
    if args.quick:
        sizes = sizes[:1]
    print(
        f"# bench_viewer, {platform.node()}, {platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as folder, Chromium(width=1400, height=900) as browser:
        for nodes, edges in sizes:
            store_path = Path(folder, f"s{nodes}.sqlite3")
            synthesize(store_path, nodes, edges, random.Random(1))
            html = Path(folder, f"g{nodes}.html")
            began = time.perf_counter()
            with Store(store_path, create=False) as store:
                stats = export_graph(store, html, max_nodes=None, max_edges=None)
            written = time.perf_counter() - began
            viewer = measure_viewer(browser, html)
            assert viewer["order"] == [stats.nodes, stats.edges], (viewer["order"], stats)
            row = {
                "nodes": stats.nodes,
                "edges": stats.edges,
                "size": html.stat().st_size,
                "write_s": written,
                **viewer,
            }
            print_row(row)
            if not args.no_peer:
                peer_html = Path(folder, f"pyvis{nodes}.html")
                row["peer_write_s"], row["peer_cdn"] = pyvis_page(store_path, peer_html)
                row["peer_size"] = peer_html.stat().st_size
                row["peer"] = measure_pyvis(browser, peer_html, args.peer_timeout)
                print_peer(row, args.peer_timeout)
            rows.append(row)
    print()
    print(
        "| graph | project: file | written in | first render | first frame | layout done (iterations) "
        "| fps during / after layout | one frame drawn | requests | pyvis: file | pyvis: first drawing "
        "| pyvis: CDN URLs / other requests |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        peer = row.get("peer") or {}
        drawn = peer.get("first_render_ms")
        peer_first = "-" if not peer else f"{drawn / 1000:.2f} s" if drawn else f"none after {args.peer_timeout:.0f} s"
        print(
            f"| {row['nodes']:,} nodes / {row['edges']:,} edges | {row['size'] / 1e6:.2f} MB | {row['write_s']:.2f} s "
            f"| {row['first_render_ms'] / 1000:.2f} s | {row['painted_ms'] / 1000:.2f} s "
            f"| {row['laid_out_ms'] / 1000:.1f} s ({row['iterations']}) "
            f"| {row['fps_layout']:.0f} / {row['fps_after']:.0f} | {row['frame_ms']:.0f} ms "
            f"| {len(row['requests'])} | {row.get('peer_size', 0) / 1e6:.2f} MB | {peer_first} "
            f"| {len(row.get('peer_cdn', []))} / {len(peer.get('requests', []))} |"
        )


def print_row(row: dict[str, Any]) -> None:
    print(
        f"{row['nodes']} nodes, {row['edges']} edges: {row['size']:,} bytes written in {row['write_s']:.2f} s; "
        f"JSON parsed at {row['parsed_ms']:.0f} ms, first render {row['first_render_ms']:.0f} ms, "
        f"first frame {row['painted_ms']:.0f} ms, ForceAtlas2 done at {row['laid_out_ms']:.0f} ms "
        f"({row['iterations']} iterations), {row['fps_layout']:.0f} fps during the layout, "
        f"{row['fps_after']:.0f} after, one frame drawn in {row['frame_ms']:.0f} ms; "
        f"requests besides the file: {row['requests']}; errors: {row['errors']}",
        flush=True,
    )


def print_peer(row: dict[str, Any], peer_timeout: float) -> None:
    peer = row["peer"]
    first = peer["first_render_ms"]
    drawn = f"{first:.0f} ms" if first else f"none after {peer_timeout:.0f} s"
    tried = sorted(set(peer["requests"]))[:4]
    print(
        f"  pyvis: {row['peer_size']:,} bytes written in {row['peer_write_s']:.2f} s, first drawing {drawn}, "
        f"CDN URLs in its page: {row['peer_cdn']}; requests tried without them: {tried}",
        flush=True,
    )


if __name__ == "__main__":
    main()
