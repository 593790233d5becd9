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
    (:class:`~crawler.viewer.model.Cut` says what was left out). This module hands the
    viewer the rows (:func:`viewer_graph`); :mod:`crawler.viewer.model` decides what it shows.

:data:`FORMATS` is the table of them: ``scrapy graph`` offers what it holds.

Nodes carry ``title``, ``status``, ``fetched`` (a page row with a status exists),
``depth`` and ``kind``: ``"page"`` for a fetched page, otherwise the kind of link most
links to it have (``article``, ``image``, ``external``, ...; ties go to the name first
in alphabetical order). There is one edge per (source, target), as a ``DiGraph`` has no
parallel edges: its ``kind`` is the first in :data:`crawler.items.LINK_KINDS` among the links from
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
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crawler.exceptions import ExportError
from crawler.items import LINK_KINDS, LinkKind, kind_rank
from crawler.store.database import Store
from crawler.store.summary import summarize

if TYPE_CHECKING:
    import networkx as nx

    from crawler.viewer.model import Cut, Edge, Node, PageRow, ViewerGraph
    from crawler.viewer.page import Drawing

TEXT_SEPARATOR = " | "
# SQLite's page cache (and sorter budget) while exporting, in KiB: bounded, and large
# enough that sorting a million links seldom spills to temporary files.
_CACHE_KIB = 64 * 1024


@dataclass(frozen=True)
class GraphStats:
    """What an export wrote: node and edge counts, how many nodes were never fetched, and
    (``.html`` only) what was cut to stay within the viewer's limits, if anything."""

    nodes: int
    edges: int
    dangling: int
    cut: Cut | None = None


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
    writer = FORMATS.get(path.suffix.lower())
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
    """The SQL for one export's nodes and edges, both as iterators sorted by URL; for the
    viewer, the rows it reads (:class:`crawler.viewer.model.GraphRows`)."""

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

    def pages(self, text_chars: int) -> Iterator[PageRow]:
        """What the viewer's panel shows of every page row, with the first ``text_chars`` characters
        of its text (by host, none: the nodes are hosts)."""
        from crawler.viewer.model import PageRow

        if self.by_host:
            return
        rows = self.db.execute(
            "SELECT url, section, published, authors, substr(text, 1, ?), fetched_at, error, mirror FROM pages",
            (text_chars,),
        )
        for url, section, published, authors, text, fetched_at, error, mirror in rows:
            yield PageRow(url, section, published, json.loads(authors or "[]"), text or "", fetched_at, error, mirror)

    def host(self, url: str) -> str:
        """The host the viewer lists the node ``url`` under: its origin (by host, itself)."""
        return url if self.by_host else host_of(url)

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


# kind_rank in SQL: the position of ``kind`` in LINK_KINDS.
_SQL_RANK = (
    "CASE kind " + " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(LINK_KINDS)) + (f" ELSE {len(LINK_KINDS)} END")
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
    """The graph the ``.html`` viewer shows: the nodes and edges of the other formats (same
    options), with what the store knows of each page and the crawl's summary, within ``max_nodes``
    and ``max_edges`` (see :func:`crawler.viewer.model.gather`)."""
    query = _Query(store, articles_only=articles_only, by_host=by_host, keep_dangling=keep_dangling)
    query.limits = (max_nodes, max_edges)
    with _export_session(store.db):
        return _viewer_graph(query)


def _viewer_graph(query: _Query) -> ViewerGraph:
    from crawler.viewer.model import gather  # the viewer, only when asked for: every scrapy command imports this module

    max_nodes, max_edges = query.limits
    return gather(
        query,
        store=Path(query.store_path).name,
        options=dict(query.options),
        summary=_header(query.store),
        max_nodes=max_nodes,
        max_edges=max_edges,
    )


def _header(store: Store) -> dict[str, Any]:
    """The crawl's figures, as the viewer's header shows them."""
    summary = summarize(store)
    last = summary.last_round
    return {
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
        if last is None
        else {
            "number": last.number,
            "started_at": last.started_at,
            "finished": last.finished_at is not None,
            "changed": last.changed,
            "new": last.checks.get("new", 0),
        },
    }


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
    from crawler.viewer.page import write_page

    graph = _viewer_graph(query)
    write_page(graph, path, query.drawing)
    dangling = sum(1 for node in graph.nodes if not node["fetched"])
    return GraphStats(len(graph.nodes), len(graph.edges), dangling, graph.cut)


#: The formats of the graph, by the extension that names them, and their writers: ``scrapy graph -o``
#: and :func:`export_graph` take exactly these.
FORMATS: dict[str, Callable[[_Query, Path], GraphStats]] = {
    ".json": _write_json,
    ".csv": _write_csv,
    ".graphml": _networkx_writer("write_graphml"),
    ".gexf": _networkx_writer("write_gexf"),
    ".html": _write_html,
}
