"""A sample New York Times onion mirror that runs on loopback, with stand-in proxies.

Newcomers can crawl it without Tor, and the test-suite measures crawls
against its ground truth:

* :mod:`.site` -- :func:`build_site` generates a deterministic NYT-shaped
  site (dated article paths, video pages, navigation pages, a dead link, a
  redirect, a flaky page, a PDF, a page with broken UTF-8, ``robots.txt``)
  whose links to other articles come in ten URL shapes (mirror hosts,
  tracking parameters, odd case, default ports, fragments, relative and
  protocol-relative forms, canonical clearnet URLs).  The returned
  :class:`SampleSite` renders every page and knows the answers:
  ``article_urls()``, ``related(path)``, ``depth_of(url)``.  It moves with
  time: ``site.next_edition()`` (or ``build_site(..., edition=k)``) is the
  site a day later, with new, edited, removed and restored articles, and
  ``changes`` (an :class:`EditionChanges`) says which.  Most article pages
  send ``ETag`` and ``Last-Modified`` and answer conditional requests with
  ``304``; opt-in (``noise=True``) the others vary on every fetch.
* :mod:`.server` -- :class:`MirrorServer` serves a site over HTTP for any
  ``Host`` header and records each request; opt-in, like the real v3 mirror,
  it also serves HTTPS with a self-signed certificate for the onion names
  (``tls=True``) and redirects plain HTTP there (``https_redirect=True``).
  It records each request's headers and status (``conditional``,
  ``statuses``) and swaps its site while serving (``set_site``).
* :mod:`.proxies` -- :class:`RecordingHttpProxy` and
  :class:`RecordingSocks5Server` stand in for Tor: they forward requests for
  the mirror's onion hosts to the server, refuse other hosts, and record
  whether clients sent host names (as they must for ``.onion``) or addresses.

* :mod:`.outage` -- :class:`Outage`, shared by the server and the proxies:
  the mirror unreachable for N seconds after M articles (SOCKS errors, privoxy's
  503, open connections cut), the way a flapping onion service looks through Tor.

Run everything from the command line with ``python -m crawler.samplemirror``.
Only the standard library is used (plus ``cryptography`` for ``tls=True``).
"""

from .outage import Outage
from .proxies import (
    DEFAULT_ALLOWED_HOSTS,
    ProxyRequest,
    RecordingHttpProxy,
    RecordingSocks5Server,
    hosts_asked,
    is_ip_literal,
)
from .server import MirrorServer, RequestRecord
from .site import (
    BAD_CHECKSUM_V3,
    CANONICAL_HOST,
    DEAD_PATH,
    EDIT_KINDS,
    LINK_SHAPES,
    LOOKALIKE,
    MIRROR_V2,
    MIRROR_V3,
    OFFSITE_URL,
    PDF_PATH,
    REDIRECT_PATH,
    SECTIONS,
    SHAPE_NAMES,
    Article,
    EditionChanges,
    Link,
    SampleSite,
    build_site,
    canonical,
)

__all__ = [
    "BAD_CHECKSUM_V3",
    "CANONICAL_HOST",
    "DEAD_PATH",
    "DEFAULT_ALLOWED_HOSTS",
    "EDIT_KINDS",
    "LINK_SHAPES",
    "LOOKALIKE",
    "MIRROR_V2",
    "MIRROR_V3",
    "OFFSITE_URL",
    "PDF_PATH",
    "REDIRECT_PATH",
    "SECTIONS",
    "SHAPE_NAMES",
    "Article",
    "EditionChanges",
    "Link",
    "MirrorServer",
    "Outage",
    "ProxyRequest",
    "RecordingHttpProxy",
    "RecordingSocks5Server",
    "RequestRecord",
    "SampleSite",
    "build_site",
    "canonical",
    "hosts_asked",
    "is_ip_literal",
]
