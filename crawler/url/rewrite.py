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

__all__ = ["URL_RE", "Rewriter", "rewrite_text"]

_SLASH = r"(?:/|\\/|\\u002[fF])"
_URL_CHARS = r"""[^\s"'<>`{}|\\^\[\]()]"""
_URL_BODY = (
    rf"""{_SLASH}{_SLASH}(?:\[[0-9A-Za-z:.%_~-]*\])?{_URL_CHARS}*(?:(?:\\/|\\u00[0-9a-fA-F]{{2}}){_URL_CHARS}*)*"""
)
# What a URL is, by definition: an absolute http(s) URL, the scheme in any ASCII case,
# possibly JSON-escaped (``\/``, ``\u00XX``; an IPv6 host in brackets allowed), ending at
# whitespace, quotes, brackets, or a backslash that starts no such escape. The scanner
# below finds exactly these (tests/test_properties.py holds it to this definition).
URL_RE = re.compile(rf"[hH][tT][tT][pP][sS]?:{_URL_BODY}")
_URL_SPLIT_RE = re.compile(f"({URL_RE.pattern})")
# What ``\s`` stands for in a str pattern (tests/test_properties.py checks it), and the
# other characters that end a URL.
_WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_URL_ENDS = "\"'<>`{}|^[]()"


def _every_character_but(excluded: str) -> str:
    r"""A character class of every code point but those in ``excluded`` (where ``a-b``
    is a range), written as the ranges between them.

    >>> _every_character_but("\n b-d")
    '[\\x00-\\x09\\x0b-\\x1f\\x21-\\x61\\x65-\\U0010ffff]'
    """
    codes: set[int] = set()
    for run in re.finditer(r"(.)-(.)|.", excluded, re.DOTALL):
        first, last = (run[1], run[2]) if run[1] else (run[0], run[0])
        codes.update(range(ord(first), ord(last) + 1))
    ranges, start = [], 0
    for code in sorted(codes):
        if code > start:
            ranges.append((start, code - 1))
        start = code + 1
    if start <= 0x10FFFF:
        ranges.append((start, 0x10FFFF))
    return "[" + "".join(_class_range(first, last) for first, last in ranges) + "]"


def _class_range(first: int, last: int) -> str:
    return _class_char(first) if first == last else f"{_class_char(first)}-{_class_char(last)}"


