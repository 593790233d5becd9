"""normalize_url, step by step, and the reverse mapping (fetch_url)."""

import pytest

from crawler.url.normalize import InvalidUrl, explain_url, fetch_url, normalize_url

V2 = "www.nytimes3xbfgragh.onion"
V3 = "www.nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion"
ARTICLE = "/2016/12/05/world/middleeast/russia-lavrov-kerry-aleppo-rebels.html"
CANONICAL = "https://www.nytimes.com" + ARTICLE


def test_the_issue_example():
    url = (
        f"http://{V2}{ARTICLE}?rref=collection%2Ftimestopic%2FSyria&action=click&contentCollection=world"
        "&region=stream&module=stream_unit&version=latest&contentPlacement=3&pgtype=collection"
    )
    assert normalize_url(url) == CANONICAL


# a. whitespace and relative URLs
@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        (f"  \n{CANONICAL}\t ", None, CANONICAL),
        (ARTICLE, f"http://{V2}/", CANONICAL),
        ("../middleeast/x.html", f"http://{V2}{ARTICLE}", "https://www.nytimes.com/2016/12/05/world/middleeast/x.html"),
        (f"//{V3}{ARTICLE}", f"http://{V2}/", CANONICAL),
        ("?page=2", "https://example.com/list", "https://example.com/list?page=2"),
        ("#top", f"http://{V2}{ARTICLE}", CANONICAL),
    ],
)
def test_whitespace_and_relative(url, base, expected):
    assert normalize_url(url, base) == expected


# b. http(s) only; errors are ValueErrors with a clear message
@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "mailto:a@example.com",
        "javascript:alert(1)",
        "/relative/without/base",
        "",
        "http://",
        "http:///path",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://example.com:8o/",
        "http://[::1/",
        "data:text/html,hi",
    ],
)
def test_rejects_what_is_not_an_http_url(url):
    with pytest.raises(InvalidUrl) as info:
        normalize_url(url)
    assert isinstance(info.value, ValueError)
    assert str(info.value)


# c. host, ports, userinfo
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM./A", "http://example.com/A"),
        ("http://example.com:80/", "http://example.com/"),
        ("https://example.com:443/", "https://example.com/"),
        ("https://example.com:8443/", "https://example.com:8443/"),
        ("http://user:secret@example.com/", "http://example.com/"),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        ("http://example.com", "http://example.com/"),
    ],
)
def test_host_port_userinfo(url, expected):
    assert normalize_url(url) == expected


# d. mirrors map to the canonical host, keeping subdomain labels; nothing else does
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"http://{V2}/a", "https://www.nytimes.com/a"),
        (f"https://{V3}/a", "https://www.nytimes.com/a"),
        (f"https://{V3.upper()}/a", "https://www.nytimes.com/a"),
        ("http://nytimes3xbfgragh.onion/a", "https://nytimes.com/a"),
        ("http://mobile.nytimes3xbfgragh.onion/a", "https://mobile.nytimes.com/a"),
        ("http://static01.graylady3jvrrxbe.onion/images/x.jpg", "https://static01.nyt.com/images/x.jpg"),
        ("http://cn.nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion/", "https://cn.nytimes.com/"),
        (f"http://{V2}:8080/a", "https://www.nytimes.com/a"),
        (
            "http://p53lf57qovyuvwsc6xnrppyply3vtqm7l6pcobkmyqsiofyeznfu5uqd.onion/article/x",
            "https://www.propublica.org/article/x",
        ),
        (
            "http://www.bbcweb3hytmzhn5d532owbu6oqadra5z3ar726vq5kgwwn6aucdccrad.onion/persian",
            "https://www.bbc.com/persian",
        ),
    ],
)
def test_known_mirrors_map(url, expected):
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://www.nytimes3xbfgragx.onion/a",  # lookalike v2
        "http://www.nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiya.onion/a",  # bad v3 checksum
        "http://nytimes3xbfgragh.onion.evil.com/a",
        "http://xnytimes3xbfgragh.onion/a",
        "http://ej3kv4ebuugcmuwxctx5ic7zxh73rnxt42soi3tdneu2c2em55thufqd.onion/",  # NYT SecureDrop
        "http://example.com/www.nytimes3xbfgragh.onion/a",  # onion name in a path
    ],
)
def test_unknown_and_lookalike_onions_stay_as_they_are(url):
    assert normalize_url(url) == url
    assert "nytimes.com" not in normalize_url(url)


