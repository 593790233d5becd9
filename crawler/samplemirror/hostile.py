"""Hostile pages: what a broken or malicious mirror can send, for the crawl to survive in bounded memory.

Opt-in: ``MirrorServer(site, hostile=True)`` answers the paths below before the site does, and
:data:`HUB_PATH` links to each of them with an article-shaped URL, so a crawl started at the hub
(``-a start_urls=http://<mirror>/hostile/``) follows every one (``/hostile/?page=huge-page``: that one;
``&copies=16``: each 16 times, as ``...?copy=N``, for a mirror whose every answer is hostile; ``&mib=8``:
the huge page of 8 MiB rather than 30):

* ``gzip-bomb`` -- ``Content-Encoding: gzip``, about 10 MiB on the wire that expand to 10 GiB of
  zeros (one valid gzip member, built without ever holding the expanded bytes);
* ``deep-nesting`` -- 100,000 nested ``<div>`` elements around one paragraph;
* ``nesting-1000`` -- 1,000 of them: few tags, but deeper than the 256 levels an HTML parser keeps;
* ``huge-page`` -- 30 MiB of article HTML, under the crawl's ``DOWNLOAD_MAXSIZE`` (32 MiB);
* ``many-links`` -- 50,000 links to distinct article-shaped URLs (none exists: each answers 404);
* ``tag-soup`` -- 1,000,000 ``<br>`` tags (4 MB), which cost a parser far more than their bytes;
* ``bad-charset`` -- an article declared ``charset=x-does-not-exist``, in the header and the page;
* ``short-body`` -- a ``Content-Length`` of 64 KiB, 1 KiB of body, then the connection is closed.

The bomb, the huge page and the tag soup are built once per process and kept (44 MiB together,
in the server's process, not the crawl's).

>>> [page.name for page in HOSTILE_PAGES]
['gzip-bomb', 'deep-nesting', 'nesting-1000', 'huge-page', 'many-links', 'tag-soup', 'bad-charset', 'short-body']
>>> status, headers, body = render(HUB_PATH)
>>> status, body.count(b"<a href="), render("/2016/12/05/world/anything.html") is None
(200, 8, True)
>>> render(HUB_PATH + "?page=tag-soup")[2].count(b"<a href="), render(HUB_PATH + "?copies=3")[2].count(b"?copy=")
(1, 24)
>>> len(render(HostilePage("huge-page", "").path + "?copy=2&mib=1")[2])
1048576
>>> import gzip
>>> gzip.decompress(gzip_bomb(3)) == bytes(3 << 20)
True
"""

from __future__ import annotations

import functools
import html
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from .site import HTML_TYPE, Response, _head, _paragraph

HUB_PATH = "/hostile/"
"""The page that links to every hostile page (a crawl of the hostile pages starts there)."""

_MIB = 1 << 20
BOMB_EXPANDED_MIB = 10 * 1024
"""What the gzip bomb expands to, in MiB (10 GiB: a crawl that decompresses it all runs out of memory)."""
NESTING_DEPTH = 100_000
SOME_NESTING_DEPTH = 1_000
HUGE_PAGE_BYTES = 30 * _MIB
"""Just under the crawl's DOWNLOAD_MAXSIZE (32 MiB), so it is downloaded whole."""
LINK_COUNT = 50_000
TAG_SOUP_TAGS = 1_000_000
SHORT_BODY_DECLARED = 64 * 1024
SHORT_BODY_SENT = 1024
BAD_CHARSET = "x-does-not-exist"


@dataclass(frozen=True)
class HostilePage:
    """One hostile page: its name, its article-shaped path and what it does."""

    name: str
    what: str

    @property
    def path(self) -> str:
        return f"/2016/12/06/hostile/{self.name}.html"


