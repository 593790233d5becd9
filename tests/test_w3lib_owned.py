"""crawler/url/_w3lib.py gives what the w3lib it was copied from gives.

Each owned step is compared with the installed w3lib's private one on the inputs the
normalizer gives it (a raw path, its first quoting, their bytes), and the steps together
with w3lib's public ``canonicalize_url``, which does not go away with a private name.
"""

from urllib.parse import urlsplit

import pytest
import w3lib.url
from hypothesis import example, given, settings
from hypothesis import strategies as st
from w3lib.url import canonicalize_url

from crawler.url import _w3lib
from crawler.url.normalize import _w3lib_path

# Path pieces the normalizer meets: plain and reserved characters, non-ASCII, escapes of every
# kind (kept, decoded, lower-case, non-UTF-8, stray), dot segments. No "?", "#": they end a path.
PIECES = st.sampled_from(
    [*"abcXYZ019-._~!$&'()*+,;=:@/[]|%\"<>\\^`{} é€\x7f\x01", "%2F", "%2f", "%3B", "%3b", "%3F", "%3f"]
    + ["%25", "%41", "%7e", "%C3%A9", "%c3%a9", "%A3", "%zz", "%4", ".", "..", "/./", "/../"]
)
PATHS = st.lists(PIECES, max_size=12).map(lambda pieces: "/" + "".join(pieces))
SAFE_SETS = st.sampled_from([_w3lib.PATH_SAFE_CHARS, _w3lib.PATH_SAFEST_CHARS, b"", b"/"])


def w3lib_private(name: str):
    """w3lib's private ``name``, or a skip: once w3lib drops it, only the public comparison remains."""
    found = getattr(w3lib.url, name, None)
    if found is None:
        pytest.skip(f"w3lib {w3lib.__version__} has no {name} to compare with (the public test still runs)")
    return found


def test_the_safe_sets_are_w3libs():
    assert w3lib_private("_PATH_SAFE_CHARS") == _w3lib.PATH_SAFE_CHARS
    assert w3lib_private("_PATH_SAFEST_CHARS") == _w3lib.PATH_SAFEST_CHARS


@settings(max_examples=500)
@given(st.one_of(st.binary(max_size=40), PATHS.map(str.encode)), SAFE_SETS)
@example(b"", _w3lib.PATH_SAFE_CHARS)
def test_quote_is_w3libs(data, safe):
    assert _w3lib.quote(data, safe) == w3lib_private("_quote")(data, safe).decode()


@settings(max_examples=500)
@given(st.one_of(PATHS, PATHS.map(lambda path: _w3lib.quote(path.encode(), _w3lib.PATH_SAFEST_CHARS))))
@example("/a%2525b%2f%3B%3f")
@example("/%")
def test_unquote_path_is_w3libs(path):
    assert _w3lib.unquote_path(path) == w3lib_private("_unquotepath")(path)


@settings(max_examples=500)
@given(st.lists(st.sampled_from(["a", "b", ".", "..", "", "..a", ".b"]), max_size=8).map(lambda s: "/" + "/".join(s)))
@example("/a/b/../../../c")
@example("/a/.")
@example("/..")
def test_remove_dot_segments_is_w3libs(path):
    assert _w3lib.remove_dot_segments(path) == w3lib_private("_remove_dot_segments")(path)


# A backslash is left out: w3lib's URL parser reads it as "/" before any path step (the normalizer
# parses with urllib, which keeps it: tests/test_properties.py leaves it out too).
@settings(max_examples=800)
@given(PATHS.filter(lambda path: "\\" not in path))
@example("/a/b%7ec/d e/../f.html")
@example("/caf%C3%A9/%A3/%2f/./x")
def test_the_steps_together_give_canonicalize_urls_path(path):
    ours = _w3lib_path(path)
    if ours is None:  # ";" params or a stray "%": the normalizer leaves those to canonicalize_url itself
        assert ";" in path or "%" in path
        return
    # The "#" ends the URL where the path ends (w3lib strips trailing spaces otherwise).
    assert ours == urlsplit(canonicalize_url(f"http://example.com{path}#")).path
