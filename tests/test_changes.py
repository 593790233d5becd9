"""Article changes between rounds: the API (crawler.store.changes), `scrapy changes` and the
history exports of `scrapy pages` (--versions, --at), on real stores written by Store.write."""

import json
import re
import sqlite3
from html.parser import HTMLParser

import pytest

from crawler.cli import EXIT_FAILED
from crawler.exceptions import ExportError
from crawler.store import Store
from crawler.store.changes import (
    Segment,
    changes,
    iter_versions,
    pages_at,
    parse_when,
    resolve_site,
    sort_key,
    wdiff,
    word_diff,
)
from tests.crawling import read_items, run_scrapy
from tests.support.headless import Chromium, chromium_missing

NYT = "https://www.nytimes.com"
WORD = f"{NYT}/2026/01/01/world/word.html"  # round 2: one word edited
HEADLINE = f"{NYT}/2026/01/01/world/headline.html"  # round 2: a new headline, the same text
HOSTILE = f"{NYT}/2026/01/01/world/hostile.html"  # round 2: a headline holding markup
PARAGRAPH = f"{NYT}/2026/01/01/world/paragraph.html"  # round 3: a paragraph added
REMOVED = f"{NYT}/2026/01/01/world/removed.html"  # round 2: 404
RESTORED = f"{NYT}/2026/01/01/world/restored.html"  # round 2: 404; round 3: answers again, edited
UNCHANGED = f"{NYT}/2026/01/01/world/unchanged.html"  # the same in every round
AUTHORS = f"{NYT}/2026/01/01/world/authors.html"  # round 2: only the byline changed
FLIPFLOP = f"{NYT}/2026/01/01/world/flipflop.html"  # round 2: edited; round 3: back as it was
HUB = f"{NYT}/section/world"  # a section front: changes every round, never listed
BBC = "https://www.bbc.com/news/articles/c0123456789abo"  # round 3: one word edited
DAYS = ["2026-01-01T06:00:00+00:00", "2026-01-02T06:00:00+00:00", "2026-01-03T06:00:00+00:00"]
HOSTILE_TITLE = "Leak <script>alert(1)</script> & <img src=http://evil.example/x.png>"

BODY = (
    "The talks between the two delegations resumed on Monday in Geneva, officials said.\n"
    "Both sides described the first session as constructive but cautioned that a deal remained distant.\n"
    "A further round is expected next week, according to a statement released late on Monday."
)
EXTRA = "Observers noted that the mood in the room had changed markedly since the spring."


def fetch(url, day, title="A story", text=BODY, status=200, authors=("Ann Lee",)):
    path = url.split("/", 3)[3]
    return {
        "url": url,
        "fetched_url": f"http://mirror.onion/{path}",
        "mirror": "mirror.onion",
        "status": status,
        "fetched_at": DAYS[day],
        "title": None if status != 200 else title,
        "text": None if status != 200 else text,
        "authors": list(authors) if status == 200 else [],
        "published": "2026-01-01",
        "links": [],
    }


