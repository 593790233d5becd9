"""A quiet, threaded HTTP server for a :class:`~.site.SampleSite`.

The server answers for *any* ``Host`` header: it stands in for the onion
service and is only ever reached through the proxies in :mod:`.proxies`,
whose upstream it is.  Every request is recorded, and an optional per-request
delay imitates Tor latency.

Like the real NYT v3 mirror it can also speak HTTPS (``tls=True``: a second
port with a self-signed certificate for the onion names) and send every
plain-HTTP request a ``301`` to its ``https://`` URL (``https_redirect=True``).

The request headers reach :meth:`~.site.SampleSite.render`, so conditional
requests (``If-None-Match``, ``If-Modified-Since``) earn ``304`` where the page
has validators; each request's headers and status are recorded
(:attr:`MirrorServer.conditional`, :attr:`MirrorServer.statuses`).  The site
can be swapped while serving (:meth:`MirrorServer.set_site`), so one server
answers a first crawl with one edition and a recrawl with the next.

Opt-in (``hostile=True``), it also serves the hostile pages of :mod:`.hostile` (a gzip
bomb, deep nesting, a huge page, a page of many links, a tag soup, an unknown charset,
a body shorter than its ``Content-Length``), linked from their hub, ``/hostile/``.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import hostile as hostile_pages
from ._endpoint import Endpoint
from .outage import Outage
from .site import MIRROR_V3, SampleSite

CONDITIONAL_HEADERS = ("if-none-match", "if-modified-since")
"""Request headers that make a GET conditional (lower case)."""


class RequestRecord(tuple[str, str, str]):
    """``(method, host_header, path_with_query)`` -- a plain 3-tuple that also knows its ``scheme``,
    its request ``headers`` and the ``status`` it was answered with.

    It compares, hashes and unpacks like the 3-tuple; ``scheme`` is ``"http"``
    or ``"https"`` (the port the request arrived on); ``headers`` maps
    lower-cased header names to values; ``status`` is None until answered.

    >>> r = RequestRecord("GET", "h.onion", "/", "https", {"If-None-Match": '"abc"'})
    >>> r == ("GET", "h.onion", "/"), r.scheme, r.target, r.headers, r.conditional, r.status
    (True, 'https', '/', {'if-none-match': '"abc"'}, True, None)
    """

    scheme: str
    headers: dict[str, str]
    status: int | None

    def __new__(
        cls, method: str, host: str, target: str, scheme: str = "http", headers: Mapping[str, str] | None = None
    ) -> RequestRecord:
        record = super().__new__(cls, (method, host, target))
        record.scheme = scheme
        record.headers = {name.lower(): value for name, value in (headers or {}).items()}
        record.status = None
        return record

    def __getnewargs__(self) -> tuple[str, str, str, str]:
        return (*self, self.scheme)

    @property
    def method(self) -> str:
        return self[0]

    @property
    def host(self) -> str:
        return self[1]

    @property
    def target(self) -> str:
        return self[2]

    @property
    def conditional(self) -> bool:
        """True when the request carried ``If-None-Match`` or ``If-Modified-Since``."""
        return any(name in self.headers for name in CONDITIONAL_HEADERS)


_current = threading.local()
"""``scheme`` and ``headers`` of the request the current handler thread is serving."""


class MirrorServer(Endpoint):
    """Serve ``site`` on ``host:port`` (port 0 picks a free one) from a daemon thread.

    ``requests`` lists every request as ``(method, host_header, path_with_query)``
    (each a :class:`RequestRecord`, whose ``scheme`` is also in :attr:`request_schemes`,
    and which keeps the request's ``headers`` and the ``status`` answered: see
    :attr:`conditional` and :attr:`statuses`).
    The flaky article's "first request fails" state belongs to this instance.
    :meth:`set_site` swaps the site while serving (say, for its next edition).

    ``tls=True`` also serves HTTPS on a second port, :attr:`tls_address`
    (``tls_port``, 0 picks a free one), with a self-signed certificate for
    ``*.<v3>.onion``, ``<v3>.onion`` and ``*.<v2>.onion`` (needs the
    ``cryptography`` package).  Both ports share the site, the request log,
    the flaky-page state and ``max_in_flight``.  ``https_redirect=True``
    (requires ``tls``) answers every plain-HTTP request -- ``robots.txt``
    included -- with ``301`` to ``https://<Host><path>`` and an empty body.
    ``hostile=True`` answers the paths of :mod:`.hostile` before the site does.
    """

    def __init__(
        self,
        site: SampleSite,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        tls: bool = False,
        https_redirect: bool = False,
        tls_port: int = 0,
        outage: Outage | None = None,
        hostile: bool = False,
    ) -> None:
        if https_redirect and not tls:
            raise ValueError("https_redirect=True needs tls=True")
        self.site = site
        self.delay = delay
        self.outage = outage
        """Counts the articles served with 200 and starts when its count is reached (see :mod:`.outage`)."""
        self.tls = tls
        self.hostile = hostile
        self.https_redirect = https_redirect
        self.requests: list[RequestRecord] = []
        self.request_times: list[tuple[float, str]] = []
        """``(time.monotonic(), path_with_query)`` of every request, in order."""
        self._lock = threading.Lock()
        self._attempts: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests served at once (for politeness tests)
        self._httpd = _QuietServer((host, port), _make_handler(self, "http"))
        self._tls_httpd: _TlsServer | None = None
        if tls:
            from ._tls import server_context  # lazy: needs the third-party ``cryptography``

            try:
                self._tls_httpd = _TlsServer((host, tls_port), _make_handler(self, "https"), server_context())
            except BaseException:
                self._httpd.server_close()
                raise
        self._threads: list[threading.Thread] = []

    def _bound_address(self) -> tuple[str, int]:
        return self._httpd.server_address[:2]  # type: ignore[return-value]

    @property
    def tls_address(self) -> tuple[str, int] | None:
        """``(host, port)`` of the HTTPS port, or None without ``tls``."""
        if self._tls_httpd is None:
            return None
        host, port = self._tls_httpd.server_address[:2]
        return str(host), int(port)

    @property
    def tls_port(self) -> int | None:
        """The HTTPS port, or None without ``tls``."""
        address = self.tls_address
        return address[1] if address else None

    @property
    def tls_url(self) -> str | None:
        """``https://host:port`` of the HTTPS port, or None without ``tls``."""
        address = self.tls_address
        return f"https://{address[0]}:{address[1]}" if address else None

    @property
    def tls_certificate(self) -> str | None:
        """Path of the PEM certificate the HTTPS port presents (a client may trust it), or None."""
        if self._tls_httpd is None:
            return None
        from ._tls import certificate_files

        return str(certificate_files()[0])

    @property
    def request_schemes(self) -> list[str]:
        """The scheme (``"http"``/``"https"``) of each entry of :attr:`requests`, in order."""
        with self._lock:
            return [getattr(r, "scheme", "http") for r in self.requests]

    def _servers(self) -> list[_QuietServer]:
        return [self._httpd] + ([self._tls_httpd] if self._tls_httpd is not None else [])

    @property
    def conditional(self) -> list[RequestRecord]:
        """The requests that carried ``If-None-Match`` or ``If-Modified-Since``, in order."""
        with self._lock:
            return [r for r in self.requests if r.conditional]

    @property
    def statuses(self) -> Counter[int]:
        """How many requests were answered with each status (``statuses[304]``: not modified)."""
        with self._lock:
            return Counter(r.status for r in self.requests if r.status is not None)

    def set_site(self, site: SampleSite) -> None:
        """Serve ``site`` from now on (thread-safe: each request is answered by one site or the other).

        The request log and the attempt counts stay (the flaky article has
        already failed once if it was asked for); :meth:`reset` forgets them.
        """
        with self._lock:
            self.site = site

    def reset(self) -> None:
        """Forget the recorded requests and the attempt counts (the flaky article fails again)."""
        with self._lock:
            self.requests.clear()
            self.request_times.clear()
            self._attempts.clear()

    def start(self) -> MirrorServer:
        """Start serving in daemon threads (idempotent); returns ``self``."""
        if not self._threads:
            for httpd in self._servers():
                thread = threading.Thread(
                    target=httpd.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=f"mirror-server:{httpd.server_address[1]}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving and close the listening sockets."""
        if self._threads:
            for httpd in self._servers():
                httpd.shutdown()
            for thread in self._threads:
                thread.join(timeout)
            self._threads = []
        for httpd in self._servers():
            httpd.server_close()

    def hits(self, path: str, scheme: str | None = None) -> int:
        """How many requests asked for ``path`` (only over ``scheme``, if given).

        A ``path`` without ``?`` matches any query string; with ``?`` it must
        match exactly.
        """
        with self._lock:
            targets = [r[2] for r in self.requests if scheme is None or getattr(r, "scheme", "http") == scheme]
        if "?" in path:
            return targets.count(path)
        return sum(1 for t in targets if t.split("?", 1)[0] == path)

    def respond(
        self,
        method: str,
        host: str,
        target: str,
        scheme: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Record a request and compute its response (used by the handler).

        ``scheme`` and ``headers`` (the request's) default to those of the
        request the calling handler thread serves (``"http"`` and none outside
        a handler).  With ``https_redirect`` a plain-HTTP request is answered
        ``301`` and does not count as an attempt at the page (the flaky page
        still fails on its first HTTPS fetch).
        """
        scheme = scheme or str(getattr(_current, "scheme", "http"))
        if headers is None:
            headers = getattr(_current, "headers", None)
        host, target = _origin_form(host, target)
        path = target.split("?", 1)[0]
        redirect = self.https_redirect and scheme == "http"
        record = RequestRecord(method, host, target, scheme, headers)
        with self._lock:
            self.requests.append(record)
            self.request_times.append((time.monotonic(), target))
            if not redirect:
                self._attempts[path] += 1
            attempt = self._attempts[path]
            site = self.site
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        status = 500
        try:
            if self.delay > 0:
                time.sleep(self.delay)
            if redirect:
                status = 301
                return 301, {"Location": f"https://{_hostname(host) or MIRROR_V3}{target}"}, b""
            response = (hostile_pages.render(target) if self.hostile else None) or site.render(
                target, attempt, record.headers
            )
            status = response[0]
            return response
        finally:
            with self._lock:
                self.in_flight -= 1
                record.status = status


def _hostname(host_header: str) -> str:
    """The lower-cased host of a ``Host`` header, port dropped (nginx's ``$host``)."""
    if host_header.startswith("["):
        return host_header.partition("]")[0].lower() + "]"
    return host_header.rpartition(":")[0].lower() if ":" in host_header else host_header.lower()


def _origin_form(host: str, target: str) -> tuple[str, str]:
    """Turn an absolute-form target (``http://h/p``) into ``(h, "/p")``."""
    scheme, sep, rest = target.partition("://")
    if not sep or "/" in scheme:
        return host, target
    netloc, slash, path = rest.partition("/")
    return netloc or host, slash + path or "/"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        """Drop tracebacks from clients that hang up mid-request."""


class _TlsServer(_QuietServer):
    """Like :class:`_QuietServer`, but every connection speaks TLS.

    The handshake happens in the connection's worker thread, so a silent or
    plain-text client cannot stall the accept loop.
    """

    handshake_timeout = 10.0

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext
    ) -> None:
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        request.settimeout(self.handshake_timeout)
        conn = self.context.wrap_socket(request, server_side=True)
        try:
            conn.settimeout(None)
            self.RequestHandlerClass(conn, client_address, self)  # type: ignore[arg-type]
        finally:
            conn.close()


def _make_handler(server: MirrorServer, scheme: str = "http") -> type[BaseHTTPRequestHandler]:
    """A request-handler class bound to ``server`` for the ``scheme`` port."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "nytimes-sample-mirror/1.0"
        sys_version = ""

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            self._answer(with_body=True)

        def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
            self._answer(with_body=False)

        def _answer(self, with_body: bool) -> None:
            host = self.headers.get("Host", "")
            _current.scheme = scheme
            _current.headers = dict(self.headers.items())
            status, headers, body = server.respond(self.command, host, self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304 and "Content-Length" not in headers:  # a 304 has no body, nor a length of its own
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)
            self.wfile.flush()
            if headers.get("Content-Length", str(len(body))) != str(len(body)):
                self.close_connection = True  # a body shorter than declared: the client sees the connection end
            if server.outage is not None and status == 200 and server.site.is_article(self.path):
                server.outage.article_served()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Stay quiet."""

    return Handler
