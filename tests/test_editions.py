"""Tests of the sample mirror's editions (the site a day later) and of its conditional requests.

Ground truth first -- what :meth:`SampleSite.next_edition` adds, edits, removes and restores, and
that the rendered pages agree with :attr:`SampleSite.changes` -- then the HTTP behaviour through
a real :class:`MirrorServer` with ``http.client``: validators, ``304``, the site swapped between
two rounds of fetches, per-response noise, the command line's ``--edition``.
"""

from __future__ import annotations

import http.client
import json
import re
import ssl
import subprocess
import sys
import threading
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from crawler.samplemirror import (
    CANONICAL_HOST,
    EDIT_KINDS,
    MIRROR_V2,
    MIRROR_V3,
    SECTIONS,
    EditionChanges,
    MirrorServer,
    RecordingHttpProxy,
    SampleSite,
    build_site,
    canonical,
)
from crawler.samplemirror.site import EDITION_0_DAY

ROOT = Path(__file__).resolve().parents[1]
ARTICLE_PATH = re.compile(r"/(\d{4}/\d\d/\d\d/[a-z]+|video/world/\d+)/[a-z0-9-]+\.html")
NOISE = re.compile(
    rb'<div class="ad" id="ad-[0-9a-f]+" data-ad-slot="[0-9a-f]+"></div>\n<!-- ad [0-9a-f]+, request \d+ -->\n'
)


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def editions() -> list[SampleSite]:
    """Editions 0-4 of the default 40-article site."""
    sites = [build_site(40)]
    for _ in range(4):
        sites.append(sites[-1].next_edition())
    return sites


@pytest.fixture(scope="module")
def big() -> list[SampleSite]:
    """Editions 0-2 of a 1,000-article site (the benchmarks' size)."""
    sites = [build_site(1000)]
    for _ in range(2):
        sites.append(sites[-1].next_edition())
    return sites


@pytest.fixture
def server(editions: list[SampleSite]) -> Iterator[MirrorServer]:
    with MirrorServer(editions[0]) as mirror:
        yield mirror