ROUNDS = [
    [
        fetch(WORD, 0, "Talks resume in Geneva"),
        fetch(HEADLINE, 0, "Talks resume in Geneva"),
        fetch(HOSTILE, 0, "Leak inquiry opens"),
        fetch(PARAGRAPH, 0, "Talks: the background"),
        fetch(REMOVED, 0, "A story taken down"),
        fetch(RESTORED, 0, "A story that comes back"),
        fetch(UNCHANGED, 0, "Nothing new"),
        fetch(AUTHORS, 0, "Byline"),
        fetch(FLIPFLOP, 0, "Flip flop"),
        fetch(HUB, 0, "World", "Talks resume in Geneva\nLeak inquiry opens"),
        fetch(BBC, 0, "BBC story"),
    ],
    [
        fetch(WORD, 1, "Talks resume in Geneva", BODY.replace("constructive", "productive")),
        fetch(HEADLINE, 1, "Talks collapse in Geneva after a night of rows"),
        fetch(HOSTILE, 1, HOSTILE_TITLE),
        fetch(PARAGRAPH, 1, "Talks: the background"),
        fetch(REMOVED, 1, status=404),
        fetch(RESTORED, 1, status=410),
        fetch(UNCHANGED, 1, "Nothing new"),
        fetch(AUTHORS, 1, "Byline", authors=("Ann Lee", "Bo Chen")),
        fetch(FLIPFLOP, 1, "Flip flop", BODY.replace("Geneva", "Vienna")),
        fetch(HUB, 1, "World", "Talks collapse in Geneva\nLeak <script>"),
        fetch(BBC, 1, "BBC story"),
    ],
    [
        fetch(WORD, 2, "Talks resume in Geneva", BODY.replace("constructive", "productive")),
        fetch(PARAGRAPH, 2, "Talks: the background", BODY + "\n" + EXTRA),
        fetch(RESTORED, 2, "A story that comes back", BODY.replace("next week", "on Friday")),
        fetch(UNCHANGED, 2, "Nothing new"),
        fetch(FLIPFLOP, 2, "Flip flop"),
        fetch(HUB, 2, "World", "Talks: the background"),
        fetch(BBC, 2, "BBC story", BODY.replace("Monday in Geneva", "Tuesday in Geneva")),
    ],
]


def build_store(path):
    with Store(path) as store:
        for day, pages in enumerate(ROUNDS):
            number = store.begin_round(DAYS[day]).number
            store.write(pages, round=number)
            store.end_round(number, "finished", DAYS[day].replace("T06", "T07"))
    return path


