"""Article dates (crawler.extract): ``published`` and ``modified`` as the page states them, to the
second and with the page's own offset, from the most trusted source the page has.

The site pages are in tests/fixtures/dates (our own making, in the shape of each site's markup;
see the README there); the order of the sources is checked on small pages made here.
"""

import logging
import re
from datetime import date, datetime
from pathlib import Path

import pytest
import trafilatura
from hypothesis import example, given
from hypothesis import strategies as st

from crawler.extract import Article, extract_article, normalize_date, parse_date_text

HERE = Path(__file__).parent / "fixtures" / "dates"
JSON_LD = r"<script[^>]*application/ld\+json[^>]*>.*?</script>"


def fixture(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def canonical(html: str) -> str:
    found = re.search(r'<link[^>]*rel="canonical" href="([^"]+)"', html)
    assert found is not None
    return found[1]


def meta(name: str) -> str:
    return rf'<meta[^>]*(?:name|property)="{re.escape(name)}"[^>]*>'


def without(html: str, *patterns: str) -> str:
    for pattern in patterns:
        html, count = re.subn(pattern, "", html, flags=re.DOTALL)
        assert count, pattern
    return html


def dates(html: str, url: str | None = None, **kwargs) -> tuple[str | None, str | None]:
    article = extract_article(html, url or canonical(html), **kwargs)
    return article.published, article.modified


def trafilatura_date(html: str) -> str | None:
    return trafilatura.bare_extraction(html, url=canonical(html), with_metadata=True).date


def is_iso(value: str) -> bool:
    if "T" in value:
        datetime.fromisoformat(value)
        return len(value) in (19, 25)  # 2019-11-18T17:56:52, with +00:00 or without
    date.fromisoformat(value)
    return len(value) == 10


# --- The site pages ----------------------------------------------------------------------------


def test_nyt_the_published_time_not_the_print_date_of_the_url():
    html = fixture("nyt_2019.html")
    # htmldate reads the URL first: /2019/11/19/ is the print edition, the story went up on the 18th.
    assert trafilatura_date(html) == "2019-11-19"
    assert dates(html) == ("2019-11-18T17:56:52+00:00", "2019-11-19T09:44:09+00:00")
    # Without JSON-LD, NYT's own meta tags (article:published, itemprop datePublished) give the same.
    assert dates(without(html, JSON_LD)) == ("2019-11-18T17:56:52+00:00", "2019-11-19T09:44:09+00:00")
    # Without either, only trafilatura's date is left: a date, the URL's.
    bare = without(html, JSON_LD, meta("article:published"), meta("article:modified"))
    assert dates(bare) == ("2019-11-19", None)


def test_nyt_updated_line_from_a_site_rule():
    html = fixture("nyt_2019.html")
    rule = "li.css-updated time"
    # The page's dateModified wins over the rule's line.
    assert dates(html, updated_selector=rule)[1] == "2019-11-19T09:44:09+00:00"
    no_modified = without(html, JSON_LD, meta("article:modified"))
    assert dates(no_modified)[1] is None
    # The line's datetime, in the page's own offset (New York time), not converted.
    assert dates(no_modified, updated_selector=rule) == ("2019-11-18T17:56:52+00:00", "2019-11-19T04:44:09-05:00")
    # A line of text only: "ET" is New York time on that day.
    text_only = re.sub(
        r'<li class="css-updated">.*?</li>',
        '<li class="css-updated">Updated Nov. 19, 2019, 4:44 a.m. ET</li>',
        no_modified,
        flags=re.DOTALL,
    )
    assert dates(text_only, updated_selector="li.css-updated")[1] == "2019-11-19T04:44:00-05:00"


def test_bbc_json_ld_in_uk_time():
    html = fixture("bbc_2019.html")
    assert dates(html) == ("2019-11-19T09:44:09+00:00", "2019-11-19T11:02:17+00:00")
    # In summer the BBC writes +01:00 (BST): kept, not turned into UTC.
    summer = html.replace("2019-11-19T09:44:09+00:00", "2019-06-19T10:44:09+01:00")
    assert dates(summer)[0] == "2019-06-19T10:44:09+01:00"


def test_bbc_timestamp_element_as_the_updated_line():
    html = fixture("bbc_2019.html").replace(',"dateModified":"2019-11-19T11:02:17+00:00"', "")
    assert dates(html)[1] is None
    # <time data-testid="timestamp" datetime="...000Z">: Z is +00:00, the milliseconds go.
    rule = 'time[data-testid="timestamp"]'
    assert dates(html, updated_selector=rule)[1] == "2019-11-19T09:44:09+00:00"
    line = html.replace(
        '<time data-testid="timestamp" datetime="2019-11-19T09:44:09.000Z">19 November 2019</time>',
        '<time data-testid="timestamp" datetime="2019-11-19T09:44:09.000Z">19 November 2019</time>'
        '<span class="updated">Updated 18 November 2019, 17:56 GMT</span>',
    )
    assert dates(line, updated_selector="span.updated")[1] == "2019-11-18T17:56:00+00:00"


def test_guardian_json_ld_list_and_meta_tags():
    html = fixture("guardian_2019.html")
    assert dates(html) == ("2019-11-19T09:44:09+00:00", "2019-11-19T11:30:12+00:00")
    assert dates(without(html, JSON_LD)) == ("2019-11-19T09:44:09+00:00", "2019-11-19T11:30:12+00:00")
    # "Last modified on Tue 19 Nov 2019 11.30 GMT", the Guardian's dotted time.
    no_modified = without(html, JSON_LD, meta("article:modified_time"))
    assert dates(no_modified, updated_selector="div.dcr-lastmodified")[1] == "2019-11-19T11:30:00+00:00"


def test_guardian_legacy_microdata_time_elements():
    html = fixture("guardian_2019_legacy.html")
    assert dates(html) == ("2019-11-19T09:44:09+00:00", "2019-11-19T11:30:12+00:00")
    # Without the meta tags: <time itemprop=... datetime="...+0000"> in the NewsArticle scope.
    micro = without(html, meta("article:published_time"), meta("article:modified_time"))
    assert dates(micro) == ("2019-11-19T09:44:09+00:00", "2019-11-19T11:30:12+00:00")


def test_dw_json_ld_with_milliseconds():
    html = fixture("dw_2023.html")
    assert dates(html) == ("2019-11-19T09:44:09+00:00", "2019-11-19T15:39:29+00:00")


def test_dw_legacy_page_has_a_date_only():
    html = fixture("dw_2019_legacy.html")
    assert dates(html) == ("2019-11-19", None)
    assert parse_date_text("Date 19.11.2019") == "2019-11-19"
    assert parse_date_text("Date 05.11.2019") == "2019-11-05"  # DW's dotted dates: day first


def test_wordpress_graph_article_not_webpage():
    html = fixture("wordpress_graph.html")
    # The @graph's WebPage comes first (in UTC); the Article (@type a list) is the page's article.
    assert dates(html) == ("2019-11-19T10:44:09+01:00", "2019-11-19T12:02:17+01:00")
    assert dates(without(html, JSON_LD, meta("article:modified_time"))) == (
        "2019-11-19T10:44:09+01:00",
        "2019-11-19T12:02:17+01:00",  # og:updated_time
    )


def test_the_wrong_day_case():
    url = "https://www.nytimes.com/2019/11/19/world/europe/pension-talks.html"
    html = (
        "<html><head><title>Pension Talks Collapse - The New York Times</title>"
        f'<link rel="canonical" href="{url}">'
        '<script type="application/ld+json">{"@context": "http://schema.org", "@type": "NewsArticle",'
        f' "url": "{url}", "datePublished": "2019-11-18T17:56:00Z"}}</script></head>'
        "<body><article><h1>Pension Talks Collapse</h1><p>Tuesday, Nov. 19, 2019</p>"
        "<p>The talks collapsed on Monday evening after a session that ran for nine hours.</p>"
        "</article></body></html>"
    )
    assert trafilatura.bare_extraction(html, url=url, with_metadata=True).date == "2019-11-19"
    assert dates(html, url) == ("2019-11-18T17:56:00+00:00", None)


# --- The order of the sources ------------------------------------------------------------------

URL = "https://news.example/2020/01/09/story.html"  # trafilatura's date: 2020-01-09, from the URL
BODY = "<article><h1>Story</h1><p>Something happened on a weekday, officials said.</p></article>"


def make_page(head: str, body: str = "") -> str:
    return f"<html><head><title>Story</title>{head}</head><body>{body}{BODY}</body></html>"


def ld(**fields: str) -> str:
    items = "".join(f', "{key}": "{value}"' for key, value in fields.items())
    return f'<script type="application/ld+json">{{"@type": "NewsArticle"{items}}}</script>'


PUBLISHED_SOURCES = [
    ("json-ld", ld(datePublished="2020-01-01T01:00:00Z"), "2020-01-01T01:00:00+00:00"),
    (
        "article:published_time",
        '<meta property="article:published_time" content="2020-01-02T02:00:00+01:00">',
        "2020-01-02T02:00:00+01:00",
    ),
    ("article:published", '<meta property="article:published" content="2020-01-03T03:00:00.123Z">', None),
    ("meta itemprop", '<meta itemprop="datePublished" content="2020-01-04T04:00:00-05:00">', None),
    ("time itemprop", '<time itemprop="datePublished" datetime="2020-01-05T05:00:00+0530">5 Jan</time>', None),
    ("trafilatura", "", "2020-01-09"),
]
EXPECTED_PUBLISHED = [
    "2020-01-01T01:00:00+00:00",
    "2020-01-02T02:00:00+01:00",
    "2020-01-03T03:00:00+00:00",
    "2020-01-04T04:00:00-05:00",
    "2020-01-05T05:00:00+05:30",
    "2020-01-09",
]


@pytest.mark.parametrize("start", range(len(PUBLISHED_SOURCES)), ids=[s[0] for s in PUBLISHED_SOURCES])
def test_published_sources_in_order_of_trust(start):
    sources = PUBLISHED_SOURCES[start:]
    head = "".join(snippet for name, snippet, _ in sources if name != "time itemprop")
    body = "".join(snippet for name, snippet, _ in sources if name == "time itemprop")
    assert dates(make_page(head, body), URL)[0] == EXPECTED_PUBLISHED[start]


MODIFIED_SOURCES = [
    ("json-ld", ld(dateModified="2020-02-01T01:00:00Z"), "2020-02-01T01:00:00+00:00"),
    (
        "article:modified_time",
        '<meta property="article:modified_time" content="2020-02-02T02:00:00+01:00">',
        "2020-02-02T02:00:00+01:00",
    ),
    (
        "article:modified",
        '<meta property="article:modified" itemprop="dateModified" content="2020-02-03T03:00:00.5Z">',
        "2020-02-03T03:00:00+00:00",
    ),
    (
        "og:updated_time",
        '<meta property="og:updated_time" content="2020-02-04T04:00:00-05:00">',
        "2020-02-04T04:00:00-05:00",
    ),
    (
        "meta itemprop",
        '<meta itemprop="dateModified" content="2020-02-05T05:00:00+05:30">',
        "2020-02-05T05:00:00+05:30",
    ),
    (
        "updated_selector",
        '<p class="updated">Updated 6 February 2020, 06:00 GMT</p>',
        "2020-02-06T06:00:00+00:00",
    ),
    (
        "time itemprop",
        '<time itemprop="dateModified" datetime="2020-02-07T07:00:00Z">7 Feb</time>',
        "2020-02-07T07:00:00+00:00",
    ),
    ("none", "", None),
]
IN_BODY = {"updated_selector", "time itemprop"}


@pytest.mark.parametrize("start", range(len(MODIFIED_SOURCES)), ids=[s[0] for s in MODIFIED_SOURCES])
def test_modified_sources_in_order_of_trust(start):
    sources = MODIFIED_SOURCES[start:]
    head = "".join(snippet for name, snippet, _ in sources if name not in IN_BODY)
    body = "".join(snippet for name, snippet, _ in sources if name in IN_BODY)
    expected = MODIFIED_SOURCES[start][2]
    assert dates(make_page(head, body), URL, updated_selector="p.updated")[1] == expected


def test_without_a_rule_the_updated_line_is_not_read():
    page = make_page("", '<p class="updated">Updated 6 February 2020, 06:00 GMT</p>')
    assert dates(page, URL)[1] is None


def test_an_unparseable_value_falls_to_the_next_source():
    head = (
        ld(datePublished="last Tuesday", dateModified="2020-13-45T00:00:00Z")
        + '<meta property="article:published_time" content="2020-01-02T02:00:00+01:00">'
        + '<meta property="article:modified_time" content="2020-02-02T02:00:00Z">'
    )
    assert dates(make_page(head), URL) == ("2020-01-02T02:00:00+01:00", "2020-02-02T02:00:00+00:00")


# --- JSON-LD shapes ----------------------------------------------------------------------------


def ld_script(text: str) -> str:
    return f'<script type="application/ld+json">{text}</script>'


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(ld_script('{"@type": "NewsArticle", "datePublished": "2020-03-01T10:00:00Z"}'), id="top-level"),
        pytest.param(
            ld_script('[{"@type": "Organization"}, {"@type": "Article", "datePublished": "2020-03-01T10:00:00Z"}]'),
            id="list",
        ),
        pytest.param(
            ld_script(
                '{"@context": "https://schema.org", "@graph": [{"@type": "WebSite"},'
                ' {"@type": "BlogPosting", "datePublished": "2020-03-01T10:00:00Z"}]}'
            ),
            id="graph",
        ),
        pytest.param(
            ld_script(
                '{"@type": "WebPage", "datePublished": "2001-01-01",'
                ' "mainEntity": {"@type": "LiveBlogPosting", "datePublished": "2020-03-01T10:00:00Z"}}'
            ),
            id="main-entity",
        ),
        pytest.param(
            ld_script('{"@type": "https://schema.org/ReportageNewsArticle", "datePublished": "2020-03-01T10:00:00Z"}'),
            id="type-url",
        ),
        pytest.param(
            ld_script(
                '{"@type": ["CreativeWork", "OpinionNewsArticle"],'
                ' "datePublished": {"@type": "DateTime", "@value": "2020-03-01T10:00:00Z"}}'
            ),
            id="type-list-and-value-object",
        ),
        pytest.param(
            '<script type="application/ld+json">//<![CDATA[\n'
            '{"@type": "NewsArticle", "datePublished": "2020-03-01T10:00:00Z"}\n//]]></script>',
            id="cdata",
        ),
        pytest.param(
            ld_script('{"@type": "NewsArticle", "headline": "A\nB", "datePublished": "2020-03-01T10:00:00Z"}'),
            id="raw-newline-in-a-string",
        ),
    ],
)
def test_json_ld_shapes(script):
    assert dates(make_page(script), URL)[0] == "2020-03-01T10:00:00+00:00"