HOSTILE_PAGES = (
    HostilePage("gzip-bomb", f"10 MiB of gzip expanding to {BOMB_EXPANDED_MIB // 1024} GiB"),
    HostilePage("deep-nesting", f"{NESTING_DEPTH:,} nested <div> elements"),
    HostilePage("nesting-1000", f"{SOME_NESTING_DEPTH:,} nested <div> elements"),
    HostilePage("huge-page", f"{HUGE_PAGE_BYTES // _MIB} MiB of article HTML"),
    HostilePage("many-links", f"{LINK_COUNT:,} links to articles that do not exist"),
    HostilePage("tag-soup", f"{TAG_SOUP_TAGS:,} <br> tags"),
    HostilePage("bad-charset", f"charset={BAD_CHARSET}"),
    HostilePage("short-body", f"{SHORT_BODY_SENT} of the {SHORT_BODY_DECLARED} bytes its Content-Length declares"),
)
"""Every hostile page, in the order the hub links them."""


def render(path: str) -> Response | None:
    """``(status, headers, body)`` of a hostile page or the hub at ``path``, else None.

    The query is ignored, but for the hub's ``page`` (the names of the pages to link; all without),
    ``copies`` (how many times to link each, with a ``copy`` parameter: one by default) and ``mib``
    (passed on in its links), and the huge page's ``mib`` (its size in MiB: 30 by default).
    A ``Content-Length`` in the headers is the one to send, whatever the body's length (the server
    then closes the connection after the body).
    """
    path, _, query = path.partition("?")
    asked = parse_qs(query)
    if path == HUB_PATH:
        names, copies, mib = asked.get("page"), int(asked.get("copies", ["0"])[0]), asked.get("mib", [None])[0]
        return _hub([page for page in HOSTILE_PAGES if names is None or page.name in names], copies, mib)
    page = _BY_PATH.get(path)
    if page is None:
        return None
    if page.name == "huge-page" and "mib" in asked:
        return _huge_page(page.path, int(asked["mib"][0]) * _MIB)
    return _BODIES[page.name](page.path)


def link_path(index: int) -> str:
    """The path of the ``index``-th link of the many-links page (an article that does not exist)."""
    return f"/2016/12/07/hostile/link-{index:05d}.html"


# -- the pages ------------------------------------------------------------------------------------


def _hub(pages: list[HostilePage], copies: int, mib: str | None) -> Response:
    def href(page: HostilePage, copy: int) -> str:
        params = ([f"copy={copy}"] if copies else []) + ([f"mib={mib}"] if mib else [])
        return html.escape(page.path + ("?" + "&".join(params) if params else ""))

    items = "\n".join(
        f'<li><a href="{href(p, n)}">{p.name}: {html.escape(p.what)}</a></li>'
        for p in pages
        for n in range(max(copies, 1))
    )
    return 200, {"Content-Type": HTML_TYPE}, _page("Hostile pages", HUB_PATH, f"<ul>\n{items}\n</ul>").encode()


@functools.cache
def _gzip_bomb(path: str) -> Response:
    return 200, {"Content-Type": HTML_TYPE, "Content-Encoding": "gzip"}, gzip_bomb(BOMB_EXPANDED_MIB)


def _deep_nesting(path: str) -> Response:
    return _ok(_page("Deep nesting", path, _nested(NESTING_DEPTH)))


def _some_nesting(path: str) -> Response:
    return _ok(_page("Nested 1,000 deep", path, _nested(SOME_NESTING_DEPTH)))


def _nested(depth: int) -> str:
    return "<div>" * depth + "<p>At the bottom of the nesting.</p>" + "</div>" * depth


@functools.cache
def _huge_page(path: str, size: int = HUGE_PAGE_BYTES) -> Response:
    return 200, {"Content-Type": HTML_TYPE}, huge_page(path, size)


def _many_links(path: str) -> Response:
    anchors = "\n".join(f'<a href="{link_path(i)}">Story {i}</a>' for i in range(LINK_COUNT))
    return _ok(_page("Many links", path, anchors))


@functools.cache
def _tag_soup(path: str) -> Response:
    return _ok(_page("Tag soup", path, "<br>" * TAG_SOUP_TAGS))


def _bad_charset(path: str) -> Response:
    body = _page("Bad charset", path, _paragraphs(5), f'<meta charset="{BAD_CHARSET}">\n')
    return 200, {"Content-Type": f"text/html; charset={BAD_CHARSET}"}, body.encode()


def _short_body(path: str) -> Response:
    body = _page("Short body", path, _paragraphs(40)).encode()[:SHORT_BODY_SENT]
    return 200, {"Content-Type": HTML_TYPE, "Content-Length": str(SHORT_BODY_DECLARED)}, body