@pytest.fixture
def store(tmp_path):
    with Store(build_store(tmp_path / "crawl.sqlite3"), create=False) as opened:
        yield opened


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder with a crawl.sqlite3 (the default STORE_PATH) where scrapy runs as a user runs it."""
    folder = tmp_path_factory.mktemp("changes")
    build_store(folder / "crawl.sqlite3")
    return folder


# -- the API ---------------------------------------------------------------------


def test_the_store_recorded_what_the_scenario_says(store):
    outcomes = dict(store.db.execute("SELECT url, outcome FROM checks WHERE round = 3"))
    assert outcomes[RESTORED] == "restored" and outcomes[PARAGRAPH] == "changed" and outcomes[UNCHANGED] == "unchanged"
    changes_of = dict(store.db.execute("SELECT url, GROUP_CONCAT(change) FROM versions GROUP BY url"))
    assert changes_of[REMOVED] == "new,removed"
    assert changes_of[AUTHORS] == "new,changed"
    assert changes_of[HUB] == "new,changed,changed"


def test_changed_articles_and_only_them(store):
    found = {change.url: change for change in changes(store)}
    assert set(found) == {WORD, HEADLINE, HOSTILE, PARAGRAPH, REMOVED, RESTORED, BBC}
    # Not listed: the hub, an unchanged page, a byline-only change, an edit that was undone.
    assert {HUB, UNCHANGED, AUTHORS, FLIPFLOP}.isdisjoint(found)
    assert {url: c.kind for url, c in found.items()} == {
        WORD: "edited",
        HEADLINE: "edited",
        HOSTILE: "edited",
        PARAGRAPH: "edited",
        REMOVED: "removed",
        RESTORED: "restored",
        BBC: "edited",
    }


def test_a_word_edit(store):
    change = {c.url: c for c in changes(store)}[WORD]
    assert not change.headline_changed and change.title_before == change.title_after == "Talks resume in Geneva"
    assert [s for s in change.text_diff if s.op != "equal"] == [
        Segment("delete", "constructive "),
        Segment("insert", "productive "),
    ]
    assert (change.chars_added, change.chars_removed) == (len("productive"), len("constructive"))
    assert change.title_diff == [Segment("equal", "Talks resume in Geneva")]
    assert (change.version_before, change.version_after, change.versions) == (1, 2, 2)
    assert (change.first_fetched_at, change.last_fetched_at, change.rounds) == (DAYS[0], DAYS[1], [2])
    # Context: a few words each side of the edit, the rest elided.
    assert change.text_diff[0].text.startswith("… ") and change.text_diff[-1].text.endswith(" …")
    assert len(change.text_diff[0].text.split()) <= 9


def test_a_headline_change(store):
    change = {c.url: c for c in changes(store)}[HEADLINE]
    assert change.headline_changed
    assert change.title_before == "Talks resume in Geneva"
    assert change.title_after == "Talks collapse in Geneva after a night of rows"
    assert wdiff(change.title_diff) == "Talks [-resume-] {+collapse+} in Geneva {+after a night of rows+}"
    assert change.text_diff == []  # the text did not change


def test_a_paragraph_added(store):
    change = {c.url: c for c in changes(store)}[PARAGRAPH]
    inserted = [s.text for s in change.text_diff if s.op == "insert"]
    assert [" ".join(t.split()) for t in inserted] == [EXTRA]
    assert not [s for s in change.text_diff if s.op == "delete"]
    assert (change.chars_added, change.chars_removed) == (len(EXTRA), 0)
    assert change.rounds == [3] and change.versions == 2


def test_a_removal_and_a_restoration(store):
    found = {c.url: c for c in changes(store)}
    removed = found[REMOVED]
    assert removed.title_before == "A story taken down" and removed.title_after is None
    assert removed.title_diff == [Segment("delete", "A story taken down")] and removed.text_diff == []
    assert removed.chars_removed == len("A story taken down") + len(" ".join(BODY.split()))
    assert (removed.version_before, removed.version_after, removed.last_fetched_at) == (1, 2, DAYS[1])
    restored = found[RESTORED]
    assert (restored.version_before, restored.version_after, restored.versions) == (1, 3, 3)
    assert restored.rounds == [2, 3] and not restored.headline_changed
    assert "[-next week,-] {+on Friday,+}" in wdiff(restored.text_diff)


def test_headline_changes_first_then_by_size(store):
    found = changes(store)
    assert found == sorted(found, key=sort_key)
    headlines = [c.url for c in found if c.headline_changed]
    assert [c.url for c in found[: len(headlines)]] == headlines
    assert set(headlines) == {HEADLINE, HOSTILE}
    rest = found[len(headlines) :]
    sizes = [c.chars_added + c.chars_removed for c in rest]
    assert sizes == sorted(sizes, reverse=True)
    assert rest[0].url == REMOVED  # the whole text went: the largest change


def test_since_compares_with_the_version_then(store):
    found = {c.url: c for c in changes(store, since="2026-01-03")}
    # The flip-flop changed back on the 3rd: against the 2nd, that is an edit.
    assert set(found) == {PARAGRAPH, RESTORED, BBC, FLIPFLOP}
    # Restored on the 3rd after a removal before it: compared with the last version that had an article.
    assert found[RESTORED].kind == "restored" and found[RESTORED].version_before == 1
    assert found[RESTORED].rounds == [3]
    assert changes(store, since="2026-01-03T06:00:00+00:00") == changes(store, since="2026-01-03")
    assert changes(store, since="2026-01-03T06:00:01Z") == []
    assert changes(store, since="2026-01-04") == []
    # A removal is listed while it is news: since the 2nd, not since the 3rd.
    assert REMOVED in {c.url for c in changes(store, since="2026-01-02")}
    assert changes(store, since="2026-01-02") == changes(store)  # every change came after the 1st


def test_site_by_key_name_or_host(store):
    assert [c.url for c in changes(store, site="bbc")] == [BBC]
    assert {c.url for c in changes(store, site="nytimes")} == {c.url for c in changes(store)} - {BBC}
    assert changes(store, site="www.bbc.co.uk") == changes(store, site="BBC") == changes(store, site="bbc")
    assert changes(store, site="guardian") == []
    with pytest.raises(ExportError, match="unknown site 'example.org'"):
        changes(store, site="example.org")
    assert resolve_site("https://www.nytimes.com/").key == "nytimes"


def test_parse_when():
    assert parse_when("2026-01-02T08:00:00+02:00").isoformat() == "2026-01-02T06:00:00+00:00"
    assert parse_when("2026-01-02T06:00").isoformat() == "2026-01-02T06:00:00+00:00"
    for bad in ("", "yesterday", "2026-13-01", "02/01/2026"):
        with pytest.raises(ExportError, match="not an ISO date"):
            parse_when(bad)


def test_word_diff_segments():
    assert word_diff("", "") == []
    assert word_diff(None, "New text here.") == [Segment("insert", "New text here.")]
    assert word_diff("Old text.", None) == [Segment("delete", "Old text.")]
    # Whitespace alone is no change; paragraphs keep their breaks.
    assert word_diff("One  two.\nThree.", " One two.\n\nThree. ") == [Segment("equal", "One two.\nThree.")]
    words = [f"w{i}" for i in range(40)]
    before, after = " ".join(words), " ".join(words[:20] + ["NEW"] + words[20:])
    assert wdiff(word_diff(before, after, context=3)) == "… w17 w18 w19 {+NEW+} w20 w21 w22 …"
    assert wdiff(word_diff(before, after, context=None)) == " ".join(words[:20] + ["{+NEW+}"] + words[20:])
    two_edits = " ".join(words[:5] + ["X"] + words[6:35] + ["Y"] + words[36:])
    assert wdiff(word_diff(before, two_edits, context=2)) == (
        "… w3 w4 [-w5-] {+X+} w6 w7 … w33 w34 [-w35-] {+Y+} w36 w37 …"
    )


def test_to_dict_is_json_keyed_by_url(store):
    record = json.loads(json.dumps(changes(store)[0].to_dict()))
    assert next(iter(record)) == "url"
    assert record["title_diff"][0] in (["equal", "Talks "], ["equal", "Leak "])


# -- versions and the store as it stood ------------------------------------------------


def test_iter_versions(store):
    versions = list(iter_versions(store))
    assert len(versions) == store.counts()["versions"]
    assert [(v["url"], v["version"]) for v in versions] == sorted((v["url"], v["version"]) for v in versions)
    restored = [v for v in versions if v["url"] == RESTORED]
    assert [(v["version"], v["round"], v["change"], v["status"]) for v in restored] == [
        (1, 1, "new", 200),
        (2, 2, "removed", 410),
        (3, 3, "restored", 200),
    ]
    assert restored[0]["authors"] == ["Ann Lee"] and restored[1]["text"] is None


def test_pages_at(store):
    on_the_2nd = {page["url"]: page for page in pages_at(store, "2026-01-02")}
    assert REMOVED not in on_the_2nd and RESTORED not in on_the_2nd
    assert on_the_2nd[HEADLINE]["title"] == "Talks collapse in Geneva after a night of rows"
    assert on_the_2nd[FLIPFLOP]["text"] == BODY.replace("Geneva", "Vienna")
    assert on_the_2nd[PARAGRAPH]["text"] == BODY
    assert set(on_the_2nd[WORD]) == set(next(store.pages()))  # the fields of the normal export
    first = {page["url"]: page for page in pages_at(store, DAYS[0])}
    assert first[REMOVED]["title"] == "A story taken down" and first[REMOVED]["authors"] == ["Ann Lee"]
    assert {page["url"] for page in pages_at(store, "2025-12-31")} == set()
    now = {page["url"]: page for page in pages_at(store, "2026-12-31")}
    assert RESTORED in now and now[PARAGRAPH]["text"].endswith(EXTRA)


# -- the command, as a user runs it --------------------------------------------------


def test_changes_summary_on_stdout(workdir):
    done = run_scrapy(workdir, "changes")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"crawl.sqlite3: 3 rounds, the last started {DAYS[2]}"
    assert lines[1] == "7 articles changed: 5 edited, 1 restored, 1 removed; 2 headlines changed"
    assert "Talks [-resume-] {+collapse+} in Geneva" in done.stdout
    since = run_scrapy(workdir, "changes", "--since", "2026-01-03", "--site", "bbc")
    assert since.returncode == 0, since.stderr
    assert "1 article changed (since 2026-01-03, BBC (bbc)): 1 edited; 0 headlines changed" in since.stdout
    assert BBC in since.stdout and HEADLINE not in since.stdout


def test_changes_jsonl(workdir):
    done = run_scrapy(workdir, "changes", "-o", "changes.jsonl")
    assert done.returncode == 0, done.stderr
    lines = (workdir / "changes.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    with Store(workdir / "crawl.sqlite3", create=False) as store:
        expected = [c.to_dict() for c in changes(store)]
    assert records == json.loads(json.dumps(expected))
    assert all(line.startswith('{"url": ') for line in lines)
    assert {r["url"] for r in records if r["headline_changed"]} == {HEADLINE, HOSTILE}
    hostile = next(r for r in records if r["url"] == HOSTILE)
    assert hostile["title_after"] == HOSTILE_TITLE
    filtered = run_scrapy(workdir, "changes", "--site", "nytimes", "--since", "2026-01-03", "-o", "nyt.jsonl")
    assert filtered.returncode == 0, filtered.stderr
    assert [r["url"] for r in read_items(workdir / "nyt.jsonl")] == [PARAGRAPH, RESTORED, FLIPFLOP]


class _Page(HTMLParser):
    """What a browser would load or run: tags, attributes, and the text of <style> and <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    def handle_data(self, data):
        self.text.append(data)