def test_malformed_json_ld_is_ignored():
    broken = ld_script('{"@type": "NewsArticle", "datePublished": "2020-03-01T10:00:00Z",,}')
    fallback = '<meta property="article:published_time" content="2020-03-02T10:00:00Z">'
    assert dates(make_page(broken + fallback), URL)[0] == "2020-03-02T10:00:00+00:00"
    # A broken block does not hide a good one after it.
    good = ld_script('{"@type": "NewsArticle", "datePublished": "2020-03-03T10:00:00Z"}')
    assert dates(make_page(broken + good + fallback), URL)[0] == "2020-03-03T10:00:00+00:00"
    for junk in ("", "null", "[[[[[[[[[[", "[" * 5000 + "]" * 5000, '"2020-03-01"', '{"@type": 5}'):
        assert dates(make_page(ld_script(junk) + fallback), URL)[0] == "2020-03-02T10:00:00+00:00"


def test_other_objects_dates_are_not_the_articles():
    fallback = '<meta property="article:published_time" content="2020-03-02T10:00:00Z">'
    others = [
        '{"@type": "VideoObject", "uploadDate": "2001-01-01T00:00:00Z", "datePublished": "2001-01-01T00:00:00Z"}',
        '{"@type": "WebPage", "datePublished": "2001-01-01T00:00:00Z"}',
        # Related stories, each a NewsArticle, inside an ItemList.
        '{"@type": "ItemList", "itemListElement": [{"@type": "ListItem", "position": 1,'
        ' "item": {"@type": "NewsArticle", "datePublished": "2001-01-01T00:00:00Z"}}]}',
    ]
    for other in others:
        assert dates(make_page(ld_script(other) + fallback), URL)[0] == "2020-03-02T10:00:00+00:00", other


