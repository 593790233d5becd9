"""The proxy every request of a crawl goes through (``ONION_PROXY``), and a check
that it is there before anything is fetched.

``socks5h://`` (a Tor SOCKSPort; names are resolved by Tor, never locally) and
``http://`` (privoxy or any HTTP proxy in front of Tor) are accepted.

>>> parse_proxy("socks5h://127.0.0.1:9050")
ProxyAddress(scheme='socks5h', host='127.0.0.1', port=9050, username=None)
>>> parse_proxy("http://user:secret@127.0.0.1:8118").display
'http://***:***@127.0.0.1:8118'

Stream isolation: Tor never lets streams with different SOCKS credentials share a
circuit (``IsolateSOCKSAuth``, on by default). :class:`StreamIsolation` gives each
crawl process (so each worker of a shared crawl) credentials of its own, or one set
per site (``ONION_PROXY_ISOLATION = "site"``); an ``ONION_PROXY`` that carries
credentials keeps them.

>>> isolation = StreamIsolation("socks5h://127.0.0.1:9050", "site", token="4f2a")
>>> isolation.proxy_url_for("nytimes")
'socks5h://crawl-4f2a-nytimes:4f2a@127.0.0.1:9050'
>>> StreamIsolation("socks5h://127.0.0.1:9050", "crawl", token="4f2a").proxy_url_for("nytimes")
'socks5h://crawl-4f2a:4f2a@127.0.0.1:9050'
>>> StreamIsolation("socks5h://me:pw@127.0.0.1:9050", "crawl").proxy_url_for("nytimes")
'socks5h://me:pw@127.0.0.1:9050'

Not every SOCKS5 proxy takes credentials (microsocks, OpenSSH's ``ssh -D``, a VPN's):
the start-up check (:func:`check_proxy`) offers "no authentication" beside
username/password, as curl and Tor Browser do, and learns which the proxy picks. Tor
picks username/password; a proxy that picks "no authentication" is used without
credentials (:meth:`StreamIsolation.drop_credentials`), so without isolation. The
crawl's own connections then offer the one method the proxy picked (httpx offers
username/password alone when the proxy URL has credentials, "no authentication" alone
when it has none): a proxy that changed its mind later fails those requests rather than
silently taking them on circuits shared with other programs.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from crawler.exceptions import ProxyConfigError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

DEFAULT_PORTS = {"socks5h": 9050, "socks5": 9050, "http": 8118, "https": 443}

HOW_TO_FIX = (
    "Start Tor (e.g. `sudo systemctl start tor`, or run `tor`; its SocksPort is 9050, Tor Browser's 9150) "
    "or point ONION_PROXY at a running proxy: -s ONION_PROXY=socks5h://127.0.0.1:9150, "
    "or ONION_PROXY=http://127.0.0.1:8118 for privoxy in front of Tor."
)


@dataclass(frozen=True)
class ProxyAddress:
    scheme: str
    host: str
    port: int
    username: str | None = None

    @property
    def display(self) -> str:
        """The URL with its credentials masked, for logs."""
        auth = "***:***@" if self.username is not None else ""
        return f"{self.scheme}://{auth}{self.host}:{self.port}"


def parse_proxy(url: str) -> ProxyAddress:
    """Parse and check a proxy URL; raise ProxyConfigError with the reason."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ProxyConfigError(f"ONION_PROXY={url!r} is not a URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ProxyConfigError(
            f"ONION_PROXY={url!r}: scheme must be socks5h:// (Tor) or http:// (an HTTP proxy), not {scheme!r}"
        )
    if not parts.hostname:
        raise ProxyConfigError(f"ONION_PROXY={url!r} names no host")
    return ProxyAddress(scheme, parts.hostname, port or DEFAULT_PORTS[scheme], parts.username)


def proxy_url_from_settings(settings: BaseSettings) -> str:
    return (settings.get("ONION_PROXY") or "").strip()


ISOLATION_MODES = ("crawl", "site", "off")


