"""Unit tests of the pieces the end-to-end crawls also exercise: link kinds, the middlewares, rounds.

Real objects throughout: Scrapy's own Crawler (``scrapy.utils.test.get_crawler``), real requests
and responses, a real SQLite store."""

import subprocess
import sys

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.cli import project_settings
from crawler.context import CrawlContext
from crawler.items import LinkKind
from crawler.links import classify, extract_links, follow_address
from crawler.middlewares import OffMirror, StayOnMirrorMiddleware
from crawler.rounds import SCRAPY_REQUEST_STATE, RoundPlan
from crawler.spiders.mirror import MirrorSpider
from crawler.store import Store, is_transient
from crawler.tor.onionproxy import OnionProxyMiddleware
from crawler.tor.outage import Postponed
from crawler.tor.proxy import parse_proxy
from crawler.url import MirrorPlan, fetch_url, normalize_url

V2 = "www.nytimes3xbfgragh.onion"
V3 = "www.nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion"
NYT = "https://www.nytimes.com"
ARTICLE = f"{NYT}/2016/12/05/world/a.html"


@pytest.fixture(scope="module")
def plan():
    return MirrorPlan.from_start_urls([f"http://{V3}/"])


@pytest.mark.parametrize(
    "url, image, kind",
    [
        (ARTICLE, False, LinkKind.ARTICLE),
        (f"{NYT}/section/world", False, LinkKind.NAVIGATION),
        (f"{NYT}/files/report.pdf", False, LinkKind.FILE),
        (f"{NYT}/images/a.jpg", True, LinkKind.IMAGE),
        ("https://www.example.org/story.html", False, LinkKind.EXTERNAL),
        ("http://www.nytimes3xbfgragh1.onion/2016/12/05/world/a.html", False, LinkKind.ONION),  # a lookalike
    ],
)
def test_link_kinds(plan, url, image, kind):
    assert classify(url, plan, image) == kind


def test_extracted_links_are_canonical_and_kinded(plan):
    body = (
        f'<a href="http://{V2}/2016/12/05/world/a.html?smid=tw-share#c">A</a>'
        f'<img src="http://x.com:99999/broken.jpg"><img src="/images/a.jpg">'
    ).encode()
    response = HtmlResponse(f"http://{V3}/", body=body, encoding="utf-8")
    links, invalid, stripped = extract_links(response, plan)
    assert [(link.url, link.kind) for link in links] == [
        (ARTICLE, LinkKind.ARTICLE),
        (f"{NYT}/images/a.jpg", LinkKind.IMAGE),
    ]
    assert invalid == 1 and stripped == 1


def _crawler_with_spider(settings=None):
    crawler = get_crawler(MirrorSpider, settings_dict={**project_settings(), **(settings or {})})
    crawler.spider = MirrorSpider.from_crawler(crawler, start_urls=f"http://{V3}/")
    return crawler


def test_stay_on_mirror_readdresses_and_refuses():
    crawler = _crawler_with_spider()
    middleware = StayOnMirrorMiddleware.from_crawler(crawler)
    assert middleware.process_request(Request(f"http://{V3}/2016/12/05/world/a.html")) is None  # on the mirror
    moved = middleware.process_request(Request(f"{NYT}/2016/12/05/world/a.html?smid=x"))
    assert moved is not None and moved.url == f"http://{V3}/2016/12/05/world/a.html"
    moved = middleware.process_request(Request(f"http://{V2}/2016/12/05/world/a.html"))  # the other mirror
    assert moved is not None and moved.url.startswith(f"http://{V3}/")
    for elsewhere in ("https://www.example.org/", "http://www.nytimes3xbfgragh1.onion/"):
        with pytest.raises(OffMirror):
            middleware.process_request(Request(elsewhere))


