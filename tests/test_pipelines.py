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


def test_a_page_whose_extraction_fails_keeps_its_rewritten_html(monkeypatch, caplog):
    def broken(html, url, updated_selector=None):
        raise RuntimeError("extraction exploded")

    monkeypatch.setattr("crawler.pipelines.extract_article", broken)
    item = ArticlePipeline(Rewriter(default_normalizer())).process_item(page(f'<a href="{MIRROR}/x">x</a>'))
    assert item.url == "https://www.nytimes.com/2016/a.html" and item.status == 200
    assert item.text == ""
    assert item.html == '<a href="https://www.nytimes.com/x">x</a>' and "onion" not in item.html
    assert "Could not clean" in caplog.text and "extraction exploded" in caplog.text
    assert item.extra["clean_failed"] == {"text": "RuntimeError: extraction exploded"}


def test_a_page_whose_html_rewrite_fails_keeps_its_text(monkeypatch, caplog):
    def broken(text, base=None):
        raise RuntimeError("rewrite exploded")

    pipeline = ArticlePipeline(Rewriter(default_normalizer()))
    monkeypatch.setattr(pipeline.rewriter, "rewrite", broken)
    html = f'<html><body><article><p>Text here.</p><a href="{MIRROR}/x">x</a></article></body></html>'
    item = pipeline.process_item(page(html))
    assert "Text here." in item.text and len(item.content_hash) == 64
    assert item.html == ""  # never the mirror's HTML as it came
    assert "Could not clean" in caplog.text and "with its text only" in caplog.text
    assert all(record.exc_info is None for record in caplog.records)  # a warning, not a traceback
    assert item.extra["clean_failed"] == {"html": "RuntimeError: rewrite exploded"}


def test_one_malformed_link_costs_the_page_nothing(caplog):
    html = (
        '<html><body><article><p>Hello there, reader.</p><a href="//x]y/">x</a><a href="/\ud800">s</a>'
        f'<a href="{MIRROR}/b.html?smid=x">b</a></article></body></html>'
    )
    item = ArticlePipeline(Rewriter(default_normalizer())).process_item(page(html))
    assert "Hello there, reader." in item.text
    assert '<a href="//x]y/">x</a>' in item.html and 'href="https://www.nytimes.com/b.html"' in item.html
    assert "Could not clean" not in caplog.text and "clean_failed" not in item.extra


def test_a_bad_fetched_url_costs_only_the_html(caplog):
    item = page("<html><body><article><p>Text here.</p></article></body></html>")
    item.fetched_url = "http://[::1/broken"
    item = ArticlePipeline(Rewriter(default_normalizer())).process_item(item)
    assert "Text here." in item.text and item.html == ""
    assert "InvalidUrl: bad base URL 'http://[::1/broken'" in caplog.text