def test_live_blog_entries_do_not_date_the_blog():
    blog = ld_script(
        '{"@type": "LiveBlogPosting", "datePublished": "2020-03-01T08:00:00Z", "liveBlogUpdate": ['
        '{"@type": "BlogPosting", "datePublished": "2020-03-01T09:00:00Z", "dateModified": "2020-03-01T09:30:00Z"}]}'
    )
    assert dates(make_page(blog), URL) == ("2020-03-01T08:00:00+00:00", None)


def test_the_article_of_this_url_first():
    other = (
        '{"@type": "NewsArticle", "url": "https://news.example/2020/01/01/other.html", "datePublished": "2001-01-01"}'
    )
    this = (
        f'{{"@type": "NewsArticle", "mainEntityOfPage": {{"@id": "{URL}"}}, "datePublished": "2020-03-01T10:00:00Z"}}'
    )
    assert dates(make_page(ld_script(f"[{other}, {this}]")), URL)[0] == "2020-03-01T10:00:00+00:00"
    # No object names the page: the first.
    assert dates(make_page(ld_script(f"[{other}, {this}]")), "https://elsewhere.example/")[0] == "2001-01-01"


# --- Microdata ---------------------------------------------------------------------------------


def test_a_comments_date_is_not_the_articles():
    comment = (
        '<div itemscope itemtype="http://schema.org/Comment">'
        '<time itemprop="datePublished" datetime="2020-04-02T12:00:00Z">2 Apr</time></div>'
    )
    article = (
        '<div itemscope itemtype="https://schema.org/NewsArticle">'
        '<time itemprop="dateCreated datePublished" datetime="2020-04-01T09:00:00Z">1 Apr</time></div>'
    )
    assert dates(make_page("", comment + article), URL)[0] == "2020-04-01T09:00:00+00:00"
    assert dates(make_page("", comment), URL)[0] == "2020-01-09"  # trafilatura's, not the comment's