def test_changes_html_is_offline_and_escaped(workdir):
    done = run_scrapy(workdir, "changes", "-o", "changes.html")
    assert done.returncode == 0, done.stderr
    page = (workdir / "changes.html").read_text(encoding="utf-8")
    parsed = _Page()
    parsed.feed(page)
    # No script, no resource of any kind, no link that leaves the page.
    assert "script" not in parsed.tags and not {"img", "link", "iframe", "object", "embed", "a"} & set(parsed.tags)
    for tag, name, value in parsed.attributes:
        assert name in ("lang", "charset", "http-equiv", "content", "name", "class"), (tag, name)
        assert "http" not in value and "//" not in value, (tag, name, value)
    csp = next(v for t, n, v in parsed.attributes if n == "content" and "default-src" in v)
    assert csp.startswith("default-src 'none'; style-src 'sha256-") and "unsafe" not in csp
    [style] = re.findall(r"<style>(.*?)</style>", page, re.DOTALL)
    assert not re.search(r"url\(|@import|http|//", style, re.IGNORECASE)
    # Hostile page text is text: escaped, never markup.
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=http://evil.example/x.png&gt;" in page
    assert HOSTILE_TITLE.removeprefix("Leak ") in "".join(parsed.text)  # as a reader sees it
    # The header: the store, the rounds, how many changed.
    assert "Article changes in crawl.sqlite3" in page
    assert f"crawl.sqlite3: 3 rounds, the last started {DAYS[2]}" in page
    assert "7 articles changed" in page
    # Headline changes first, removed articles in their own section, word diffs marked.
    order = [page.index(f"<h2>{text} ") for text in ("Headline changes", "Edited and restored", "Removed")]
    assert order == sorted(order)
    headline_section = page[order[0] : order[1]]
    assert HEADLINE in headline_section and HOSTILE in headline_section and WORD not in headline_section
    assert REMOVED in page[order[2] :] and REMOVED not in page[: order[2]]
    assert "as <del>constructive</del> <ins>productive</ins> but" in page
    assert "Talks <del>resume</del> <ins>collapse</ins> in Geneva <ins>after a night of rows</ins>" in page
    assert "Leak <del>inquiry opens</del> <ins>&lt;script&gt;" in page