_BODIES: dict[str, Callable[[str], Response]] = {
    "gzip-bomb": _gzip_bomb,
    "deep-nesting": _deep_nesting,
    "nesting-1000": _some_nesting,
    "huge-page": _huge_page,
    "many-links": _many_links,
    "tag-soup": _tag_soup,
    "bad-charset": _bad_charset,
    "short-body": _short_body,
}
_BY_PATH = {page.path: page for page in HOSTILE_PAGES}


def _ok(text: str) -> Response:
    return 200, {"Content-Type": HTML_TYPE}, text.encode()


def _page(title: str, path: str, body: str, head_extra: str = "") -> str:
    heading = f"<h1>{html.escape(title)}</h1>"
    return f"{_head(title, path, head_extra)}<body>\n<main>\n{heading}\n{body}\n</main>\n</body>\n</html>\n"


def _paragraphs(count: int, seed: int = 22) -> str:
    rng = random.Random(seed)
    return "\n".join(f"<p>{html.escape(_paragraph(rng))}</p>" for _ in range(count))


# -- generated bodies ---------------------------------------------------------------------------------


def huge_page(path: str, size: int) -> bytes:
    """An article page at ``path`` of exactly ``size`` bytes: 200 generated paragraphs over and over, a link to a
    section of the mirror every tenth (so a rewriter has URLs to map), padded with spaces to ``size``."""
    rng = random.Random(30)
    paragraphs = [f"<p>{html.escape(_paragraph(rng))}</p>\n" for _ in range(200)]
    for i in range(0, len(paragraphs), 10):
        paragraphs[i] += f'<p><a href="/section/world?page={i}">More World coverage</a></p>\n'
    head = _page("A very large page", path, "").split("</main>")[0]
    tail = "</main>\n</body>\n</html>\n"
    block = "".join(paragraphs).encode()
    room = size - len(head.encode()) - len(tail)
    body = head.encode() + block * (room // len(block)) + b" " * (room % len(block)) + tail.encode()
    assert len(body) == size, (len(body), size)
    return body


def gzip_bomb(expanded_mib: int) -> bytes:
    """One gzip member whose data is ``expanded_mib`` MiB of zeros, built in O(compressed size).

    After a full flush, deflate starts afresh, so each MiB of zeros compresses to the same segment
    (about 1 KB) and the stream is that segment repeated. The trailer's CRC-32 of the zeros comes from
    zlib's own byte step composed with itself (:func:`_crc32_of_zeros`), not from the expanded data.
    The gzip format: RFC 1952, https://www.rfc-editor.org/rfc/rfc1952.
    """
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = deflate.compress(bytes(_MIB)) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush(zlib.Z_FINISH)
    size = expanded_mib * _MIB
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # magic, deflate, no flags, no mtime, best, unknown OS
    trailer = _crc32_of_zeros(size).to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little")
    return header + segment * expanded_mib + end + trailer


def _crc32_of_zeros(count: int) -> int:
    """``zlib.crc32(bytes(count))`` without the bytes.

    CRC-32's register step over a zero byte is linear over GF(2): a 32x32 bit matrix, given as the
    images of the 32 one-bit registers. Squaring it gives the step over 2, 4, 8... zero bytes, which
    are applied for the bits of ``count`` (zlib's crc32_combine does the same:
    https://github.com/madler/zlib/blob/master/crc32.c).

    >>> [_crc32_of_zeros(n) == zlib.crc32(bytes(n)) for n in (0, 1, 12345)]
    [True, True, True]
    """

    def step(register: int) -> int:  # one zero byte; zlib.crc32 takes and gives the inverted register
        return zlib.crc32(b"\0", register ^ 0xFFFFFFFF) ^ 0xFFFFFFFF

    def apply(matrix: list[int], vector: int) -> int:
        result = 0
        for bit, image in enumerate(matrix):
            if vector >> bit & 1:
                result ^= image
        return result

    matrix = [step(1 << bit) for bit in range(32)]
    register = 0xFFFFFFFF
    while count:
        if count & 1:
            register = apply(matrix, register)
        matrix = [apply(matrix, image) for image in matrix]
        count >>= 1
    return register ^ 0xFFFFFFFF
