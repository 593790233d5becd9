"""Property tests: normalize_url over open-ended URLs."""

import re
from ipaddress import IPv6Address
from unittest.mock import patch
from urllib.parse import quote, urlsplit

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from w3lib.url import canonicalize_url

from crawler.url import normalize as normalize_module
from crawler.url.normalize import InvalidUrl, Normalizer, default_normalizer, explain_url, normalize_url
from crawler.url.rewrite import rewrite_text

RULES = default_normalizer().rules
MIRROR_HOSTS = [m.host for m in RULES.mirrors]
TRACKING = sorted(RULES.global_tracking.names) + sorted(RULES.site("nytimes").tracking.names)
PLAIN_HOSTS = ["example.com", "docs.python.org", "a-b.example.org", "x1.test", "127.0.0.1"]

segment_chars = st.sampled_from(
    list("abcXYZ019-._~!$'()*,:@;=+&%[]| é/") + ["%2F", "%7e", "%41", "%zz", "%C3%A9", ".."]
)
query_chars = st.sampled_from(list("abcXYZ019-._~!$'()*,:@;+/?% é") + ["%20", "%3D", "%26", "%2f", "%zz"])
text_of = lambda chars, size: st.lists(chars, max_size=size).map("".join)  # noqa: E731
pairs = st.lists(
    st.tuples(
        st.one_of(text_of(query_chars, 6), st.sampled_from(TRACKING + ["version", "ref", "page"])),
        st.one_of(st.none(), text_of(query_chars, 8)),
    ),
    max_size=5,
)


def render_query(items):
    return "&".join(k if v is None else f"{k}={v}" for k, v in items)


@st.composite
def urls(draw, hosts=None, with_tracking=True):
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "hTTps"]))
    if hosts is None:
        sub = draw(st.sampled_from(["", "www.", "static01.", "WWW."]))
        others = ["www.nytimes.com", "nyt.com", "nytimes3xbfgragx.onion"]
        host = draw(st.sampled_from(MIRROR_HOSTS + PLAIN_HOSTS + others))
        host = sub + host
    else:
        host = draw(st.sampled_from(hosts))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"])) if hosts is None else ""
    path = "/" + "/".join(draw(st.lists(text_of(segment_chars, 6), max_size=4)))
    query = (
        render_query(draw(pairs))
        if with_tracking
        else render_query([(k, v) for k, v in draw(pairs) if k not in TRACKING])
    )
    fragment = draw(st.sampled_from(["", "#", "#frag", "#a/b?c"]))
    return f"{scheme}://{host}{port}{path}{'?' + query if query else ''}{fragment}"


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(urls())
@example("http://www.nytimes3xbfgragh.onion/a?rref=1&b=%zz")
@example("http://bbcweb3hytmzhn5d532owbu6oqadra5z3ar726vq5kgwwn6aucdccrad.onion/%%41a")
@example("http://example.com/%%37E/%%%34%31")
def test_idempotent(url):
    once = normalize_url(url)
    assert normalize_url(once) == once


@settings(max_examples=300)
@given(urls(), st.one_of(st.none(), st.just("http://www.nytimes3xbfgragh.onion/a/b")))
def test_explain_gives_the_same_answer(url, base):
    assert explain_url(url, base).canonical == normalize_url(url, base)


@settings(max_examples=600)
@given(urls())
def test_no_known_mirror_host_survives(url):
    result = normalize_url(url).lower()
    for host in MIRROR_HOSTS:
        assert host not in result


@settings(max_examples=600)
@given(st.text(max_size=80), st.one_of(st.none(), st.text(max_size=30), urls()))
@example("http://[::1", None)
@example("http://a:b@/", None)
@example("https://%", None)
def test_arbitrary_text_raises_only_value_error(text, base):
    try:
        result = normalize_url(text, base)
    except InvalidUrl:
        return
    assert result.startswith(("http://", "https://"))


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_rewrite_text_never_raises_and_keeps_plain_text(text):
    out = rewrite_text(text)
    if "http" not in text.lower() and ".onion" not in text.lower():
        assert out == text


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(urls(hosts=PLAIN_HOSTS, with_tracking=False))
@example("http://example.com/a/../b?b=2&a=1")
@example("http://example.com/?a=b=c&c")
@example("http://example.com/%7e?x=%2f")
@example("http://example.com/?a+=%20&a%2B=1&a=%7e&b=%c3%a9&c=%2F")
def test_same_answer_as_w3lib_when_nothing_maps_or_strips(url):
    assert normalize_url(url) == w3lib_settled(url)


def w3lib_settled(url: str) -> str:
    """w3lib's canonical form, run until it settles: one pass does, except after a stray
    "%" in a path ("/%%41a" gives "/%Aa", which the next pass turns into "/%AA")."""
    canonical = canonicalize_url(url)
    while (again := canonicalize_url(canonical)) != canonical:
        canonical = again
    return canonical