# e. site scheme
def test_site_hosts_take_the_site_scheme():
    assert normalize_url("http://www.nytimes.com/a") == "https://www.nytimes.com/a"
    assert normalize_url("http://static01.nyt.com/a") == "https://static01.nyt.com/a"
    assert normalize_url("http://www.nytimes.com:80/a") == "https://www.nytimes.com/a"
    assert normalize_url("http://example.com/a") == "http://example.com/a"
    assert normalize_url("http://notnytimes.com/a") == "http://notnytimes.com/a"


# f. tracking parameters: global everywhere, a site's on its own hosts only
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/?utm_source=a&utm_medium=b&id=1", "https://example.com/?id=1"),
        ("https://example.com/?fbclid=x&gclid=y&msclkid=z&mc_cid=1&mc_eid=2&igshid=3&yclid=4", "https://example.com/"),
        ("https://docs.python.org/3/?version=3", "https://docs.python.org/3/?version=3"),
        ("https://example.com/?smid=1&ref=2&region=us", "https://example.com/?ref=2&region=us&smid=1"),
        (
            "https://www.nytimes.com/a?smid=tw-share&smtyp=cur&partner=rss&emc=rss&_r=0&hp=&WT.nav=page",
            "https://www.nytimes.com/a",
        ),
        (
            "https://www.nytimes.com/search?query=aleppo&sort=newest&page=2&pgtype=x",
            "https://www.nytimes.com/search?page=2&query=aleppo&sort=newest",
        ),
        (
            "https://static01.nyt.com/i.jpg?quality=75&auto=webp&campaignId=1",
            "https://static01.nyt.com/i.jpg?auto=webp&quality=75",
        ),
        ("https://www.nytimes.com/a?utm%5Fsource=x&a=1", "https://www.nytimes.com/a?a=1"),
        # the case rule of the lists that strip each name (rules/global.toml)
        ("https://example.com/a?UTM_SOURCE=x&id=5", "https://example.com/a?id=5"),
        ("https://example.com/a?FbClId=x&GCLID=y&id=5", "https://example.com/a?id=5"),
        ("https://example.com/a?MSCLKID=x&msclkid=y", "https://example.com/a?MSCLKID=x"),
        ("https://www.nytimes.com/a?pgType=x&emcx=1", "https://www.nytimes.com/a?emcx=1"),
        (
            "https://example.com/?game=1&gallery=2&global=3&refresh=4",
            "https://example.com/?gallery=2&game=1&global=3&refresh=4",
        ),
    ],
)
def test_tracking_parameters(url, expected):
    assert normalize_url(url) == expected


def test_nested_mirror_url_in_a_parameter_is_mapped():
    url = f"https://myaccount.nytimes.com/auth/login?redirect_uri=https%3A%2F%2F{V2}%2F2016%2Fa.html%3Fsmid%3Dtw"
    result = normalize_url(url)
    assert "onion" not in result
    assert "redirect_uri=https%3A%2F%2Fwww.nytimes.com%2F2016%2Fa.html" in result


# g. w3lib conventions
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com/do?c=3&b=5&b=2&a=50", "http://example.com/do?a=50&b=2&b=5&c=3"),
        ("http://example.com/a%7e%41", "http://example.com/a~A"),
        ("http://example.com/a/./b/../c", "http://example.com/a/c"),
        ("http://example.com/?", "http://example.com/"),
        ("http://example.com/#frag", "http://example.com/"),
        ("http://example.com/r\u00e9sum\u00e9", "http://example.com/r%C3%A9sum%C3%A9"),
        ("http://example.com/?q=a+b&r=a%20b", "http://example.com/?q=a+b&r=a+b"),
        ("http://example.com/?a&b=", "http://example.com/?a=&b="),
    ],
)
def test_canonical_form(url, expected):
    assert normalize_url(url) == expected


