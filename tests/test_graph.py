"""Graph export (crawler.store.graph and `scrapy graph`): every format loads back with networkx."""

import csv
import json
import os
import sqlite3
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import networkx as nx
import pytest

from crawler.store import Store
from crawler.store.graph import GraphStats, export_graph, host_of

NYT = "https://www.nytimes.com"
HOME, WORLD, A, B, C = (
    f"{NYT}/",
    f"{NYT}/section/world",
    f"{NYT}/2026/01/02/a.html",
    f"{NYT}/2026/01/03/b.html",
    (f"{NYT}/2026/01/04/c.html"),
)
OLD = f"{NYT}/old-b.html"  # an alias of B (B declared its canonical URL)
MOVED = f"{NYT}/moved.html"  # redirects to C
FAILED = f"{NYT}/2026/01/05/failed.html"  # fetched with no response
IMG = "https://static01.nyt.com/images/a.jpg"
EXT = "https://example.com/"


def link(url, kind, text=""):
    return {"url": url, "kind": kind, "text": text}


def page(url, links=(), *, status=200, depth=1, title=None, **extra):
    return {
        "url": url,
        "fetched_url": url.replace(NYT, "http://nyt.onion"),
        "mirror": "nyt.onion",
        "status": status,
        "fetched_at": "2026-01-01T00:00:00+00:00",
        "depth": depth,
        "title": title or f"Title of {url}",
        "links": list(links),
        **extra,
    }


PAGES = [
    page(
        HOME,
        [
            link(WORLD, "navigation", "World"),
            link(A, "article", "A story"),
            link(A, "article", "Read more"),
            link(A, "navigation", "Top story"),
            link(A, "article", "A story"),
            link(OLD, "article", "B story"),
            link(EXT, "external", "Example"),
        ],
        depth=0,
        title="The New York Times",
    ),
    page(WORLD, [link(A, "article", "A"), link(C, "article", "C"), link(MOVED, "article", "Moved")]),
    page(
        A,
        [link(B, "article", "B"), link(IMG, "image"), link(HOME, "navigation", "Home"), link(FAILED, "article")],
        depth=2,
    ),
    page(B, [link(A, "article", "see A")], depth=2, aliases=[OLD]),
    page(MOVED, [link(C, "redirect")], status=301, depth=2, redirect_to=C),
    page(FAILED, status=None, depth=3, error="timeout", title=""),
]
FETCHED = {HOME, WORLD, A, B, MOVED}
EDGES = {  # (source, target, kind): text, after alias resolution and anchor texts merged, one edge per pair
    (HOME, WORLD, "navigation"): "World",
    (HOME, A, "article"): "A story | Read more | Top story",  # article and navigation links: kind article
    (HOME, B, "article"): "B story",
    (HOME, EXT, "external"): "Example",
    (WORLD, A, "article"): "A",
    (WORLD, C, "article"): "C",
    (WORLD, MOVED, "article"): "Moved",
    (A, B, "article"): "B",
    (A, IMG, "image"): "",
    (A, HOME, "navigation"): "Home",
    (A, FAILED, "article"): "",
    (B, A, "article"): "see A",
    (MOVED, C, "redirect"): "",
}
NODES = FETCHED | {C, IMG, EXT, FAILED}


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "s.sqlite3") as store:
        store.write(PAGES)
        yield store


def load(path: Path) -> nx.DiGraph:
    if path.suffix == ".json":
        with path.open() as f:
            return nx.node_link_graph(json.load(f), edges="edges")
    if path.suffix == ".graphml":
        return nx.read_graphml(path)
    if path.suffix == ".gexf":
        return nx.read_gexf(path)
    graph = nx.DiGraph()
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            graph.add_edge(row.pop("source"), row.pop("target"), **row)
    return graph


def edge_texts(graph):
    return {(s, t, data["kind"]): data["text"] for s, t, data in graph.edges(data=True)}


@pytest.mark.parametrize("suffix", [".json", ".csv", ".graphml", ".gexf"])
def test_every_format_loads_back(store, tmp_path, suffix):
    path = tmp_path / f"g{suffix}"
    stats = export_graph(store, path)
    assert stats == GraphStats(nodes=len(NODES), edges=len(EDGES), dangling=len(NODES - FETCHED))
    graph = load(path)
    assert graph.is_directed()
    assert edge_texts(graph) == EDGES
    if suffix == ".csv":
        assert path.read_text().splitlines()[0] == "source,target,kind,text"
        return
    assert set(graph) == NODES
    missing = None if suffix == ".json" else -1
    home = graph.nodes[HOME]
    assert (home["title"], home["status"], home["fetched"], home["depth"], home["kind"]) == (
        "The New York Times",
        200,
        True,
        0,
        "page",
    )
    assert graph.nodes[MOVED]["status"] == 301
    for url, kind in [(C, "article"), (IMG, "image"), (EXT, "external"), (FAILED, "article")]:
        node = graph.nodes[url]
        assert node["fetched"] is False and node["kind"] == kind, (url, node)
        assert node["depth"] == missing
    assert graph.nodes[C]["status"] == missing
    assert graph.nodes[C]["title"] == (None if suffix == ".json" else "")


