"""Find URLs, attribute values and onion host names in text.

The rewriter's scans, each a function over a whole ``str``:

- :func:`split_urls`: the text split around the URLs :data:`URL_RE` defines, and
  :func:`substitute_urls`: each of them replaced;
- :func:`attribute_values`: the spans of some attributes' relative values;
- :func:`onion_suffixes`: where ``.onion`` ends a host name;
- :func:`common_url_parts`: the parts of a URL of the common shape (the normalizer's fast path);
- :func:`splice`: a text with some spans replaced, written once.

They are pure Python, and the regexes below say what each finds: :data:`URL_RE` is the
definition of a URL, and the URL split is a scanner faster than a plain split with it, held
to its answers (tests/test_scan.py checks them on arbitrary text and on every code point).
Pure Python is fast enough here: the URLs of a 100 KB page are found and substituted in
under a millisecond, where a Tor fetch takes a second or more (bench/bench_rewrite.py
measures it), and it keeps the package one universal wheel, with no compiled code reading
hostile pages.

>>> split_urls('see <a href="https://a.example/x">, HTTP://b.example!')
['see <a href="', 'https://a.example/x', '">, ', 'HTTP://b.example!', '']
>>> attribute_values('<a href="/x" src=y.png><img src="http://z/" alt="x">', ("href", "src"))
[(9, 11), (17, 22)]
>>> onion_suffixes("a.onion b.ONION/ c.onionx")
[1, 9]
>>> common_url_parts("https://a.example:8080/x?b=1#f"), common_url_parts("HTTP://a/")
(('https', 'a.example:8080', '/x', 'b=1'), None)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

__all__ = [
    "COMMON_URL_RE",
    "URL_RE",
    "attribute_values",
    "common_url_parts",
    "onion_suffixes",
    "splice",
    "split_urls",
    "substitute_urls",
]

_SLASH = r"(?:/|\\/|\\u002[fF])"
_URL_CHARS = r"""[^\s"'<>`{}|\\^\[\]()]"""
_URL_BODY = (
    rf"""{_SLASH}{_SLASH}(?:\[[0-9A-Za-z:.%_~-]*\])?{_URL_CHARS}*(?:(?:\\/|\\u00[0-9a-fA-F]{{2}}){_URL_CHARS}*)*"""
)
# What a URL is, by definition: an absolute http(s) URL, the scheme in any ASCII case,
# possibly JSON-escaped (``\/``, ``\u00XX``; an IPv6 host in brackets allowed), ending at
# whitespace, quotes, brackets, or a backslash that starts no such escape.
URL_RE = re.compile(rf"[hH][tT][tT][pP][sS]?:{_URL_BODY}")
_URL_SPLIT_RE = re.compile(f"({URL_RE.pattern})")
# What ``\s`` stands for in a str pattern (tests/test_scan.py checks it), and the other
# characters that end a URL.
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


# The scanner: the same head, then a run of URL characters or backslashes. It writes
# the class as the ranges between the characters that end a URL, because the regex engine
# tests ``\s`` (a Unicode category) and a negated class per character far slower (the scan
# ran at half the speed); and it takes backslashes in, because the definition's escape loop
# is the engine's slowest construct. A URL with a backslash that starts no escape is cut
# there afterwards (:func:`split_urls`), which is rare.
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
# An attribute's value after its name. An absolute value is read but not captured: it is
# the URL scan's.
_ABSOLUTE = "[hH][tT][tT][pP][sS]?:"
_ATTR_VALUE_RE = re.compile(
    rf"""\s*=\s*(?:"(?:{_ABSOLUTE}[^"]*|([^"]*))"|'(?:{_ABSOLUTE}[^']*|([^']*))'|(?:{_ABSOLUTE}[^\s"'>]*|([^\s"'>]+)))"""
)
_ATTR_BOUNDARY = frozenset(" \t\r\n\f\"'-/")
# ".onion" not followed by a host character, ASCII only (so no Unicode case folding: a
# Kelvin sign is not a "k").
_ONION_SUFFIX_RE = re.compile(r"\.onion(?![a-z0-9-])", re.IGNORECASE | re.ASCII)


def split_urls(text: str) -> list[str]:
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
    """:func:`split_urls`' split for a text with URLs in capitals: the URLs one by one, each the
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


def substitute_urls(text: str, memo: dict[str, str], rewrite: Callable[[str], str]) -> str:
    """``text`` with each URL (:data:`URL_RE`) replaced by ``memo[url]``, or by ``rewrite(url)``
    where ``memo`` has none: one split, then a memo look-up per URL (a callback per match would
    cost more than the look-up)."""
    parts = split_urls(text)
    if len(parts) == 1:
        return text
    remembered = memo.get
    parts[1::2] = [remembered(raw) or rewrite(raw) for raw in parts[1::2]]
    return "".join(parts)


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, replacement)`` of ``edits`` (in order, apart) made.

    Edits out of order, overlapping or past the end raise ValueError rather than give a text
    with some part written twice or lost (slicing would take any of them).
    """
    if not edits:
        return text
    pieces: list[str] = []
    last = 0
    for start, end, replacement in edits:
        if not last <= start <= end <= len(text):
            raise ValueError(f"edit {start}:{end} is not in order within a text of {len(text)} characters")
        pieces += (text[last:start], replacement)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def attribute_values(text: str, names: tuple[str, ...]) -> list[tuple[int, int]]:
    """The spans of the relative values of the attributes ``names`` in ``text``, in one pass
    from left to right over all the names: each value is read whole (a name inside a value is
    part of the value), and ``xsrc=`` (another attribute) is read whole and skipped."""
    spans: list[tuple[int, int]] = []
    pos = 0
    occurrences = sorted((index, len(name)) for name in names if name for index in _occurrences(text, name))
    for index, length in occurrences:
        if index < pos:  # inside the value before
            continue
        value = _ATTR_VALUE_RE.match(text, index + length)
        if value is None:  # no value: this name is text
            continue
        group = value.lastindex
        if group and (not index or text[index - 1] in _ATTR_BOUNDARY):
            spans.append(value.span(group))
        pos = value.end()
    return spans


def _occurrences(text: str, name: str) -> Iterator[int]:
    find = text.find
    index = find(name)
    while index != -1:
        yield index
        index = find(name, index + 1)


# The shape most links have, in the form w3lib's canonical form leaves as it is (but for
# the query's order): lower-case http(s) and host, plain path and query characters. The
# normalizer's fast path reads such URLs (crawler/url/normalize.py).
COMMON_URL_RE = re.compile(
    r"(https?)://([a-z0-9.-]+(?::[0-9]{1,5})?)(/[A-Za-z0-9\-._~!$'()*,:@/]*)?(?:\?([A-Za-z0-9\-._~=&]*))?(?:#.*)?",
    re.DOTALL,
)
CommonUrlParts = tuple[str, str, str | None, str | None]


def common_url_parts(url: str) -> CommonUrlParts | None:
    """(scheme, netloc, path, query) of a URL of the common shape (:data:`COMMON_URL_RE`), or None."""
    match = COMMON_URL_RE.fullmatch(url)
    if match is None:
        return None
    scheme, netloc, path, query = match.group(1, 2, 3, 4)
    return scheme, netloc, path, query


def onion_suffixes(text: str) -> list[int]:
    """Where in ``text`` ".onion" (ASCII, any case) ends a host name: the offsets of its dot."""
    return [match.start() for match in _ONION_SUFFIX_RE.finditer(text)]
