"""A request fingerprinter keyed on the canonical URL.

Set as ``REQUEST_FINGERPRINTER_CLASS``, it makes Scrapy's own dupefilter,
JOBDIR state and HTTP cache treat every address of one article as one request:
v2 or v3 mirror, http or https, with or without tracking parameters or a
fragment, the mirror or the clearnet host.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from crawler.url.normalize import InvalidUrl, Normalizer, normalizer_for

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler


class CanonicalRequestFingerprinter:
    """SHA-1 of method, canonical URL and body (Scrapy's recipe, another URL form)."""

    def __init__(self, normalizer: Normalizer) -> None:
        self.normalizer = normalizer
        self._cache: WeakKeyDictionary[Request, bytes] = WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CanonicalRequestFingerprinter:
        return cls(normalizer_for(crawler.settings.get("RULES_DIR")))

    def canonical_url(self, url: str) -> str:
        """The URL the fingerprint is computed from (the URL itself if invalid)."""
        try:
            return self.normalizer.normalize(url)
        except InvalidUrl:
            return url

    def fingerprint(self, request: Request) -> bytes:
        cached = self._cache.get(request)
        if cached is None:
            cached = self._cache[request] = _digest(request.method, self.canonical_url(request.url), request.body)
        return cached

    @staticmethod
    def canonical_fingerprint(url: str) -> bytes:
        """The fingerprint of a GET of ``url``, already canonical (a stored page's URL):
        what :meth:`fingerprint` gives for any address of it, without normalizing again."""
        return _digest("GET", url, b"")


def _digest(method: str, canonical_url: str, body: bytes | None) -> bytes:
    digest = hashlib.sha1(method.encode())
    digest.update(b"\0" + canonical_url.encode())
    digest.update(b"\0" + (body or b""))
    return digest.digest()
