"""What the graph viewer shows of a link graph: the rows of an export in, the graph of the page out.

:mod:`crawler.store.graph` reads the rows from the store and hands them here (:class:`GraphRows`);
the viewer reads no store. :func:`gather` decides what the page holds. Past ``max_nodes`` it keeps the
most linked nodes (by in-degree; then fetched pages before dangling targets, then the shallowest), and
the edges among them; past ``max_edges``, the edges of the first kinds in
:data:`crawler.items.LINK_KINDS` to the most linked targets; :class:`Cut` says what was left out. It
reads the rows a pass at a time, as they come: its memory is the kept graph, plus a count per node.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from crawler.items import kind_rank

# The panel shows this much of a page's cleaned text (its first lines).
EXCERPT_CHARS = 400

Node = dict[str, Any]
Edge = dict[str, Any]


class PageRow(NamedTuple):
    """What the panel shows of a page row: ``text`` is the start of its cleaned text."""

    url: str
    section: str | None
    published: str | None
    authors: list[str]
    text: str
    fetched_at: str | None
    error: str | None
    mirror: str | None


class GraphRows(Protocol):
    """A link graph as rows, every call a new pass over them (:mod:`crawler.store.graph` hands one)."""

    def nodes(self) -> Iterable[Node]:
        """Every node: ``id``, ``title``, ``status``, ``fetched``, ``depth``, ``kind`` (and ``pages``)."""
        ...

    def edges(self) -> Iterable[Edge]:
        """Every edge: ``source``, ``target``, ``kind``, ``text`` (and ``weight``)."""
        ...

    def pages(self, text_chars: int) -> Iterable[PageRow]:
        """The page rows among the nodes, with the first ``text_chars`` characters of their text."""
        ...

    def host(self, url: str) -> str:
        """The host the legend lists the node ``url`` under."""
        ...


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


@dataclass
class ViewerGraph:
    """The graph as the viewer shows it (see :func:`gather`).

    ``nodes``: the rows' node attributes, plus ``host``, ``in_degree`` and ``kind`` (the kind of
    link most edges to the node have, the row's own for a node nothing links to) and, for a page
    row, ``section``, ``published``, ``authors``, ``excerpt``, ``fetched_at``, ``error``, ``mirror``.
    ``edges``: ``(source index, target index, kind, text, weight)``. ``summary``: what the store
    holds, for the page's header. ``options``: the export's. ``store``: the store's file name.
    """

    nodes: list[Node]
    edges: list[tuple[int, int, str, str, int]]
    summary: dict[str, Any]
    options: dict[str, Any]
    store: str
    cut: Cut | None = None
    kinds: list[str] = field(default_factory=list)


def gather(
    rows: GraphRows,
    *,
    store: str,
    options: dict[str, Any],
    summary: dict[str, Any],
    max_nodes: int | None = None,
    max_edges: int | None = None,
) -> ViewerGraph:
    """The graph the page shows of ``rows``, within ``max_nodes`` and ``max_edges`` (None: no limit);
    ``store``, ``options`` and ``summary`` go to the page's header as they are."""
    in_degree, incoming, total_edges = _incoming(rows)
    kept, total_nodes, total_dangling = _most_linked(rows, in_degree, max_nodes)
    nodes: list[Node] = []
    index: dict[str, int] = {}
    for node in rows.nodes():
        url = node["id"]
        if url not in kept:
            continue
        linked_as = incoming.get(url)
        if linked_as:
            node["kind"] = min(linked_as.items(), key=lambda pair: (-pair[1], kind_rank(pair[0])))[0]
        node["host"] = rows.host(url)
        node["in_degree"] = in_degree[url]
        index[url] = len(nodes)
        nodes.append(node)
    edges = _kept_edges(rows, nodes, index, max_edges)
    _add_pages(rows, nodes, index)

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
    kinds = sorted({node["kind"] for node in nodes}, key=kind_rank)
    return ViewerGraph(nodes, edges, summary, options, store, cut, kinds)


def _incoming(rows: GraphRows) -> tuple[Counter[str], dict[str, Counter[str]], int]:
    """Every node's in-degree, the kinds of the edges to it, and how many edges there are."""
    in_degree: Counter[str] = Counter()
    incoming: dict[str, Counter[str]] = {}
    total = 0
    for edge in rows.edges():
        in_degree[edge["target"]] += 1
        incoming.setdefault(edge["target"], Counter())[edge["kind"]] += 1
        total += 1
    return in_degree, incoming, total


def _most_linked(rows: GraphRows, in_degree: Counter[str], max_nodes: int | None) -> tuple[set[str], int, int]:
    """The nodes kept (at most ``max_nodes`` of the most linked), how many there are, how many dangle."""

    def rank(node: Node) -> tuple[int, bool, int]:
        depth = node["depth"]
        return (in_degree[node["id"]], node["fetched"], -(depth if depth is not None else 1 << 30))

    total = dangling = 0
    ranked: list[tuple[tuple[int, bool, int], str]] = []
    for node in rows.nodes():
        total += 1
        dangling += not node["fetched"]
        ranked.append((rank(node), node["id"]))
    if max_nodes is not None and total > max_nodes:
        ranked = heapq.nlargest(max_nodes, ranked)
    return {url for _, url in ranked}, total, dangling


def _kept_edges(
    rows: GraphRows, nodes: list[Node], index: dict[str, int], max_edges: int | None
) -> list[tuple[int, int, str, str, int]]:
    """The edges among the kept nodes: past ``max_edges``, those of the first kinds to the most linked."""
    edges = [
        (index[edge["source"]], index[edge["target"]], edge["kind"], edge["text"], edge.get("weight", 1))
        for edge in rows.edges()
        if edge["source"] in index and edge["target"] in index
    ]
    if max_edges is not None and len(edges) > max_edges:
        edges = heapq.nsmallest(max_edges, edges, key=lambda e: (kind_rank(e[2]), -nodes[e[1]]["in_degree"], e[:2]))
        edges.sort(key=lambda e: (e[0], e[1]))
    return edges


def _add_pages(rows: GraphRows, nodes: list[Node], index: dict[str, int]) -> None:
    """What the panel shows of each kept page row, into its node."""
    for page in rows.pages(EXCERPT_CHARS + 1):  # one more: whether the excerpt cuts the text
        at = index.get(page.url)
        if at is None:
            continue
        nodes[at].update(
            section=page.section,
            published=page.published,
            authors=page.authors,
            excerpt=excerpt(page.text),
            fetched_at=page.fetched_at,
            error=page.error,
            mirror=page.mirror,
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
