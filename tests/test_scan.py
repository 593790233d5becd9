"""crawler.url.scan: each scan gives its definition's answer (the URL split URL_RE's, the others
the regexes they are written with), on any text, in each width CPython stores a str in, and on
every code point."""

import importlib.util
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crawler.url import rewrite as rewrite_module
from crawler.url import scan

# Text of each width CPython stores (1, 2 or 4 bytes a character; the regex engine has a loop for each),
# and a lone surrogate.
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


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(text=scanner_soup)
@example(text="http://\\u00zzhttp://[::1]")  # a URL starts inside what the scanner took, and goes on
@example(text="x HTTP://a hTtp://b httpS://c XMLHttpRequest")
@example(text="http://a/HTTP://b HTTP://c/http://d HTTP://xhttp://[::1]/zhttp://q")  # heads inside URLs
@example(text="http://[::1")  # a bracket that does not close
@example(text="https:\\u002F\\u002Fa\\u002F\U0001f600b\\u00e9c")
@example(text="http:/")
def test_the_url_split_is_the_definitions(text):
    assert scan.split_urls(text) == scan._URL_SPLIT_RE.split(text)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(text=scanner_soup, known=st.lists(st.sampled_from(["http://", "https://[::1]", "HTTP://x"]), max_size=3))
@example(text="a http://x b http://x c https://y", known=["http://x"])
def test_substitute_urls_replaces_each_url_as_the_split_finds_it(text, known):
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
    out = scan.substitute_urls(text, memo, rewrite)
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


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(case=texts_and_edits())
@example(case=("\u2019 http://a", [(2, 10, "https://b/")]))  # a UCS-2 text whose kept part is wide
@example(case=("ab\u2019c", [(2, 3, "x")]))  # the only wide character is replaced: the result is ASCII
@example(case=("a\u00e9b", [(1, 2, "\U0001f600")]))
def test_splice_writes_the_edited_text(case):
    text, edits = case
    pieces, last = [], 0
    for start, end, replacement in edits:
        pieces += [text[last:start], replacement]
        last = end
    expected = "".join([*pieces, text[last:]])
    assert scan.splice(text, edits) == expected


def test_splice_refuses_edits_out_of_order():
    """Slicing would take them, and write a part twice or lose one."""
    for edits in ([(2, 1, "x")], [(0, 2, "x"), (1, 3, "y")], [(0, 9, "x")], [(-1, 2, "x")], [(0, 1)]):
        with pytest.raises(ValueError):
            scan.splice("abc", edits)


def test_substitute_urls_refuses_a_rewrite_that_gives_no_str():
    with pytest.raises(TypeError):
        scan.substitute_urls("see http://a", {}, lambda url: None)
    with pytest.raises(ZeroDivisionError):
        scan.substitute_urls("see http://a", {}, lambda url: 1 / 0)
    assert scan.substitute_urls("no url", {}, lambda url: 1 / 0) == "no url"


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


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(text=attribute_soup)
@example(text='<a href="/x" src=y.png><img src="http://z/">')
@example(text='src="/never closed href=/a')
@example(text="src= \u2028/a\u2028 action \t=\u3000'b'")
@example(text="src=")
@example(text='xsrc="/a" src="/b" data-src=/c')
@example(text='poster="/p.jpg href=/q" href=/r')  # a name inside a value is part of the value
@example(text="hrefsrc=/a href==/b src =")
def test_attribute_values_are_the_definitions(text):
    spans = scan.attribute_values(text, rewrite_module._ATTR_NAMES)
    assert spans == defined_attribute_values(text)
    for start, end in spans:
        assert 0 <= start <= end <= len(text)  # an empty quoted value is an empty span


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(text=onion_soup)
@example(text="a.onion b.ONION/ c.onionx d.onion-e \u212a.onion")
def test_onion_suffixes_are_the_definitions(text):
    assert scan.onion_suffixes(text) == [m.start() for m in scan._ONION_SUFFIX_RE.finditer(text)]


url_parts_soup = st.lists(
    st.sampled_from(["http", "https", "HTTP", "s", "://", ":/", "a", "Z", "0", ".", "-", "_", ":", "8080", "123456"])
    | st.sampled_from(["/", "//", "?", "#", "=", "&", "%41", "~", "!$'()*,", "@", ";", "+", " ", "\x00", "\u00e9"])
    | st.sampled_from(["\U0001f600", "\u2019", "[::1]", "\\"]),
    max_size=14,
).map("".join)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(url=url_parts_soup | url_parts_soup.map(lambda rest: "https://" + rest) | url_parts_soup.map("http://a".__add__))
@example(url="https://a.example:8080/x?b=1#f\n\u00e9")
@example(url="http://a:123456/")
@example(url="http://a:/")
@example(url="http://a?")
@example(url="https://a/#")
@example(url="httpsx://a/")
@example(url="http://a/\u00e9")
def test_common_url_parts_are_the_definitions(url):
    match = scan.COMMON_URL_RE.fullmatch(url)
    assert scan.common_url_parts(url) == (None if match is None else match.group(1, 2, 3, 4))


@pytest.mark.parametrize("width", ["", *WIDE[:4]])
def test_the_scans_are_the_definitions_on_the_real_pages(width):
    """Every scan of the NYT, BBC and Guardian pages and their EOTK mirrors, in each str width."""
    pages = Path(__file__).parent / "fixtures" / "realpages"
    spec = importlib.util.spec_from_file_location("make_pages", pages / "make_pages.py")
    assert spec is not None and spec.loader is not None
    make_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_pages)
    for name in make_pages.PAGES:
        clearnet = (pages / name).read_text(encoding="utf-8")
        for text in (clearnet.encode("ascii", "replace").decode() + width, make_pages.eotk_mirror(clearnet) + width):
            assert scan.split_urls(text) == scan._URL_SPLIT_RE.split(text)
            assert scan.attribute_values(text, rewrite_module._ATTR_NAMES) == defined_attribute_values(text)
            assert scan.onion_suffixes(text) == [m.start() for m in scan._ONION_SUFFIX_RE.finditer(text)]
            for url in scan._URL_SPLIT_RE.findall(text)[:300]:
                match = scan.COMMON_URL_RE.fullmatch(url)
                assert scan.common_url_parts(url) == (None if match is None else match.group(1, 2, 3, 4))


def test_the_scanner_takes_the_definitions_characters_and_backslashes():
    every_character = "".join(map(chr, range(0x110000)))
    whitespace = re.findall(r"\s", every_character)
    assert re.findall(f"[{scan._WHITESPACE}]", every_character) == whitespace
    scanned = set(re.findall(scan._SCAN_CHARS, every_character))
    assert scanned == set(re.findall(scan._URL_CHARS, every_character)) | {"\\"}


def test_the_url_split_is_the_definitions_after_every_code_point():
    """Every code point, after a URL's head (a backslash cut afterwards, a space ending a URL,
    a bracket): split as the definition splits it, in one text of them all."""
    text = " ".join(f"http://a{chr(code)}" for code in range(0x110000))
    assert scan.split_urls(text) == scan._URL_SPLIT_RE.split(text)


def test_the_scans_refuse_what_is_not_a_str():
    """A page's bytes are refused, not scanned as something else."""
    calls = [
        lambda: scan.split_urls(b"http://a"),
        lambda: scan.substitute_urls(b"http://a", {}, str),
        lambda: scan.attribute_values(b'href="/a"', ("href",)),
        lambda: scan.onion_suffixes(b"a.onion"),
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()
