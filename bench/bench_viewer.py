"""Benchmark the graph viewer (``scrapy graph -o graph.html``): file size, time to first render and
frame times during a scripted interaction in headless chromium, at 1k nodes / 5k edges and 10k nodes /
50k edges, against pyvis. Every figure of the table comes from one run of this script.

Run as ``python bench/bench_viewer.py [--quick] [--sizes 1000:5000,10000:50000] [--peer-timeout S]
[--compositing swiftshader|software|both] [--no-peer]`` from the project root, with the ``bench`` extra
(websockets, pyvis) and Debian's chromium.

1. synthesize a store per size (``random.Random(1)``): 80% of the nodes fetched NYT-shaped articles
   (title, section, two authors, 2 kB of text), 20% link targets never fetched (articles, images,
   external pages); each edge from a fetched page to a target drawn with a Zipf-like skew, so that
   in-degrees spread as in a crawl;
2. write the page with :func:`crawler.store.graph.export_graph` (wall time, file size);
3. open it from disk in headless chromium (:mod:`tests.support.headless`, SwiftShader WebGL, every
   request recorded), once per way of compositing (``--compositing``): the browser's frames composited
   by SwiftShader as well (headless chromium's default without GPU: every canvas layer costs a
   composite on the CPU at every frame), and ``--disable-gpu-compositing`` (the software compositor a
   desktop browser falls back to without GPU). Figures, from the page's ``performance.now()``: first
   render (sigma's constructor has drawn the graph), first frame (two animation frames later), the end
   of ForceAtlas2; then, once the layout is done, :func:`interact`: camera animations, a mouse drag,
   wheel zooms, a reset, hovering and clicking the most linked node, a click on the background, a
   search; every frame that drew the graph is measured by the page (from its start to the next
   frame's start), median and 95th percentile, and those while the camera moves; then one still frame
   drawn to the end (edges and all; a pixel read back from each WebGL context); requests made;
4. the peer: the same graph through pyvis 0.3.2 (``cdn_resources="in_line"``, its defaults
   otherwise: vis-network with physics stabilization), opened in the first browser; time to its first
   drawing (``afterDrawing``, hooked into its page). Its page loads bootstrap from a CDN even so: the
   URLs are counted, then cut out of the page, so that the time is its drawing and not the browser
   giving up on the CDN; the requests it still tries (its relative ``node_modules`` links) are refused.

``--quick`` runs the 1k size only.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import platform
import random
import re
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.store import Store  # noqa: E402
from crawler.store.graph import export_graph  # noqa: E402
from tests.support.headless import Chromium, chromium_missing  # noqa: E402

# The browser's two ways to composite its frames without a GPU; WebGL runs on SwiftShader in both.
COMPOSITING: dict[str, tuple[str, ...]] = {"swiftshader": (), "software": ("--disable-gpu-compositing",)}

NYT = "https://www.nytimes.com"
SECTIONS = ["world", "us", "politics", "business", "technology", "arts", "sports", "opinion", "science", "health"]
_WORDS = (
    "election budget climate court market storm vaccine senate police music film team season city school "
    "border trade energy war peace strike data privacy health art museum crisis report plan deal law"
)
WORDS = _WORDS.split(" ")

# One frame drawn, to the end: sigma's render, then a pixel read back from each of its WebGL contexts.
_FRAME = """(() => { const r = viewer.renderer, gls = Object.values(r.webGLContexts), px = new Uint8Array(4);
  const sync = () => gls.forEach(g => g.readPixels(0, 0, 1, 1, g.RGBA, g.UNSIGNED_BYTE, px));
  sync(); const t0 = performance.now(); for (let i = 0; i < 3; i++) { r.render(); sync(); }
  return (performance.now() - t0) / 3; })()"""

# An interaction, recorded by the page: the start of every animation frame (requestAnimationFrame's
# timestamp), of every render of sigma's (its beforeRender event), every node hovered (enterNode), and the
# marks the script sets when a phase begins.
_RECORD = """(() => { const f = window.__frames = { ticks: [], renders: [], hovers: [], marks: [], stop: false };
  const r = viewer.renderer, now = () => performance.now();
  f.onRender = () => f.renders.push(now()); r.on('beforeRender', f.onRender);
  f.onHover = () => f.hovers.push(now()); r.on('enterNode', f.onHover);
  f.mark = name => f.marks.push([now(), name]);
  requestAnimationFrame(function tick(ts) { f.ticks.push(ts); if (!f.stop) requestAnimationFrame(tick); }); })()"""
_RECORDED = """new Promise(done => { const f = window.__frames; f.stop = true;
  viewer.renderer.off('beforeRender', f.onRender); viewer.renderer.off('enterNode', f.onHover);
  requestAnimationFrame(() => done({ticks: f.ticks, renders: f.renders, hovers: f.hovers, marks: f.marks})); })"""
# The phases where the camera moves all along, and those of one action and its answer.
MOVING = ("zoom", "pan", "drag", "wheel", "reset")
ACTIONS = ("hover", "click", "background", "search")


def frame_times(recorded: dict[str, Any]) -> dict[str, list[float]]:
    """Per phase: while the camera moves, the time from the start of each frame that rendered to the start
    of the next one that did (how often the picture changes); for an action, the time from the input to the
    start of the frame after the one that drew its answer (the answer on screen): the first render after it
    (a hover: the hover layer, drawn at the next frame)."""
    ticks, marks = recorded["ticks"], recorded["marks"]
    ends = [when for when, _ in marks[1:]] + [ticks[-1]]
    times: dict[str, list[float]] = {}
    for (start, phase), end in zip(marks, ends, strict=True):
        if phase in MOVING:
            renders = [r for r in recorded["renders"] if start <= r < end]
            drawn = sorted({ticks[bisect.bisect_right(ticks, r) - 1] for r in renders if r >= ticks[0]})
            times[phase] = [b - a for a, b in itertools.pairwise(drawn)]
        else:
            events = recorded["hovers"] if phase == "hover" else recorded["renders"]
            first = next((e for e in events if start <= e < end), None)
            later = [t for t in ticks if first is not None and t > first]
            if first is not None and len(later) >= 2:
                times[phase] = [later[1] - start]
    return times


_ANIMATE = "new Promise(done => viewer.renderer.getCamera().animate(%s, {duration: %d}, done))"
_BOX = """(() => { const r = document.getElementById('graph').getBoundingClientRect();
  return [r.x, r.y, r.width, r.height]; })()"""
# Where the most linked node is on the page, in CSS pixels.
_HUB = """(() => { const g = viewer.graph, r = viewer.renderer; let hub = null, best = -1;
  g.forEachNode(k => { const d = g.inDegree(k); if (d > best) { best = d; hub = k; } });
  const p = r.framedGraphToViewport(r.getNodeDisplayData(hub));
  const box = document.getElementById('graph').getBoundingClientRect();
  return [hub, box.x + p.x, box.y + p.y]; })()"""


def interact(tab: Any) -> dict[str, list[float]]:
    """A scripted session on the open viewer, recorded by the page: camera animations (zoom, pan), a drag
    with the mouse, wheel zooms, the camera reset, hovering the most linked node, a click on it (the
    panel), a click on the background, a search (Enter: the panel and a camera move). Returns
    :func:`frame_times`."""
    browser, session = tab.browser, tab.session

    def mouse(kind: str, x: float, y: float, **extra: Any) -> None:
        browser.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, **extra}, session)

    def mark(name: str) -> None:
        tab.evaluate(f"__frames.mark({name!r})")

    x0, y0, width, height = tab.evaluate(_BOX)
    cx, cy = x0 + width / 2, y0 + height / 2
    tab.evaluate(_RECORD)
    time.sleep(0.3)
    mark("zoom")
    tab.evaluate(_ANIMATE % ("{ratio: viewer.renderer.getCamera().ratio / 3}", 1500), await_promise=True)
    mark("pan")
    tab.evaluate(
        _ANIMATE % ("{x: viewer.renderer.getCamera().x + 0.1, y: viewer.renderer.getCamera().y - 0.05}", 1000),
        await_promise=True,
    )
    mark("drag")
    mouse("mouseMoved", cx, cy)
    mouse("mousePressed", cx, cy, button="left", clickCount=1)
    for step in range(1, 41):  # a move every 16 ms, as a mouse sends them (one per frame, at 60 Hz)
        mouse("mouseMoved", cx + 5 * step, cy + 2 * step, button="left", buttons=1)
        time.sleep(0.016)
    mouse("mouseReleased", cx + 200, cy + 80, button="left", clickCount=1)
    time.sleep(0.6)
    mark("wheel")
    for _ in range(3):
        mouse("mouseWheel", cx, cy, deltaX=0, deltaY=-200)
        time.sleep(0.3)
    time.sleep(0.6)
    mark("reset")
    tab.evaluate("viewer.renderer.getCamera().animatedReset({duration: 800})", await_promise=True)
    time.sleep(0.3)
    hub, hx, hy = tab.evaluate(_HUB)
    for step in range(5, 0, -1):  # towards it, from outside it
        mouse("mouseMoved", hx + 30 * step, hy + 30 * step)
        time.sleep(0.05)
    mark("hover")
    mouse("mouseMoved", hx, hy)
    time.sleep(1.0)
    mark("click")
    mouse("mousePressed", hx, hy, button="left", clickCount=1)
    mouse("mouseReleased", hx, hy, button="left", clickCount=1)
    assert tab.wait_for("viewer.state.selected", timeout=60) == hub, "the click selected another node"
    time.sleep(1.0)
    mark("background")
    mouse("mouseMoved", x0 + 5, y0 + 5)
    mouse("mousePressed", x0 + 5, y0 + 5, button="left", clickCount=1)
    mouse("mouseReleased", x0 + 5, y0 + 5, button="left", clickCount=1)
    tab.wait_for("viewer.state.selected === null", timeout=60)
    time.sleep(1.0)
    title = tab.evaluate("viewer.graph.getNodeAttribute(viewer.search('story')[0] || viewer.graph.nodes()[0], 'label')")
    tab.evaluate("document.getElementById('search').focus()")
    browser.send("Input.insertText", {"text": title}, session)
    time.sleep(0.3)
    mark("search")
    key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
    browser.send("Input.dispatchKeyEvent", {"type": "keyDown", **key}, session)
    browser.send("Input.dispatchKeyEvent", {"type": "keyUp", **key}, session)
    tab.wait_for("viewer.state.selected", timeout=60)
    time.sleep(1.5)
    return frame_times(tab.evaluate(_RECORDED, await_promise=True))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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
        tab.wait_for("viewer.layout.done", timeout=900)
        time.sleep(1)
        frames = interact(tab)
        frame_ms = tab.evaluate(_FRAME)
        timings = tab.evaluate("viewer.timings")
        moving = [ms for phase in MOVING for ms in frames.get(phase, [])]
        drawn = moving + [ms for phase in ACTIONS for ms in frames.get(phase, [])]
        result = {
            "order": tab.evaluate("[viewer.graph.order, viewer.graph.size]"),
            "large": tab.evaluate("viewer.large === true"),
            "load_s": loaded,
            "first_render_ms": timings["rendered"],
            "painted_ms": timings["painted"],
            "parsed_ms": timings["parsed"],
            "laid_out_ms": timings["laidOut"],
            "iterations": tab.evaluate("viewer.layout.iterations"),
            "frames": len(drawn),
            "frame_median": percentile(drawn, 0.5),
            "frame_p95": percentile(drawn, 0.95),
            "moving_median": percentile(moving, 0.5),
            "moving_p95": percentile(moving, 0.95),
            "phases": {phase: [round(ms) for ms in times] for phase, times in frames.items()},
            "actions": {phase: round(frames[phase][0]) if frames.get(phase) else None for phase in ACTIONS},
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
    parser.add_argument(
        "--compositing",
        choices=[*COMPOSITING, "both"],
        default="both",
        help="swiftshader: the browser composites its frames with SwiftShader too (headless chromium's default "
        "without GPU); software: --disable-gpu-compositing (what a desktop browser without GPU does); both",
    )
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
    configs = list(COMPOSITING) if args.compositing == "both" else [args.compositing]
    with ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        browsers = {
            name: stack.enter_context(Chromium(width=1400, height=900, flags=COMPOSITING[name])) for name in configs
        }
        for nodes, edges in sizes:
            store_path = Path(folder, f"s{nodes}.sqlite3")
            synthesize(store_path, nodes, edges, random.Random(1))
            html = Path(folder, f"g{nodes}.html")
            began = time.perf_counter()
            with Store(store_path, create=False) as store:
                stats = export_graph(store, html, max_nodes=None, max_edges=None)
            written = time.perf_counter() - began
            for name, browser in browsers.items():
                viewer = measure_viewer(browser, html)
                assert viewer["order"] == [stats.nodes, stats.edges], (viewer["order"], stats)
                row = {
                    "nodes": stats.nodes,
                    "edges": stats.edges,
                    "compositing": name,
                    "size": html.stat().st_size,
                    "write_s": written,
                    **viewer,
                }
                print_row(row)
                if not args.no_peer and name == configs[0]:
                    peer_html = Path(folder, f"pyvis{nodes}.html")
                    row["peer_write_s"], row["peer_cdn"] = pyvis_page(store_path, peer_html)
                    row["peer_size"] = peer_html.stat().st_size
                    row["peer"] = measure_pyvis(browser, peer_html, args.peer_timeout)
                    print_peer(row, args.peer_timeout)
                rows.append(row)
    print()
    print(
        "| graph | compositing | project: file | written in | first render | first frame | layout done (iterations) "
        "| frame time while interacting: median / p95 (frames) | camera moving: median / p95 "
        "| hover / click / background click / search: on screen after | a still frame, edges and all | requests "
        "| pyvis: file | pyvis: first drawing | pyvis: CDN URLs / other requests |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        peer = row.get("peer") or {}
        drawn = peer.get("first_render_ms")
        peer_first = "" if not peer else f"{drawn / 1000:.2f} s" if drawn else f"none after {args.peer_timeout:.0f} s"
        peer_cells = (
            f"{row['peer_size'] / 1e6:.2f} MB | {peer_first} | {len(row['peer_cdn'])} / {len(peer['requests'])}"
            if peer
            else " | | "
        )
        print(
            f"| {row['nodes']:,} nodes / {row['edges']:,} edges | {row['compositing']} "
            f"| {row['size'] / 1e6:.2f} MB | {row['write_s']:.2f} s "
            f"| {row['first_render_ms'] / 1000:.2f} s | {row['painted_ms'] / 1000:.2f} s "
            f"| {row['laid_out_ms'] / 1000:.1f} s ({row['iterations']}) "
            f"| {row['frame_median']:.0f} / {row['frame_p95']:.0f} ms ({row['frames']}) "
            f"| {row['moving_median']:.0f} / {row['moving_p95']:.0f} ms | {actions(row)} | {row['frame_ms']:.0f} ms "
            f"| {len(row['requests'])} | {peer_cells} |"
        )


def actions(row: dict[str, Any]) -> str:
    return " / ".join("-" if ms is None else f"{ms}" for ms in row["actions"].values()) + " ms"


def print_row(row: dict[str, Any]) -> None:
    print(
        f"{row['nodes']} nodes, {row['edges']} edges, {row['compositing']} compositing "
        f"({'cheap mode' if row['large'] else 'full drawing'}): "
        f"{row['size']:,} bytes written in {row['write_s']:.2f} s; "
        f"JSON parsed at {row['parsed_ms']:.0f} ms, first render {row['first_render_ms']:.0f} ms, "
        f"first frame {row['painted_ms']:.0f} ms, ForceAtlas2 done at {row['laid_out_ms']:.0f} ms "
        f"({row['iterations']} iterations); interaction: {row['frames']} frames drawn, median "
        f"{row['frame_median']:.0f} ms, p95 {row['frame_p95']:.0f} ms (camera moving: {row['moving_median']:.0f} / "
        f"{row['moving_p95']:.0f} ms); hover, click, background click, search on screen after {actions(row)}; "
        f"a still frame drawn in {row['frame_ms']:.0f} ms; "
        f"frames by phase (ms): {row['phases']}; "
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
