"""Export the link graph of a crawl store (JSON node-link, CSV edge list, GraphML, GEXF, HTML viewer).

One node per canonical URL, one directed edge per (source, target, kind). The output
format follows the file's extension:

``.json``
    networkx node-link data with the ``"edges"`` key, streamed from SQL cursors (one
    ``json.dumps`` per node and edge), so memory stays flat however large the store;
    load it with ``networkx.node_link_graph(json.load(f), edges="edges")``.
``.csv``
    the edge list, streamed, with the header ``source,target,kind,text``
    (``source,target,kind,text,weight`` with ``by_host``).
``.graphml`` / ``.gexf``
    written by networkx from an in-memory ``DiGraph``:
    these formats are for graphs Gephi can show, not for million-link stores.
``.html``
    the offline interactive viewer (:mod:`crawler.viewer`): the graph, what the store
    knows of each page (section, published, authors, the first lines of its text) and
    the crawl's summary, in one self-contained page. Built in memory, within
    ``max_nodes`` and ``max_edges``: past them the most linked nodes are kept
    (:class:`Cut` says what was left out); :func:`viewer_graph` gathers it.

Nodes carry ``title``, ``status``, ``fetched`` (a page row with a status exists),
``depth`` and ``kind``: ``"page"`` for a fetched page, otherwise the kind of link most
links to it have (``article``, ``image``, ``external``, ...; ties go to the name first
in alphabetical order). There is one edge per (source, target), as a ``DiGraph`` has no
parallel edges: its ``kind`` is the first of :data:`KIND_PRIORITY` among the links from
source to target, its ``text`` the distinct non-empty anchor texts of these links (by
kind, then alphabetical) joined with ``" | "``.

A link to a URL recorded as a ``canonical`` alias (a page reached by one URL that
declared another) points to the canonical page. Redirect aliases are not followed: the
redirecting URL is a node of its own, with a ``redirect`` edge to its target.

>>> import json, tempfile, networkx as nx
>>> from crawler.store import Store
>>> store = Store(":memory:")
>>> _ = store.write([{"url": "https://www.nytimes.com/a.html", "fetched_url": "http://x.onion/a.html",
...               "mirror": "x.onion", "status": 200, "fetched_at": "2026-01-01T00:00:00+00:00",
...               "title": "A", "links": [{"url": "https://www.nytimes.com/b.html", "text": t, "kind": "article"}
...                                       for t in ("B", "more")]}])
>>> with tempfile.TemporaryDirectory() as folder:
...     stats = export_graph(store, f"{folder}/g.json")
...     with open(f"{folder}/g.json") as f:
...         graph = nx.node_link_graph(json.load(f), edges="edges")
>>> stats
GraphStats(nodes=2, edges=1, dangling=1, cut=None)
>>> graph.nodes["https://www.nytimes.com/b.html"]
{'title': None, 'status': None, 'fetched': False, 'depth': None, 'kind': 'article'}
>>> graph.edges["https://www.nytimes.com/a.html", "https://www.nytimes.com/b.html"]
{'kind': 'article', 'text': 'B | more'}
"""

from __future__ import annotations

import csv
import heapq
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crawler.exceptions import ExportError
from crawler.items import LinkKind
from crawler.store.database import Store
from crawler.store.summary import summarize

if TYPE_CHECKING:
    import networkx as nx

    from crawler.viewer.page import Drawing

FORMATS = (".json", ".csv", ".graphml", ".gexf", ".html")
# The kind an edge gets when a page links to one target in several ways; any other kind comes last.
KIND_PRIORITY = tuple(
    LinkKind[name] for name in ("REDIRECT", "ARTICLE", "NAVIGATION", "FILE", "IMAGE", "ONION", "EXTERNAL")
)
TEXT_SEPARATOR = " | "
# SQLite's page cache (and sorter budget) while exporting, in KiB: bounded, and large
# enough that sorting a million links seldom spills to temporary files.
_CACHE_KIB = 64 * 1024
# The viewer's panel shows this much of a page's cleaned text (its first lines).
EXCERPT_CHARS = 400

Node = dict[str, Any]
Edge = dict[str, Any]