# -- rewrite_text never raises; nested URLs; IPv6 -------------------------------------------

any_text = st.text(alphabet=st.characters(codec=None, categories=None), max_size=300)  # surrogates too
url_soup = st.lists(
    st.one_of(
        any_text,
        st.sampled_from(
            [
                "http://",
                "https://",
                "//x]y/",
                "[::1",
                "%2F",
                "\\u002F",
                "\\/",
                "&amp;",
                ".onion",
                "nytimes3xbfgragh",
                "www.nytimes3xbfgragh.onion",
                '<a href="',
                '">',
                "\ud800",
                "?a=",
                "https%3A%2F%2F",
            ]
        ),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(any_text, url_soup), st.sampled_from([None, "http://www.nytimes3xbfgragh.onion/a/b"]))
@example('<p>Hello</p><a href="//x]y/">x</a>', "http://www.nytimes3xbfgragh.onion/")
@example("\ud800 http://a/\ud800 <a href='\udce9'>", "http://example.com/")
def test_rewrite_text_never_raises_on_any_str(text, base):
    assert isinstance(rewrite_text(text, base), str)


SITE_HOSTS = {  # canonical host -> a mirror host of it (rules/*.toml)
    "www.nytimes.com": "www.nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion",
    "static01.nyt.com": "static01.graylady3jvrrxbe.onion",
    "www.bbc.com": "www.bbcweb3hytmzhn5d532owbu6oqadra5z3ar726vq5kgwwn6aucdccrad.onion",
    "www.theguardian.com": "www.guardian2zotagl6tmjucg3lrhxdk4dw3lhbqnkvvkywawy3oqfoprid.onion",
}


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(
    urls(hosts=list(SITE_HOSTS)),
    st.sampled_from(["https://twitter.com/intent/tweet", "https://example.com/share", "https://www.nytimes.com/auth"]),
    st.sampled_from(["url", "link", "redirect_uri", "u"]),
    st.booleans(),
    st.sampled_from(["", "&text=hi", "&via=x&utm_source=y"]),
)
def test_a_nested_url_gets_the_same_treatment_wherever_it_was_found(nested, outer, name, encoded, rest):
    host = next(h for h in SITE_HOSTS if h in nested.lower())
    nested = nested.replace(nested[: nested.index("//") + 2], "https://", 1)  # as the site's pages link it
    as_mirror = re.sub(re.escape(host), SITE_HOSTS[host], nested, flags=re.IGNORECASE)  # EOTK's rewrite
    value = (lambda u: quote(u, safe="")) if encoded else (lambda u: u.replace("&", "%26").replace("#", "%23"))
    clearnet_url = f"{outer}?{name}={value(nested)}{rest}"
    mirror_url = f"{outer}?{name}={value(as_mirror)}{rest}"
    assert normalize_url(mirror_url) == normalize_url(clearnet_url)
    assert rewrite_text(f'<a href="{mirror_url}">') == rewrite_text(f'<a href="{clearnet_url}">')


@settings(max_examples=500)
@given(
    st.ip_addresses(v=6),
    st.sampled_from(["exploded", "compressed", "upper"]),
    st.sampled_from(["", ":8080"]),
    st.sampled_from(["/", "/a/b", "/a?b=1"]),
)
@example(IPv6Address("::1"), "exploded", "", "/")
def test_ipv6_hosts_agree_with_w3lib(address, form, port, tail):
    text = address.exploded if form == "exploded" else str(address)
    if form == "upper":
        text = address.exploded.upper()
    url = f"http://[{text}]{port}{tail}"
    ours = urlsplit(normalize_url(url)).netloc
    assert ours == urlsplit(canonicalize_url(url)).netloc
    assert rewrite_text(f"see {url} ok") == f"see {normalize_url(url)} ok"


# -- the fast paths (one-match split, canonical escapes) against the slow ones -------------------

any_escape = st.integers(0, 255).flatmap(lambda b: st.sampled_from([f"%{b:02X}", f"%{b:02x}"]))
fast_hosts = st.sampled_from(
    PLAIN_HOSTS
    + MIRROR_HOSTS[:3]
    + ["www.nytimes.com", "Example.COM", "a_b.example", "-x-.example", "x..y", "[::1]", "[2001:DB8::0:1]"]
    + ["[1.2.3.4]", "[::1", "[zz::1]", "[v1.x]", "[::ffff:1.2.3.4]", "[::1%25eth0]", "u:p@example.com"]
)
fast_ports = st.sampled_from(["", ":", ":80", ":443", ":8080", ":99999", ":8o"])
fast_path = st.lists(
    st.one_of(
        any_escape,
        st.sampled_from(list("abcZ09-._~!$'()*,:@;=+&/é |[]\\") + ["/./", "/../", "//", "東", "\U0001f600", "\ud800"]),
    ),
    max_size=10,
).map(lambda parts: "/" + "".join(parts))
fast_query_part = st.lists(st.one_of(any_escape, st.sampled_from(list("abZ09-._~+=/?:é "))), max_size=6).map("".join)
fast_query = st.lists(st.tuples(fast_query_part, fast_query_part), max_size=4).map(
    lambda items: "&".join(f"{k}={v}" for k, v in items)
)


@st.composite
def fast_shaped_urls(draw):
    scheme = draw(st.sampled_from(["http", "https", "HTTP"]))
    url = f"{scheme}://{draw(fast_hosts)}{draw(fast_ports)}{draw(st.sampled_from(['', '']) | fast_path)}"
    query = draw(st.one_of(st.none(), fast_query))
    if query is not None:
        url += "?" + query
    return url + draw(st.sampled_from(["", "#", "#f?x=1", "#a#b"]))


def outcome(normalize, url):
    try:
        return normalize(url)
    except InvalidUrl as exc:
        return f"InvalidUrl: {exc}"


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(fast_shaped_urls())
@example("http://[1.2.3.4]/")
@example("http://example.com/%C3%A9%2F%7E?q=%2F%41+b&r=%e9")
@example("http://example.com/Z\u00fcrich/\u6771\u4eac/%C3%A9\ud800")
@example("http://example.com/caf\u00e9/%41/\ufeff")
def test_the_fast_paths_give_what_the_slow_paths_give(url):
    normalizer = Normalizer(RULES, cache_size=0)
    first = outcome(normalizer.normalize, url)
    fast = outcome(normalizer.normalize, url)  # its host and parameter names known now
    assert first == fast
    never = re.compile(r"(?!)")
    with (
        patch.object(normalize_module, "common_url_parts", lambda url: None),
        patch.object(normalize_module, "_SPLIT_RE", never),
        patch.object(normalize_module, "_CANONICAL_ESCAPED_PATH_RE", never),
        patch.object(normalize_module, "_CANONICAL_QUERY_PART_RE", never),
        patch.object(normalize_module, "_encoded_path", lambda path: None),
    ):
        slow = outcome(Normalizer(RULES, cache_size=0).normalize, url)
    assert fast == slow
    plain = url.startswith("http") and url.split("/")[2] in PLAIN_HOSTS and "\\" not in url  # w3lib: "\\" is "/"
    if plain and not fast.startswith("InvalidUrl"):
        assert fast == w3lib_settled(url)  # and what w3lib gives, where nothing maps or strips


relative_references = st.lists(
    st.sampled_from(["/", "a", "b.html", ".", "..", "?", "q=1", "&", "#", "f", ";p", "%2F", "%41", "\u00e9", " ", "\t"])
    | st.sampled_from(["//", "\\", "\n", "\x00", "\u2028", "utm_source=x", "rref=y", "[", "@", ":", "~"]),
    max_size=10,
).map("".join)
bases = st.sampled_from(
    [
        "http://www.nytimes3xbfgragh.onion/a/b",
        "HTTPS://Example.COM:443/x?y#z",
        "http://h",
        "http://[::1]:8080/",
        " http://a/",
    ]
)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.just("/") | st.just("") | st.just("//"), relative_references, bases)
@example("/", "a?", "http://h")
@example("/", "a ", "http://h/")
def test_a_path_from_the_root_resolves_as_urljoin_resolves_it(head, rest, base):
    reference = head + rest
    fast = outcome(lambda url: Normalizer(RULES, cache_size=0).normalize(url, base), reference)
    with patch.object(normalize_module, "_root_relative_join", lambda url, base: None):
        slow = outcome(lambda url: Normalizer(RULES, cache_size=0).normalize(url, base), reference)
    assert fast == slow


# -- the recrawl schedule --------------------------------------------------------------------


@given(st.text(max_size=40))
def test_a_schedule_is_read_or_refused_with_a_schedule_error(text):
    from crawler.schedule import Schedule, ScheduleError

    try:
        schedule = Schedule.parse(text)
    except ScheduleError:
        return
    ages = [age for age, _ in schedule.steps]
    assert ages == sorted(ages) and all(every.total_seconds() > 0 for _, every in schedule.steps)


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**9))
def test_the_default_schedule_never_checks_more_often_than_hourly(since_change, since_check):
    from datetime import UTC, datetime, timedelta

    from crawler.schedule import DEFAULT_SCHEDULE, Schedule

    schedule = Schedule.parse(DEFAULT_SCHEDULE)
    now = datetime(2026, 12, 6, tzinfo=UTC)
    changed, checked = now - timedelta(seconds=since_change), now - timedelta(seconds=since_check)
    if schedule.is_due(changed, checked, now):
        assert since_check >= 3600  # Tor's floor
        assert since_change < 360 * 86400  # older than the last step: never again
