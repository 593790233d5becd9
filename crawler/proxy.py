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
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from crawler.exceptions import ProxyConfigError

if TYPE_CHECKING:
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
    """

    def __init__(self, proxy_url: str, mode: str, token: str | None = None) -> None:
        if mode not in ISOLATION_MODES:
            raise ProxyConfigError(f"ONION_PROXY_ISOLATION={mode!r}: use one of {', '.join(ISOLATION_MODES)}")
        self.proxy_url = proxy_url
        parts = urlsplit(proxy_url)
        isolating = mode != "off" and parts.scheme.lower().startswith("socks") and parts.username is None
        self.mode = mode if isolating else "off"
        self.token = token or secrets.token_hex(8)
        self._urls: dict[str, str] = {}

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


async def check_proxy(address: ProxyAddress, timeout: float = 10.0) -> str | None:
    """None if the proxy answers like a proxy of its kind, else what went wrong."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(address.host, address.port), timeout)
    except (OSError, TimeoutError) as exc:
        return _describe(exc)
    try:
        if address.scheme.startswith("socks"):
            return await _socks_greeting(reader, writer, address, timeout)
        return None
    finally:
        writer.close()


async def _socks_greeting(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: ProxyAddress, timeout: float
) -> str | None:
    method = b"\x02" if address.username is not None else b"\x00"
    writer.write(b"\x05\x01" + method)
    try:
        await writer.drain()
        reply = await asyncio.wait_for(reader.readexactly(2), timeout)
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        return f"no SOCKS5 answer ({_describe(exc)})"
    if reply[0] != 5:
        return "it does not speak SOCKS5 (is it an HTTP proxy? then use http://)"
    if reply[1:] != method:
        return "the SOCKS5 server refused the authentication method"
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "connection closed"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__