@dataclass(frozen=True)
class Cut:
    """What the viewer left out to stay within its limits: the graph had ``nodes`` and
    ``edges``; the page holds the ``kept_nodes`` most linked nodes and ``kept_edges`` edges
    among them; ``dropped_dangling`` of the nodes left out were never fetched.

    >>> print(Cut(nodes=30, edges=90, kept_nodes=10, kept_edges=20, dropped_dangling=15,
    ...           max_nodes=10, max_edges=50).describe())  # doctest: +NORMALIZE_WHITESPACE
    cut to the 10 most linked of 30 nodes (20 left out, 15 of them never fetched),
    20 of 90 edges kept (limits: 10 nodes, 50 edges)
    """

    nodes: int
    edges: int
    kept_nodes: int
    kept_edges: int
    dropped_dangling: int
    max_nodes: int | None
    max_edges: int | None

    def describe(self) -> str:
        parts = []
        if self.kept_nodes < self.nodes:
            dropped = self.nodes - self.kept_nodes
            parts.append(
                f"cut to the {self.kept_nodes} most linked of {self.nodes} nodes "
                f"({dropped} left out, {self.dropped_dangling} of them never fetched)"
            )
        parts.append(f"{self.kept_edges} of {self.edges} edges kept")
        limits = ", ".join(
            f"{limit} {name}" for limit, name in ((self.max_nodes, "nodes"), (self.max_edges, "edges")) if limit
        )
        return ", ".join(parts) + f" (limits: {limits})"


@dataclass(frozen=True)
class GraphStats:
    """What an export wrote: node and edge counts, how many nodes were never fetched, and
    (``.html`` only) what was cut to stay within the viewer's limits, if anything."""

    nodes: int
    edges: int
    dangling: int
    cut: Cut | None = None


@dataclass
class ViewerGraph:
    """The graph as the viewer shows it (see :func:`viewer_graph`).

    ``nodes``: the export's node attributes, plus ``host``, ``in_degree`` and ``kind`` (the
    kind of link most edges to the node have, ``"page"`` for a page nothing links to) and,
    for a page row, ``section``, ``published``, ``authors``, ``excerpt``, ``fetched_at``,
    ``error``, ``mirror``. ``edges``: ``(source index, target index, kind, text, weight)``.
    ``summary``: what the store holds, for the page's header. ``options``: the export's.
    """

    nodes: list[Node]
    edges: list[tuple[int, int, str, str, int]]
    summary: dict[str, Any]
    options: dict[str, Any]
    store: str
    cut: Cut | None = None
    kinds: list[str] = field(default_factory=list)


def export_graph(
    store: Store,
    path: str | Path,
    *,
    articles_only: bool = False,
    by_host: bool = False,
    keep_dangling: bool = True,
    max_nodes: int | None = None,
    max_edges: int | None = None,
    drawing: Drawing | None = None,
) -> GraphStats:
    """Write the link graph of ``store`` to ``path``, in the format its extension names.

    ``articles_only``
        keep only edges of kind ``article`` (whatever the kind of their source: a
        section front that links to articles is part of the article graph), and only
        the nodes these edges touch. Without it, every page row is a node, linked or not.
    ``by_host``
        collapse every URL to its origin (``scheme://host[:port]``, see :func:`host_of`):
        one node per host (``kind`` ``"host"``, ``pages`` = fetched pages of that host,
        ``fetched`` = at least one, ``depth`` = the smallest depth of them, no title or
        status), one edge per pair of hosts (links within a host make a self-loop) whose
        ``weight`` is the number of page edges (source, target) it stands for, ``kind``
        the most common kind of these page edges and ``text`` empty.
    ``keep_dangling``
        keep link targets that were never fetched as nodes with ``fetched`` false (and
        page rows of failed fetches). When false, only fetched pages are nodes and only
        edges between two of them remain.

    ``None`` (no title, status or depth) stays ``null`` in JSON and is an empty cell in
    CSV; GraphML and GEXF have no null, so there a missing title is ``""`` and a missing
    status or depth is ``-1``. The file is written next to ``path`` and renamed into
    place when complete. Raises :class:`~crawler.exceptions.ExportError` for an extension not in :data:`FORMATS`.

    ``max_nodes``, ``max_edges``
        the ``.html`` viewer's limits (None: none): see :func:`viewer_graph`.
    ``drawing``
        past which sizes the ``.html`` viewer draws more cheaply: :class:`crawler.viewer.Drawing`
        (None: as ``crawler.settings`` sets them).
    """
    path = Path(path)
    writer = _WRITERS.get(path.suffix.lower())
    if writer is None:
        raise ExportError(f"{path.name}: unsupported graph format {path.suffix!r} (use one of {', '.join(FORMATS)})")
    query = _Query(store, articles_only=articles_only, by_host=by_host, keep_dangling=keep_dangling)
    query.limits = (max_nodes, max_edges)
    query.drawing = drawing
    partial = path.with_name(f".{path.name}.part")
    try:
        with _export_session(store.db):
            stats = writer(query, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return stats


# -- pure helpers ------------------------------------------------------------------


def host_of(url: str) -> str:
    """The origin of ``url``: lower-case ``scheme://host[:port]``, without user info.
    A URL without a host (``mailto:``...) stands for itself.

    >>> host_of("https://www.nytimes.com/2024/01/02/world/x.html?a=1")
    'https://www.nytimes.com'
    >>> host_of("HTTP://user@Example.COM:8080/")
    'http://example.com:8080'
    >>> host_of("mailto:letters@nytimes.com")
    'mailto:letters@nytimes.com'
    """
    parts = urlsplit(url)
    if not parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2].lower()
    return f"{parts.scheme.lower()}://{host}"


