"""Rewrite every URL in a document to its canonical form.

:func:`rewrite_text` finds absolute http(s) URLs in HTML, Markdown, JSON,
JavaScript or plain text, and replaces each with :func:`~crawler.url.normalize.normalize_url`'s
answer, written back in the escaping it came in (``&amp;`` in HTML attributes,
``\\/`` in JSON). Known mirror host names left anywhere else (JSON-LD, bare
host names, protocol-relative URLs) are mapped too. With ``base``, relative
``href``/``src`` values become absolute canonical URLs. Every byte that is not
part of a URL stays as it was.

>>> rewrite_text('<a href="http://www.nytimes3xbfgragh.onion/a.html?rref=x&amp;region=y&amp;q=1">')
'<a href="https://www.nytimes.com/a.html?q=1">'
>>> rewrite_text('{"url":"https:\\\\/\\\\/www.nytimes3xbfgragh.onion\\\\/2016\\\\/a.html"}')
'{"url":"https:\\\\/\\\\/www.nytimes.com\\\\/2016\\\\/a.html"}'
>>> rewrite_text('See [Aleppo](/2016/a.html?smid=tw).', base="http://www.nytimes3xbfgragh.onion/")
'See [Aleppo](/2016/a.html?smid=tw).'
>>> rewrite_text('<img src="/i.jpg">', base="http://static01.graylady3jvrrxbe.onion/")
'<img src="https://static01.nyt.com/i.jpg">'
"""

from __future__ import annotations

import re
from functools import lru_cache

from crawler.url.normalize import Normalizer, check_base, default_normalizer
from crawler.url.scan import URL_RE, attribute_values, onion_suffixes, splice, substitute_urls

__all__ = ["URL_RE", "Rewriter", "rewrite_text"]

# The attributes whose relative values are resolved against ``base``.
_ATTR_NAMES = ("href", "src", "action", "poster")
_TRAILING_PUNCT = ".,;:!?*_"
_MEMO_SIZE = 1 << 16
_ENTITY_STOP_RE = re.compile("&(?:quot|lt|gt|#34|#39|apos);")  # a quote or bracket: the URL ended
_NOT_FETCHABLE = ("#", "mailto:", "javascript:", "data:", "tel:", "about:")
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_ESCAPED_SLASHES = ("%2f", "%2F", "u002f", "u002F")


