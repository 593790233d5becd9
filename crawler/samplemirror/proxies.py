"""Recording proxies that stand in for Tor in front of a :class:`~.server.MirrorServer`.

* :class:`RecordingHttpProxy` -- an HTTP forward proxy (absolute-form
  requests and ``CONNECT``), the kind Privoxy or Tor's ``HTTPTunnelPort``
  offers.
* :class:`RecordingSocks5Server` -- a SOCKS5 server (RFC 1928, with the
  RFC 1929 username/password method Tor uses for stream isolation); it can
  also stand in for proxies that take no credentials (microsocks, ``ssh -D``)
  or refuse every greeting (``methods``, ``refusal``).

Whatever host a client asks for, an allowed one is connected to the
``upstream`` address (the mirror server); anything else is refused the way
Tor refuses an unknown onion.  ``upstream`` is one address for every port, or
a mapping from the port the client asked for to an address, e.g.
``{80: server.address, 443: server.tls_address}`` (ports not in it go to the
one for 80) -- :meth:`~RecordingSocks5Server.for_server` builds it from a
:class:`~.server.MirrorServer`, so TLS tunnelled to port 443 reaches its HTTPS port.  Every request is recorded as a
:class:`ProxyRequest`, including whether the client sent a host *name* or an
IP address -- a crawler that resolves ``.onion`` names locally leaks them to
DNS and fails, so tests check ``as_name``.

Both servers are threaded, bind ``127.0.0.1`` on a free port by default,
shrug off clients that vanish mid-request, and stop cleanly.
"""

from __future__ import annotations

import contextlib
import ipaddress
import select
import socket
import ssl
import struct
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from ._endpoint import Endpoint
from .outage import PRIVOXY_FAILURE_PAGE, Outage
from .site import MIRROR_V2, MIRROR_V3

if TYPE_CHECKING:
    from .server import MirrorServer

Address = tuple[str, int]
Upstream = Address | Mapping[int, Address]
"""One ``(host, port)`` for every port, or ``{port asked for: (host, port)}``."""
_Service = TypeVar("_Service", bound="_RecordingService")

DEFAULT_ALLOWED_HOSTS = frozenset({MIRROR_V3, MIRROR_V2})
MAX_HEAD_BYTES = 64 * 1024
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "proxy-connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
    }
)


@dataclass(frozen=True)
class ProxyRequest:
    """One request a proxy received."""

    host: str
    """The host exactly as the client sent it (IPv6 without brackets)."""
    port: int
    method: str
    """HTTP method, ``"CONNECT"``, or for SOCKS ``"CONNECT"``/``"BIND"``/``"UDP"``."""
    target: str
    """HTTP request target (absolute URL or ``host:port``); ``host:port`` for SOCKS."""
    as_name: bool
    """True if the host is a name, False if it is an IP literal."""
    username: str | None = None
    """SOCKS5 RFC 1929 username, if the client authenticated."""