def test_changes_html_with_nothing_changed(workdir):
    done = run_scrapy(workdir, "changes", "--since", "2027-01-01", "-o", "none.html")
    assert done.returncode == 0, done.stderr
    assert "No article changed." in (workdir / "none.html").read_text(encoding="utf-8")
    assert done.stdout.strip() == "none.html: 0 articles changed (since 2027-01-01)"


def test_changes_errors_are_one_line(tmp_path, workdir):
    newer = tmp_path / "newer"
    newer.mkdir()
    build_store(newer / "crawl.sqlite3")
    with sqlite3.connect(newer / "crawl.sqlite3") as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (empty, ["changes"], "no such store"),
        (newer, ["changes"], "newer than this release"),
        (workdir, ["changes", "--since", "last week"], "--since: 'last week' is not an ISO date"),
        (workdir, ["changes", "--site", "example.org"], "--site: unknown site 'example.org'"),
        (workdir, ["changes", "-o", "changes.txt"], "changes.txt: use one of .jsonl, .html"),
    ]
    for folder, args, message in cases:
        done = run_scrapy(folder, *args)
        assert done.returncode == EXIT_FAILED, (args, done.stdout, done.stderr)
        assert done.stderr.startswith("error: ") and message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (workdir / "changes.txt").exists()