def test_a_time_element_without_datetime_gives_its_text():
    body = '<time itemprop="datePublished">2020-04-01T09:00:00+02:00</time>'
    assert dates(make_page("", body), URL)[0] == "2020-04-01T09:00:00+02:00"


# --- The updated_selector ----------------------------------------------------------------------


def test_updated_selector_datetime_else_text():
    body = '<p class="updated" datetime="not a date">Updated 6 February 2020, 06:00 GMT</p>'
    assert dates(make_page("", body), URL, updated_selector=".updated")[1] == "2020-02-06T06:00:00+00:00"
    text_node = '<p class="updated">Updated <b>6 February 2020</b></p>'
    assert dates(make_page("", text_node), URL, updated_selector=".updated")[1] == "2020-02-06"
    assert dates(make_page("", text_node), URL, updated_selector=".updated b::text")[1] == "2020-02-06"
    # The first matching element that gives a date.
    two = '<p class="updated">Updated just now</p><p class="updated">Updated 6 February 2020 at 7:15</p>'
    assert dates(make_page("", two), URL, updated_selector=".updated")[1] == "2020-02-06T07:15:00"


def test_a_bad_updated_selector_costs_the_date_only(caplog):
    body = '<p class="updated">Updated 6 February 2020</p>'
    with caplog.at_level(logging.WARNING, logger="crawler.extract"):
        article = extract_article(make_page("", body), URL, updated_selector="p[class=")
    assert article.modified is None and article.published == "2020-01-09" and "Story" in article.text
    assert "updated_selector" in caplog.text


