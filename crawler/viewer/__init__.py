"""The offline graph viewer: ``scrapy graph -o graph.html``.

* :mod:`.page` -- one self-contained HTML page from a :class:`~crawler.store.graph.ViewerGraph`:
  every script and style inline, a Content-Security-Policy that forbids any request;
* ``viewer.js``, ``viewer.css``, ``page.html`` -- the page's own script, style and template;
* ``vendor/`` -- sigma.js, graphology and graphology-layout-forceatlas2 as released on npm
  (``VERSIONS.json``: versions and integrity; ``LICENSE-*.txt``), refreshed by ``refresh_vendor.sh``;
* :mod:`.headless` -- a page opened in headless chromium over the DevTools protocol, every request
  recorded (for the tests and ``bench/bench_viewer.py``).
"""

from crawler.viewer.page import Drawing, render_page, write_page

__all__ = ["Drawing", "render_page", "write_page"]