class StreamIsolation:
    """The proxy URL, with SOCKS credentials of this crawl's own, for each request.

    ``mode``: ``"crawl"`` (one set of credentials per crawl process), ``"site"`` (one per
    site), ``"off"`` (none: circuits shared with other programs on the same Tor). Only
    SOCKS proxies get credentials (an HTTP proxy in front of Tor cannot pass them on),
    and an ONION_PROXY that carries its own keeps them.

    One per crawl (:func:`stream_isolation`): :class:`~crawler.tor.onionproxy.OnionProxyMiddleware`
    asks it for each request's proxy URL, and :class:`~crawler.tor.proxycheck.ProxyCheck` tells it,
    before the first request, when the proxy takes no credentials at all.
    """

    def __init__(self, proxy_url: str, mode: str, token: str | None = None) -> None:
        if mode not in ISOLATION_MODES:
            raise ProxyConfigError(f"ONION_PROXY_ISOLATION={mode!r}: use one of {', '.join(ISOLATION_MODES)}")
        self.proxy_url = proxy_url
        parts = urlsplit(proxy_url)
        self.socks = parts.scheme.lower().startswith("socks")
        isolating = mode != "off" and self.socks and parts.username is None
        self.requested_mode = mode
        self.mode = mode if isolating else "off"
        self.token = token or secrets.token_hex(8)
        self._urls: dict[str, str] = {}

    @property
    def own_credentials(self) -> bool:
        """True when the crawl sends SOCKS credentials of its own (isolation on)."""
        return self.mode != "off"

    def credentials(self) -> tuple[str, str] | None:
        """The SOCKS username and password the crawl sends (its own, or those in
        ONION_PROXY; the crawl-wide ones with per-site isolation), or None."""
        if not self.socks:
            return None
        parts = urlsplit(self.proxy_url_for(None))
        if parts.username is None:
            return None
        return unquote(parts.username), unquote(parts.password or "")

    def drop_credentials(self) -> None:
        """Send no credentials from now on: the proxy takes none (it chose "no
        authentication"), so there is no isolation to be had through it."""
        parts = urlsplit(self.proxy_url)
        host_port = parts.netloc.rpartition("@")[2]
        self.proxy_url = parts._replace(netloc=host_port).geturl()
        self.mode = "off"
        self._urls.clear()

    def proxy_url_for(self, site_key: str | None) -> str:
        """The proxy URL for a request to ``site_key``'s mirror."""
        if self.mode == "off":
            return self.proxy_url
        group = (site_key or "") if self.mode == "site" else ""
        url = self._urls.get(group)
        if url is None:
            username = f"crawl-{self.token}" + (f"-{group}" if group else "")
            scheme, rest = self.proxy_url.split("://", 1)
            url = self._urls[group] = f"{scheme}://{username}:{self.token}@{rest}"
        return url


_ISOLATIONS: weakref.WeakKeyDictionary[Crawler, StreamIsolation | None] = weakref.WeakKeyDictionary()


def stream_isolation(crawler: Crawler) -> StreamIsolation | None:
    """The crawl's one :class:`StreamIsolation` (None without ONION_PROXY), shared by the
    middleware that sets each request's proxy and the check that learns what the proxy takes."""
    if crawler not in _ISOLATIONS:
        proxy_url = proxy_url_from_settings(crawler.settings)
        mode = crawler.settings.get("ONION_PROXY_ISOLATION")
        _ISOLATIONS[crawler] = StreamIsolation(proxy_url, mode) if proxy_url else None
    return _ISOLATIONS[crawler]


# SOCKS5 methods (RFC 1928 section 3).
NO_AUTH, USER_PASS, NO_ACCEPTABLE = 0x00, 0x02, 0xFF
METHOD_NAMES = {NO_AUTH: "no authentication", 0x01: "GSSAPI", USER_PASS: "username/password"}


@dataclass(frozen=True)
class ProxyCheckResult:
    """What the start-up check learned of the proxy."""

    problem: str | None = None
    """Why the crawl cannot use the proxy, in words; None when it can."""
    reachable: bool = True
    """False when nothing answered like a proxy of its kind (down, timed out, not SOCKS5);
    True when a SOCKS5 proxy answered but refused what the crawl offered."""
    method: int | None = None
    """The SOCKS5 method the proxy chose, :data:`NO_AUTH` or :data:`USER_PASS` (None: not SOCKS)."""
    offered: tuple[int, ...] = ()
    """The SOCKS5 methods the greeting offered."""

    @property
    def offered_names(self) -> str:
        return " and ".join(f'"{METHOD_NAMES[method]}"' for method in self.offered)