def test_article_has_a_modified_field():
    assert Article().modified is None
    assert extract_article("", URL).modified is None


# --- The normalizers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-11-18T17:56:52+00:00", "2019-11-18T17:56:52+00:00"),
        ("2019-11-18T17:56:52Z", "2019-11-18T17:56:52+00:00"),
        ("2019-11-18T17:56:52.000Z", "2019-11-18T17:56:52+00:00"),
        ("2019-11-18T17:56:52.123456789z", "2019-11-18T17:56:52+00:00"),
        ("2019-11-18t17:56:52,5+05:30", "2019-11-18T17:56:52+05:30"),
        ("2019-11-18T12:56:52-05:00", "2019-11-18T12:56:52-05:00"),
        ("2019-11-19T09:44:09+0000", "2019-11-19T09:44:09+00:00"),
        ("2019-11-19T09:44:09+01", "2019-11-19T09:44:09+01:00"),
        ("2019-11-19 09:44:09 +01:00", "2019-11-19T09:44:09+01:00"),
        ("2019-11-19T09:44", "2019-11-19T09:44:00"),
        ("2019-11-19T09:44:09", "2019-11-19T09:44:09"),
        ("20191119T094409Z", "2019-11-19T09:44:09+00:00"),
        ("  2019-11-19\n", "2019-11-19"),
        ("20191119", "2019-11-19"),
        ("Tue, 19 Nov 2019 09:44:09 GMT", "2019-11-19T09:44:09+00:00"),
        ("Tue, 19 Nov 2019 09:44:09 -0500", "2019-11-19T09:44:09-05:00"),
        ("2019-02-29", None),
        ("2019-11-19T24:00:00Z", None),
        ("2019-11-19T09:44:09+24:00", None),
        ("2019-11-19T09:44:09+05:60", None),
        ("0001-01-01T00:00:00", None),
        ("2019-11", None),
        ("2019-1119", None),
        ("1574156649", None),
        ("yesterday", None),
        ("Updated 19 November 2019", None),  # human text: parse_date_text's
        ("", None),
        (None, None),
    ],
)
def test_normalize_date(value, expected):
    assert normalize_date(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Updated 18 November 2019, 17:56 GMT", "2019-11-18T17:56:00+00:00"),
        ("Updated Nov. 19, 2019, 9:44 a.m. ET", "2019-11-19T09:44:00-05:00"),
        ("Updated June 19, 2019, 9:44 p.m. ET", "2019-06-19T21:44:00-04:00"),
        ("Updated Nov. 19, 2019, 9:44 a.m.", "2019-11-19T09:44:00"),
        ("Last modified on Tue 19 Nov 2019 11.30 GMT", "2019-11-19T11:30:00+00:00"),
        ("Published 11:45 BST, 19 June 2019", "2019-06-19T11:45:00+01:00"),
        ("Aktualisiert 05.11.2019 17:56 CET", "2019-11-05T17:56:00+01:00"),
        ("Updated 19 November 2019", "2019-11-19"),
        ("Updated: 2019-11-19T09:44:09.000Z", "2019-11-19T09:44:09+00:00"),
        ("2019-11-19T09:44:09.000Z", "2019-11-19T09:44:09+00:00"),
        ("Updated 18 November 2019, 17:56 XYZT", "2019-11-18T17:56:00"),  # a zone it does not know: no offset
        ("Updated 2 hours ago", None),
        ("Updated November 2019", None),
        ("Nov. 19", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date_text(text, expected):
    assert parse_date_text(text) == expected


ISO_LIKE = st.from_regex(
    r"\A\s?\d{4}-?\d{2}-?\d{2}([Tt ]\d{2}:?\d{2}(:?\d{2}([.,]\d{1,12})?)?\s?([Zz]|[+-]\d{2}(:?\d{2})?)?)?\s?\Z"
)
WORDS = [
    "Updated",
    "Published",
    "Last",
    "modified",
    "on",
    "Tue",
    "Nov.",
    "November",
    "19,",
    "19",
    "2019",
    "1999",
    "0001",
    "9:44",
    "17:56",
    "11.30",
    "a.m.",
    "p.m.",
    "ET",
    "GMT",
    "BST",
    "CET",
    "UTC",
    "+05:30",
    "-0500",
    "Z",
    "05.11.2019",
    "11/19/2019",
    "at",
    "-",
    "0",
    "31",
    "99",
    "12:60",
    "24:00",
    "noon",
]
DATE_WORDS = st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join)


@given(st.one_of(st.text(), ISO_LIKE, DATE_WORDS))
@example("2019-11-18T17:56:52.999999999Z")
@example("9999-12-31T23:59:59-23:59")
@example("Updated Dec. 31, 9999, 11:59 p.m. ET")
@example("010100:00-30")  # dateutil reads a zone 30 hours off: no date, no exception
def test_the_normalizers_never_raise_and_give_iso_8601(text):
    for normalizer in (normalize_date, parse_date_text):
        value = normalizer(text)
        assert value is None or is_iso(value), (normalizer.__name__, text, value)
