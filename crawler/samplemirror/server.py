"""A quiet, threaded HTTP server for a :class:`~.site.SampleSite`.

The server answers for *any* ``Host`` header: it stands in for the onion
service and is only ever reached through the proxies in :mod:`.proxies`,
whose upstream it is.  Every request is recorded, and an optional per-request
delay imitates Tor latency.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from ._endpoint import Endpoint
from .site import SampleSite

RequestRecord = tuple[str, str, str]
"""``(method, host_header, path_with_query)``."""


class MirrorServer(Endpoint):
    """Serve ``site`` on ``host:port`` (port 0 picks a free one) from a daemon thread.

    ``requests`` lists every request as ``(method, host_header, path_with_query)``.
    The flaky article's "first request fails" state belongs to this instance.
    """

    def __init__(
        self, site: SampleSite, host: str = "127.0.0.1", port: int = 0, delay: float = 0.0
    ) -> None:
        self.site = site
        self.delay = delay
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._attempts: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests served at once (for politeness tests)
        self._httpd = _QuietServer((host, port), _make_handler(self))
        self._thread: threading.Thread | None = None

    def _bound_address(self) -> tuple[str, int]:
        return self._httpd.server_address[:2]  # type: ignore[return-value]

    def start(self) -> MirrorServer:
        """Start serving in a daemon thread (idempotent); returns ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"mirror-server:{self.port}", daemon=True,
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving and close the listening socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> MirrorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def hits(self, path: str) -> int:
        """How many requests asked for ``path``.

        A ``path`` without ``?`` matches any query string; with ``?`` it must
        match exactly.
        """
        with self._lock:
            targets = [r[2] for r in self.requests]
        if "?" in path:
            return targets.count(path)
        return sum(1 for t in targets if t.split("?", 1)[0] == path)

    def respond(self, method: str, host: str, target: str) -> tuple[int, dict[str, str], bytes]:
        """Record a request and compute its response (used by the handler)."""
        host, target = _origin_form(host, target)
        path = target.split("?", 1)[0]
        with self._lock:
            self.requests.append((method, host, target))
            self._attempts[path] += 1
            attempt = self._attempts[path]
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay > 0:
                time.sleep(self.delay)
            return self.site.render(target, attempt)
        finally:
            with self._lock:
                self.in_flight -= 1


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


def _make_handler(server: MirrorServer) -> type[BaseHTTPRequestHandler]:
    """A request-handler class bound to ``server``."""

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
            status, headers, body = server.respond(self.command, host, self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Stay quiet."""

    return Handler
