"""crawler.url.scan: the scanner's Python definitions and its C versions give the same answers,
and the URL split is the definition's (URL_RE), on any text and every code point."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crawler.url import rewrite as rewrite_module
from crawler.url import scan

try:
    from crawler.url import _cscan
except ImportError:  # built without a C compiler: test_the_c_scanner_is_built says whether that is right
    _cscan = None

PYTHON = {
    "split_urls": scan._split_urls,
    "attribute_values": scan._attribute_values,
    "onion_suffixes": scan._onion_suffixes,
    "common_url_parts": scan._common_url_parts,
    "substitute_urls": scan._substitute_urls,
    "splice": scan._splice,
}
NOT_BUILT = pytest.mark.skipif(_cscan is None, reason="the C scanner is not built")
IMPLEMENTATIONS = [
    pytest.param(PYTHON, id="python"),
    pytest.param(vars(_cscan) if _cscan else {}, id="c", marks=NOT_BUILT),
]
# Text of each width CPython stores (1, 2 or 4 bytes a character), so that every loop of the C scanner runs.
WIDE = ["é", "\u2019", "\u2028", "\U0001f600", "\ud800"]

scanner_soup = st.lists(
    st.one_of(
        st.text(max_size=4),
        st.sampled_from(
            [
                "http://",
                "https://",
                "HTTP://",
                "hTtPs:",
                "httP:",
                "httpS:",
                "Http",
                "https:\\/\\/",
                "http:\\u002F\\u002f",
                "\\",
                "\\/",
            ]
            + ["\\u0026", "\\u00zz", "\\u002", "\\n", '\\"', "\\\\/", "[::1]", "[x]", "]", "/a", "?b=1", "&amp;", " "]
            + ["\n", "\u00a0", "\u2028", "\x1c", "\x00", '"', "'", "<", "(", ")", ".", ",", "href=", "x"]
            + WIDE
        ),
    ),
    max_size=30,
).map("".join)

attribute_soup = st.lists(
    st.sampled_from(
        ["href", "src", "xsrc", "action", "poster", "=", " = ", "\u2028=", '"', "'", "/a", "b.png", "http:", "HTTPS:"]
        + ["hTtp", "https:x", ">", " ", "\t", "-", "/", "#f", "\n", "srcset", "é", "\U0001f600", ""]
    ),
    max_size=25,
).map("".join)

onion_soup = st.lists(
    st.sampled_from(
        [".onion", ".ONION", ".OnIoN", "x", "-", "/", "a.onion.", ".onionx", ".onion-", ".oni", "\u212a", "é"]
        + ["\U0001f600", "n", "on", "..onion", "\u0131"]
    ),
    max_size=20,
).map("".join)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=scanner_soup)
@example(text="http://\\u00zzhttp://[::1]")  # a URL starts inside what the Python scanner took, and goes on
@example(text="x HTTP://a hTtp://b httpS://c XMLHttpRequest")
@example(text="http://a/HTTP://b HTTP://c/http://d HTTP://xhttp://[::1]/zhttp://q")  # heads inside URLs
@example(text="http://[::1")  # a bracket that does not close
@example(text="https:\\u002F\\u002Fa\\u002F\U0001f600b\\u00e9c")
@example(text="http:/")
def test_the_url_split_is_the_definitions(impl, text):
    assert impl["split_urls"](text) == scan._URL_SPLIT_RE.split(text)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=scanner_soup, known=st.lists(st.sampled_from(["http://", "https://[::1]", "HTTP://x"]), max_size=3))
@example(text="a http://x b http://x c https://y", known=["http://x"])
def test_substitute_urls_replaces_each_url_as_the_split_finds_it(impl, text, known):
    """Each URL by the memo's answer or, once, by rewrite's (which remembers it); a URL whose
    answer is itself stays as it was."""
    memo = {url: f"<{url}>" for url in known}
    asked = []

    def rewrite(url):
        asked.append(url)
        memo[url] = url if len(url) % 2 else url.upper()
        return memo[url]

    before = dict(memo)
    parts = scan._URL_SPLIT_RE.split(text)
    out = impl["substitute_urls"](text, memo, rewrite)
    expected = [before.get(part) or memo[part] if index % 2 else part for index, part in enumerate(parts)]
    assert out == "".join(expected)
    assert sorted(asked) == sorted(set(parts[1::2]) - set(before))


@st.composite
def texts_and_edits(draw):
    """A text of any width and edits of it (in order, apart) by strings of any width."""
    alphabet = st.sampled_from(["a", "/", "\u00e9", "\u00ff", "\u2019", "\U0001f600", "\x00", "\ud800"])
    text = "".join(draw(st.lists(alphabet, max_size=30)))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    edits = []
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        edits.append((start, end, "".join(draw(st.lists(alphabet | st.just("https://x/"), max_size=3)))))
    return text, edits


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=texts_and_edits())
@example(case=("\u2019 http://a", [(2, 10, "https://b/")]))  # a UCS-2 text whose kept part is wide
@example(case=("ab\u2019c", [(2, 3, "x")]))  # the only wide character is replaced: the result is ASCII
@example(case=("a\u00e9b", [(1, 2, "\U0001f600")]))
def test_splice_writes_the_edited_text_in_its_own_width(impl, case):
    text, edits = case
    pieces, last = [], 0
    for start, end, replacement in edits:
        pieces += [text[last:start], replacement]
        last = end
    expected = "".join([*pieces, text[last:]])
    out = impl["splice"](text, edits)
    assert out == expected  # str equality also compares the width CPython stores: it must be the narrowest
    assert (out.isascii(), max(map(ord, out), default=0) > 0xFF) == (
        expected.isascii(),
        max(map(ord, expected), default=0) > 0xFF,
    )


@NOT_BUILT
def test_splice_refuses_edits_out_of_order():
    for edits in ([(2, 1, "x")], [(0, 2, "x"), (1, 3, "y")], [(0, 9, "x")], [(0, 1)]):
        with pytest.raises((ValueError, TypeError)):
            _cscan.splice("abc", edits)


@NOT_BUILT
def test_substitute_urls_refuses_a_rewrite_that_gives_no_str():
    with pytest.raises(TypeError):
        _cscan.substitute_urls("see http://a", {}, lambda url: None)
    with pytest.raises(ZeroDivisionError):
        _cscan.substitute_urls("see http://a", {}, lambda url: 1 / 0)
    assert _cscan.substitute_urls("no url", {}, lambda url: 1 / 0) == "no url"


def defined_attribute_values(text, names=rewrite_module._ATTR_NAMES):
    """The definition: the names found left to right (one regex search), each followed by a value
    read whole; a relative value after a boundary is taken."""
    name_re = re.compile("|".join(map(re.escape, names)))
    spans, pos = [], 0
    while (name := name_re.search(text, pos)) is not None:
        value = scan._ATTR_VALUE_RE.match(text, name.end())
        if value is None:
            pos = name.start() + 1
            continue
        if value.lastindex and (not name.start() or text[name.start() - 1] in scan._ATTR_BOUNDARY):
            spans.append(value.span(value.lastindex))
        pos = value.end()
    return spans


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=attribute_soup)
@example(text='<a href="/x" src=y.png><img src="http://z/">')
@example(text='src="/never closed href=/a')
@example(text="src= \u2028/a\u2028 action \t=\u3000'b'")
@example(text="src=")
@example(text='xsrc="/a" src="/b" data-src=/c')
@example(text='poster="/p.jpg href=/q" href=/r')  # a name inside a value is part of the value
@example(text="hrefsrc=/a href==/b src =")
def test_attribute_values_are_the_definitions(impl, text):
    spans = impl["attribute_values"](text, rewrite_module._ATTR_NAMES)
    assert spans == defined_attribute_values(text)
    for start, end in spans:
        assert 0 <= start <= end <= len(text)  # an empty quoted value is an empty span


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=onion_soup)
@example(text="a.onion b.ONION/ c.onionx d.onion-e \u212a.onion")
def test_onion_suffixes_are_the_definitions(impl, text):
    assert impl["onion_suffixes"](text) == [m.start() for m in scan._ONION_SUFFIX_RE.finditer(text)]


url_parts_soup = st.lists(
    st.sampled_from(["http", "https", "HTTP", "s", "://", ":/", "a", "Z", "0", ".", "-", "_", ":", "8080", "123456"])
    | st.sampled_from(["/", "//", "?", "#", "=", "&", "%41", "~", "!$'()*,", "@", ";", "+", " ", "\x00", "\u00e9"])
    | st.sampled_from(["\U0001f600", "\u2019", "[::1]", "\\"]),
    max_size=14,
).map("".join)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(url=url_parts_soup | url_parts_soup.map(lambda rest: "https://" + rest) | url_parts_soup.map("http://a".__add__))
@example(url="https://a.example:8080/x?b=1#f\n\u00e9")
@example(url="http://a:123456/")
@example(url="http://a:/")
@example(url="http://a?")
@example(url="https://a/#")
@example(url="httpsx://a/")
@example(url="http://a/\u00e9")
def test_common_url_parts_are_the_definitions(impl, url):
    match = scan.COMMON_URL_RE.fullmatch(url)
    assert impl["common_url_parts"](url) == (None if match is None else match.group(1, 2, 3, 4))


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("width", ["", *WIDE[:4]])
def test_the_scanners_agree_on_the_real_pages(impl, width):
    """Every scan of the NYT, BBC and Guardian pages and their EOTK mirrors, in each str width."""
    pages = Path(__file__).parent / "fixtures" / "realpages"
    spec = importlib.util.spec_from_file_location("make_pages", pages / "make_pages.py")
    assert spec is not None and spec.loader is not None
    make_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_pages)
    for name in make_pages.PAGES:
        clearnet = (pages / name).read_text(encoding="utf-8")
        for text in (clearnet.encode("ascii", "replace").decode() + width, make_pages.eotk_mirror(clearnet) + width):
            assert impl["split_urls"](text) == scan._URL_SPLIT_RE.split(text)
            assert impl["attribute_values"](text, rewrite_module._ATTR_NAMES) == defined_attribute_values(text)
            assert impl["onion_suffixes"](text) == scan._onion_suffixes(text)
            for url in scan._URL_SPLIT_RE.findall(text)[:300]:
                match = scan.COMMON_URL_RE.fullmatch(url)
                assert impl["common_url_parts"](url) == (None if match is None else match.group(1, 2, 3, 4))


def test_the_python_scanner_takes_the_definitions_characters_and_backslashes():
    every_character = "".join(map(chr, range(0x110000)))
    whitespace = re.findall(r"\s", every_character)
    assert re.findall(f"[{scan._WHITESPACE}]", every_character) == whitespace
    scanned = set(re.findall(scan._SCAN_CHARS, every_character))
    assert scanned == set(re.findall(scan._URL_CHARS, every_character)) | {"\\"}


@NOT_BUILT
def test_the_c_scanner_takes_the_definitions_characters():
    """Every code point, after a URL's head: in the URL exactly where the definition says."""
    url_character = re.compile(scan._URL_CHARS).fullmatch
    split = _cscan.split_urls
    for code in range(0x110000):
        character = chr(code)
        assert (split("http://a" + character)[1] == "http://a" + character) is bool(url_character(character)), hex(code)


def test_the_c_scanner_is_built_where_a_compiler_is():
    """The extension is optional, so a failed build would pass unnoticed but for this."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = Path(sysconfig.get_paths()["include"], "Python.h")
    if os.environ.get("ONION_CRAWLER_PURE_PYTHON"):
        assert not scan.COMPILED
    elif shutil.which(compiler) and headers.is_file():
        assert scan.COMPILED and scan.split_urls is _cscan.split_urls  # type: ignore[union-attr]


def test_pure_python_is_chosen_by_the_environment():
    code = "from crawler.url import scan; print(scan.COMPILED, scan.split_urls.__module__)"
    env = {**os.environ, "ONION_CRAWLER_PURE_PYTHON": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "crawler.url.scan"]


@NOT_BUILT
def test_the_c_scanner_refuses_what_is_not_a_str():
    for call in (lambda: _cscan.split_urls(b"http://a"), lambda: _cscan.attribute_values("a", "href")):
        with pytest.raises(TypeError):
            call()
    with pytest.raises(TypeError):
        _cscan.attribute_values("a")
    with pytest.raises(ValueError):
        _cscan.attribute_values("a", ("hr\u00e9f",))