async def check_proxy(
    address: ProxyAddress, timeout: float = 10.0, credentials: tuple[str, str] | None = None
) -> ProxyCheckResult:
    """Connect to the proxy and, for SOCKS5, greet it as the crawl will, offering
    ``credentials`` (username, password) if given: learn which method it picks and,
    for username/password, whether it takes the credentials."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(address.host, address.port), timeout)
    except (OSError, TimeoutError) as exc:
        return ProxyCheckResult(_describe(exc), reachable=False)
    try:
        if address.scheme.startswith("socks"):
            return await _socks_greeting(reader, writer, credentials, timeout)
        return ProxyCheckResult()
    finally:
        writer.close()


async def _socks_greeting(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    credentials: tuple[str, str] | None,
    timeout: float,
) -> ProxyCheckResult:
    # "No authentication" always, username/password only with credentials to send: what
    # curl and Firefox (so Tor Browser) offer. With credentials, offering both lets a proxy
    # that takes none (microsocks answers 0xFF to username/password alone, ssh -D hangs up)
    # say so, while Tor, Tor Browser's port and arti pick username/password whenever it is
    # offered (unless PreferSOCKSNoAuth or NoIsolateSOCKSAuth, where they would not isolate
    # anyway). Without credentials (ONION_PROXY_ISOLATION=off) there is nothing to send if a
    # proxy picked username/password, so "no authentication" is offered alone.
    offered = (NO_AUTH, USER_PASS) if credentials is not None else (NO_AUTH,)
    try:
        writer.write(bytes([5, len(offered), *offered]))
        await writer.drain()
        reply = await asyncio.wait_for(reader.readexactly(2), timeout)
    except TimeoutError:
        return ProxyCheckResult("no SOCKS5 answer (timed out)", reachable=False, offered=offered)
    except asyncio.IncompleteReadError as exc:
        if exc.partial[:1] not in (b"", b"\x05"):
            return ProxyCheckResult(_NOT_SOCKS5, reachable=False, offered=offered)
        return _refused("it hung up without choosing a method", offered)
    except OSError as exc:
        return _refused(f"it hung up without choosing a method ({_describe(exc)})", offered)
    if reply[0] != 5:
        return ProxyCheckResult(_NOT_SOCKS5, reachable=False, offered=offered)
    method = reply[1]
    if method == NO_ACCEPTABLE:
        return _refused("it answered 0xFF (no acceptable methods)", offered)
    if method not in offered:
        name = METHOD_NAMES.get(method, "a method of its own")
        return _refused(f"it chose a method that was not offered: {name} (0x{method:02X})", offered)
    if method == USER_PASS:
        assert credentials is not None
        problem = await _user_pass(reader, writer, credentials, timeout)
        if problem is not None:
            return _refused(problem, offered)
    return ProxyCheckResult(method=method, offered=offered)


_NOT_SOCKS5 = "it does not speak SOCKS5 (is it an HTTP proxy? then use http://)"


def _refused(problem: str, offered: tuple[int, ...]) -> ProxyCheckResult:
    return ProxyCheckResult(problem, reachable=True, offered=offered)


async def _user_pass(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, credentials: tuple[str, str], timeout: float
) -> str | None:
    """RFC 1929: None if the proxy takes the credentials, else why not."""
    username, password = (part.encode("utf-8")[:255] for part in credentials)
    writer.write(bytes([1, len(username)]) + username + bytes([len(password)]) + password)
    try:
        await writer.drain()
        reply = await asyncio.wait_for(reader.readexactly(2), timeout)
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        return f"it chose username/password, then gave no answer to the credentials ({_describe(exc)})"
    if reply[1] != 0:
        return "it chose username/password, then refused the credentials"
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "connection closed"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__