def test_pages_versions_and_at(workdir):
    done = run_scrapy(workdir, "pages", "-o", "versions.jsonl", "--versions")
    assert done.returncode == 0, done.stderr
    versions = read_items(workdir / "versions.jsonl")
    assert done.stdout.strip() == f"versions.jsonl: {len(versions)} versions"
    assert list(versions[0]) == [
        "url",
        "version",
        "round",
        "fetched_at",
        "status",
        "change",
        "title",
        "authors",
        "published",
        "modified",
        "section",
        "language",
        "text",
        "content_hash",
        "capture",
    ]
    with Store(workdir / "crawl.sqlite3", create=False) as store:
        assert versions == list(iter_versions(store))
        current = {page["url"]: page for page in store.pages()}
    assert [v["change"] for v in versions if v["url"] == REMOVED] == ["new", "removed"]

    done = run_scrapy(workdir, "pages", "-o", "then.jsonl", "--at", "2026-01-01")
    assert done.returncode == 0, done.stderr
    then = {page["url"]: page for page in read_items(workdir / "then.jsonl")}
    assert set(then) == set(current) and then[REMOVED]["title"] == "A story taken down"
    assert then[HEADLINE]["title"] == "Talks resume in Geneva"
    assert set(then[HEADLINE]) == set(current[HEADLINE])
    assert done.stdout.strip() == f"then.jsonl: {len(then)} pages as of 2026-01-01"
    done = run_scrapy(workdir, "pages", "-o", "later.csv", "--at", "2026-01-02T12:00:00Z")
    assert done.returncode == 0, done.stderr
    later = (workdir / "later.csv").read_text(encoding="utf-8")
    assert REMOVED not in later and "Talks collapse in Geneva after a night of rows" in later

    bad = run_scrapy(workdir, "pages", "-o", "x.jsonl", "--at", "soon")
    assert bad.returncode == EXIT_FAILED and "error: --at: 'soon' is not an ISO date" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_changes_html_in_chromium(workdir, tmp_path):
    missing = chromium_missing()
    if missing:
        pytest.skip(f"no browser test: {missing}")
    done = run_scrapy(workdir, "changes", "-o", "browser.html")
    assert done.returncode == 0, done.stderr
    with Chromium(width=1100, height=900) as browser:
        tab = browser.open(workdir / "browser.html")
        try:
            tab.wait_for("document.readyState === 'complete'")
            # Its style applies (the policy allows it by hash); nothing else ran or was fetched.
            assert (
                tab.evaluate("getComputedStyle(document.querySelector('ins')).backgroundColor") == "rgb(198, 246, 213)"
            )
            assert tab.evaluate("getComputedStyle(document.querySelector('.diff')).whiteSpace") == "pre-wrap"
            assert tab.evaluate("document.querySelectorAll('script, img, iframe, a').length") == 0
            titles = tab.evaluate("[...document.querySelectorAll('article h3')].map(h => h.textContent)")
            assert "Leak inquiry opens " + HOSTILE_TITLE.removeprefix("Leak ") in titles
            assert tab.evaluate("document.querySelectorAll('section')[0].querySelectorAll('article').length") == 2
            (tmp_path / "changes.png").write_bytes(tab.screenshot())
            assert tab.requests == [tab.url]
            assert browser.trap.connections == []
            assert tab.errors == []
        finally:
            tab.close()
