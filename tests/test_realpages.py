"""Real-page-like documents (tests/fixtures/realpages: NYT, BBC and Guardian article pages of our
own making, MIT; see make_pages.py), served the EOTK way: the mirror page rewritten gives exactly
what the clearnet page gives, and no mirror host is left in any form."""

import importlib.util
import re
from pathlib import Path

import pytest

from crawler.url.normalize import default_normalizer
from crawler.url.rewrite import Rewriter, rewrite_text

HERE = Path(__file__).parent / "fixtures" / "realpages"
_spec = importlib.util.spec_from_file_location("make_pages", HERE / "make_pages.py")
assert _spec is not None and _spec.loader is not None
make_pages = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_pages)
LABELS = [m.onion for m in default_normalizer().rules.mirrors]


@pytest.fixture(scope="module", params=sorted(make_pages.PAGES))
def page(request):
    name = request.param
    clearnet = (HERE / name).read_text(encoding="utf-8")
    base = make_pages.PAGES[name]
    return name, clearnet, base, make_pages.eotk_mirror(clearnet), make_pages.eotk_mirror(base)


def test_the_fixtures_are_what_make_pages_writes():
    rng = make_pages.random.Random(14)
    assert (HERE / "bbc_article.html").read_text(encoding="utf-8") == make_pages.bbc(rng)


def test_the_mirror_page_is_mirror_shaped(page):
    name, clearnet, _, mirror, _ = page
    assert 100_000 < len(clearnet.encode()) < 300_000
    assert mirror.count(".onion") > 200
    assert "%2Fwww." in mirror and ".onion%2F" in mirror  # share links nest the article's URL


def test_the_mirror_page_gives_what_the_clearnet_page_gives(page):
    name, clearnet, base, mirror, mirror_base = page
    out_clearnet = rewrite_text(clearnet, base)
    out_mirror = Rewriter().rewrite(mirror, mirror_base)  # a fresh rewriter: nothing memoized
    lowered = out_mirror.lower()
    assert [label for label in LABELS if label in lowered] == []
    assert out_mirror == out_clearnet
    for tracking in ("smid=", "pgtype=", "utm_source=", "UTM_SOURCE=", "at_medium=", "INTCMP=ob", "CMP=share"):
        assert tracking not in out_clearnet, tracking


def test_urls_come_out_canonical_in_their_escaping(page):
    name, clearnet, base, mirror, mirror_base = page
    out = rewrite_text(mirror, mirror_base)
    host = re.escape(re.sub(r"^https://([^/]+)/.*", r"\1", base))
    assert re.search(rf'<link rel="canonical" href="https://{host}/', out)
    if name == "nyt_article.html":
        assert "https:\\u002F\\u002Fwww.nytimes.com\\u002F2024" in out  # \u002F escaping kept
        assert "https:\\/\\/www.nytimes.com\\/2024\\/11\\/05" in out  # JSON-LD \/ kept
        assert 'src="https://static01.nyt.com/images/2024/11/05/multimedia/' in out  # protocol-relative
        assert "mailto:letters@nytimes.com" in out
        # an upper-case URL is found and canonical; NYT's own names match in their case (rules/nytimes.toml)
        assert "https://www.nytimes.com/2024/11/04/world/upper.html?SMID=x" in out
    if name == "bbc_article.html":
        # the share link: the nested URL byte for byte, as on the clearnet page
        assert '&amp;link=https%3A%2F%2Fwww.bbc.com%2Fnews%2Fnewsbeat-50470672%3FSThisFB"' in out
    if name == "guardian_article.html":
        assert "CMP=share_btn" not in out and "INTCMP=ob_article" not in out