class Rewriter:
    """Rewrites documents with one :class:`~crawler.url.normalize.Normalizer`."""

    def __init__(self, normalizer: Normalizer | None = None) -> None:
        self.normalizer = normalizer or default_normalizer()
        # Exact known mirror labels (lower case) -> the canonical domain they stand for, and
        # the canonical host of the bare onion where that is another (``bare_host``).
        self._domains = {m.onion: m.domain for m in self.normalizer.rules.mirrors}
        self._bare_hosts = {m.onion: m.bare_host for m in self.normalizer.rules.mirrors if m.bare_host}
        # The same URL text recurs across a site's pages (navigation, related links).
        self._memo: dict[str, str] = {}

    def rewrite(self, text: str, base: str | None = None) -> str:
        """``text`` with every URL canonical (see the module docstring).

        Never raises on ``text``: a link that cannot be read stays as it was. A ``base``
        that is not an absolute http(s) URL raises :class:`~crawler.exceptions.InvalidUrl` naming it.
        """
        if base is not None:
            base = check_base(base)
            text = self._rewrite_attributes(text, base)
        text = self._rewrite_urls(text)
        if self._domains:
            text = self._map_hosts(text)
        return text

    def _rewrite_urls(self, text: str) -> str:
        """Every absolute URL in ``text`` canonical, each new one rewritten once (the memo)."""
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        return substitute_urls(text, self._memo, self._remember)

    def _remember(self, raw: str) -> str:
        """One URL as the scanner found it, canonical and escaped as it was written (as it
        was if it cannot be read), remembered. The common spellings (plain, ``&amp;`` in HTML,
        ``\\/`` in JSON) take a short way; the general one undoes and redoes every escape.
        One function rather than three, as it runs for every new URL."""
        normalize = self.normalizer.normalize
        url, tail = raw, ""
        if raw[-1] in _TRAILING_PUNCT or (";" in raw and _ENTITY_STOP_RE.search(raw)):
            url, tail = _split_tail(raw)
        try:
            if "\\" not in url:
                if "&amp;" not in url:
                    canonical = normalize(url) + tail
                else:
                    canonical = normalize(url.replace("&amp;", "&")).replace("&", "&amp;") + tail
            else:
                canonical = ""
                if "&" not in url:  # JSON's escaped slashes, one way or the other
                    for slash in ("\\/", "\\u002F"):
                        plain = url.replace(slash, "/")
                        if "\\" not in plain:
                            canonical = normalize(plain).replace("/", slash) + tail
                            break
                if not canonical:
                    decoded, escapes = _unescape(url)
                    canonical = _escape(normalize(decoded), escapes) + tail
        except ValueError:  # InvalidUrl, and anything else a link too odd to read raises
            canonical = raw
        self._memo[raw] = canonical
        return canonical

    def _rewrite_attributes(self, text: str, base: str) -> str:
        """Every relative ``href``/``src``/``action``/``poster`` value resolved against ``base``,
        canonical (:func:`~crawler.url.scan.attribute_values` finds them, in one pass)."""
        edits = []
        for start, end in attribute_values(text, _ATTR_NAMES):
            canonical = self._resolved(text[start:end], base)
            if canonical is not None:
                edits.append((start, end, canonical))
        return splice(text, edits)

    def _resolved(self, value: str, base: str) -> str | None:
        """A relative link's canonical URL, escaped as it was; None for an empty value, a
        fragment, a non-fetchable scheme, or a link that cannot be read (an absolute value is
        never captured: it is the URL scan's)."""
        if not value or value[:11].lower().startswith(_NOT_FETCHABLE):
            return None
        decoded, escapes = _unescape(value)
        try:
            canonical = self.normalizer.normalize(decoded, base)
        except ValueError:
            return None
        return _escape(canonical, escapes)

    def _map_hosts(self, text: str) -> str:
        """Map the known mirror host names left outside URLs (bare, protocol-relative,
        after ``%2F`` or ``\\u002F``): one fast scan for ``.onion`` (ASCII, any case), then
        an exact look-up of the 56- or 16-character label before it. A label glued to
        letters, digits or ``-`` on its left is another onion (a lookalike), except right
        after an escaped slash."""
        edits: list[tuple[int, int, str]] = []
        last = 0
        domains = self._domains
        for end in onion_suffixes(text):
            for length in (56, 16):
                start = end - length
                if start < last:
                    continue
                label = text[start:end]
                if not label.isascii() or (domain := domains.get(label.lower())) is None:
                    continue
                if start and text[start - 1] in _LABEL_CHARS and not text.endswith(_ESCAPED_SLASHES, 0, start):
                    continue
                if self._bare_hosts and not (start and text[start - 1] == "."):  # the bare onion
                    domain = self._bare_hosts.get(label.lower(), domain)
                last = end + 6  # after ".onion"
                edits.append((start, last, domain))
                break
        return splice(text, edits)


def _split_tail(raw: str) -> tuple[str, str]:
    """Separate what follows a URL but was caught with it: entities, punctuation."""
    stop = _ENTITY_STOP_RE.search(raw) if "&" in raw else None
    url = (raw if stop is None else raw[: stop.start()]).rstrip(_TRAILING_PUNCT)
    return url, raw[len(url) :]


def _unescape(url: str) -> tuple[str, tuple[str, ...]]:
    """Undo HTML/JSON escaping of ``&`` and ``/``; return the escapes to redo."""
    if "\\" not in url and "&amp;" not in url:
        return url, ()
    escapes = []
    if "&amp;" in url:
        url = url.replace("&amp;", "&")
        escapes.append("&amp;")
    if "\\" in url:
        for escaped, plain in (("\\/", "/"), ("\\u002F", "/"), ("\\u002f", "/"), ("\\u0026", "&")):
            if escaped in url:
                url = url.replace(escaped, plain)
                escapes.append(escaped)
    return url, tuple(escapes)


def _escape(url: str, escapes: tuple[str, ...]) -> str:
    for escaped in escapes:
        plain = "&" if escaped in ("&amp;", "\\u0026") else "/"
        url = url.replace(plain, escaped)
    return url


@lru_cache(maxsize=1)
def _default_rewriter() -> Rewriter:
    return Rewriter()


def rewrite_text(text: str, base: str | None = None, *, normalizer: Normalizer | None = None) -> str:
    """Return ``text`` with every URL in canonical form (see the module docstring).

    Never raises on ``text``; a bad ``base`` raises :class:`~crawler.exceptions.InvalidUrl`.
    """
    rewriter = _default_rewriter() if normalizer is None else Rewriter(normalizer)
    return rewriter.rewrite(text, base)