def test_json_is_node_link_data(store, tmp_path):
    export_graph(store, tmp_path / "g.json")
    data = json.loads((tmp_path / "g.json").read_text())
    assert list(data) == ["directed", "multigraph", "graph", "nodes", "edges"]
    assert data["directed"] is True and data["multigraph"] is False
    assert [node["id"] for node in data["nodes"]] == sorted(NODES)
    assert data["nodes"][2] == {
        "id": HOME,
        "title": "The New York Times",
        "status": 200,
        "fetched": True,
        "depth": 0,
        "kind": "page",
    }
    assert {"source": HOME, "target": A, "kind": "article", "text": "A story | Read more | Top story"} in data["edges"]


@pytest.mark.parametrize("suffix", [".json", ".csv", ".graphml", ".gexf"])
def test_empty_store(tmp_path, suffix):
    with Store(tmp_path / "s.sqlite3") as store:
        assert export_graph(store, tmp_path / f"g{suffix}") == GraphStats(0, 0, 0)
    graph = load(tmp_path / f"g{suffix}")
    assert graph.number_of_nodes() == graph.number_of_edges() == 0


def test_no_dangling(store, tmp_path):
    stats = export_graph(store, tmp_path / "g.json", keep_dangling=False)
    graph = load(tmp_path / "g.json")
    assert set(graph) == FETCHED
    assert edge_texts(graph) == {key: text for key, text in EDGES.items() if key[1] in FETCHED}
    assert stats == GraphStats(len(FETCHED), graph.number_of_edges(), 0)
    assert all(fetched for _, fetched in graph.nodes(data="fetched"))


def test_articles_only(store, tmp_path):
    stats = export_graph(store, tmp_path / "g.graphml", articles_only=True)
    graph = load(tmp_path / "g.graphml")
    article_edges = {key: text for key, text in EDGES.items() if key[2] == "article"}
    article_edges[HOME, A, "article"] = "A story | Read more"
    assert edge_texts(graph) == article_edges
    assert set(graph) == {url for key in article_edges for url in key[:2]}
    assert stats.dangling == 2  # C and FAILED
    stats = export_graph(store, tmp_path / "g.json", articles_only=True, keep_dangling=False)
    assert set(load(tmp_path / "g.json")) == {HOME, WORLD, A, B, MOVED} and stats.dangling == 0


@pytest.mark.parametrize("suffix", [".json", ".graphml", ".gexf", ".csv"])
def test_by_host(store, tmp_path, suffix):
    stats = export_graph(store, tmp_path / f"g{suffix}", by_host=True)
    graph = load(tmp_path / f"g{suffix}")
    hosts = {NYT, "https://static01.nyt.com", "https://example.com"}
    weights = {(s, t): int(data["weight"]) for s, t, data in graph.edges(data=True)}
    internal = sum(1 for s, t, _ in EDGES if host_of(t) == NYT)
    assert weights == {(NYT, NYT): internal, (NYT, "https://static01.nyt.com"): 1, (NYT, "https://example.com"): 1}
    assert graph.edges[NYT, NYT]["kind"] == "article"
    assert stats == GraphStats(3, 3, 2)
    if suffix == ".csv":
        return
    assert set(graph) == hosts
    assert graph.nodes[NYT]["pages"] == len(FETCHED) and graph.nodes[NYT]["fetched"] is True
    assert graph.nodes[NYT]["depth"] == 0
    assert graph.nodes["https://example.com"]["fetched"] is False
    stats = export_graph(store, tmp_path / "h.json", by_host=True, keep_dangling=False)
    assert set(load(tmp_path / "h.json")) == {NYT} and stats == GraphStats(1, 1, 0)


def test_unknown_extension(store, tmp_path):
    with pytest.raises(ValueError, match=r"\.json, \.csv, \.graphml, \.gexf"):
        export_graph(store, tmp_path / "g.txt")
    assert not list(tmp_path.glob("*g.txt*"))


# -- the command ---------------------------------------------------------------------------


def scrapy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scrapy.cmdline", "graph", *args]
    env = dict(os.environ)
    if "graph" not in {entry.name for entry in entry_points(group="scrapy.commands")}:
        # Not installed as an entry point (yet): found through the project's COMMANDS_MODULE.
        env["SCRAPY_SETTINGS_MODULE"] = "crawler.settings"
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=60)


def test_command(store, tmp_path):
    store.close()
    result = scrapy("-o", "g.json", "--no-dangling", "-s", f"STORE_PATH={store.path}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    internal = sum(1 for _, target, _ in EDGES if target in FETCHED)
    assert result.stdout == f"g.json: {len(FETCHED)} nodes, {internal} edges (0 dangling)\n"
    assert set(load(tmp_path / "g.json")) == FETCHED


def test_command_default_store_path(store, tmp_path):
    store.close()
    Path(store.path).rename(tmp_path / "crawl.sqlite3")
    result = scrapy("-o", "h.csv", "--by-host", "--articles-only", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "h.csv: 1 nodes, 1 edges (0 dangling)\n"
    articles = sum(1 for _, _, kind in EDGES if kind == "article")
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines == ["source,target,kind,text,weight", f"{NYT},{NYT},article,,{articles}"]


def foreign_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE recipes (name TEXT)")
    db.close()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: None, "no such store"),
        (lambda path: path.write_text("not a database, just text\n" * 100), "not a usable SQLite store"),
        (foreign_sqlite, "not a crawl store"),
    ],
    ids=["missing", "text-file", "foreign-sqlite"],
)
def test_command_bad_store(tmp_path, make, message):
    path = tmp_path / "x.sqlite3"
    make(path)
    result = scrapy("-o", "g.json", "-s", f"STORE_PATH={path}", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert not (tmp_path / "g.json").exists()