def test_onion_proxy_sets_the_proxy_with_the_crawls_own_credentials():
    crawler = _crawler_with_spider({"ONION_PROXY": "socks5h://127.0.0.1:9050", "ONION_PROXY_ISOLATION": "crawl"})
    middleware = OnionProxyMiddleware.from_crawler(crawler)
    first, second = Request(f"http://{V3}/a"), Request(f"http://{V3}/b")
    middleware.process_request(first)
    middleware.process_request(second)
    assert first.meta["proxy"] == second.meta["proxy"]
    assert first.meta["proxy"].startswith("socks5h://crawl-") and first.meta["proxy"].endswith("@127.0.0.1:9050")
    other = OnionProxyMiddleware.from_crawler(_crawler_with_spider({"ONION_PROXY": "socks5h://127.0.0.1:9050"}))
    third = Request(f"http://{V3}/a")
    other.process_request(third)
    assert third.meta["proxy"] != first.meta["proxy"]  # another crawl, other circuits


def test_the_components_get_the_spiders_plan_from_the_crawler():
    """A component made before the spider sees the plan the spider makes; another crawl has its own."""
    crawler = get_crawler(MirrorSpider, settings_dict=project_settings())
    proxy = OnionProxyMiddleware.from_crawler(crawler)
    stay = StayOnMirrorMiddleware.from_crawler(crawler)
    assert CrawlContext.of(crawler).mirror_plan is None
    assert stay.process_request(Request("https://www.example.org/")) is None  # no plan: left alone
    spider = MirrorSpider.from_crawler(crawler, start_urls=f"http://{V3}/")
    assert CrawlContext.of(crawler).mirror_plan is spider.plan
    assert proxy.context is stay.context is CrawlContext.of(crawler)
    with pytest.raises(OffMirror):
        stay.process_request(Request("https://www.example.org/"))
    other = _crawler_with_spider({"ONION_PROXY_ISOLATION": "site"})
    assert CrawlContext.of(other).mirror_plan is other.spider.plan is not spider.plan
    request = Request(f"http://{V3}/a")
    OnionProxyMiddleware.from_crawler(other).process_request(request)
    assert request.meta["proxy"].startswith("socks5h://crawl-") and "-nytimes:" in request.meta["proxy"]


