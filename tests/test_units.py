"""Unit tests of the pieces the end-to-end crawls also exercise: link kinds, the middlewares, resume.

Real objects throughout: Scrapy's own Crawler (``scrapy.utils.test.get_crawler``), real requests
and responses, a real SQLite store."""

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.cli import project_settings
from crawler.items import LinkKind
from crawler.links import classify, extract_links
from crawler.middlewares import OffMirror, OnionProxyMiddleware, StayOnMirrorMiddleware
from crawler.resume import SCRAPY_REQUEST_STATE, STARTED_MARKER, Resume
from crawler.spiders.mirror import MirrorSpider
from crawler.store import Store
from crawler.url import MirrorPlan

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
