"""w3lib's path steps of ``canonicalize_url``, owned here.

:mod:`crawler.url.normalize` writes a path as w3lib's ``canonicalize_url`` does, without
parsing the whole URL again; the steps it needs are private in w3lib (``_quote``,
``_unquotepath``, ``_remove_dot_segments`` and two safe-character sets), so any w3lib
release may change or drop them. They are copied from the w3lib 2.5.0 release
(https://pypi.org/project/w3lib/2.5.0/, files ``w3lib/_url.py`` and ``w3lib/url.py``;
the project: https://github.com/scrapy/w3lib), except that percent-decoding is the
standard library's ``unquote_to_bytes``, which decodes as w3lib's ``_unquote`` does.
tests/test_w3lib_owned.py compares each step with the installed w3lib's.

Copyright (c) w3lib and Scrapy developers. All rights reserved.
(BSD 3-Clause License, https://github.com/scrapy/w3lib/blob/master/LICENSE: its
conditions and disclaimer follow in the comment below.)
"""

# Redistribution and use in source and binary forms, with or without modification,
# are permitted provided that the following conditions are met:
#
#     1. Redistributions of source code must retain the above copyright notice,
#        this list of conditions and the following disclaimer.
#
#     2. Redistributions in binary form must reproduce the above copyright
#        notice, this list of conditions and the following disclaimer in the
#        documentation and/or other materials provided with the distribution.
#
#     3. Neither the name of Scrapy nor the names of its contributors may be used
#        to endorse or promote products derived from this software without
#        specific prior written permission.
#
# THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND
# ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED
# WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
# DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT OWNER OR CONTRIBUTORS BE LIABLE FOR
# ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES
# (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES;
# LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON
# ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT
# (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS
# SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

from __future__ import annotations

import functools
import string
from urllib.parse import unquote_to_bytes

__all__ = ["PATH_SAFE_CHARS", "PATH_SAFEST_CHARS", "quote", "remove_dot_segments", "unquote_path"]

# w3lib/_url.py: RFC 3986 section 2.2 and 2.3, "|" (w3lib pull request 25) and "%".
_GEN_DELIMS = b":/?#[]@"
_SUB_DELIMS = b"!$&'()*+,;="
_UNRESERVED = (string.ascii_letters + string.digits + "-._~").encode("ascii")
_SAFE_CHARS = _GEN_DELIMS + _SUB_DELIMS + _UNRESERVED + b"|" + b"%"
# What a canonical path keeps as it is (w3lib/_url.py _PATH_SAFE_CHARS)...
PATH_SAFE_CHARS = _SAFE_CHARS.replace(b"#", b"")
# ...and what the first, safest pass over the raw path keeps (w3lib/url.py _PATH_SAFEST_CHARS).
PATH_SAFEST_CHARS = _SAFE_CHARS.translate(None, delete=b"#[]|")


@functools.cache
def _quote_table(safe: bytes) -> tuple[str, ...]:
    """What each byte value is written as: itself if unreserved or in ``safe``, else ``%XX``."""
    kept = frozenset(_UNRESERVED + safe)
    return tuple(chr(byte) if byte in kept else f"%{byte:02X}" for byte in range(256))


def quote(data: bytes, safe: bytes) -> str:
    """``data`` with every byte neither unreserved nor in ``safe`` written ``%XX`` (upper case).

    w3lib's ``_quote`` with ``quote_plus=False``, decoded: a table per ``safe``, one lookup a
    byte (the standard library's ``quote_from_bytes`` gives the same, at three times the cost).
    """
    table = _quote_table(safe)
    return "".join([table[byte] for byte in data])


def unquote_path(path: str) -> bytes:
    """The bytes ``path`` stands for, except the escapes that would change its meaning.

    ``%2F``, ``%3B`` and ``%3F`` (``/``, ``;``, ``?``) stay escaped; a ``%`` not followed by two
    hex digits stays as it is. w3lib's ``_unquotepath`` (w3lib/url.py), whose ``_unquote``
    decodes as ``unquote_to_bytes`` does; decoding is left to the caller, because the standard
    library's ``unquote`` would turn a non-UTF-8 escape (``%A3``) into U+FFFD.
    """
    if "%" not in path:
        return path.encode()
    return unquote_to_bytes(
        path.replace("%25", "%2525")
        .replace("%2f", "%252F")
        .replace("%2F", "%252F")
        .replace("%3b", "%253B")
        .replace("%3B", "%253B")
        .replace("%3f", "%253F")
        .replace("%3F", "%253F")
    )


def remove_dot_segments(path: str) -> str:
    """``path`` (which starts with ``/``) with its ``.`` and ``..`` segments resolved.

    RFC 3986 section 5.2.4 (https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4), as
    w3lib's ``_remove_dot_segments`` (w3lib/url.py) writes it.
    """
    # Every segment follows a "/", so a path without "/." has no dot segment.
    if "/." not in path:
        return path
    segments = path[1:].split("/")
    output: list[str] = []
    for segment in segments[:-1]:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    # A trailing dot segment leaves the path ending in "/".
    last = segments[-1]
    if last == "..":
        if output:
            output.pop()
        output.append("")
    elif last == ".":
        output.append("")
    else:
        output.append(last)
    return "/" + "/".join(output)