def test_the_tor_package_hands_on_every_public_name_whatever_is_imported_first():
    """``crawler.tor`` imports a name's module on the first ask: the archive's capture middleware,
    which needs the outage middleware, can be imported before the download handler, which needs it."""
    code = (
        "import sys, crawler.tor; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'scrapy', 'twisted'})); "
        "import crawler.archive.capture; "
        "from crawler.tor import *; "
        "print(sorted(name for name in crawler.tor.__all__ if name not in globals()))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["[]", "[]"]


def _page(url, status, depth, links=()):
    return {
        "url": url,
        "fetched_url": url,
        "mirror": V3,
        "status": status,
        "depth": depth,
        "fetched_at": "2026-12-01T00:00:00+00:00",
        "links": [{"url": target, "text": "", "kind": kind} for target, kind in links],
    }


def test_the_round_is_planned_by_the_store(tmp_path):
    """A finished round: the next run starts a new one that fetches the transient failures,
    the links never fetched, the hubs and the due articles, and leaves the rest alone."""
    b, c, d, e, old = (f"{NYT}/2016/12/05/world/{name}.html" for name in ("b", "c", "d", "e", "old"))
    store_path = tmp_path / "crawl.sqlite3"
    with Store(store_path) as store:
        store.begin_round("2026-12-01T00:00:00+00:00")
        store.write(
            [
                _page(f"{NYT}/", 200, 0, [(ARTICLE, "article"), (c, "article")], title="Home", text="News"),
                _page(
                    ARTICLE,
                    200,
                    1,
                    [(b, "article"), (d, "article"), (f"{NYT}/section/x", "navigation")],
                    title="A",
                    text="a",
                    published="2016-12-05T10:00:00-05:00",
                    etag='"a1"',
                ),
                _page(b, 503, 2),  # transient: fetched again
                _page(d, 404, 2),  # an answer: done
                _page(e, None, 6),  # transient, but deeper than DEPTH_LIMIT
                _page(
                    old,
                    200,
                    2,
                    title="Old",
                    text="o",
                    published="2026-11-30T23:00:00+00:00",
                    last_modified="Mon, 30 Nov 2026 23:00:00 GMT",
                ),
            ]
        )
        store.end_round(1, "finished", "2026-12-01T00:10:00+00:00")
    jobdir = tmp_path / "job"
    jobdir.mkdir()
    (jobdir / "requests.seen").write_text("remembered requests that never got an answer\n")
    (jobdir / "requests.queue").mkdir()
    crawler = get_crawler(settings_dict={"JOBDIR": str(jobdir), "STORE_PATH": str(store_path), "DEPTH_LIMIT": 5})
    plan = RoundPlan.of(crawler)
    assert plan is RoundPlan.of(crawler)  # decided once
    assert plan.round.number == 2 and not plan.round.continued
    # The home page is a hub; c was never fetched; b failed; `old` (published days ago, checked
    # days ago: every 3 hours) is due; A (2016: more than 360 days) is left alone for good.
    assert dict(plan.to_fetch) == {f"{NYT}/": 0, b: 2, c: 1, old: 2}
    assert plan.done == {ARTICLE, d}
    assert plan.validators[old].headers() == {"If-Modified-Since": "Mon, 30 Nov 2026 23:00:00 GMT"}
    assert not any((jobdir / name).exists() for name in SCRAPY_REQUEST_STATE)  # the store decides, not Scrapy


def test_an_interrupted_round_is_taken_up_and_skips_what_it_checked(tmp_path):
    b = f"{NYT}/2016/12/05/world/b.html"
    store_path = tmp_path / "crawl.sqlite3"
    with Store(store_path) as store:
        store.begin_round()
        store.write([_page(f"{NYT}/", 200, 0, [(ARTICLE, "article"), (b, "article")], title="Home")])
        store.write([_page(ARTICLE, 200, 1, title="A", text="a")])
        store.end_round(1, "shutdown")  # Ctrl-C: not finished
    plan = RoundPlan.of(get_crawler(settings_dict={"STORE_PATH": str(store_path)}))
    assert plan.round.number == 1 and plan.round.continued
    assert plan.checked == {f"{NYT}/", ARTICLE}
    assert plan.to_fetch == [(b, 1)]
    forced = RoundPlan.of(get_crawler(settings_dict={"STORE_PATH": str(store_path), "RECRAWL_ROUND": "new"}))
    assert forced.round.number == 2 and forced.checked == set()


def test_recrawl_all_checks_every_known_page(tmp_path):
    store_path = tmp_path / "crawl.sqlite3"
    with Store(store_path) as store:
        store.write([_page(ARTICLE, 200, 1, title="A", text="a", published="2016-12-05")])
        store.end_round(1, "finished")
    plain = RoundPlan.of(get_crawler(settings_dict={"STORE_PATH": str(store_path)}))
    assert plain.to_fetch == [] and plain.done == {ARTICLE}
    audit = RoundPlan.of(get_crawler(settings_dict={"STORE_PATH": str(store_path), "RECRAWL_ALL": True}))
    assert audit.to_fetch == [(ARTICLE, 1)]


# -- whether a link is followed: one decision -------------------------------------------


@pytest.mark.parametrize("kind", list(LinkKind))
def test_only_followed_kinds_are_followed(plan, kind):
    address = follow_address(ARTICLE, kind, plan)
    if kind in (LinkKind.ARTICLE, LinkKind.REDIRECT):
        assert address == f"http://{V3}/2016/12/05/world/a.html"  # the start URL's scheme
    else:
        assert address is None


@pytest.mark.parametrize(
    "url",
    [
        "https://www.example.org/story.html",  # another site
        "http://www.nytimes3xbfgragh1.onion/2016/12/05/world/a.html",  # a lookalike onion
        "https://www.bbc.com/news/world-1",  # a site with a mirror, but not one this crawl uses
        "http://[::1/broken",  # not a URL
    ],
)
def test_a_link_no_mirror_of_the_crawl_serves_is_not_followed(plan, url):
    assert follow_address(url, LinkKind.ARTICLE, plan) is None


def test_the_store_frontier_keeps_the_kinds_the_spider_follows(tmp_path):
    kinds = {kind: f"{NYT}/{kind}.html" for kind in LinkKind}
    with Store(tmp_path / "s.sqlite3") as store:
        store.write([_page(ARTICLE, 200, links=[(url, kind) for kind, url in kinds.items()])])
        wanted = {url for url, _ in store.frontier()}
    assert wanted == {url for kind, url in kinds.items() if kind.followed}


# -- the exceptions: one base --------------------------------------------------------------


def test_every_project_error_has_one_base():
    from crawler import exceptions

    for name in exceptions.__all__:
        assert issubclass(getattr(exceptions, name), exceptions.CrawlerError), name
    assert issubclass(Postponed, exceptions.CrawlerError) and issubclass(Postponed, IgnoreRequest)
    assert issubclass(OffMirror, exceptions.CrawlerError) and issubclass(OffMirror, IgnoreRequest)


def test_the_url_core_and_its_errors_import_no_scrapy():
    code = (
        "import sys, crawler.url, crawler.exceptions, crawler.store; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'scrapy', 'twisted'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: normalize_url("ftp://example.org/"), "InvalidUrl"),
        (lambda: MirrorPlan.from_start_urls(["https://www.example.org/"]), "NoMirror"),
        (lambda: fetch_url(ARTICLE, "nosuchmirror.onion"), "NoMirror"),
        (lambda: parse_proxy("ftp://127.0.0.1:9050"), "ProxyConfigError"),
        (lambda: Store("/nonexistent/s.sqlite3", create=False), "StoreError"),
    ],
)
def test_errors_are_the_projects_own(call, error):
    from crawler import exceptions

    with pytest.raises(exceptions.CrawlerError) as raised:
        call()
    assert type(raised.value).__name__ == error


