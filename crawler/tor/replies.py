"""What Tor and the proxies in front of it say when a mirror cannot be reached.

A fetch that gets no answer from the mirror itself is not a page error: the
proxy could not reach the onion service (SOCKS reply codes, privoxy's
``503 Forwarding failure``), or the circuit broke before a response came.
:func:`unreachable_reason` reads such a failure and says why, in words;
anything it returns None for is the page's own answer or a local error.

Tor's SOCKS replies (``src/lib/net/socks5_status.h``; with ``ExtendedErrors`` on
the SocksPort, the onion-service codes 0xF0-0xF7 of proposal 304):

>>> describe_socks_reply(0xF0)
'onion service descriptor not found (SOCKS 0xF0)'
>>> is_permanent(0xF0), is_permanent(0xF6)
(False, True)

:func:`read_tor_socks_replies` teaches socksio (the SOCKS client under httpx)
Tor's extended codes, which it would otherwise report as a "Malformed reply".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawler.exceptions import TorSocksError

if TYPE_CHECKING:
    from scrapy.http import Response

__all__ = [
    "SOCKS_REPLIES",
    "TorSocksError",
    "Unreachable",
    "describe_socks_reply",
    "exception_chain",
    "is_permanent",
    "proxy_refusal",
    "read_tor_socks_replies",
    "unreachable_reason",
]

SOCKS_REPLIES: dict[int, str] = {
    0x01: "general SOCKS server failure",
    0x02: "connection not allowed by ruleset",
    0x03: "network unreachable",
    0x04: "host unreachable",
    0x05: "connection refused",
    0x06: "TTL expired (the stream timed out)",
    0x07: "command not supported",
    0x08: "address type not supported",
    0xF0: "onion service descriptor not found",
    0xF1: "onion service descriptor is invalid",
    0xF2: "onion service introduction failed",
    0xF3: "onion service rendezvous failed",
    0xF4: "onion service needs client authorization",
    0xF5: "onion service client authorization is wrong",
    0xF6: "bad onion address",
    0xF7: "onion service introduction timed out",
}
# Retrying cannot help with these: the address needs client authorization, or is not valid.
PERMANENT_CODES = frozenset({0xF4, 0xF5, 0xF6})
# httpcore words the standard codes this way ("Proxy Server could not connect: Host unreachable.").
_HTTPCORE_WORDS = {
    "general socks server failure": 0x01,
    "connection not allowed by ruleset": 0x02,
    "network unreachable": 0x03,
    "host unreachable": 0x04,
    "connection refused": 0x05,
    "ttl expired": 0x06,
}
_PROXY_STATUS_CODES = (502, 503, 504)
_PRIVOXY_FAILURE = re.compile(rb"forwarding failure|privoxy", re.IGNORECASE)


def describe_socks_reply(code: int) -> str:
    """Tor's SOCKS reply ``code`` in words."""
    return f"{SOCKS_REPLIES.get(code, 'unknown SOCKS reply')} (SOCKS 0x{code:02X})"


def is_permanent(code: int | None) -> bool:
    """True for the replies no wait can cure (client authorization, a bad address)."""
    return code in PERMANENT_CODES


@dataclass(frozen=True)
class Unreachable:
    """Why the proxy got no answer from the mirror."""

    reason: str
    socks_code: int | None = None
    from_proxy: bool = False  # the proxy said so (an HTTP proxy's error, or no connection to the proxy)

    @property
    def permanent(self) -> bool:
        return is_permanent(self.socks_code)