def merge_texts(texts: Iterable[str]) -> str:
    """Distinct non-empty anchor texts, in the order given, joined with ``" | "``.

    >>> merge_texts(["Opinion", "", "Opinion", "Read more"])
    'Opinion | Read more'
    >>> merge_texts(["", ""])
    ''
    """
    return TEXT_SEPARATOR.join(dict.fromkeys(text for text in texts if text))


def kind_rank(kind: str) -> tuple[int, str]:
    """Sort key of a link kind by :data:`KIND_PRIORITY` (unknown kinds last, by name).

    >>> sorted(["external", "zzz", "article", "navigation"], key=kind_rank)
    ['article', 'navigation', 'external', 'zzz']
    """
    return (KIND_PRIORITY.index(kind) if kind in KIND_PRIORITY else len(KIND_PRIORITY), kind)


def graphml_safe(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attributes with every ``None`` replaced: ``""`` for ``title``, ``text`` and
    ``kind``, ``-1`` for the rest (``status``, ``depth``...).

    >>> graphml_safe({"title": None, "status": None, "depth": 2, "fetched": False})
    {'title': '', 'status': -1, 'depth': 2, 'fetched': False}
    """
    return {
        key: ("" if key in ("title", "text", "kind") else -1) if value is None else value
        for key, value in attributes.items()
    }


# -- SQL -----------------------------------------------------------------------------


class _Query:
    """The SQL for one export's nodes and edges, both as iterators sorted by URL."""

    def __init__(self, store: Store, *, articles_only: bool, by_host: bool, keep_dangling: bool) -> None:
        self.store = store
        self.db = store.db
        self.store_path = store.path
        self.limits: tuple[int | None, int | None] = (None, None)
        self.drawing: Drawing | None = None  # the viewer's (see export_graph)
        self.by_host = by_host
        self.options = {"articles_only": articles_only, "by_host": by_host, "keep_dangling": keep_dangling}
        target = "COALESCE(a.url, l.target)"
        conditions = [f"l.kind = '{LinkKind.ARTICLE}'"] if articles_only else []
        if not keep_dangling:
            conditions += [
                f"EXISTS (SELECT 1 FROM pages p WHERE p.url = {url} AND p.status IS NOT NULL)"
                for url in ("l.source", target)
            ]
        # Resolved, filtered links: one row per link row of the store.
        self.links = (
            f"SELECT l.source AS source, {target} AS target, l.kind AS kind, l.text AS text FROM links l "
            "LEFT JOIN aliases a ON a.alias = l.target AND a.reason = 'canonical'"
            + (f" WHERE {' AND '.join(conditions)}" if conditions else "")
        )
        pages = (
            ""
            if articles_only
            else " UNION SELECT url FROM pages" + ("" if keep_dangling else " WHERE status IS NOT NULL")
        )
        self.node_urls = f"SELECT source FROM e UNION SELECT target FROM e{pages}"
        self.kind_filter = f" AND l.kind = '{LinkKind.ARTICLE}'" if articles_only else ""

    def graph_attributes(self) -> dict[str, Any]:
        return {"store": self.store_path, **self.options}

    def nodes(self) -> Iterator[Node]:
        return self._host_nodes() if self.by_host else self._page_nodes()

    def edges(self) -> Iterator[Edge]:
        return self._host_edges() if self.by_host else self._page_edges()

    def page_details(self) -> Iterator[tuple[Any, ...]]:
        """What the viewer's panel shows of every page row: url, section, published,
        authors (JSON), the start of the text, fetched_at, error, mirror."""
        return self.db.execute(
            "SELECT url, section, published, authors, substr(text, 1, ?), fetched_at, error, mirror FROM pages",
            (EXCERPT_CHARS + 1,),
        )

    def _page_nodes(self) -> Iterator[Node]:
        rows = self.db.execute(
            f"""
            WITH e AS ({self.links}), n(url) AS ({self.node_urls})
            SELECT n.url, p.title, p.status, p.depth,
                   CASE WHEN p.status IS NOT NULL THEN 'page' ELSE COALESCE(
                       (SELECT l.kind FROM links l WHERE l.target = n.url{self.kind_filter}
                        GROUP BY l.kind ORDER BY COUNT(*) DESC, l.kind LIMIT 1), 'page') END
            FROM n LEFT JOIN pages p ON p.url = n.url ORDER BY n.url
            """
        )
        for url, title, status, depth, kind in rows:
            fetched = status is not None
            yield {
                "id": url,
                "title": title,
                "status": status,
                "fetched": fetched,
                "depth": depth if fetched else None,
                "kind": kind,
            }

    def _page_edges(self) -> Iterator[Edge]:
        rows = self.db.execute(f"{self.links} ORDER BY source, target, kind, text")
        for (source, target), group in groupby(rows, key=itemgetter(0, 1)):
            links = list(group)  # the link rows of one page to one target: a handful
            kind = min((row[2] for row in links), key=kind_rank)
            yield {"source": source, "target": target, "kind": kind, "text": merge_texts(row[3] for row in links)}

    def _host_nodes(self) -> Iterator[Node]:
        rows = self.db.execute(
            f"""
            WITH e AS ({self.links}), n(url) AS ({self.node_urls})
            SELECT host_of(n.url) AS host, COUNT(p.status), MIN(CASE WHEN p.status IS NOT NULL THEN p.depth END)
            FROM n LEFT JOIN pages p ON p.url = n.url GROUP BY host ORDER BY host
            """
        )
        for host, pages, depth in rows:
            yield {
                "id": host,
                "title": None,
                "status": None,
                "fetched": pages > 0,
                "depth": depth,
                "kind": "host",
                "pages": pages,
            }

    def _host_edges(self) -> Iterator[Edge]:
        rows = self.db.execute(
            f"""
            WITH e AS ({self.links}),
            pe AS (SELECT source, target, MIN(printf('%02d%s', {_SQL_RANK}, kind)) AS ranked FROM e
                   GROUP BY source, target)
            SELECT host_of(source) AS hs, host_of(target) AS ht, substr(ranked, 3), COUNT(*) FROM pe
            GROUP BY hs, ht, ranked ORDER BY hs, ht, ranked
            """
        )
        for (source, target), group in groupby(rows, key=itemgetter(0, 1)):
            kinds = [(count, kind) for _, _, kind, count in group]
            kind = min(kinds, key=lambda pair: (-pair[0], kind_rank(pair[1])))[1]
            yield {
                "source": source,
                "target": target,
                "kind": kind,
                "text": "",
                "weight": sum(count for count, _ in kinds),
            }


# kind_rank in SQL: the position of ``kind`` in KIND_PRIORITY.
_SQL_RANK = (
    "CASE kind "
    + " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(KIND_PRIORITY))
    + (f" ELSE {len(KIND_PRIORITY)} END")
)


@contextmanager
def _export_session(db: sqlite3.Connection) -> Iterator[None]:
    """A larger page cache for the export's sorts, and the ``host_of`` SQL function."""
    (cache_size,) = db.execute("PRAGMA cache_size").fetchone()
    db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
    db.create_function("host_of", 1, host_of, deterministic=True)
    try:
        yield
    finally:
        db.execute(f"PRAGMA cache_size = {int(cache_size)}")


# -- the viewer's graph ----------------------------------------------------------------


def viewer_graph(
    store: Store,
    *,
    articles_only: bool = False,
    by_host: bool = False,
    keep_dangling: bool = True,
    max_nodes: int | None = None,
    max_edges: int | None = None,
) -> ViewerGraph:
    """The graph the ``.html`` viewer shows: the nodes and edges of the other formats
    (same options), with what the store knows of each page and the crawl's summary.

    Past ``max_nodes`` it keeps the most linked nodes (by in-degree; then fetched pages
    before dangling targets, then the shallowest), and the edges among them; past
    ``max_edges``, the edges of the first kinds in :data:`KIND_PRIORITY` to the most linked
    targets. ``cut`` says what was left out. Memory: the kept graph, plus a count per node.
    """
    query = _Query(store, articles_only=articles_only, by_host=by_host, keep_dangling=keep_dangling)
    query.limits = (max_nodes, max_edges)
    with _export_session(store.db):
        return _viewer_graph(query)


def _viewer_graph(query: _Query) -> ViewerGraph:
    max_nodes, max_edges = query.limits
    in_degree: Counter[str] = Counter()
    incoming: dict[str, Counter[str]] = {}
    total_edges = 0
    for edge in query.edges():
        in_degree[edge["target"]] += 1
        incoming.setdefault(edge["target"], Counter())[edge["kind"]] += 1
        total_edges += 1

    def rank(node: Node) -> tuple[int, bool, int]:
        depth = node["depth"]
        return (in_degree[node["id"]], node["fetched"], -(depth if depth is not None else 1 << 30))

    total_nodes = total_dangling = 0
    ranked: list[tuple[tuple[int, bool, int], str]] = []
    for node in query.nodes():
        total_nodes += 1
        total_dangling += not node["fetched"]
        ranked.append((rank(node), node["id"]))
    if max_nodes is not None and total_nodes > max_nodes:
        kept = {url for _, url in heapq.nlargest(max_nodes, ranked)}
    else:
        kept = {url for _, url in ranked}
    del ranked

    nodes: list[Node] = []
    index: dict[str, int] = {}
    for node in query.nodes():
        url = node["id"]
        if url not in kept:
            continue
        kinds = incoming.get(url)
        node["kind"] = min(kinds.items(), key=lambda pair: (-pair[1], kind_rank(pair[0])))[0] if kinds else node["kind"]
        node["host"] = url if query.by_host else host_of(url)
        node["in_degree"] = in_degree[url]
        index[url] = len(nodes)
        nodes.append(node)

    edges = [
        (index[edge["source"]], index[edge["target"]], edge["kind"], edge["text"], edge.get("weight", 1))
        for edge in query.edges()
        if edge["source"] in index and edge["target"] in index
    ]
    if max_edges is not None and len(edges) > max_edges:
        edges = heapq.nsmallest(max_edges, edges, key=lambda e: (kind_rank(e[2]), -nodes[e[1]]["in_degree"], e[:2]))
        edges.sort(key=lambda e: (e[0], e[1]))

    if not query.by_host:
        for url, section, published, authors, text, fetched_at, error, mirror in query.page_details():
            at = index.get(url)
            if at is None:
                continue
            nodes[at].update(
                section=section,
                published=published,
                authors=json.loads(authors or "[]"),
                excerpt=excerpt(text or ""),
                fetched_at=fetched_at,
                error=error,
                mirror=mirror,
            )

    cut = None
    if len(nodes) < total_nodes or len(edges) < total_edges:
        dangling_kept = sum(1 for node in nodes if not node["fetched"])
        cut = Cut(
            nodes=total_nodes,
            edges=total_edges,
            kept_nodes=len(nodes),
            kept_edges=len(edges),
            dropped_dangling=total_dangling - dangling_kept,
            max_nodes=max_nodes,
            max_edges=max_edges,
        )
    summary = summarize(query.store)
    return ViewerGraph(
        nodes=nodes,
        edges=edges,
        summary={
            "pages": summary.pages,
            "fetched_ok": summary.fetched_ok,
            "failed": summary.failed,
            "articles": summary.unique_articles,
            "aliases": summary.aliases,
            "aliases_by_reason": summary.aliases_by_reason,
            "links": sum(summary.links_by_kind.values()),
            "links_by_kind": summary.links_by_kind,
            "first_fetched": summary.first_fetched,
            "last_fetched": summary.last_fetched,
            "rounds": summary.rounds,
            "last_round": None
            if summary.last_round is None
            else {
                "number": summary.last_round.number,
                "started_at": summary.last_round.started_at,
                "finished": summary.last_round.finished_at is not None,
                "changed": summary.last_round.changed,
                "new": summary.last_round.checks.get("new", 0),
            },
        },
        options=dict(query.options),
        store=Path(query.store_path).name,
        cut=cut,
        kinds=sorted({node["kind"] for node in nodes}, key=kind_rank),
    )


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    r"""The first lines of ``text``, at most ``limit`` characters (cut at a word, with an ellipsis).

    >>> excerpt("First line.\n\nSecond line.\nThird.", limit=40)
    'First line.\nSecond line.\nThird.'
    >>> excerpt("one two three four", limit=10)
    'one two…'
    """
    lines = "\n".join(line.strip() for line in text.splitlines() if line.strip())
    if len(lines) <= limit:
        return lines
    return lines[:limit].rsplit(" ", 1)[0].rstrip() + "…"


# -- writers -------------------------------------------------------------------------


def _write_json(query: _Query, path: Path) -> GraphStats:
    with path.open("w", encoding="utf-8") as out:
        return _stream_json(query, out)


def _stream_json(query: _Query, out: IO[str]) -> GraphStats:
    nodes = edges = dangling = 0
    header = {"directed": True, "multigraph": False, "graph": query.graph_attributes()}
    out.write(json.dumps(header)[:-1] + ', "nodes": [')
    for node in query.nodes():
        out.write(("\n" if nodes == 0 else ",\n") + json.dumps(node, ensure_ascii=False))
        nodes += 1
        dangling += not node["fetched"]
    out.write('\n], "edges": [')
    for edge in query.edges():
        out.write(("\n" if edges == 0 else ",\n") + json.dumps(edge, ensure_ascii=False))
        edges += 1
    out.write("\n]}\n")
    return GraphStats(nodes, edges, dangling)


def _write_csv(query: _Query, path: Path) -> GraphStats:
    fields = ["source", "target", "kind", "text"] + (["weight"] if query.by_host else [])
    edges = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for edge in query.edges():
            writer.writerow(edge)
            edges += 1
    # The node counts come from a second, cheaper pass: a CSV edge list has no node table.
    nodes = dangling = 0
    for node in query.nodes():
        nodes += 1
        dangling += not node["fetched"]
    return GraphStats(nodes, edges, dangling)


def _digraph(query: _Query) -> nx.DiGraph:
    import networkx  # only GraphML and GEXF need it: every scrapy command imports this module

    graph = networkx.DiGraph(**query.graph_attributes())
    for node in query.nodes():
        graph.add_node(node.pop("id"), **graphml_safe(node))
    for edge in query.edges():
        graph.add_edge(edge.pop("source"), edge.pop("target"), **graphml_safe(edge))
    return graph


def _networkx_writer(name: str) -> Callable[[_Query, Path], GraphStats]:
    def writer(query: _Query, path: Path) -> GraphStats:
        import networkx

        graph = _digraph(query)
        getattr(networkx, name)(graph, path)
        dangling = sum(1 for _, fetched in graph.nodes(data="fetched") if not fetched)
        return GraphStats(graph.number_of_nodes(), graph.number_of_edges(), dangling)

    return writer


def _write_html(query: _Query, path: Path) -> GraphStats:
    from crawler.viewer import write_page  # the page's templates and vendored scripts, only when asked for

    graph = _viewer_graph(query)
    write_page(graph, path, query.drawing)
    dangling = sum(1 for node in graph.nodes if not node["fetched"])
    return GraphStats(len(graph.nodes), len(graph.edges), dangling, graph.cut)


_WRITERS: dict[str, Callable[[_Query, Path], GraphStats]] = {
    ".json": _write_json,
    ".csv": _write_csv,
    ".graphml": _networkx_writer("write_graphml"),
    ".gexf": _networkx_writer("write_gexf"),
    ".html": _write_html,
}
