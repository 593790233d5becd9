"""The offline graph viewer: ``scrapy graph -o graph.html``.

* :mod:`.model` -- what the page shows of a link graph (:class:`~crawler.viewer.model.ViewerGraph`),
  gathered from the rows :mod:`crawler.store.graph` hands it: the viewer reads no store;
* :mod:`.page` -- one self-contained HTML page of that graph: every script and style inline, a
  Content-Security-Policy that forbids any request;
* ``viewer.js``, ``viewer.css``, ``page.html`` -- the page's own script, style and template;
* ``vendor/`` -- sigma.js, graphology and graphology-layout-forceatlas2 as released on npm
  (``VERSIONS.json``: versions and integrity; ``LICENSE-*.txt``), refreshed by ``refresh_vendor.sh``.
"""

from crawler.viewer.page import Drawing, render_page, write_page

__all__ = ["Drawing", "render_page", "write_page"]
