"""A real crawl of the sample mirror's hostile pages (crawler/samplemirror/hostile.py): a gzip bomb,
deep nesting, a 30 MiB page, a page of 50,000 links, a tag soup, an unknown charset, a body shorter
than its Content-Length. The crawl ends by itself, records every page in the store (with its
treatment, or as a failure with its reason) and archives every answer, logs no traceback, and its
peak RSS stays under :data:`BOUND_MIB`, the bound docs/crawl.md states (figures: bench/bench_memory.py)."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from types import SimpleNamespace

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler import settings as defaults
from crawler.samplemirror import MIRROR_V3, MirrorServer, RecordingSocks5Server, build_site, canonical, hosts_asked
from crawler.samplemirror.hostile import HOSTILE_PAGES, HUB_PATH, LINK_COUNT
from tests.crawling import crawl_command, read_dns_log, read_items
from tests.support.peak import run_with_peak

pytestmark = pytest.mark.slow

BOUND_MIB = 512
"""A crawl's peak RSS on pages like these (docs/crawl.md, "Hostile pages"; bench/bench_memory.py: 343-365 MiB)."""
CRAWL_SECONDS = 60


# Runs the crawl as its only child, then prints the child's peak RSS (KiB): getrusage(RUSAGE_CHILDREN)
# of a process whose one child has ended is that child's own VmHWM, measured by the kernel.
@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """One crawl from the hub of the hostile pages, with the project's default bounds and an archive;
    DEPTH_LIMIT=1 keeps it to the hub and its pages (the 404s of the many-links page are not fetched)."""
    workdir = tmp_path_factory.mktemp("hostile")
    with MirrorServer(build_site(), hostile=True) as server, RecordingSocks5Server(server.address) as proxy:
        start = f"http://{MIRROR_V3}{HUB_PATH}"
        command, env = crawl_command(workdir, proxy.url, start=start, settings={"DEPTH_LIMIT": "1", "WARC_DIR": "warc"})
        run = run_with_peak(command, timeout=CRAWL_SECONDS * 2, cwd=workdir, env=env)
        asked = hosts_asked(proxy)
    store = sqlite3.connect(workdir / "crawl.sqlite3")
    try:
        rows = store.execute("SELECT url, status, error, html, text FROM pages").fetchall()
        links = dict(store.execute("SELECT source, COUNT(*) FROM links GROUP BY source").fetchall())
    finally:
        store.close()
    items = {item["url"]: item for item in read_items(workdir / "pages.jsonl")}
    archived = {}  # the response records: target URI -> record length (their payloads are not read: one is a bomb)
    for path in (workdir / "warc").glob("*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    archived[record.rec_headers.get_header("WARC-Target-URI")] = record.length
    return SimpleNamespace(
        returncode=run.returncode,
        stderr=run.stderr,
        seconds=run.seconds,
        peak_mib=run.peak_mib if run.peak_mib == run.peak_mib else float("inf"),  # nan: killed
        pages={url: dict(zip(("status", "error", "html", "text"), rest, strict=True)) for url, *rest in rows},
        links=links,
        items=items,
        archived=archived,
        hosts_asked=asked,
        dns_lookups=read_dns_log(workdir),
    )


def _page(crawl: SimpleNamespace, name: str) -> tuple[str, dict, dict]:
    """The canonical URL of the hostile page ``name``, its row in the store, and its item in the feed."""
    url = canonical(next(page.path for page in HOSTILE_PAGES if page.name == name))
    assert url in crawl.pages, f"{name} is not in the store"
    return url, crawl.pages[url], crawl.items.get(url, {})


def test_the_crawl_ends_by_itself_without_a_traceback(hostile_crawl):
    assert hostile_crawl.returncode == 0, hostile_crawl.stderr[-3000:]
    assert "Spider closed (finished)" in hostile_crawl.stderr
    assert "Traceback" not in hostile_crawl.stderr
    assert hostile_crawl.seconds < CRAWL_SECONDS


def test_peak_memory_stays_under_the_bound(hostile_crawl):
    assert hostile_crawl.peak_mib < BOUND_MIB, f"peak RSS {hostile_crawl.peak_mib:.0f} MiB"


def test_every_hostile_page_is_recorded_in_the_store(hostile_crawl):
    for page in HOSTILE_PAGES:
        _, row, _ = _page(hostile_crawl, page.name)
        assert row["status"] == 200 or row["error"], (page.name, row["status"])


def test_every_answer_is_archived_as_it_came(hostile_crawl):
    """The archive keeps what the crawl does not read: the bomb as sent, the huge page whole."""
    lengths = {url.split(MIRROR_V3, 1)[1]: length for url, length in hostile_crawl.archived.items()}
    answered = [page for page in HOSTILE_PAGES if page.name != "short-body"]  # no response: no record
    assert {page.path for page in answered} <= set(lengths)
    huge = next(page for page in HOSTILE_PAGES if page.name == "huge-page")
    assert lengths[huge.path] > defaults.PAGE_MAX_BYTES


def test_the_gzip_bomb_is_a_failure_that_names_download_maxsize(hostile_crawl):
    _, row, _ = _page(hostile_crawl, "gzip-bomb")
    assert row["status"] is None
    assert f"exceeded DOWNLOAD_MAXSIZE ({defaults.DOWNLOAD_MAXSIZE} B) during decompression" in row["error"]


def test_a_body_shorter_than_its_content_length_is_a_failure_with_its_reason(hostile_crawl):
    _, row, _ = _page(hostile_crawl, "short-body")
    assert row["status"] is None
    assert row["error"].startswith("ResponseDataLossError: peer closed connection")


def test_a_page_past_page_max_bytes_is_recorded_not_read(hostile_crawl):
    url, row, item = _page(hostile_crawl, "huge-page")
    assert row["status"] == 200 and row["html"] == "" and row["text"] == ""
    assert re.fullmatch(
        rf"too-large: \d+ bytes > PAGE_MAX_BYTES \({defaults.PAGE_MAX_BYTES}\)", item["extra"]["parse_skipped"]
    )
    assert hostile_crawl.stderr.count(f"Parse skipped: {url} (too-large") == 1


def test_a_tag_soup_is_kept_but_neither_parsed_nor_extracted(hostile_crawl):
    url, row, item = _page(hostile_crawl, "tag-soup")
    assert row["status"] == 200 and row["html"] and row["text"] == ""
    assert item["extra"]["parse_skipped"].startswith("too-many-tags: ")
    assert item["extra"]["clean_skipped"].startswith("too-many-tags: ")
    assert hostile_crawl.stderr.count(f"Did not extract {url} (too-many-tags") == 1


def test_a_page_nested_past_the_parsers_depth_is_kept_not_extracted(hostile_crawl):
    url, row, item = _page(hostile_crawl, "nesting-1000")
    assert row["status"] == 200 and "At the bottom of the nesting." in row["html"] and row["text"] == ""
    assert item["extra"]["clean_skipped"] == "too-deep: elements nested past 256 levels (the parser's limit)"
    _, deep_row, deep_item = _page(hostile_crawl, "deep-nesting")
    assert deep_row["html"] and deep_row["text"] == "" and "clean_skipped" in deep_item["extra"]


def test_only_the_first_links_of_a_page_are_kept(hostile_crawl):
    url, row, item = _page(hostile_crawl, "many-links")
    cap = defaults.LINKS_MAX_PER_PAGE
    assert row["status"] == 200
    assert item["extra"]["links_capped"] == f"{LINK_COUNT} links > LINKS_MAX_PER_PAGE ({cap}): the first {cap} kept"
    assert hostile_crawl.links[url] == len(item["links"]) == cap
    assert hostile_crawl.stderr.count(f"Links capped: {url}") == 1


def test_an_unknown_charset_is_read_as_a_normal_page(hostile_crawl):
    _, row, item = _page(hostile_crawl, "bad-charset")
    assert row["status"] == 200 and row["text"] and item["title"] == "Bad charset"
    assert not {"parse_skipped", "clean_skipped", "clean_failed"} & set(item["extra"])


def test_each_treatment_is_counted(hostile_crawl):
    expected: Counter[str] = Counter()
    for item in hostile_crawl.items.values():
        extra = item["extra"]
        expected.update(f"mirror/{name}" for name in ("parse_skipped", "links_capped") if name in extra)
        if "clean_skipped" in extra:
            expected[f"mirror/clean_skipped/{extra['clean_skipped'].split(':', 1)[0]}"] += 1
    stats = _final_stats(hostile_crawl.stderr)
    treatments = {"mirror/parse_skipped", "mirror/links_capped", "mirror/clean_skipped/too-many-tags"}
    assert treatments | {"mirror/clean_skipped/too-deep"} <= set(expected)
    assert {key: stats.get(key) for key in expected} == dict(expected)


def _final_stats(stderr: str) -> dict[str, int]:
    """The integer stats of Scrapy's "Dumping Scrapy stats" log lines."""
    dump = stderr.rpartition("Dumping Scrapy stats:")[2]
    return {key: int(value) for key, value in re.findall(r"'([\w/.-]+)': (\d+),?\n", dump)}


def test_the_feed_holds_the_pages_of_the_store(hostile_crawl):
    assert set(hostile_crawl.items) == set(hostile_crawl.pages)


def test_every_request_went_to_the_mirror_through_the_proxy(hostile_crawl):
    assert hostile_crawl.hosts_asked == {MIRROR_V3}
    assert hostile_crawl.dns_lookups == []  # nothing resolved on this machine (tests/dnsguard)
