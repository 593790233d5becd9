"""The graph viewer (`scrapy graph -o graph.html`, crawler/viewer/): the page alone, then in Debian's chromium.

The browser tests open the file from disk in headless chromium (tests/support/headless.py), every
request recorded and every connection trapped, and keep a screenshot in test-artifacts/.
"""

import hashlib
import json
import re
from base64 import b64encode
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from crawler.items import LINK_KINDS, LinkKind
from crawler.store import Store
from crawler.store.graph import GraphStats, export_graph, viewer_graph
from crawler.viewer import Drawing
from tests.crawling import run_scrapy
from tests.support.headless import Chromium, chromium_missing, png_pixels
from tests.test_graph import EDGES, NODES, PAGES, link, page

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
NYT = "https://www.nytimes.com"
HOSTILE = [
    "</script><script>window.pwned=1</script>",
    '"\'><img src=x onerror="window.pwned=2">',
    "<!--<script>window.pwned=3</script>",
    "\u2028 & &amp; </SCRIPT > <style>body{display:none}</style>",
]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.write(PAGES)
        yield store


class _Parts(HTMLParser):
    """Every element with its attributes, and the text of every script and style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._open: tuple[str, dict[str, str | None]] | None = None

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._open = (tag, dict(attrs))

    def handle_data(self, data):
        if self._open is not None:
            tag, attrs = self._open
            (self.scripts.append((attrs, data)) if tag == "script" else self.styles.append(data))

    def handle_endtag(self, tag):
        self._open = None


def parse(path: Path) -> _Parts:
    parts = _Parts()
    parts.feed(path.read_text(encoding="utf-8"))
    return parts


def sha256(text: str) -> str:
    return "'sha256-" + b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def graph_data(parts: _Parts) -> dict:
    [(_, data)] = [(attrs, text) for attrs, text in parts.scripts if attrs.get("type") == "application/json"]
    return json.loads(data)


# -- the page, without a browser ---------------------------------------------------------------


def test_the_page_is_self_contained(store, tmp_path):
    path = tmp_path / "g.html"
    stats = export_graph(store, path)
    assert stats == GraphStats(nodes=len(NODES), edges=len(EDGES), dangling=4)
    parts = parse(path)
    [policy] = [
        attrs["content"] for tag, attrs in parts.elements if attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == directives["connect-src"] == directives["img-src"] == "'none'"
    assert directives["worker-src"] == directives["frame-src"] == directives["form-action"] == "'none'"
    executed = [text for attrs, text in parts.scripts if "type" not in attrs]
    assert len(executed) == 5  # the guard, graphology, sigma, ForceAtlas2, the viewer
    assert set(directives["script-src"].split()) == {sha256(text) for text in executed}
    assert directives["style-src"].split() == [sha256(text) for text in parts.styles]
    # Nothing names anything outside the file: no src, href, action, srcset, no style attribute.
    for tag, attrs in parts.elements:
        assert not {"src", "href", "action", "srcset", "style", "background"} & set(attrs), (tag, attrs)
    data = graph_data(parts)
    assert len(data["nodes"]) == len(NODES) and len(data["edges"]) == len(EDGES)
    assert {node["u"] for node in data["nodes"]} == NODES
    home = next(node for node in data["nodes"] if node["u"] == f"{NYT}/")
    assert home["t"] == "The New York Times" and home["s"] == 200 and data["kinds"][home["k"]] == "navigation"
    assert data["summary"]["pages"] == len(PAGES) and data["summary"]["aliases"] == 2
    # The kinds' colours come with the data, from the one table of them; viewer.js has none of its own.
    colours = dict(zip(data["kinds"], data["colours"], strict=True))
    assert {kind: colours[kind] for kind in colours if kind in LINK_KINDS} == {
        kind: colour for kind, colour in LINK_KINDS.items() if kind in colours
    }
    assert len(colours) > 3 and all(colours.values())
    script = (ROOT / "crawler" / "viewer" / "viewer.js").read_text()
    assert not re.search(rf"\b(?:{'|'.join(LinkKind)})\s*:\s*\"#", script)


def test_hostile_text_stays_data(tmp_path):
    path = tmp_path / "g.html"
    with Store(tmp_path / "s.sqlite3") as store:
        store.write(hostile_pages())
        export_graph(store, path)
    text = path.read_text(encoding="utf-8")
    assert "window.pwned" in text  # it is there, escaped...
    assert "<script>window.pwned" not in text and "<img" not in text and "<!--<script" not in text  # ...never as markup
    data = graph_data(parse(path))
    titles = {node.get("t") for node in data["nodes"]}
    assert set(HOSTILE) <= titles
    assert {edge[3] for edge in data["edges"] if len(edge) > 3} >= set(HOSTILE)


def test_the_most_linked_are_kept(tmp_path):
    """Past max_nodes the page keeps the most linked nodes; the command says what it cut."""
    hub, *spokes = [f"{NYT}/2026/01/{day:02d}/story.html" for day in range(1, 11)]
    pages = [page(f"{NYT}/", [link(hub, "article", "Hub"), *(link(s, "article") for s in spokes[:4])], depth=0)]
    pages += [page(spoke, [link(hub, "article", "Hub")]) for spoke in spokes]
    with Store(tmp_path / "s.sqlite3") as store:
        store.write(pages)
        whole = viewer_graph(store)
        cut = viewer_graph(store, max_nodes=6, max_edges=8)
        stats = export_graph(store, tmp_path / "g.json")
    assert whole.cut is None and len(whole.nodes) == stats.nodes == 11 and len(whole.edges) == stats.edges == 14
    kept = {node["id"] for node in cut.nodes}
    assert len(kept) == 6 and hub in kept and set(spokes[:4]) <= kept  # in-degree 10, then 1 each
    assert cut.cut is not None and (cut.cut.nodes, cut.cut.kept_nodes, cut.cut.kept_edges) == (11, 6, 8)
    assert all(cut.nodes[source]["id"] in kept and cut.nodes[target]["id"] in kept for source, target, *_ in cut.edges)
    assert max(node["in_degree"] for node in cut.nodes) == 10

    result = run_scrapy(tmp_path, "graph", "-o", "g.html", "--max-nodes", "6", "-s", f"STORE_PATH={store.path}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("g.html: 6 nodes, ")
    assert "g.html: cut to the 6 most linked of 11 nodes (5 left out, 0 of them never fetched)" in result.stderr
    assert len(graph_data(parse(tmp_path / "g.html"))["nodes"]) == 6


def test_by_host_page(store, tmp_path):
    stats = export_graph(store, tmp_path / "h.html", by_host=True, articles_only=True)
    data = graph_data(parse(tmp_path / "h.html"))
    assert stats.nodes == len(data["nodes"]) == 1 and data["options"]["by_host"] is True
    assert data["nodes"][0]["p"] == 5  # the fetched pages of the host


def test_large_graphs_are_drawn_in_the_cheap_mode(store, tmp_path):
    """The page says whether the graph is past VIEWER_LARGE_NODES or VIEWER_LARGE_EDGES (the settings'
    defaults, or what the command passes: the viewer draws it in its cheap mode then), and whether its
    edges are frozen while the camera moves (past VIEWER_FROZEN_EDGES, or large)."""
    export_graph(store, tmp_path / "small.html")
    data = graph_data(parse(tmp_path / "small.html"))
    assert data["large"] is False and data["frozen_edges"] is False
    export_graph(store, tmp_path / "frozen.html", drawing=Drawing(10_000, 10_000, len(EDGES) - 1))
    data = graph_data(parse(tmp_path / "frozen.html"))
    assert data["large"] is False and data["frozen_edges"] is True
    export_graph(store, tmp_path / "by-edges.html", drawing=Drawing(len(NODES), len(EDGES) - 1, 10_000))
    data = graph_data(parse(tmp_path / "by-edges.html"))
    assert data["large"] is True and data["frozen_edges"] is True
    export_graph(store, tmp_path / "by-nodes.html", drawing=Drawing(len(NODES) - 1, len(EDGES), 10_000))
    assert graph_data(parse(tmp_path / "by-nodes.html"))["large"] is True
    export_graph(store, tmp_path / "at.html", drawing=Drawing(len(NODES), len(EDGES), 10_000))
    assert graph_data(parse(tmp_path / "at.html"))["large"] is False

    result = run_scrapy(
        tmp_path, "graph", "-o", "g.html", "-s", f"STORE_PATH={store.path}", "-s", "VIEWER_LARGE_NODES=2"
    )
    assert result.returncode == 0, result.stderr
    assert graph_data(parse(tmp_path / "g.html"))["large"] is True


def hostile_pages() -> list[dict]:
    urls = [f"{NYT}/2026/02/{i:02d}/x.html" for i in range(1, len(HOSTILE) + 1)]
    pages = [
        page(url, [link(urls[(i + 1) % len(urls)], "article", text)], title=text, section=text, authors=[text])
        for i, (url, text) in enumerate(zip(urls, HOSTILE, strict=True))
    ]
    pages[0]["text"] = "\n".join(HOSTILE)
    return pages


# -- in chromium ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    missing = chromium_missing()
    if missing:
        pytest.skip(f"no browser test: {missing}")
    with Chromium(width=1280, height=800) as browser:
        yield browser


def open_viewer(chromium: Chromium, path: Path):
    tab = chromium.open(path)
    tab.wait_for("window.viewer && window.viewer.timings.rendered")
    return tab


def graph_pixels(tab) -> list[tuple[int, ...]]:
    box = tab.evaluate(
        "(() => { const r = document.getElementById('graph').getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })()"
    )
    png = tab.screenshot(box)
    width, height, pixels = png_pixels(png)
    assert (width, height) == (round(box["width"]), round(box["height"]))
    return pixels


def assert_nothing_left_the_file(tab, chromium):
    assert tab.requests == [tab.url]
    assert chromium.trap.connections == []
    assert tab.evaluate("window.cspViolations") == []
    assert tab.errors == []


def test_the_sample_mirror_in_chromium(whole_crawl, chromium):
    assert whole_crawl.result.returncode == 0, whole_crawl.result.stderr[-3000:]
    workdir = whole_crawl.workdir
    result = run_scrapy(workdir, "graph", "-o", "graph.html")
    assert result.returncode == 0, result.stderr
    with Store(workdir / "crawl.sqlite3", create=False) as store:
        expected = export_graph(store, workdir / "graph.json")
        sections = [s for (s,) in store.db.execute("SELECT DISTINCT section FROM pages WHERE section IS NOT NULL")]
    assert (
        result.stdout == f"graph.html: {expected.nodes} nodes, {expected.edges} edges ({expected.dangling} dangling)\n"
    )

    tab = open_viewer(chromium, workdir / "graph.html")
    try:
        assert tab.evaluate("[viewer.graph.order, viewer.graph.size]") == [expected.nodes, expected.edges]
        assert tab.evaluate("viewer.renderer.getGraph() === viewer.graph")
        tab.wait_for("viewer.layout.done", timeout=60)
        pixels = graph_pixels(tab)
        colours = Counter(pixels)
        [(background, _)] = colours.most_common(1)
        drawn = len(pixels) - colours[background]
        assert drawn > 0.005 * len(pixels) and len(colours) > 20, (drawn, len(colours))
        # Coloured by kind, from the table of link kinds: every image is drawn in the images' colour.
        drawn_as = tab.evaluate(
            "[...new Set(viewer.graph.filterNodes((k, a) => a.kind === 'image')"
            ".map(k => viewer.renderer.getNodeDisplayData(k).color))]"
        )
        assert drawn_as == [LINK_KINDS[LinkKind.IMAGE]]
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "graph.png").write_bytes(tab.screenshot())

        article = whole_crawl.site.articles[3]
        tab.evaluate("document.getElementById('search').focus()")
        chromium.send("Input.insertText", {"text": article.title[:25]}, tab.session)
        assert tab.wait_for("!document.getElementById('results').hidden")
        key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        chromium.send("Input.dispatchKeyEvent", {"type": "keyDown", **key}, tab.session)
        chromium.send("Input.dispatchKeyEvent", {"type": "keyUp", **key}, tab.session)
        assert tab.wait_for("viewer.state.selected") == article.canonical_url
        panel = tab.evaluate(
            "document.getElementById('panel').hidden ? null : document.getElementById('panel-body').innerText"
        )
        assert panel is not None and panel.startswith(article.title)
        assert article.author in panel and article.canonical_url in panel
        assert tab.evaluate("document.querySelector('#panel-body h2').textContent") == article.title
        # An in-link of the panel moves to that node.
        source = tab.evaluate("viewer.graph.inNeighbors(viewer.state.selected)[0]")
        tab.evaluate("document.querySelector('#panel-body ul li button').click()")
        assert tab.wait_for("viewer.state.selected") == source
        # Colour by section (its legend appears), filter a kind and a host out (fewer nodes shown).
        tab.evaluate("document.querySelector('input[name=colour][value=section]').click()")
        assert tab.evaluate("document.getElementById('sections-box').hidden") is False
        legend = tab.evaluate("[...document.querySelectorAll('#sections .name')].map(e => e.textContent)")
        assert set(sections) <= set(legend) and "no section" in legend  # dangling targets have none
        visible = "viewer.graph.filterNodes(k => !viewer.renderer.getNodeDisplayData(k).hidden).length"
        images = tab.evaluate("viewer.graph.filterNodes((k, a) => a.kind === 'image').length")
        assert images > 0 and tab.evaluate(visible) == expected.nodes
        tab.evaluate(
            "[...document.querySelectorAll('#kinds label')].find(l => l.textContent.startsWith('image'))"
            ".querySelector('input').click()"
        )
        assert tab.evaluate(visible) == expected.nodes - images
        tab.evaluate("document.querySelector('#hosts input').click()")  # the largest host
        assert tab.evaluate(visible) < expected.nodes - images
        assert_nothing_left_the_file(tab, chromium)
    finally:
        tab.close()


def test_hostile_text_in_chromium(tmp_path, chromium):
    path = tmp_path / "hostile.html"
    with Store(tmp_path / "s.sqlite3") as store:
        store.write(hostile_pages())
        stats = export_graph(store, path)
    tab = open_viewer(chromium, path)
    try:
        assert tab.evaluate("[viewer.graph.order, viewer.graph.size]") == [stats.nodes, stats.edges]
        assert tab.evaluate("typeof window.pwned") == "undefined"
        assert tab.evaluate("document.images.length + document.querySelectorAll('img, iframe').length") == 0
        assert tab.evaluate("document.querySelectorAll('script').length") == 6
        assert tab.evaluate("getComputedStyle(document.body).display") == "flex"
        for i, text in enumerate(HOSTILE):
            url = f"{NYT}/2026/02/{i + 1:02d}/x.html"
            assert tab.evaluate(f"viewer.select({json.dumps(url)})")
            assert tab.evaluate("document.querySelector('#panel-body h2').textContent") == text
            shown = tab.evaluate("document.getElementById('panel-body').textContent")
            assert shown.count(text) >= 3  # title, section, authors (and anchor texts)
        assert tab.evaluate("viewer.search('window.pwned=1').length") == 1
        assert tab.evaluate("typeof window.pwned") == "undefined"
        assert re.search(r"\d", tab.evaluate("document.getElementById('summary').textContent"))
        assert_nothing_left_the_file(tab, chromium)
    finally:
        tab.close()


def test_without_webgl_the_page_says_so(store, tmp_path):
    """A browser that cannot start WebGL (hardware acceleration off, no fallback to drawing on the
    CPU) gets a message where the map would be, and the crawl's summary still, not a blank page."""
    missing = chromium_missing()
    if missing:
        pytest.skip(f"no browser test: {missing}")
    path = tmp_path / "graph.html"
    export_graph(store, path)
    with Chromium(width=1000, height=700, flags=("--disable-3d-apis", "--disable-webgl")) as browser:
        tab = browser.open(path)
        try:
            tab.wait_for("window.viewer && window.viewer.error")
            assert tab.evaluate("window.viewer.renderer") is None
            message = tab.evaluate("document.querySelector('#graph .no-webgl').textContent")
            assert "needs WebGL" in message and "hardware acceleration" in message
            assert re.search(r"\d+ pages?", tab.evaluate("document.getElementById('summary').textContent"))
        finally:
            tab.close()


