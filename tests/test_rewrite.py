"""rewrite_text: every URL in a document canonical, every other byte untouched."""

import json
import re
from pathlib import Path

import pytest

from crawler.url.normalize import InvalidUrl, default_normalizer, normalize_url
from crawler.url.rewrite import rewrite_text

FIXTURES = Path(__file__).parent / "fixtures"
V2 = "www.nytimes3xbfgragh.onion"
V3 = "www.nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion"
NYT_TRACKING = ("rref=", "contentPlacement", "pgtype", "smid=", "utm_", "WT.nav", "campaignId", "_r=", "emc=")


def mirror_hosts_in(text: str) -> list[str]:
    lowered = text.lower()
    return [m.host for m in default_normalizer().rules.mirrors if m.host in lowered]


def test_html_attributes_keep_amp_escaping_and_never_produce_registered_sign():
    html = f'<a href="http://{V2}/a.html?rref=x&amp;region=stream&amp;q=1&amp;z=2">A</a>'
    assert rewrite_text(html) == '<a href="https://www.nytimes.com/a.html?q=1&amp;z=2">A</a>'
    html = '<a href="https://example.com/?a=1&region=us&copy=2">'
    out = rewrite_text(html)
    assert "®" not in out and "©" not in out
    assert out == '<a href="https://example.com/?a=1&copy=2&region=us">'


def test_json_escaped_urls():
    doc = json.dumps({"url": f"https://{V2}/2016/12/05/a.html?smid=tw"}).replace("/", "\\/")
    out = rewrite_text(doc)
    assert out == '{"url": "https:\\/\\/www.nytimes.com\\/2016\\/12\\/05\\/a.html"}'
    assert json.loads(out)["url"] == "https://www.nytimes.com/2016/12/05/a.html"


def test_unicode_escaped_slashes_in_javascript():
    js = f'var u = "https:\\u002F\\u002F{V3}\\u002F2016\\u002Fa.html";'
    assert rewrite_text(js) == 'var u = "https:\\u002F\\u002Fwww.nytimes.com\\u002F2016\\u002Fa.html";'


def test_markdown_links_and_plain_text():
    text = f"See [this](http://{V2}/a.html?smid=tw), or http://{V2}/b.html?pgtype=x. Done"
    assert rewrite_text(text) == "See [this](https://www.nytimes.com/a.html), or https://www.nytimes.com/b.html. Done"


def test_relative_href_and_src_become_absolute_with_a_base():
    html = '<a href=\'/2016/a.html?smid=x\'>a</a><img src=img/b.jpg><a href="#top">t</a><a href="mailto:x@y.z">m</a>'
    out = rewrite_text(html, base=f"http://{V2}/section/world")
    assert out == (
        "<a href='https://www.nytimes.com/2016/a.html'>a</a><img src=https://www.nytimes.com/section/img/b.jpg>"
        '<a href="#top">t</a><a href="mailto:x@y.z">m</a>'
    )


def test_relative_href_left_alone_without_a_base():
    html = '<a href="/2016/a.html?smid=x">a</a>'
    assert rewrite_text(html) == html


def test_bare_and_protocol_relative_mirror_hosts():
    text = f'<script>var host="{V2}"; load("//static01.graylady3jvrrxbe.onion/x.js")</script>'
    assert rewrite_text(text) == '<script>var host="www.nytimes.com"; load("//static01.nyt.com/x.js")</script>'


def test_lookalikes_are_not_rewritten():
    text = "http://www.nytimes3xbfgragx.onion/a and xnytimes3xbfgragh.onion and nytimes3xbfgragh.onionx"
    assert rewrite_text(text) == text


def test_bytes_outside_urls_are_untouched():
    text = "Café — “quotes” <b>bold</b> &region; &amp; \\n \x00 end"
    assert rewrite_text(text) == text


def test_invalid_urls_are_left_as_they_are():
    text = "http://exa%20mple.com/x http://[::1/ https://example.com:99999/ http://-_-.com:x/"
    assert rewrite_text(text) == text


def test_saved_mirror_page_comes_out_clean():
    page = (FIXTURES / "saved_mirror_page.md").read_text()
    out = rewrite_text(page)
    assert mirror_hosts_in(out) == []
    for param in NYT_TRACKING:
        assert param not in out, param
    assert "https://www.nytimes.com/2016/12/05/world/middleeast/russia-lavrov-kerry-aleppo-rebels.html." in out
    assert "(https://static01.nyt.com/images/2016/12/06/world/06syria-web1/06syria-web1-master768.jpg)" in out
    assert "[Opinion](https://www.nytimes.com/pages/opinion/index.html)" in out
    assert "<https://www.nytimes.com/2016/12/03/world/middleeast/syria-aleppo.html>" in out
    # the nested login redirect is mapped inside its parameter
    assert "URI=https%3A%2F%2Fwww.nytimes.com%2F2016%2F12%2F05%2Fworld" in out
    # prose is byte-for-byte the same once the URLs are taken out
    url = re.compile(r"\S*(?:https?:|onion|nytimes\.com|nyt\.com)\S*", re.IGNORECASE)
    assert url.sub("URL", out) == url.sub("URL", page)


# -- never raises on text; a bad base is an InvalidUrl naming it


def test_a_malformed_link_is_left_as_it_was():
    base = f"http://{V2}/a"
    assert rewrite_text('<p>Hello</p><a href="//x]y/">x</a>', base) == '<p>Hello</p><a href="//x]y/">x</a>'
    html = f'<a href="//x]y/">x</a><a href="/b?smid=1">b</a> http://[::1/ http://{V2}/c?rref=1'
    assert rewrite_text(html, base) == (
        '<a href="//x]y/">x</a><a href="https://www.nytimes.com/b">b</a> http://[::1/ https://www.nytimes.com/c'
    )


def test_lone_surrogates_are_left_as_they_were():
    for text in ("http://example.com/\ud800", '<a href="/\udce9">', "http://ex.com/?a=\ud800", "\ud800 http://"):
        assert rewrite_text(text, base=f"http://{V2}/") == text


def test_a_bad_base_is_an_invalid_url_naming_it():
    for base in ("http://[::1", "not a url", "ftp://example.com/", "http://ex\ud800.com/"):
        with pytest.raises(InvalidUrl, match="bad base URL") as info:
            rewrite_text('<a href="/x">x</a>', base)
        assert repr(base) in str(info.value)
    with pytest.raises(InvalidUrl, match="bad base URL 'http://\\[::1'"):
        normalize_url("/x", base="http://[::1")


def test_ipv6_hosts_in_w3lib_form():
    assert rewrite_text("see http://[::0:1]/a and http://[2001:0DB8:0000:0000:0000:0000:0000:0001]:8080/") == (
        "see http://[::1]/a and http://[2001:db8::1]:8080/"
    )


def test_onion_hosts_in_any_ascii_case_but_no_unicode_lookalike():
    assert rewrite_text("WWW.NYTIMES3XBFGRAGH.ONION and nytimes3xbfgragh.oNiOn") == "WWW.nytimes.com and nytimes.com"
    kelvin = "bbcweb3hytmzhn5d532owbu6oqadra5z3ar726vq5\u212agwwn6aucdccrad.onion"  # K is U+212A, not k
    assert rewrite_text(kelvin) == kelvin