def unreachable_reason(exception: BaseException) -> Unreachable | None:
    """Why a download that raised ``exception`` got no answer from the mirror, or None
    when the exception is not about reaching it (a refused request, a local error)."""
    from scrapy.exceptions import IgnoreRequest, UnsupportedURLSchemeError

    if isinstance(exception, IgnoreRequest | UnsupportedURLSchemeError):
        return None
    for cause in exception_chain(exception):
        if isinstance(cause, TorSocksError):
            return Unreachable(describe_socks_reply(cause.code), cause.code)
    message = str(exception)
    lowered = message.lower()
    for words, code in _HTTPCORE_WORDS.items():
        if f"could not connect: {words}" in lowered:
            return Unreachable(describe_socks_reply(code), code)
    if any(
        type(cause).__name__ == "ConnectError" and "http" in type(cause).__module__
        for cause in exception_chain(exception)
    ):
        # httpx could not open a connection to the proxy itself (Tor restarting, privoxy gone).
        return Unreachable(
            f"the proxy does not accept connections ({_first_line(message)}): is Tor running?", from_proxy=True
        )
    if any(type(cause).__name__ == "ProxyError" for cause in exception_chain(exception)):
        # An HTTP proxy refused the CONNECT (privoxy: "503 Forwarding failure").
        return Unreachable(f"the proxy says {_first_line(message)}", from_proxy=True)
    if isinstance(exception, OSError | TimeoutError) or _is_download_failure(exception):
        return Unreachable(_first_line(message) or type(exception).__name__)
    return None


def proxy_refusal(response: Response) -> Unreachable | None:
    """Why a response was written by the HTTP proxy, not the mirror (privoxy's
    ``503 Forwarding failure``, an RFC 9209 ``Proxy-Status`` error, Squid's
    ``X-Squid-Error``), or None for the mirror's own response."""
    if response.status not in _PROXY_STATUS_CODES:
        return None
    proxy_status = (response.headers.get(b"Proxy-Status") or b"").decode("latin-1")
    if "error=" in proxy_status:
        return Unreachable(f"the proxy says {response.status} ({proxy_status})", from_proxy=True)
    squid = response.headers.get(b"X-Squid-Error")
    if squid:
        return Unreachable(f"the proxy says {response.status} ({squid.decode('latin-1')})", from_proxy=True)
    if _PRIVOXY_FAILURE.search(response.body[:4096]):
        return Unreachable(f"the proxy says {response.status} Forwarding failure", from_proxy=True)
    return None


def read_tor_socks_replies() -> None:
    """Make socksio raise :class:`TorSocksError` with the code for replies it does not
    know, instead of a ProtocolError("Malformed reply") that loses it. Idempotent."""
    from socksio import socks5
    from socksio.exceptions import ProtocolError

    if getattr(socks5.SOCKS5Reply.loads, "reads_tor_codes", False):
        return
    original = socks5.SOCKS5Reply.loads

    def loads(data: bytes) -> socks5.SOCKS5Reply:
        try:
            return original(data)
        except ProtocolError:
            if len(data) >= 2 and data[0] == 5 and data[1] not in (0, *range(1, 9)):
                raise TorSocksError(
                    f"Proxy Server could not connect: {describe_socks_reply(data[1])}", data[1]
                ) from None
            raise

    loads.reads_tor_codes = True  # type: ignore[attr-defined]
    socks5.SOCKS5Reply.loads = staticmethod(loads)  # type: ignore[method-assign]


def exception_chain(exception: BaseException) -> list[BaseException]:
    """``exception`` and what caused it (``__cause__``, else ``__context__``), outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exception
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _is_download_failure(exception: BaseException) -> bool:
    """A download that ended without the mirror's answer: Scrapy's download errors
    (what its RETRY_EXCEPTIONS lists), and the Twisted handler's, should one be configured."""
    from scrapy import exceptions as scrapy_errors
    from twisted.internet import error as twisted_errors

    return isinstance(
        exception,
        (
            scrapy_errors.DownloadConnectionRefusedError,
            scrapy_errors.DownloadFailedError,
            scrapy_errors.DownloadTimeoutError,
            scrapy_errors.ResponseDataLossError,
            twisted_errors.ConnectError,
            twisted_errors.ConnectionLost,
            twisted_errors.ConnectionDone,
            twisted_errors.TimeoutError,
        ),
    )


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