def is_ip_literal(host: str) -> bool:
    """True for ``127.0.0.1``, ``::1`` or ``[::1]``."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def hosts_asked(proxy: RecordingHttpProxy | RecordingSocks5Server) -> set[str]:
    """The lower-cased hosts every recorded request asked for."""
    return {r.host.lower() for r in proxy.requests}


class _ClientGoneError(Exception):
    """The client closed the connection or sent something unusable."""


class _RecordingService(Endpoint):
    """Threaded TCP listener with request recording and a byte relay."""

    scheme: ClassVar[str] = ""

    def __init__(
        self,
        upstream: Upstream,
        allowed_hosts: Iterable[str] = DEFAULT_ALLOWED_HOSTS,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout: float = 10.0,
        outage: Outage | None = None,
    ) -> None:
        if isinstance(upstream, Mapping):
            self.upstreams: dict[int, Address] = {int(p): _address(a) for p, a in upstream.items()}
            default = self.upstreams.get(80)
        else:
            self.upstreams = {}
            default = _address(upstream)
        self.upstream: Address | None = default
        """Where ports without their own entry in :attr:`upstreams` go (None: refused)."""
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)
        self.timeout = timeout
        self.requests: list[ProxyRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._listener = socket.create_server((host, port))
        self._accept_thread: threading.Thread | None = None
        self.outage = outage
        """While it is active the mirror is unreachable through this proxy (see :mod:`.outage`)."""
        if outage is not None:
            outage.on_start(self.cut_connections)

    # -- public ------------------------------------------------------------

    @classmethod
    def for_server(cls: type[_Service], server: MirrorServer, **kwargs: Any) -> _Service:
        """A proxy in front of ``server``: port 443 to its TLS port (if it has one), the rest to its plain port."""
        upstream: dict[int, Address] = {80: server.address}
        if server.tls_address is not None:
            upstream[443] = server.tls_address
        return cls(upstream, **kwargs)

    def upstream_for(self, port: int) -> Address | None:
        """The address a request for ``port`` is relayed to (None if there is none)."""
        return self.upstreams.get(port, self.upstream)

    def _bound_address(self) -> tuple[str, int]:
        return _address(self._listener.getsockname())

    def allows(self, host: str) -> bool:
        """Whether requests for ``host`` are forwarded (case-insensitive)."""
        return host.lower() in self.allowed_hosts

    def cut_connections(self) -> None:
        """Close every connection being served, as a broken circuit does."""
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            _shutdown(conn)

    def unreachable(self) -> bool:
        """True while an outage makes the mirror unreachable."""
        return self.outage is not None and self.outage.active

    def reset(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self.requests.clear()

    def start(self) -> _RecordingService:
        """Start accepting connections in a daemon thread (idempotent)."""
        if self._accept_thread is None:
            self._accept_thread = threading.Thread(
                target=self._accept_loop, name=f"{self.scheme}-proxy:{self.port}", daemon=True
            )
            self._accept_thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop accepting, cut open connections and join worker threads."""
        self._stopping.set()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
        self._listener.close()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            _shutdown(conn)
        for thread in threads:
            thread.join(timeout)

    # -- for subclasses ----------------------------------------------------

    def handle(self, conn: socket.socket) -> None:
        """Serve one client connection."""
        raise NotImplementedError

    def record(self, request: ProxyRequest) -> None:
        """Append to :attr:`requests` (thread-safe)."""
        with self._lock:
            self.requests.append(request)

    def open_upstream(self, port: int = 80) -> socket.socket:
        """A connected, tracked socket to the upstream for ``port`` (OSError if there is none)."""
        address = self.upstream_for(port)
        if address is None:
            raise ConnectionRefusedError(f"no upstream for port {port}")
        sock = socket.create_connection(address, timeout=self.timeout)
        self._track(sock)
        return sock

    def relay(self, a: socket.socket, b: socket.socket) -> None:
        """Copy bytes both ways until both directions hit EOF (or stop())."""
        open_dirs = {a: b, b: a}
        while open_dirs and not self._stopping.is_set():
            readable, _, _ = select.select(list(open_dirs), [], [], 0.2)
            for src in readable:
                data = src.recv(65536)
                dst = open_dirs[src]
                if data:
                    dst.sendall(data)
                    continue
                del open_dirs[src]
                _shutdown(dst, socket.SHUT_WR)

    # -- internals ---------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                ready, _, _ = select.select([self._listener], [], [], 0.05)
                if not ready:
                    continue
                conn, _addr = self._listener.accept()
            except OSError:
                return
            conn.settimeout(self.timeout)
            self._track(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._threads.add(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.handle(conn)
        except (OSError, ValueError, _ClientGoneError):
            pass  # client vanished, upstream died, or we are stopping
        finally:
            self._untrack_all_of_thread(conn)
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._conns.add(sock)
        _thread_socks().append(sock)

    def _untrack_all_of_thread(self, conn: socket.socket) -> None:
        socks = _thread_socks()
        for sock in {conn, *socks}:
            sock.close()
            with self._lock:
                self._conns.discard(sock)
        socks.clear()


def _address(value: Any) -> Address:
    host, port = value[:2]
    return str(host), int(port)


class _ThreadSockets(threading.local):
    """Each thread sees its own ``socks``, made empty the first time it looks."""

    def __init__(self) -> None:
        self.socks: list[socket.socket] = []


_local = _ThreadSockets()


def _thread_socks() -> list[socket.socket]:
    """Sockets opened by the current worker thread (closed when it finishes)."""
    return _local.socks


def _shutdown(sock: socket.socket, how: int = socket.SHUT_RDWR) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(how)


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise _ClientGoneError("connection closed")
        buf += chunk
    return buf


# --------------------------------------------------------------------------
# HTTP proxy
# --------------------------------------------------------------------------


def _read_head(conn: socket.socket) -> tuple[bytes, bytes]:
    """Read up to the blank line; return ``(head, bytes_read_after_it)``."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        if len(buf) > MAX_HEAD_BYTES:
            raise _ClientGoneError("head too large")
        chunk = conn.recv(65536)
        if not chunk:
            raise _ClientGoneError("connection closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


def _parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    """Split a message head into its first line and ``(name, value)`` headers."""
    first, *lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return first, headers


def _split_hostport(netloc: str, default_port: int) -> tuple[str, int]:
    """``("host", port)`` from ``host``, ``host:port``, ``[v6]:port`` (userinfo dropped)."""
    netloc = netloc.rpartition("@")[2]
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = netloc.partition(":")
    return host, int(port) if port else default_port


def _forwardable(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop hop-by-hop headers, including those named in ``Connection``."""
    named = {
        token.strip().lower() for name, value in headers if name.lower() == "connection" for token in value.split(",")
    }
    return [(n, v) for n, v in headers if n.lower() not in _HOP_BY_HOP | named]


def _simple_response(status: str, text: str = "") -> bytes:
    body = (text or status).encode() + b"\n"
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


class RecordingHttpProxy(_RecordingService):
    """HTTP forward proxy: absolute-form requests are forwarded, ``CONNECT`` tunnelled.

    One request per client connection (answers carry ``Connection: close``).
    Requests for hosts outside ``allowed_hosts`` get ``502 Bad Gateway``.
    ``CONNECT`` tunnels go to the upstream for the port asked for: with a
    single upstream address that is the plain-HTTP server (TLS through them
    fails -- they are still recorded); with :meth:`for_server` on a TLS
    server, ``CONNECT host:443`` reaches its HTTPS port.  Absolute-form
    ``https://`` requests (rare: clients CONNECT instead) are fetched over
    TLS, unverified, when ``upstream`` is a mapping with an entry for their port.
    """

    scheme = "http"

    def handle(self, conn: socket.socket) -> None:
        """Serve one client request."""
        head, rest = _read_head(conn)
        first, headers = _parse_head(head)
        parts = first.split(" ")
        if len(parts) != 3:
            conn.sendall(_simple_response("400 Bad Request"))
            return
        method, target, _version = parts
        if method.upper() == "CONNECT":
            self._tunnel(conn, target, rest)
        else:
            self._forward(conn, method, target, headers, rest)

    def _tunnel(self, conn: socket.socket, target: str, rest: bytes) -> None:
        host, port = _split_hostport(target, 443)
        self.record(ProxyRequest(host, port, "CONNECT", target, not is_ip_literal(host)))
        if not self.allows(host):
            conn.sendall(_simple_response("502 Bad Gateway", f"unknown host {host}"))
            return
        if self.unreachable():
            conn.sendall(_simple_response("503 Forwarding failure", "Forwarding failure"))
            return
        upstream = self._connect_or_502(conn, port)
        if upstream is None:
            return
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest:
            upstream.sendall(rest)
        self.relay(conn, upstream)

    def _forward(
        self,
        conn: socket.socket,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        rest: bytes,
    ) -> None:
        scheme, sep, after = target.partition("://")
        if not sep or scheme.lower() not in ("http", "https"):
            conn.sendall(_simple_response("400 Bad Request", "absolute-form target required"))
            return
        netloc, slash, path = after.partition("/")
        path = (slash + path) or "/"
        host, port = _split_hostport(netloc, 443 if scheme.lower() == "https" else 80)
        self.record(ProxyRequest(host, port, method, target, not is_ip_literal(host)))
        if not self.allows(host):
            conn.sendall(_simple_response("502 Bad Gateway", f"unknown host {host}"))
            return
        if self.unreachable():
            conn.sendall(_privoxy_failure(target))
            return
        body = self._read_body(conn, headers, rest)
        upstream = self._connect_or_502(conn, port)
        if upstream is None:
            return
        if scheme.lower() == "https" and port in self.upstreams:
            upstream = _client_tls(upstream, host)
            self._track(upstream)
        upstream.sendall(_upstream_request(method, path, netloc, headers) + body)
        self._send_back(upstream, conn)

    def _read_body(self, conn: socket.socket, headers: list[tuple[str, str]], rest: bytes) -> bytes:
        length = next((v for n, v in headers if n.lower() == "content-length"), "0")
        wanted = int(length) if length.isdigit() else 0
        return rest + (_recv_exact(conn, wanted - len(rest)) if wanted > len(rest) else b"")

    def _connect_or_502(self, conn: socket.socket, port: int) -> socket.socket | None:
        try:
            return self.open_upstream(port)
        except OSError:
            conn.sendall(_simple_response("502 Bad Gateway", "upstream unreachable"))
            return None

    def _send_back(self, upstream: socket.socket, conn: socket.socket) -> None:
        """Relay the upstream response with hop-by-hop headers replaced."""
        head, rest = _read_head(upstream)
        status_line, headers = _parse_head(head)
        lines = [status_line, *(f"{n}: {v}" for n, v in _forwardable(headers))]
        conn.sendall(("\r\n".join([*lines, "Connection: close"]) + "\r\n\r\n").encode("latin-1"))
        conn.sendall(rest)
        while chunk := upstream.recv(65536):
            conn.sendall(chunk)


def _privoxy_failure(url: str) -> bytes:
    """privoxy's answer when it cannot forward a request to Tor."""
    body = PRIVOXY_FAILURE_PAGE.format(url=url).encode()
    return (
        "HTTP/1.1 503 Forwarding failure\r\nContent-Type: text/html\r\nCache-Control: no-cache\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


def _client_tls(sock: socket.socket, server_name: str) -> ssl.SSLSocket:
    """Wrap an upstream socket in unverified TLS (the mirror's certificate is self-signed)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(sock, server_hostname=None if is_ip_literal(server_name) else server_name)


def _upstream_request(method: str, path: str, netloc: str, headers: list[tuple[str, str]]) -> bytes:
    kept = _forwardable(headers)
    if not any(n.lower() == "host" for n, _ in kept):
        kept.insert(0, ("Host", netloc))
    lines = [f"{method} {path} HTTP/1.1", *(f"{n}: {v}" for n, v in kept), "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# --------------------------------------------------------------------------
# SOCKS5
# --------------------------------------------------------------------------

SOCKS_VERSION = 5
NO_AUTH, USER_PASS, NO_ACCEPTABLE = 0x00, 0x02, 0xFF
ATYP_IPV4, ATYP_DOMAIN, ATYP_IPV6 = 0x01, 0x03, 0x04
REP_SUCCESS, REP_FAILURE, REP_HOST_UNREACHABLE, REP_REFUSED = 0x00, 0x01, 0x04, 0x05
REP_CMD_UNSUPPORTED, REP_ATYP_UNSUPPORTED = 0x07, 0x08
_COMMANDS = {1: "CONNECT", 2: "BIND", 3: "UDP"}


def _socks_reply(code: int, bound: tuple[str, int] = ("0.0.0.0", 0)) -> bytes:
    """A SOCKS5 reply carrying an IPv4 bound address."""
    try:
        addr = socket.inet_aton(bound[0])
    except OSError:  # not IPv4 (e.g. an IPv6 upstream): report 0.0.0.0
        addr = bytes(4)
    return struct.pack("!BBBB", SOCKS_VERSION, code, 0, ATYP_IPV4) + addr + struct.pack("!H", bound[1])


class RecordingSocks5Server(_RecordingService):
    """SOCKS5 server (``CONNECT`` only) relaying allowed hosts to ``upstream``.

    The upstream is chosen by the port asked for (see :meth:`for_server`), so
    ``socks5h://`` clients fetching ``https://<onion>/`` tunnel TLS to a TLS server.

    ``methods``: the SOCKS5 methods it takes, in its order of preference. The default,
    ``(USER_PASS, NO_AUTH)``, is Tor's: username/password (any credentials accepted)
    whenever the client offers it, else no authentication. ``(NO_AUTH,)`` is a proxy
    that takes no credentials (microsocks, OpenSSH's ``ssh -D``); ``()`` takes nothing.
    ``refusal``: what it does when the client offers none of them: ``"reply"`` answers
    0xFF, no acceptable methods (microsocks), ``"hang_up"`` closes the connection without
    a word (``ssh -D``). ``refuse_credentials``: it chooses username/password, then
    refuses every username and password.

    Every greeting's offered methods are recorded in :attr:`greetings`.
    ``as_name`` is True for ATYP 0x03 domain names (unless the "name" is itself
    an IP literal), False for 0x01/0x04. Disallowed hosts get reply 0x04 (host unreachable).
    """

    scheme = "socks5h"

    def __init__(
        self,
        upstream: Upstream,
        *args: Any,
        methods: Sequence[int] = (USER_PASS, NO_AUTH),
        refusal: Literal["reply", "hang_up"] = "reply",
        refuse_credentials: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(upstream, *args, **kwargs)
        self.methods = tuple(methods)
        self.refusal = refusal
        self.refuse_credentials = refuse_credentials
        self.greetings: list[bytes] = []
        """The methods each client offered in its greeting, in order, one entry per connection."""

    def reset(self) -> None:
        """Forget the recorded requests and greetings."""
        super().reset()
        with self._lock:
            self.greetings.clear()

    def handle(self, conn: socket.socket) -> None:
        """Serve one SOCKS5 session."""
        username = self._negotiate(conn)
        if username is False:
            return
        ver, cmd, _rsv, atyp = _recv_exact(conn, 4)
        if ver != SOCKS_VERSION:
            return
        address = self._read_address(conn, atyp)
        if address is None:
            conn.sendall(_socks_reply(REP_ATYP_UNSUPPORTED))
            return
        host, port = address
        as_name = atyp == ATYP_DOMAIN and not is_ip_literal(host)
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        user = username if isinstance(username, str) else None
        self.record(ProxyRequest(host, port, _COMMANDS.get(cmd, str(cmd)), target, as_name, user))
        if cmd != 1:
            conn.sendall(_socks_reply(REP_CMD_UNSUPPORTED))
        elif not self.allows(host):
            conn.sendall(_socks_reply(REP_HOST_UNREACHABLE))
        elif self.outage is not None and self.outage.active:
            conn.sendall(_socks_reply(self.outage.socks_reply))
        else:
            self._connect(conn, port)

    def _negotiate(self, conn: socket.socket) -> str | bool | None:
        """Method selection; returns the username, None (no auth) or False (refused)."""
        ver, nmethods = _recv_exact(conn, 2)
        if ver != SOCKS_VERSION:
            return False
        offered = _recv_exact(conn, nmethods)
        with self._lock:
            self.greetings.append(offered)
        chosen = next((method for method in self.methods if method in offered), None)
        if chosen is None:
            if self.refusal == "reply":
                conn.sendall(bytes([SOCKS_VERSION, NO_ACCEPTABLE]))
            return False  # the connection is closed on return
        conn.sendall(bytes([SOCKS_VERSION, chosen]))
        if chosen == USER_PASS:
            return self._user_pass(conn)
        return None

    def _user_pass(self, conn: socket.socket) -> str | bool:
        """RFC 1929 sub-negotiation; every credential is accepted (all refused with
        ``refuse_credentials``: False)."""
        _ver, ulen = _recv_exact(conn, 2)
        username = _recv_exact(conn, ulen).decode("utf-8", "replace")
        (plen,) = _recv_exact(conn, 1)
        _recv_exact(conn, plen)
        if self.refuse_credentials:
            conn.sendall(b"\x01\x01")
            return False
        conn.sendall(b"\x01\x00")
        return username

    def _read_address(self, conn: socket.socket, atyp: int) -> tuple[str, int] | None:
        if atyp == ATYP_IPV4:
            host = socket.inet_ntop(socket.AF_INET, _recv_exact(conn, 4))
        elif atyp == ATYP_IPV6:
            host = socket.inet_ntop(socket.AF_INET6, _recv_exact(conn, 16))
        elif atyp == ATYP_DOMAIN:
            (length,) = _recv_exact(conn, 1)
            host = _recv_exact(conn, length).decode("utf-8", "replace")
        else:
            return None
        (port,) = struct.unpack("!H", _recv_exact(conn, 2))
        return host, port

    def _connect(self, conn: socket.socket, port: int) -> None:
        try:
            upstream = self.open_upstream(port)
        except OSError:
            conn.sendall(_socks_reply(REP_REFUSED))
            return
        bound = upstream.getsockname()
        conn.sendall(_socks_reply(REP_SUCCESS, (bound[0], bound[1])))
        self.relay(conn, upstream)
