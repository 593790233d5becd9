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
from collections.abc import Callable
from functools import lru_cache

from crawler.url.normalize import Normalizer, check_base, default_normalizer, is_absolute_http

__all__ = ["Rewriter", "rewrite_text"]

_SLASH = r"(?:/|\\/|\\u002[fF])"
_URL_CHARS = r"""[^\s"'<>`{}|\\^\[\]()]"""
# An absolute URL, possibly JSON-escaped (an IPv6 host in brackets allowed); ends at
# whitespace, quotes, brackets. The loop is
# unrolled (runs of plain characters between escapes) and starts with a literal, which
# lets the regex engine skip ahead fast: this scan is most of rewrite_text's time.
_URL_BODY = (
    rf"""{_SLASH}{_SLASH}(?:\[[0-9A-Za-z:.%_~-]*\])?{_URL_CHARS}*(?:(?:\\/|\\u00[0-9a-fA-F]{{2}}){_URL_CHARS}*)*"""
)
_URL_RE = re.compile(rf"https?:{_URL_BODY}")
_URL_ANY_CASE_RE = re.compile(rf"[hH][tT][tT][pP][sS]?:{_URL_BODY}")
# One literal-led pattern per attribute is far faster than one alternation.
_ATTR_RES = tuple(
    re.compile(rf"""{name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""") for name in ("href", "src", "action", "poster")
)
_ATTR_BOUNDARY = frozenset(" \t\r\n\f\"'-/")
_TRAILING_PUNCT = ".,;:!?*_"
_MEMO_SIZE = 1 << 16
_ENTITY_STOPS = ("&quot;", "&lt;", "&gt;", "&#34;", "&#39;", "&apos;")
_NOT_FETCHABLE = ("#", "mailto:", "javascript:", "data:", "tel:", "about:")
# The host-name pass: ".onion" not followed by a host character, ASCII only (so no
# Unicode case folding: a Kelvin sign is not a "k"); the label before it is looked up.
_ONION_SUFFIX_RE = re.compile(r"\.onion(?![a-z0-9-])", re.IGNORECASE | re.ASCII)
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_ESCAPED_SLASHES = ("%2f", "%2F", "u002f", "u002F")


class Rewriter:
    """Rewrites documents with one :class:`~crawler.url.normalize.Normalizer`."""

    def __init__(self, normalizer: Normalizer | None = None) -> None:
        self.normalizer = normalizer or default_normalizer()
        # Exact known mirror labels (lower case) -> the canonical domain they stand for.
        self._domains = {m.onion: m.domain for m in self.normalizer.rules.mirrors}
        # The same URL text recurs across a site's pages (navigation, related links).
        self._memo: dict[str, str] = {}

    def rewrite(self, text: str, base: str | None = None) -> str:
        """``text`` with every URL canonical (see the module docstring).

        Never raises on ``text``: a link that cannot be read stays as it was. A ``base``
        that is not an absolute http(s) URL raises :class:`~crawler.exceptions.InvalidUrl` naming it.
        """
        if base is not None:
            replace = self._attribute_replacer(check_base(base))
            for attribute in _ATTR_RES:
                text = attribute.sub(replace, text)
        any_case = "HTTP" in text or "Http" in text
        text = (_URL_ANY_CASE_RE if any_case else _URL_RE).sub(self._replace_url, text)
        if self._domains:
            text = self._map_hosts(text)
        return text

    def _replace_url(self, match: re.Match[str]) -> str:
        raw = match.group(0)
        replacement = self._memo.get(raw)
        if replacement is None:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            replacement = self._memo[raw] = self._rewrite_url(raw)
        return replacement

    def _rewrite_url(self, raw: str) -> str:
        if "&" not in raw and "\\" not in raw and raw[-1] not in _TRAILING_PUNCT:  # most URLs: as they are
            try:
                return self.normalizer.normalize(raw)
            except ValueError:
                return raw
        url, tail = _split_tail(raw)
        decoded, escapes = _unescape(url)
        try:
            canonical = self.normalizer.normalize(decoded)
        except ValueError:  # InvalidUrl, and anything else a link too odd to read raises
            return raw
        return _escape(canonical, escapes) + tail

    def _attribute_replacer(self, base: str) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            start = match.start()
            if start and match.string[start - 1] not in _ATTR_BOUNDARY:
                return match.group(0)  # "xhref=" is another attribute
            group = 1 if match.group(1) is not None else 2 if match.group(2) is not None else 3
            value = match.group(group)
            if not value or is_absolute_http(value) or value[:11].lower().startswith(_NOT_FETCHABLE):
                return match.group(0)
            decoded, escapes = _unescape(value)
            try:
                canonical = self.normalizer.normalize(decoded, base)
            except ValueError:
                return match.group(0)
            start, end = match.span(group)
            whole = match.group(0)
            offset = match.start(0)
            return whole[: start - offset] + _escape(canonical, escapes) + whole[end - offset :]

        return replace

    def _map_hosts(self, text: str) -> str:
        """Map the known mirror host names left outside URLs (bare, protocol-relative,
        after ``%2F`` or ``\\u002F``): one fast scan for ``.onion`` (ASCII, any case), then
        an exact look-up of the 56- or 16-character label before it. A label glued to
        letters, digits or ``-`` on its left is another onion (a lookalike), except right
        after an escaped slash."""
        pieces: list[str] = []
        last = 0
        domains = self._domains
        for match in _ONION_SUFFIX_RE.finditer(text):
            end = match.start()
            for length in (56, 16):
                start = end - length
                if start < last:
                    continue
                label = text[start:end]
                if not label.isascii() or (domain := domains.get(label.lower())) is None:
                    continue
                if start and text[start - 1] in _LABEL_CHARS and not text.endswith(_ESCAPED_SLASHES, 0, start):
                    continue
                pieces.append(text[last:start])
                pieces.append(domain)
                last = match.end()
                break
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)


def _split_tail(raw: str) -> tuple[str, str]:
    """Separate what follows a URL but was caught with it: entities, punctuation."""
    cut = len(raw)
    if "&" in raw:
        for stop in _ENTITY_STOPS:
            index = raw.find(stop)
            if index != -1:
                cut = min(cut, index)
    url = raw[:cut].rstrip(_TRAILING_PUNCT)
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
