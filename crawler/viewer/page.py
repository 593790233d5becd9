r"""Build the viewer's page: one self-contained HTML file that makes no network request.

The page is ``page.html`` with its parts put in: ``viewer.css``, the graph as JSON in a
``<script type="application/json">`` (never executed; ``<``, ``>``, ``&`` and U+2028/2029
escaped, so a title holding ``</script>`` stays text), the vendored scripts (``vendor/``, see
``vendor/VERSIONS.json``) and ``viewer.js``. The Content-Security-Policy in the page allows
exactly these inline scripts and this style (by their SHA-256) and nothing else: no fetch, no
image, font, frame, worker or form target from anywhere. ``viewer.js`` sets every string of
the data with ``textContent``; the page has no link that leaves it.

>>> print(embed_json({"title": "</script><script>alert(1)</script> & \u2028"}))
{"title":"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e \u0026 \u2028"}
>>> json.loads(embed_json({"title": "</script> & \u2028"}))
{'title': '</script> & \u2028'}
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

from crawler.items import LINK_KINDS
from crawler.viewer.model import ViewerGraph

HERE = Path(__file__).parent
VENDOR = HERE / "vendor"
# In the order the page loads them: sigma and ForceAtlas2 take graphology's graphs.
VENDORED_SCRIPTS = ("graphology.umd.min.js", "sigma.min.js", "forceatlas2.min.js")
# Runs first: records what the policy blocked (the tests read it; nothing should ever be there).
_GUARD = (
    "window.cspViolations=[];document.addEventListener('securitypolicyviolation',function(e)"
    "{window.cspViolations.push(e.violatedDirective+' '+e.blockedURI)});"
)
# A node's colour by its kind: its links' (crawler.items.LINK_KINDS), and for the two kinds that no link
# gives (crawler.store.graph), a fetched page nothing links to and a host, green. viewer.js reads them
# from the page's data: it has no colours of kinds of its own.
KIND_COLOURS: dict[str, str] = {kind.value: colour for kind, colour in LINK_KINDS.items()} | {
    "page": "#2f855a",
    "host": "#2f855a",
}
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_UNSAFE = re.compile("[<>&\u2028\u2029]")


def embed_json(value: Any) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element: no ``<``, ``>`` or ``&``
    (escaped as ``\\u003c``...; JSON.parse reads them back), no raw U+2028/2029."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _JSON_UNSAFE.sub(lambda match: _JSON_ESCAPES[match.group()], text)


def script_hash(source: str) -> str:
    """The CSP source expression allowing the inline script (or style) ``source``.

    >>> script_hash("")
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
    """
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(scripts: list[str], styles: list[str]) -> str:
    """Nothing from anywhere: the given inline scripts and styles, by hash, and no other source."""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(script_hash(s) for s in scripts),
            "style-src " + " ".join(script_hash(s) for s in styles),
            "img-src 'none'",
            "font-src 'none'",
            "connect-src 'none'",
            "media-src 'none'",
            "object-src 'none'",
            "frame-src 'none'",
            "worker-src 'none'",
            "manifest-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


class Drawing(NamedTuple):
    """Past which sizes the page draws more cheaply: the ``VIEWER_LARGE_NODES``, ``VIEWER_LARGE_EDGES``
    and ``VIEWER_FROZEN_EDGES`` settings (see ``crawler/settings.py``)."""

    large_nodes: int
    large_edges: int
    frozen_edges: int

    @classmethod
    def from_settings(cls, settings: Any) -> Drawing:
        """From Scrapy settings (``-s`` overrides them)."""
        return cls(*(settings.getint(name) for name in _DRAWING_SETTINGS))

    @classmethod
    def default(cls) -> Drawing:
        """As ``crawler.settings`` sets them."""
        from crawler import settings

        return cls(*(getattr(settings, name) for name in _DRAWING_SETTINGS))


_DRAWING_SETTINGS = ("VIEWER_LARGE_NODES", "VIEWER_LARGE_EDGES", "VIEWER_FROZEN_EDGES")


def page_data(graph: ViewerGraph, drawing: Drawing | None = None) -> dict[str, Any]:
    """The graph in the page's JSON: nodes as objects with short keys (absent when empty),
    hosts and kinds as lists the nodes and edges index (``colours``: each kind's, from
    :data:`KIND_COLOURS`; null for a kind it has none for), edges as ``[source, target, kind]``
    (plus the anchor text, and the weight when it is not 1). ``large``: the graph has more nodes
    or more edges than ``drawing`` allows (None: :meth:`Drawing.default`), and the page draws it in
    its cheap mode; ``frozen_edges``: large, or more edges than ``drawing.frozen_edges``, and the
    edges are not drawn again while the camera moves."""
    drawing = Drawing.default() if drawing is None else drawing
    kinds = list(dict.fromkeys([*graph.kinds, *(edge[2] for edge in graph.edges)]))
    kind_index = {kind: i for i, kind in enumerate(kinds)}
    host_counts = Counter(node["host"] for node in graph.nodes)
    hosts = [host for host, _ in sorted(host_counts.items(), key=lambda pair: (-pair[1], pair[0]))]
    host_index = {host: i for i, host in enumerate(hosts)}
    nodes = []
    for node in graph.nodes:
        compact = {
            "u": node["id"],
            "t": node.get("title"),
            "k": kind_index[node["kind"]],
            "f": 1 if node["fetched"] else 0,
            "h": host_index[node["host"]],
            "s": node.get("status"),
            "d": node.get("depth"),
            "sec": node.get("section"),
            "pub": node.get("published"),
            "a": node.get("authors"),
            "x": node.get("excerpt"),
            "at": node.get("fetched_at"),
            "err": node.get("error"),
            "m": node.get("mirror"),
            "p": node.get("pages"),
        }
        nodes.append({key: value for key, value in compact.items() if value not in (None, "", [])})
    edges: list[list[Any]] = []
    for source, target, kind, text, weight in graph.edges:
        edge: list[Any] = [source, target, kind_index[kind]]
        if text or weight != 1:
            edge.append(text)
        if weight != 1:
            edge.append(weight)
        edges.append(edge)
    large = len(nodes) > drawing.large_nodes or len(edges) > drawing.large_edges
    return {
        "store": graph.store,
        "options": graph.options,
        "summary": graph.summary,
        "cut": None if graph.cut is None else {"describe": graph.cut.describe(), **graph.cut.__dict__},
        "kinds": kinds,
        "colours": [KIND_COLOURS.get(kind) for kind in kinds],
        "hosts": hosts,
        "large": large,
        "frozen_edges": large or len(edges) > drawing.frozen_edges,
        "nodes": nodes,
        "edges": edges,
    }


def render_page(graph: ViewerGraph, drawing: Drawing | None = None) -> str:
    """The whole page, as text (``drawing``: see :func:`page_data`)."""
    scripts = [_GUARD, *((VENDOR / name).read_text(encoding="utf-8") for name in VENDORED_SCRIPTS)]
    scripts.append((HERE / "viewer.js").read_text(encoding="utf-8"))
    style = (HERE / "viewer.css").read_text(encoding="utf-8")
    for source in scripts:
        if "</script" in source.lower() or "<!--" in source:
            raise ValueError("a vendored script holds '</script' or '<!--': it cannot be inlined as it is")
    parts = {
        "CSP": html.escape(content_security_policy(scripts, [style])),
        "TITLE": html.escape(f"Link graph of {graph.store}"),
        "STYLE": style,
        "GUARD": scripts[0],
        "DATA": embed_json(page_data(graph, drawing)),
        "SCRIPTS": "\n".join(f"<script>{source}</script>" for source in scripts[1:]),
    }
    template = (HERE / "page.html").read_text(encoding="utf-8")
    # One pass over the template: what is put in is never read again for markers.
    return re.sub(r"@@([A-Z]+)@@", lambda match: parts[match.group(1)], template)


def write_page(graph: ViewerGraph, path: str | os.PathLike[str], drawing: Drawing | None = None) -> None:
    """Write the page for ``graph`` to ``path`` (``drawing``: see :func:`page_data`)."""
    Path(path).write_text(render_page(graph, drawing), encoding="utf-8")
