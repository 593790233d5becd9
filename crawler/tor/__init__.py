"""Reaching a mirror through Tor: the proxy on every request, what Tor says when a mirror
cannot be reached, and waiting out a mirror that is down. One module per component:

* :mod:`.proxy` -- ``ONION_PROXY``: its address, the start-up check of what it takes
  (:func:`check_proxy`), and stream isolation (:class:`StreamIsolation`: SOCKS credentials
  of the crawl's own, so that Tor gives it circuits of its own);
* :mod:`.proxycheck` -- :class:`ProxyCheck`, the extension that runs that check before the
  first request and stops the crawl (``proxy_unreachable``) when the proxy is not there;
* :mod:`.onionproxy` -- :class:`OnionProxyMiddleware`, the downloader middleware that sends
  every request through the proxy, never directly;
* :mod:`.download` -- :class:`OnionDownloadHandler`, Scrapy's httpx handler (the one that
  speaks ``socks5h``) reading Tor's extended SOCKS replies;
* :mod:`.replies` -- what Tor and an HTTP proxy in front of it say when a mirror cannot be
  reached, in words (:func:`unreachable_reason`, :func:`proxy_refusal`); no Scrapy needed;
* :mod:`.outage` -- :class:`MirrorOutageMiddleware`, which tells a failed page from an
  unreachable mirror and waits the mirror out (``mirror_unreachable`` when it stays down).

``crawler/settings.py`` names the components by their dotted paths; the crawl's own policy
(staying on the mirror) is :mod:`crawler.middlewares`, and every finish reason is in
:mod:`crawler.reasons`.

>>> from crawler.tor import describe_socks_reply
>>> describe_socks_reply(0xF6)
'bad onion address (SOCKS 0xF6)'

The names below are imported from their module when first asked for, not with the package:
:mod:`.download` needs :mod:`crawler.archive.capture`, which needs :mod:`.outage`, so a
package that imported every module at once would be half made when the archive asks for it;
and :mod:`.replies` stays as light as it is.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawler.tor.download import OnionDownloadHandler
    from crawler.tor.onionproxy import OnionProxyMiddleware
    from crawler.tor.outage import MirrorOutageMiddleware, Postponed, other_mirrors
    from crawler.tor.proxy import (
        HOW_TO_FIX,
        ProxyAddress,
        ProxyCheckResult,
        StreamIsolation,
        check_proxy,
        parse_proxy,
        proxy_url_from_settings,
        stream_isolation,
    )
    from crawler.tor.proxycheck import ProxyCheck
    from crawler.tor.replies import (
        SOCKS_REPLIES,
        TorSocksError,
        Unreachable,
        describe_socks_reply,
        is_permanent,
        proxy_refusal,
        read_tor_socks_replies,
        unreachable_reason,
    )

_MODULE_OF = {
    "OnionDownloadHandler": "download",
    "OnionProxyMiddleware": "onionproxy",
    "MirrorOutageMiddleware": "outage",
    "Postponed": "outage",
    "other_mirrors": "outage",
    "HOW_TO_FIX": "proxy",
    "ProxyAddress": "proxy",
    "ProxyCheckResult": "proxy",
    "StreamIsolation": "proxy",
    "check_proxy": "proxy",
    "parse_proxy": "proxy",
    "proxy_url_from_settings": "proxy",
    "stream_isolation": "proxy",
    "ProxyCheck": "proxycheck",
    "SOCKS_REPLIES": "replies",
    "TorSocksError": "replies",
    "Unreachable": "replies",
    "describe_socks_reply": "replies",
    "is_permanent": "replies",
    "proxy_refusal": "replies",
    "read_tor_socks_replies": "replies",
    "unreachable_reason": "replies",
}

__all__ = [
    "HOW_TO_FIX",
    "SOCKS_REPLIES",
    "MirrorOutageMiddleware",
    "OnionDownloadHandler",
    "OnionProxyMiddleware",
    "Postponed",
    "ProxyAddress",
    "ProxyCheck",
    "ProxyCheckResult",
    "StreamIsolation",
    "TorSocksError",
    "Unreachable",
    "check_proxy",
    "describe_socks_reply",
    "is_permanent",
    "other_mirrors",
    "parse_proxy",
    "proxy_refusal",
    "proxy_url_from_settings",
    "read_tor_socks_replies",
    "stream_isolation",
    "unreachable_reason",
]


def __getattr__(name: str) -> Any:
    """A public name, from its module (PEP 562), imported on the first ask."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