# -- the store's queries ---------------------------------------------------------------------


def _page(url, status, depth=0, links=(), **extra):
    return {
        "url": url,
        "fetched_url": url.replace(NYT, f"https://{V3}"),
        "mirror": V3,
        "status": status,
        "fetched_at": "2026-12-01T00:00:00+00:00",
        "depth": depth,
        "links": [{"url": u, "text": "", "kind": k} for u, k in links],
        **extra,
    }


@pytest.mark.parametrize("status", [None, 500, 502, 503, 504, 408, 429])
def test_a_transient_failure_is_not_done_and_is_in_the_frontier(tmp_path, status):
    assert is_transient(status)
    with Store(tmp_path / "s.sqlite3") as store:
        store.write([_page(ARTICLE, status, depth=2)])
        assert store.done_urls() == set()
        assert store.frontier() == [(ARTICLE, 2)]


@pytest.mark.parametrize("status", [200, 301, 404, 410, 403])
def test_a_final_answer_is_done_and_not_in_the_frontier(tmp_path, status):
    assert not is_transient(status)
    with Store(tmp_path / "s.sqlite3") as store:
        store.write([_page(ARTICLE, status)])
        assert store.done_urls() == {ARTICLE}
        assert store.frontier() == []


def test_the_frontier_fetches_a_link_at_its_shallowest_depth_and_skips_aliases(tmp_path):
    b, c, old = f"{NYT}/b.html", f"{NYT}/c.html", f"{NYT}/old.html"
    with Store(tmp_path / "s.sqlite3") as store:
        store.write(
            [
                _page(ARTICLE, 200, depth=3, links=[(b, LinkKind.ARTICLE), (old, LinkKind.ARTICLE)]),
                _page(c, 200, depth=1, links=[(b, LinkKind.ARTICLE)], aliases=[old]),
                _page(f"{NYT}/failed.html", None, depth=1, links=[(f"{NYT}/unseen.html", LinkKind.ARTICLE)]),
            ]
        )
        # A failed page's links are not known yet: they come when it is fetched again.
        assert store.frontier() == [(b, 2), (f"{NYT}/failed.html", 1)]
        assert store.done_urls() == {ARTICLE, c, old}


def test_pages_read_back_as_written(tmp_path):
    written = _page(
        ARTICLE,
        200,
        depth=1,
        links=[(f"{NYT}/b.html", LinkKind.ARTICLE)],
        title="A",
        authors=["Ann", "Bob"],
        text="body",
        aliases=[f"{NYT}/old.html"],
    )
    with Store(tmp_path / "s.sqlite3") as store:
        store.write([written])
        [page] = store.pages()
        assert store.counts() == {"pages": 1, "links": 1, "aliases": 1, "versions": 1, "rounds": 1}
    assert {key: page[key] for key in written} == written