class Reply:
    """What ``http.client`` got back."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = {name.lower(): value for name, value in response.getheaders()}
        self.body = response.read()

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


def fetch(address: tuple[str, int], path: str, headers: Mapping[str, str] | None = None, method: str = "GET") -> Reply:
    conn = http.client.HTTPConnection(*address, timeout=5)
    try:
        conn.request(method, path, headers={"Host": MIRROR_V3, **(headers or {})})
        return Reply(conn.getresponse())
    finally:
        conn.close()


class _Story(HTMLParser):
    """The parts of an article page an edit touches, and its links."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.hrefs: list[str] = []
        self.paragraphs: list[str] = []
        self.title = self.h1 = ""
        self.ld: dict[str, object] = {}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        elif tag == "meta" and ("name" in a or "property" in a):
            self.meta[a.get("name") or a["property"]] = a["content"]
        elif tag == "script" and a.get("type") == "application/ld+json":
            self._in = "ld"
        elif tag == "p" and a.get("class") == "story-body-text":
            self._in = "p"
            self.paragraphs.append("")
        elif tag in ("title", "h1"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "ld":
            self.ld = json.loads(data)
        elif self._in == "p":
            self.paragraphs[-1] += data
        elif self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.h1 += data


def story(body: bytes) -> _Story:
    page = _Story()
    page.feed(body.decode("utf-8", "replace"))
    return page


def article_path(href: str, base: str) -> str | None:
    """The site path an ``href`` on the mirror points at, if it is an article link a crawler follows."""
    parts = urlsplit(urljoin(base, href))
    host = (parts.hostname or "").lower()
    if host not in (MIRROR_V3, MIRROR_V2, CANONICAL_HOST) or parts.port not in (None, 80, 443):
        return None
    return parts.path if ARTICLE_PATH.fullmatch(parts.path) else None


def crawl(address: tuple[str, int]) -> set[str]:
    """Canonical URLs of the articles answering 200, found from ``/`` by following article links only."""
    found: set[str] = set()
    seen = {"/"}
    queue = deque(["/"])
    while queue:
        path = queue.popleft()
        reply = fetch(address, path)
        if reply.status == 503:  # the flaky article: once more
            reply = fetch(address, path)
        if reply.status != 200:
            continue
        if path != "/":
            found.add(canonical(path))
        for href in story(reply.body).hrefs:
            target = article_path(href, f"http://{MIRROR_V3}{path}")
            if target and target not in seen:
                seen.add(target)
                queue.append(target)
    return found


def edition_day(site: SampleSite) -> str:
    return (EDITION_0_DAY + timedelta(days=site.edition)).isoformat()


def validated_paths(site: SampleSite, flaky: bool = False) -> list[str]:
    """Live article paths with validators (the flaky one left out unless asked for)."""
    return [
        a.path
        for a in site.articles
        if a.has_validators and a.path not in site.removed and (flaky or a.path != site.flaky_path)
    ]


# --------------------------------------------------------------------------
# ground truth
# --------------------------------------------------------------------------


def test_edition_zero_is_what_build_site_gives(editions: list[SampleSite]) -> None:
    zero = build_site(40, edition=0)
    assert zero.edition == 0 and zero.changes == EditionChanges() and zero.removed == {}
    assert zero.changes.changed == set()
    for path in editions[0].html_pages():
        assert zero.render(path, attempt=2) == editions[0].render(path, attempt=2)
    assert all(a.edition == 0 and a.modified is None for a in zero.articles)
    body = zero.render(zero.articles[1].path)[2]
    assert b"dateModified" not in body and b"article:modified_time" not in body
    with pytest.raises(ValueError, match="edition"):
        build_site(40, edition=-1)


def test_editions_are_deterministic(editions: list[SampleSite]) -> None:
    for k in (1, 2, 3):
        again = build_site(40, edition=k)
        chained = editions[k]
        assert again.edition == chained.edition == k
        assert again.changes == chained.changes and again.removed == chained.removed
        assert again.articles == chained.articles
        assert [a.paragraphs for a in again.articles] == [a.paragraphs for a in chained.articles]
        pages = chained.html_pages() + sorted(chained.removed)
        assert all(again.render(p, attempt=2) == chained.render(p, attempt=2) for p in pages)
    other = build_site(40, seed=8, edition=1)
    assert other.changes.added.isdisjoint(editions[1].changes.added)
    assert set(other.changes.edited) != set(editions[1].changes.edited)


def test_an_edition_leaves_the_previous_one_alone() -> None:
    site = build_site(40)
    before = {p: site.render(p, attempt=2) for p in site.html_pages()}
    articles, links = list(site.articles), {p: list(x) for p, x in site.links.items()}
    site.next_edition().next_edition()
    assert site.articles == articles and site.links == links and site.removed == {} and site.edition == 0
    assert {p: site.render(p, attempt=2) for p in site.html_pages()} == before


def test_counts_at_1000_articles(big: list[SampleSite]) -> None:
    zero, one, two = big
    assert len(zero.articles) == 1000 and len(zero.article_urls()) == 1000
    c = one.changes
    assert len(c.added) == 20  # 2%
    assert len(c.edited) == 50  # 5%
    assert len(c.removed) == 10  # 1%
    assert c.restored == set()
    kinds = Counter(c.edited.values())
    assert set(kinds) == set(EDIT_KINDS) and min(kinds.values()) >= 16
    assert Counter(c.removed.values()) == {404: 5, 410: 5}
    assert len(one.articles) == 1020 and one.removed == {one.article(u).path: s for u, s in c.removed.items()}
    # edition 2: the same rates of the 1,010 live articles, and one of edition 1's removals back
    c2 = two.changes
    assert (len(c2.added), len(c2.edited), len(c2.removed), len(c2.restored)) == (20, 50, 10, 1)
    assert c2.restored <= set(c.removed)
    assert len(two.removed) == 10 + 10 - 1
    for site in (one, two):
        ch = site.changes
        groups = [set(ch.added), set(ch.edited), set(ch.removed), set(ch.restored)]
        assert sum(map(len, groups)) == len(ch.changed)  # no URL changes two ways at once
        truth = site.article_urls()
        assert ch.added <= truth and ch.restored <= truth and not set(ch.removed) & truth
        live = {a.canonical_url for a in site.articles if a.path not in site.removed}
        assert truth <= live and len(truth) >= len(live) - 3  # stale links aside, everything stays reachable


def test_small_sites_still_get_every_kind_of_change() -> None:
    for n in (10, 13, 20):  # from 10 articles on, enough are neither special nor linked from "/"
        one, two = build_site(n, edition=1), build_site(n, edition=2)
        assert len(one.changes.added) == 1 and set(one.changes.edited.values()) == set(EDIT_KINDS)
        assert sorted(one.changes.removed.values()) == [404, 410]
        assert len(two.changes.restored) == 1
    for n in (1, 2, 3, 5, 8):  # too small to edit or remove much; still grows and stays consistent
        site = build_site(n, edition=3)
        assert len(site.articles) == n + 3
        assert site.article_urls() <= {a.canonical_url for a in site.articles if a.path not in site.removed}


def test_the_special_pages_are_never_touched(editions: list[SampleSite]) -> None:
    zero = editions[0]
    specials = {zero.articles[0].path, zero.flaky_path, zero.bad_encoding_path, zero.redirect_target}
    specials |= set(zero.home_targets)
    for site in editions[1:]:
        for path in specials:
            assert path and canonical(path) not in site.changes.changed
            assert path not in site.removed
            assert site.render(path, attempt=2) == zero.render(path, attempt=2)
        assert site.flaky_path == zero.flaky_path and site.bad_encoding_path == zero.bad_encoding_path
        assert site.render(zero.flaky_path or "", attempt=1)[0] == 503


def test_added_articles(editions: list[SampleSite]) -> None:
    for prev, site in zip(editions, editions[1:], strict=False):
        added = [site.article(u) for u in site.changes.added]
        assert added and all(a.edition == site.edition and a.modified is None for a in added)
        for art in added:
            assert ARTICLE_PATH.fullmatch(art.path) and art.path.startswith("/" + edition_day(site).replace("-", "/"))
            assert art.published.startswith(edition_day(site)) and art.published > max(
                a.published for a in prev.articles
            )
            assert art.canonical_url not in {a.canonical_url for a in prev.articles}
            assert site.depth_of(art.canonical_url) == 1  # linked from "/"
            assert art.canonical_url in site.related(f"/section/{art.section}")
            assert site.render(art.path, attempt=2)[0] == 200
        # newest first, at the very top of "/" and of their section page
        newest_first = [a.path for a in sorted(added, key=lambda a: a.published, reverse=True)]
        assert [x.target for x in site.links["/"][: len(added)]] == newest_first
        for section in SECTIONS:
            fresh = [p for p in newest_first if site.article(p).section == section]
            assert [x.target for x in site.links[f"/section/{section}"][: len(fresh)]] == fresh
        home = site.render("/")[2].decode()
        assert all(site.article(p).title in home for p in newest_first)


def test_edits_are_what_changes_says(editions: list[SampleSite]) -> None:
    kinds_seen: Counter[str] = Counter()
    for prev, site in zip(editions, editions[1:], strict=False):
        for url, kind in site.changes.edited.items():
            kinds_seen[kind] += 1
            old, new = prev.article(url), site.article(url)
            assert new.modified and new.modified.startswith(edition_day(site)) and new.published == old.published
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00-05:00", new.modified)
            assert datetime.fromisoformat(new.modified) > datetime.fromisoformat(old.last_modified)
            before, after = story(prev.render(old.path, 2)[2]), story(site.render(new.path, 2)[2])
            assert after.meta["article:modified_time"] == after.ld["dateModified"] == new.modified
            assert after.meta["article:published_time"] == after.ld["datePublished"] == old.published
            if kind == "headline":
                assert new.title != old.title and after.paragraphs == before.paragraphs
                assert after.title == after.h1 == after.meta["og:title"] == after.ld["headline"] == new.title
            elif kind == "word":
                assert new.title == old.title and len(after.paragraphs) == len(before.paragraphs)
                [(a, b)] = [(a, b) for a, b in zip(before.paragraphs, after.paragraphs, strict=True) if a != b]
                old_words, new_words = a.split(), b.split()
                assert len(old_words) == len(new_words)
                assert sum(x != y for x, y in zip(old_words, new_words, strict=True)) == 1
            else:
                assert kind == "paragraph" and new.title == old.title
                if len(after.paragraphs) == len(before.paragraphs):  # one rewritten
                    assert sum(a != b for a, b in zip(before.paragraphs, after.paragraphs, strict=True)) == 1
                else:  # one added, the others kept in order
                    assert len(after.paragraphs) == len(before.paragraphs) + 1
                    assert any(
                        after.paragraphs[:i] + after.paragraphs[i + 1 :] == before.paragraphs
                        for i in range(len(after.paragraphs))
                    )
    assert set(kinds_seen) == set(EDIT_KINDS)


def test_removed_and_restored_articles(editions: list[SampleSite]) -> None:
    statuses: Counter[int] = Counter()
    for prev, site in zip(editions, editions[1:], strict=False):
        for url, status in site.changes.removed.items():
            statuses[status] += 1
            path = site.article(url).path
            assert prev.render(path, 2)[0] == 200 and site.render(path, 2)[0] == status
            assert site.removed[path] == status and path not in site.html_pages()
            assert url not in site.article_urls()
            with pytest.raises(KeyError):
                site.depth_of(url)
        for url in site.changes.restored:
            path = site.article(url).path
            assert prev.removed[path] in (404, 410) and path not in site.removed
            assert site.render(path, 2)[0] == 200 and path in site.html_pages()
            assert site.article(url).paragraphs == prev.article(url).paragraphs  # its text, as before removal
        assert bool(site.changes.restored) == (site.edition >= 2)
    assert set(statuses) == {404, 410}


def test_unchanged_articles_render_the_same(editions: list[SampleSite]) -> None:
    for prev, site in zip(editions, editions[1:], strict=False):
        changed = site.changes.changed
        for art in prev.articles:
            if art.canonical_url not in changed:
                assert site.render(art.path, 2) == prev.render(art.path, 2), art.path


def test_new_articles_are_reachable_following_article_links(editions: list[SampleSite]) -> None:
    site = editions[3]
    with MirrorServer(site) as mirror:
        found = crawl(mirror.address)
    assert found == site.article_urls()
    for k in (1, 2, 3):
        assert editions[k].changes.added <= found
    assert not set(site.changes.removed) & found


# --------------------------------------------------------------------------
# conditional requests
# --------------------------------------------------------------------------


def test_articles_send_validators_but_every_fourth(editions: list[SampleSite], server: MirrorServer) -> None:
    site = editions[0]
    for art in site.articles[:12]:
        reply = fetch(server.address, art.path)
        if reply.status == 503:
            reply = fetch(server.address, art.path)
        assert reply.status == 200
        if art.index % 4 == 3:
            assert not art.has_validators and reply.etag is None and reply.last_modified is None
            continue
        assert reply.etag and re.fullmatch(r'"[0-9a-f]{24}"', reply.etag)
        assert reply.last_modified and reply.last_modified.endswith(" GMT")  # an HTTP-date
        assert parsedate_to_datetime(reply.last_modified) == datetime.fromisoformat(art.published)
        assert fetch(server.address, art.path).etag == reply.etag == site.render(art.path, 2)[1]["ETag"]
    for hub in ("/", "/section/world", f"/by/{site.articles[0].author_slug}", "/robots.txt"):
        reply = fetch(server.address, hub, {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
        assert reply.status == 200 and reply.etag is None and reply.last_modified is None


def test_if_none_match_and_if_modified_since(editions: list[SampleSite], server: MirrorServer) -> None:
    site = editions[0]
    path = validated_paths(site)[2]
    first = fetch(server.address, path)
    etag, lm = first.etag, first.last_modified
    assert first.status == 200 and etag and lm and first.body
    when = parsedate_to_datetime(lm)
    earlier = format_datetime(when - timedelta(seconds=1), usegmt=True)
    later = format_datetime(when + timedelta(days=1), usegmt=True)
    cases: list[tuple[dict[str, str], int]] = [
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": f'"nope", W/{etag}'}, 304),  # a list, and weak comparison
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"nope"'}, 200),
        ({"If-Modified-Since": lm}, 304),  # at Last-Modified
        ({"If-Modified-Since": later}, 304),  # after it
        ({"If-Modified-Since": earlier}, 200),  # before it
        ({"If-Modified-Since": "yesterday-ish"}, 200),  # unparsable: ignored
        ({"If-None-Match": '"nope"', "If-Modified-Since": lm}, 200),  # If-None-Match decides
        ({"if-none-match": etag}, 304),  # names in any case
    ]
    for headers, status in cases:
        reply = fetch(server.address, path, headers)
        assert reply.status == status, headers
        assert reply.etag == etag and reply.last_modified == lm
        if status == 304:
            assert reply.body == b"" and "content-length" not in reply.headers
        else:
            assert reply.body == first.body
    head = fetch(server.address, path, {"If-None-Match": etag}, method="HEAD")
    assert head.status == 304 and head.body == b""
    # pages without validators answer in full whatever is asked
    plain = next(a.path for a in site.articles if not a.has_validators)
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": later}):
        assert fetch(server.address, plain, headers).status == 200
    # the server counted what was conditional and what got 304
    sent_conditional = len(cases) + 1 + 2
    assert len(server.conditional) == sent_conditional
    assert server.statuses[304] == sum(1 for _, s in cases if s == 304) + 1
    assert server.statuses[200] == 1 + sum(1 for _, s in cases if s == 200) + 2
    record = server.conditional[0]
    assert record == ("GET", MIRROR_V3, path) and record.headers["if-none-match"] == etag and record.status == 304
    assert all(r.status is not None for r in server.requests)
    server.reset()
    assert server.requests == [] and server.conditional == [] and server.statuses == Counter()


def test_a_recrawl_gets_304_for_unchanged_and_200_for_edited(editions: list[SampleSite]) -> None:
    zero, one, two = editions[:3]
    with MirrorServer(zero) as mirror:
        # round 1: edition 0, unconditional
        seen: dict[str, Reply] = {}
        for art in zero.articles:
            reply = fetch(mirror.address, art.path)
            if reply.status == 503:
                reply = fetch(mirror.address, art.path)
            seen[art.path] = reply
        assert {r.status for r in seen.values()} == {200} and not mirror.conditional
        # round 2: edition 1 on the same server, revalidating what round 1 got
        mirror.set_site(one)
        answers: dict[str, Reply] = {}
        for path, old in seen.items():
            validators = {"If-None-Match": old.etag or "", "If-Modified-Since": old.last_modified or ""}
            answers[path] = fetch(mirror.address, path, {k: v for k, v in validators.items() if v})
        changes = one.changes
        for path, reply in answers.items():
            url = canonical(path)
            if url in changes.removed:
                assert reply.status == changes.removed[url]
            elif url in changes.edited:
                assert reply.status == 200 and b"dateModified" in reply.body
                if seen[path].etag:
                    assert reply.etag and reply.etag != seen[path].etag
                    assert reply.last_modified and seen[path].last_modified
                    assert parsedate_to_datetime(reply.last_modified) > parsedate_to_datetime(seen[path].last_modified)
            elif seen[path].etag:
                assert reply.status == 304 and reply.etag == seen[path].etag
            else:
                assert reply.status == 200 and reply.body == seen[path].body
        unchanged_validated = [p for p in seen if seen[p].etag and canonical(p) not in changes.changed]
        assert len(mirror.conditional) == sum(1 for r in seen.values() if r.etag)
        assert mirror.statuses[304] == len(unchanged_validated) > 20
        # an edited page revalidated by date alone: modified after what round 1 saw
        edited = next(one.article(u).path for u in changes.edited if seen[one.article(u).path].last_modified)
        by_date = fetch(mirror.address, edited, {"If-Modified-Since": seen[edited].last_modified or ""})
        assert by_date.status == 200
        assert fetch(mirror.address, edited, {"If-None-Match": by_date.etag or ""}).status == 304
        # new articles answer 200
        for url in changes.added:
            assert fetch(mirror.address, one.article(url).path).status == 200
        # round 3: edition 2 brings one removed article back
        mirror.set_site(two)
        [restored] = two.changes.restored
        path = two.article(restored).path
        assert fetch(mirror.address, path).status == 200
        assert canonical(path) in changes.removed and answers[path].status in (404, 410)


def test_304_through_the_http_proxy(editions: list[SampleSite]) -> None:
    site = editions[1]
    path = next(p for p in validated_paths(site) if canonical(p) in site.changes.edited)
    with MirrorServer(site) as mirror, RecordingHttpProxy.for_server(mirror) as proxy:
        conn = http.client.HTTPConnection(*proxy.address, timeout=5)
        conn.request("GET", f"http://{MIRROR_V3}{path}")
        first = Reply(conn.getresponse())
        conn.close()
        conn = http.client.HTTPConnection(*proxy.address, timeout=5)
        conn.request("GET", f"http://{MIRROR_V3}{path}", headers={"If-None-Match": first.etag or ""})
        second = Reply(conn.getresponse())
        conn.close()
    assert first.status == 200 and second.status == 304 and second.body == b"" and second.etag == first.etag
    assert [r.status for r in mirror.requests] == [200, 304] and len(mirror.conditional) == 1


def test_conditional_requests_over_https_behind_the_redirect(editions: list[SampleSite]) -> None:
    site = editions[1]
    path = validated_paths(site)[0]
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with MirrorServer(site, tls=True, https_redirect=True) as mirror:
        plain = fetch(mirror.address, path, {"If-None-Match": "*"})
        assert plain.status == 301 and plain.headers["location"] == f"https://{MIRROR_V3}{path}"
        assert mirror.tls_address
        conn = http.client.HTTPSConnection(*mirror.tls_address, timeout=5, context=context)
        conn.request("GET", path, headers={"Host": MIRROR_V3})
        full = Reply(conn.getresponse())
        conn.request("GET", path, headers={"Host": MIRROR_V3, "If-None-Match": full.etag or ""})
        again = Reply(conn.getresponse())  # same keep-alive connection: a 304 has no body to wait for
        conn.close()
    assert (full.status, again.status) == (200, 304)
    assert [r.status for r in mirror.requests] == [301, 200, 304]
    assert mirror.request_schemes == ["http", "https", "https"]


# --------------------------------------------------------------------------
# swapping the site, noise
# --------------------------------------------------------------------------


def test_set_site_while_serving(editions: list[SampleSite]) -> None:
    zero, one = editions[:2]
    homes = {zero.render("/")[2], one.render("/")[2]}
    assert len(homes) == 2
    bodies: list[bytes] = []
    failures: list[BaseException] = []

    def client() -> None:
        try:
            for _ in range(25):
                bodies.append(fetch(mirror.address, "/").body)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            failures.append(exc)

    with MirrorServer(zero) as mirror:
        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        for i in range(40):
            mirror.set_site(editions[i % 2])
        for thread in threads:
            thread.join(10)
        mirror.set_site(one)
        assert fetch(mirror.address, "/").body == one.render("/")[2]
    assert not failures and len(bodies) == 100 and set(bodies) <= homes


def test_the_flaky_article_after_a_swap(editions: list[SampleSite]) -> None:
    flaky = editions[0].flaky_path
    assert flaky
    with MirrorServer(editions[0]) as mirror:
        assert [fetch(mirror.address, flaky).status for _ in range(2)] == [503, 200]
        mirror.set_site(editions[1])
        assert fetch(mirror.address, flaky).status == 200  # its attempts carry over
        mirror.reset()
        assert [fetch(mirror.address, flaky).status for _ in range(2)] == [503, 200]


def test_noise_is_opt_in(editions: list[SampleSite]) -> None:
    quiet = editions[1]
    noisy = build_site(40, edition=1, noise=True)
    validated = validated_paths(quiet)[0]
    plain = next(a.path for a in quiet.articles if not a.has_validators and a.path not in quiet.removed)
    with MirrorServer(quiet) as mirror:
        for path in ("/", "/section/world", plain, validated):
            assert fetch(mirror.address, path).body == fetch(mirror.address, path).body
    with MirrorServer(noisy) as mirror:
        for path in ("/", "/section/world", f"/by/{quiet.articles[0].author_slug}", plain):
            one, two = fetch(mirror.address, path).body, fetch(mirror.address, path).body
            assert one != two and len(NOISE.findall(one)) == len(NOISE.findall(two)) == 1
            assert NOISE.sub(b"", one) == NOISE.sub(b"", two) == quiet.render(path, 2)[2]
        one_reply, two_reply = fetch(mirror.address, validated), fetch(mirror.address, validated)
        assert one_reply.body == two_reply.body == quiet.render(validated, 2)[2]  # validators, no noise
        assert fetch(mirror.address, validated, {"If-None-Match": one_reply.etag or ""}).status == 304
        assert fetch(mirror.address, "/robots.txt").body == quiet.render("/robots.txt")[2]
    # the noise is a function of the attempt: a site renders the same response twice
    assert noisy.render("/", 3) == noisy.render("/", 3) != noisy.render("/", 4)
    assert noisy.next_edition().noise


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------


def test_command_line_serves_an_edition() -> None:
    site = build_site(40, edition=2)
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.samplemirror", "--articles", "40", "--edition", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(4)]
        services = dict(line.split(": ", 1) for line in lines)
        host, port = urlsplit(services["mirror server"]).hostname, urlsplit(services["mirror server"]).port
        assert host and port
        assert fetch((host, port), "/").body == site.render("/")[2]
        for path, status in site.removed.items():
            assert fetch((host, port), path).status == status
        for url in site.changes.added | site.changes.restored:
            assert fetch((host, port), site.article(url).path).status == 200
        proc.terminate()
        assert proc.wait(timeout=5) == 0
    finally:
        proc.kill()
        proc.wait()
    bad = subprocess.run(
        [sys.executable, "-m", "crawler.samplemirror", "--edition", "-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and "--edition" in bad.stderr