def test_explain_names_each_rule():
    explanation = explain_url(f"http://{V2}:80{ARTICLE}?rref=x&utm_source=y#c")
    assert explanation.canonical == CANONICAL
    steps = {change.step: str(change) for change in explanation.changes}
    assert "nytimes.toml" in steps["host"] and "nytimes3xbfgragh" in steps["host"]
    assert "nytimes.toml site.scheme" in steps["scheme"]
    text = "\n".join(str(c) for c in explanation.changes)
    assert "removed rref (nytimes.toml tracking: rref)" in text
    assert "removed utm_source (global.toml tracking: utm_*)" in text
    assert "dropped #c" in text


def test_explain_of_a_canonical_url_has_no_change():
    assert explain_url(CANONICAL).changes == ()


# the reverse: where a canonical URL is fetched on a mirror
@pytest.mark.parametrize(
    ("url", "mirror", "scheme", "expected"),
    [
        (CANONICAL, "nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd", "https", f"https://{V3}{ARTICLE}"),
        (
            f"http://{V2}{ARTICLE}?smid=x#c",
            "nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd",
            "http",
            f"http://{V3}{ARTICLE}",
        ),
        (
            "https://static01.nyt.com/a.jpg",
            "graylady3jvrrxbe.onion",
            "http",
            "http://static01.graylady3jvrrxbe.onion/a.jpg",
        ),
        ("https://static01.nyt.com/a.jpg", "nytimes3xbfgragh", "http", None),
        ("https://www.example.org/a", "nytimes3xbfgragh", "http", None),
        (
            "https://www.propublica.org/article/x",
            "p53lf57qovyuvwsc6xnrppyply3vtqm7l6pcobkmyqsiofyeznfu5uqd",
            "https",
            "https://p53lf57qovyuvwsc6xnrppyply3vtqm7l6pcobkmyqsiofyeznfu5uqd.onion/article/x",
        ),
        (
            "https://www.nytimes.com/search?query=a",
            "nytimes3xbfgragh",
            "http",
            "http://www.nytimes3xbfgragh.onion/search?query=a",
        ),
    ],
)
def test_fetch_url(url, mirror, scheme, expected):
    assert fetch_url(url, mirror, scheme) == expected


def test_fetch_url_round_trips():
    for url in (CANONICAL, "https://www.nytimes.com/section/world?page=2", "https://cn.nytimes.com/"):
        fetched = fetch_url(url, "nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd")
        assert normalize_url(fetched) == url


def test_fetch_url_refuses_an_unknown_mirror():
    with pytest.raises(ValueError, match="not a known mirror"):
        fetch_url(CANONICAL, "nytimes3xbfgragx")


BBC_V3 = "www.bbcweb3hytmzhn5d532owbu6oqadra5z3ar726vq5kgwwn6aucdccrad.onion"


@pytest.mark.parametrize(
    "clearnet",
    [
        "https://www.facebook.com/dialog/share?app_id=1&link=https%3A%2F%2Fwww.bbc.com%2Fnews%2Fnewsbeat-50470672%3FSThisFB",
        "https://twitter.com/intent/tweet?url=https%3A%2F%2Fwww.bbc.com%2Fnews%2Fa%3Fat_medium%3DRSS%26b%3D&text=x",
        "https://example.com/share?u=https://www.bbc.com/news/a&v=1",
        "https://example.com/share?u=https%3a%2f%2fwww.bbc.com%3A443%2F",
    ],
)
def test_a_nested_url_gets_the_same_treatment_on_the_mirror_page(clearnet):
    mirror = clearnet.replace("www.bbc.com", BBC_V3)
    assert normalize_url(mirror) == normalize_url(clearnet)
    assert "onion" not in normalize_url(mirror)


def test_a_nested_url_is_kept_byte_for_byte_but_its_mirror_host():
    url = f"https://x.example/?u=http%3A%2F%2F{V2}%3A8080%2Fa%3Fsmid%3D1%26b"
    assert normalize_url(url) == "https://x.example/?u=https%3A%2F%2Fwww.nytimes.com%2Fa%3Fsmid%3D1%26b"
    lookalike = "https://x.example/?u=http%3A%2F%2Fwww.nytimes3xbfgragx.onion%2Fa"
    assert normalize_url(lookalike) == lookalike
