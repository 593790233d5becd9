"""The project's exceptions, in one place, one subclass per concern.

:class:`CrawlerError` is the base of every error the project raises on purpose, so a
tool that embeds the crawler can catch them all at once::

    CrawlerError
    ├── RuleError            a rule file that cannot be used (file, key, problem)
    ├── InvalidOnionAddress  neither a valid v2 nor v3 onion address
    ├── InvalidUrl           a URL that cannot be normalized
    ├── NoMirror             a URL no known mirror serves, or a mirror that is not known
    ├── ProxyConfigError     ONION_PROXY is not a proxy the crawl can use
    ├── TorSocksError        a SOCKS reply socksio does not know (Tor's extended codes)
    ├── StoreError           a store file that cannot be used
    ├── ExportError          an output the store cannot be written to (format, inputs)
    ├── ArchiveError         WARC settings or files that cannot be used
    ├── UnsafeRequest        something in the shared queue that is not a JSON request
    ├── ExtractionSkipped    a page past what extraction handles in bounded memory (too large, too deep)
    ├── Postponed            (crawler.tor.outage) a request not fetched because its
    │                        mirror or Redis stayed unreachable
    └── OffMirror            (crawler.middlewares) a request refused: it would leave the mirror

The errors about a value that is wrong (a URL, a rule, a setting) are also
``ValueError``, as they always were, so existing ``except ValueError`` still works.

This module imports nothing from Scrapy: the URL core (:mod:`crawler.url`) raises
these errors and must stay usable without Scrapy. The two exceptions Scrapy must see as
its own ``IgnoreRequest`` (so that they are not logged as download errors),
:class:`~crawler.tor.outage.Postponed` and :class:`~crawler.middlewares.OffMirror`, are
defined with the component that raises them.

>>> issubclass(InvalidUrl, CrawlerError) and issubclass(InvalidUrl, ValueError)
True
>>> str(RuleError("rules/nyt.toml", "mirrors[0].onion", "not a v3 onion address"))
'rules/nyt.toml: mirrors[0].onion: not a v3 onion address'
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CrawlerError",
    "RuleError",
    "InvalidOnionAddress",
    "InvalidUrl",
    "NoMirror",
    "ProxyConfigError",
    "TorSocksError",
    "StoreError",
    "ExportError",
    "ArchiveError",
    "UnsafeRequest",
    "ExtractionSkipped",
]


class CrawlerError(Exception):
    """Base of the project's own errors."""


# -- the URL core: rules, onion addresses, URLs -----------------------------------


class RuleError(CrawlerError, ValueError):
    """A rule file that cannot be used: the message names file, key and problem."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        self.path, self.key, self.problem = str(path), key, problem
        super().__init__(f"{path}: {key}: {problem}")


class InvalidOnionAddress(CrawlerError, ValueError):
    """An onion address that is neither a valid v2 nor a valid v3 address."""


class InvalidUrl(CrawlerError, ValueError):
    """A URL that cannot be normalized: not http(s), or not parseable."""


class NoMirror(CrawlerError, ValueError):
    """A URL that no known mirror serves, or a mirror name that is not a known mirror."""


# -- the network: the proxy and Tor ----------------------------------------------


class ProxyConfigError(CrawlerError, ValueError):
    """ONION_PROXY is not a proxy URL the crawl can use."""


class TorSocksError(CrawlerError):
    """A SOCKS5 reply socksio does not know (Tor's extended error codes); ``code`` is the reply."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# -- the store and what is made from it ------------------------------------------


class StoreError(CrawlerError):
    """A store file that cannot be used: missing, corrupt, foreign, or from a newer release."""


class ExportError(CrawlerError, ValueError):
    """An export or merge that cannot be done as asked (format, inputs, output)."""


class ArchiveError(CrawlerError, ValueError):
    """WARC settings or files that cannot be used (see :mod:`crawler.archive`)."""


# -- the shared (Redis) crawl -----------------------------------------------------


class UnsafeRequest(CrawlerError, ValueError):
    """Something in the shared queue that is not a JSON request (a pickle, say)."""


# -- pages the crawl stores but does not extract ------------------------------------


class ExtractionSkipped(CrawlerError):
    """A page not given to the extractor: past a size or a depth that it handles in bounded memory.

    ``reason`` is the treatment's short name (``too-large``, ``too-many-tags``, ``too-deep``); the
    message is ``"<reason>: <the figures>"``, as the crawl records it.

    >>> str(ExtractionSkipped("too-large", "31457280 bytes > EXTRACT_MAX_BYTES (4194304)"))
    'too-large: 31457280 bytes > EXTRACT_MAX_BYTES (4194304)'
    """

    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}")
