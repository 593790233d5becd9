"""Unit tests of the pieces the end-to-end crawls also exercise: link kinds, the middlewares, resume.

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
from crawler.items import LinkKind
from crawler.links import classify, extract_links, follow_address
from crawler.middlewares import OffMirror, OnionProxyMiddleware, StayOnMirrorMiddleware
from crawler.outage import Postponed
from crawler.proxy import parse_proxy
from crawler.resume import SCRAPY_REQUEST_STATE, STARTED_MARKER, Resume
from crawler.spiders.mirror import MirrorSpider
from crawler.store import Store, is_transient
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


def test_resume_is_decided_by_the_store(tmp_path):
    b, c, d, e = (f"{NYT}/2016/12/05/world/{name}.html" for name in "bcde")
    store_path = tmp_path / "crawl.sqlite3"
    with Store(store_path) as store:
        store.write(
            [
                _page(
                    ARTICLE,
                    200,
                    0,
                    [(b, "article"), (c, "article"), (d, "article"), (f"{NYT}/section/x", "navigation")],
                ),
                _page(b, 503, 1),  # transient: fetched again
                _page(d, 404, 1),  # an answer: done
                _page(e, None, 6),  # transient, but deeper than DEPTH_LIMIT
            ]
        )
    jobdir = tmp_path / "job"
    jobdir.mkdir()
    (jobdir / STARTED_MARKER).touch()
    (jobdir / "requests.seen").write_text("remembered requests that never got an answer\n")
    (jobdir / "requests.queue").mkdir()
    crawler = get_crawler(
        settings_dict={"JOBDIR": str(jobdir), "STORE_PATH": str(store_path), "STORE_RESUME": "auto", "DEPTH_LIMIT": 5}
    )
    resume = Resume.of(crawler)
    assert resume is Resume.of(crawler)  # decided once
    assert resume.active
    assert resume.done == {ARTICLE, d}
    assert resume.frontier == [(b, 1), (c, 1)]
    assert not any((jobdir / name).exists() for name in SCRAPY_REQUEST_STATE)  # the store decides, not Scrapy


def test_a_first_run_does_not_resume(tmp_path):
    crawler = get_crawler(
        settings_dict={
            "JOBDIR": str(tmp_path / "job"),
            "STORE_PATH": str(tmp_path / "x.sqlite3"),
            "STORE_RESUME": "auto",
        }
    )
    assert not Resume.of(crawler).active
    assert (tmp_path / "job" / STARTED_MARKER).exists()  # the next run will


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
        assert store.counts() == {"pages": 1, "links": 1, "aliases": 1}
    assert {key: page[key] for key in written} == written
