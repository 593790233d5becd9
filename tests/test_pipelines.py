"""The item pipelines on their own: a page that cannot be cleaned is still recorded."""

from crawler.items import Page
from crawler.pipelines import ArticlePipeline
from crawler.url.normalize import default_normalizer
from crawler.url.rewrite import Rewriter

MIRROR = "http://www.nytimes3xbfgragh.onion"


def page(html: str) -> Page:
    return Page(
        url="https://www.nytimes.com/2016/a.html",
        fetched_url=f"{MIRROR}/2016/a.html",
        mirror="nytimes3xbfgragh.onion",
        status=200,
        fetched_at="2026-11-25T00:00:00+00:00",
        html=html,
    )


def test_a_page_is_cleaned_and_rewritten():
    html = (
        f'<html><head><title>A</title></head><body><article><p>Text here.</p><a href="/b.html?smid=x">b</a>'
        f'<a href="{MIRROR}/c.html?rref=1">c</a></article></body></html>'
    )
    item = ArticlePipeline(Rewriter(default_normalizer())).process_item(page(html))
    assert "Text here." in item.text
    assert 'href="https://www.nytimes.com/b.html"' in item.html
    assert 'href="https://www.nytimes.com/c.html"' in item.html
    assert "onion" not in item.html and len(item.content_hash) == 64


def test_a_page_that_cannot_be_cleaned_is_kept_without_mirror_html(monkeypatch, caplog):
    def broken(html, url):
        raise RuntimeError("extraction exploded")

    monkeypatch.setattr("crawler.pipelines.extract_article", broken)
    item = ArticlePipeline(Rewriter(default_normalizer())).process_item(page(f'<a href="{MIRROR}/x">x</a>'))
    assert item.url == "https://www.nytimes.com/2016/a.html" and item.status == 200
    assert item.html == "" and item.text == ""
    assert "Could not clean" in caplog.text