def synthetic_pages(nodes: int, edges: int) -> list[dict]:
    """``nodes`` nodes (a fifth of them never fetched) and ``edges`` edges from fetched pages, skewed
    towards the first targets (as in-degrees spread in a crawl); three sections, short titles."""
    fetched = nodes * 4 // 5
    urls = [f"{NYT}/2026/01/01/{('world', 'us', 'arts')[i % 3]}/s{i}.html" for i in range(fetched)]
    targets = urls + [f"https://example{i % 7}.org/{i}" for i in range(nodes - fetched)]
    links: list[list[str]] = [[] for _ in urls]
    for i, target in enumerate(targets):  # every node linked once, then skewed draws
        links[(i + 1) % fetched].append(target)
    for e in range(edges - len(targets)):
        source, target = (e * 7919) % fetched, int(len(targets) * ((e * 0.618034) % 1.0) ** 3)
        links[source].append(targets[target])
    return [
        page(
            url,
            [link(t, "external" if "example" in t else "article", "x") for t in dict.fromkeys(out)],
            title=f"Story {i}",
            section=("world", "us", "arts")[i % 3],
        )
        for i, (url, out) in enumerate(zip(urls, links, strict=True))
    ]


@pytest.mark.parametrize("large", [True, False], ids=["cheap mode", "frozen edges only"])
def test_a_large_graph_in_chromium(tmp_path, chromium, large):
    """A graph past the limits of the cheap mode (lowered, to keep the test short: the command's are
    tested above, the figures at 10,000 nodes are in bench/): drawn with points and one-pixel edges, its
    counts in the header; while the camera moves, the frames are measured by the page, the edges are not
    drawn again but their last frame moves with the camera, and they are drawn anew when it stops; a click
    on a node opens its panel and draws its edges thick. Past VIEWER_FROZEN_EDGES only: the same, with
    discs, rings and rectangles."""
    path = tmp_path / "large.html"
    with Store(tmp_path / "s.sqlite3") as store:
        store.write(synthetic_pages(2_000, 8_000))
        stats = export_graph(
            store, path, drawing=Drawing(1_000, 5_000, 2_000) if large else Drawing(10**6, 10**6, 2_000)
        )
    assert stats.nodes > 1_000 and stats.edges > 5_000
    tab = open_viewer(chromium, path)
    try:
        tab.evaluate("viewer.stopLayout()")
        assert tab.evaluate("[viewer.large, viewer.frozen]") == [large, True]
        assert tab.evaluate("[viewer.graph.order, viewer.graph.size]") == [stats.nodes, stats.edges]
        summary = tab.evaluate("document.getElementById('summary').textContent")
        assert f"{stats.edges:,} edges between {stats.nodes:,} nodes" in summary
        programs = tab.evaluate(
            "[viewer.renderer.nodePrograms.circle.constructor === Sigma.rendering.NodePointProgram,"
            " viewer.renderer.edgePrograms.line.constructor === Sigma.rendering.EdgeLineProgram,"
            " viewer.renderer.nodePrograms.circle.constructor === Sigma.rendering.NodeCircleProgram,"
            " viewer.renderer.edgePrograms.line.constructor === Sigma.rendering.EdgeRectangleProgram]"
        )
        assert programs == [large, large, not large, not large]
        # A camera move: the frames the page drew meanwhile, the edges' canvas moved with it.
        moved = tab.evaluate(
            """new Promise(done => { const r = viewer.renderer, c = r.getCamera(), canvas = r.getCanvases().edges;
              const frames = [], transforms = new Set(), labels = new Set([r.getCanvases().labels.style.opacity]);
              let drawing = true;  // the labels' state before the move, then at every frame of it
              requestAnimationFrame(function tick(ts) { frames.push(ts); transforms.add(canvas.style.transform);
                labels.add(r.getCanvases().labels.style.opacity); if (drawing) requestAnimationFrame(tick); });
              c.animate({ratio: c.ratio / 2, x: c.x + 0.05}, {duration: 2000}).then(() => { drawing = false;
                requestAnimationFrame(() => requestAnimationFrame(() => done({frames: frames.length,
                  moving: viewer.moves.frames, transforms: [...transforms].filter(t => t).length,
                  labels: [...labels].sort(), after: canvas.style.transform,
                  labelsAfter: r.getCanvases().labels.style.opacity, still: viewer.moves.still !== null})));
              }); })""",
            await_promise=True,
        )
        assert moved["frames"] >= 2 and moved["moving"] >= 1 and moved["transforms"] >= 1, moved
        assert moved["after"] == "" and moved["still"] is True, moved
        # The labels: not drawn while moving in the cheap mode (their layer transparent), back when it stops.
        assert moved["labels"] == (["", "0"] if large else [""]) and moved["labelsAfter"] == "", moved
        box = tab.evaluate(
            "(() => { const r = document.getElementById('graph').getBoundingClientRect();"
            " return {x: r.x + r.width / 2 - 100, y: r.y + r.height / 2 - 100, width: 200, height: 200}; })()"
        )
        colours = Counter(png_pixels(tab.screenshot(box))[2])  # the middle of the graph, drawn
        assert len(colours) > 5 and colours.most_common(1)[0][1] < 0.9 * 200 * 200, colours.most_common(3)
        # A click on the most linked node: its panel, its edges as rectangles (the "thick" program).
        hub = tab.evaluate(
            "viewer.graph.nodes().reduce((a, b) => viewer.graph.inDegree(b) > viewer.graph.inDegree(a) ? b : a)"
        )
        x, y = tab.evaluate(
            f"""(() => {{ const r = viewer.renderer, box = document.getElementById('graph').getBoundingClientRect();
              const p = r.framedGraphToViewport(r.getNodeDisplayData({json.dumps(hub)}));
              return [box.x + p.x, box.y + p.y]; }})()"""
        )
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            chromium.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
                tab.session,
            )
        assert tab.wait_for("viewer.state.selected") == hub
        assert tab.evaluate("document.querySelector('#panel-body h2').textContent") == tab.evaluate(
            f"viewer.graph.getNodeAttribute({json.dumps(hub)}, 'label')"
        )
        thick = tab.evaluate(
            "viewer.graph.filterEdges(e => viewer.renderer.getEdgeDisplayData(e).type === 'thick').length"
        )
        assert thick == tab.evaluate(f"viewer.graph.edges({json.dumps(hub)}).length") > 0
        assert_nothing_left_the_file(tab, chromium)
    finally:
        tab.close()


def test_the_vendored_files_are_the_ones_recorded():
    """vendor/VERSIONS.json names every vendored script, its npm packages (version, integrity) and its SHA-256."""
    vendor = ROOT / "crawler" / "viewer" / "vendor"
    files = json.loads((vendor / "VERSIONS.json").read_text())["files"]
    assert {f["file"] for f in files} == {p.name for p in vendor.glob("*.js")}
    for entry in files:
        assert hashlib.sha256((vendor / entry["file"]).read_bytes()).hexdigest() == entry["sha256"], entry["file"]
        for package in entry["packages"]:
            assert package["license"] == "MIT" and package["integrity"].startswith("sha512-")
            assert (vendor / f"LICENSE-{package['name']}.txt").is_file()
    versions = {p["name"]: p["version"] for f in files for p in f["packages"]}
    assert versions["sigma"].startswith("3.") and "graphology" in versions