def _class_char(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\U{code:08x}"


# The scanner: the same head, then a run of URL characters or backslashes. It writes the
# class as the ranges between the characters that end a URL, because the regex engine tests
# ``\s`` (a Unicode category) and a negated class per character far slower (the scan ran at
# half the speed); and it takes backslashes in, because the definition's escape loop is the
# engine's slowest construct. A URL with a backslash that starts no escape is cut there
# afterwards (``_split_urls``), which is rare.
_SCAN_CHARS = _every_character_but(_WHITESPACE + _URL_ENDS)
_SCAN_BODY = rf"{_SLASH}{_SLASH}(?:\[[0-9A-Za-z:.%_~-]*\])?{_SCAN_CHARS}*"
# A scheme in lower case makes a literal the engine skips ahead to; a case-blind scan tests
# every character, twice as slow. A URL whose scheme is not all lower case ("HTTPS://",
# "httpS:\\/\\/") has "H", "hT", "htT", "httP" or "httpS" where its first capital is: two
# searches led by a literal find where such URLs start, and only such pages take a slower way.
_URL_SCAN_RE = re.compile(rf"(https?:{_SCAN_BODY})")
_URL_SCAN_ANY_CASE_RE = re.compile(rf"([hH][tT][tT][pP][sS]?:{_SCAN_BODY})")
_ODD_CASE_HEAD_RES = (
    re.compile(rf"H[tT][tT][pP][sS]?:{_SLASH}{_SLASH}"),
    re.compile(rf"h(?:T[tT][pP][sS]?|tT[pP][sS]?|ttP[sS]?|ttpS):{_SLASH}{_SLASH}"),
)
# Every backslash in a URL starts an escape, so the first that starts none is where it ends.
_BAD_ESCAPE_RE = re.compile(r"\\(?!/|u00[0-9a-fA-F]{2})")
# The attributes whose relative values are resolved against ``base``. Each is found with
# str.find and its value read with one regex match: a regex search for the name tests every
# character in Python's regex engine, several times slower than str.find.
_ATTR_NAMES = ("href", "src", "action", "poster")
# An absolute value is read but not captured: it is the URL scan's.
_ABSOLUTE = "[hH][tT][tT][pP][sS]?:"
_ATTR_VALUE_RE = re.compile(
    rf"""\s*=\s*(?:"(?:{_ABSOLUTE}[^"]*|([^"]*))"|'(?:{_ABSOLUTE}[^']*|([^']*))'|(?:{_ABSOLUTE}[^\s"'>]*|([^\s"'>]+)))"""
)
_ATTR_BOUNDARY = frozenset(" \t\r\n\f\"'-/")
_TRAILING_PUNCT = ".,;:!?*_"
_MEMO_SIZE = 1 << 16
_ENTITY_STOP_RE = re.compile("&(?:quot|lt|gt|#34|#39|apos);")  # a quote or bracket: the URL ended
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
            base = check_base(base)
            for name in _ATTR_NAMES:
                text = self._rewrite_attribute(text, name, base)
        text = self._rewrite_urls(text)
        if self._domains:
            text = self._map_hosts(text)
        return text

    def _rewrite_urls(self, text: str) -> str:
        """Every absolute URL in ``text`` canonical: one split, then a memo look-up per URL
        (no callback per match, which would cost more than the look-up)."""
        parts = _split_urls(text)
        if len(parts) == 1:
            return text
        memo = self._memo
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        remembered, remember = memo.get, self._remember
        parts[1::2] = [remembered(raw) or remember(raw) for raw in parts[1::2]]
        return "".join(parts)

    def _remember(self, raw: str) -> str:
        canonical = self._memo[raw] = self._rewrite_url(raw)
        return canonical

    def _rewrite_url(self, raw: str) -> str:
        """One URL as the scanner found it, canonical and escaped as it was written; as it
        was if it cannot be read. The common spellings (plain, ``&amp;`` in HTML, ``\\/`` in
        JSON) take a short way; the general one undoes and redoes every escape."""
        url, tail = raw, ""
        if raw[-1] in _TRAILING_PUNCT or ("&" in raw and _ENTITY_STOP_RE.search(raw)):
            url, tail = _split_tail(raw)
        if "\\" not in url:
            if "&amp;" not in url:
                canonical = self._normalized(url)
            else:
                canonical = self._normalized(url.replace("&amp;", "&"))
                canonical = canonical and canonical.replace("&", "&amp;")
            return canonical + tail if canonical else raw
        if "&" not in url:  # JSON's escaped slashes, one way or the other
            for slash in ("\\/", "\\u002F"):
                plain = url.replace(slash, "/")
                if "\\" not in plain:
                    canonical = self._normalized(plain)
                    return canonical.replace("/", slash) + tail if canonical else raw
        decoded, escapes = _unescape(url)
        canonical = self._normalized(decoded)
        return _escape(canonical, escapes) + tail if canonical else raw

    def _normalized(self, url: str) -> str | None:
        try:
            return self.normalizer.normalize(url)
        except ValueError:  # InvalidUrl, and anything else a link too odd to read raises
            return None

    def _rewrite_attribute(self, text: str, name: str, base: str) -> str:
        """Every relative value of the attribute ``name`` resolved against ``base``, canonical.
        The occurrences are taken left to right, each value read whole (``name=`` inside a
        value is part of the value), as a regex substitution would."""
        find = text.find
        index = find(name)
        if index == -1:
            return text
        pieces: list[str] = []
        last = 0
        while index != -1:
            value = _ATTR_VALUE_RE.match(text, index + len(name))
            if value is None:
                index = find(name, index + 1)
                continue
            group = value.lastindex
            if group and (not index or text[index - 1] in _ATTR_BOUNDARY):  # not "xhref=", another attribute
                canonical = self._resolved(value.group(group), base)
                if canonical is not None:
                    start, end = value.span(group)
                    pieces += (text[last:start], canonical)
                    last = end
            index = find(name, value.end())
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)

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


def _split_urls(text: str) -> list[str]:
    """``text`` split around the URLs :data:`URL_RE` finds: text, URL, text, ..., text."""
    odd_case = _odd_case_heads(text)
    parts = _split_with_odd_case(text, odd_case) if odd_case else _URL_SCAN_RE.split(text)
    if len(parts) == 1 or not _BAD_ESCAPE_RE.search("\0".join(parts[1::2])):  # the URLs alone
        return parts
    offset = 0
    for index in range(1, len(parts), 2):
        offset += len(parts[index - 1])
        url = parts[index]
        bad = _BAD_ESCAPE_RE.search(url) if "\\" in url else None
        if bad is not None:
            # The URL ends at that backslash, and the next may start inside what the scanner
            # took: the definition itself goes on from there (rare: "http://a\n" in JSON).
            cut = offset + bad.start()
            return [*parts[:index], url[: bad.start()], *_URL_SPLIT_RE.split(text[cut:])]
        offset += len(url)
    return parts


def _odd_case_heads(text: str) -> list[int]:
    r"""Where in ``text`` a URL whose scheme is not all lower case may start, in order.

    >>> _odd_case_heads("HTTP://a httpS:\\/\\/b http://c"), _odd_case_heads("XMLHttpRequest")
    ([0, 9], [])
    """
    return sorted(match.start() for head in _ODD_CASE_HEAD_RES for match in head.finditer(text))


def _split_with_odd_case(text: str, odd_case: list[int]) -> list[str]:
    """:func:`_split_urls`' split for a text with URLs in capitals: the URLs one by one, each the
    first of the next lower-case URL and the next URL at one of ``odd_case``, as the definition's
    scan from left to right finds them (a URL starts at a lower-case scheme or at one of those)."""
    parts: list[str] = []
    last = 0
    heads = iter(odd_case)
    head = next(heads, None)
    search = _URL_SCAN_RE.search
    while True:
        found = search(text, last)
        while head is not None and head < last:  # inside the URL before
            head = next(heads, None)
        if head is not None and (found is None or head < found.start()):
            found = _URL_SCAN_ANY_CASE_RE.match(text, head) or found
        if found is None:
            break
        parts += (text[last : found.start()], found.group())
        last = found.end()
    parts.append(text[last:])
    return parts


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
