"""Benchmark planning a round (``RoundPlan.of``) over a store of crawl size.

Run as ``python bench/bench_plan.py [--pages N] [--links N] [--workdir DIR] [--repeats R] [--cold] [--profile]``
from the project root.

1. build, once, a store at the current schema (``Store(path)`` creates it, then plain SQL fills it in a few
   transactions) and keep it in ``--workdir`` (default /tmp/bench_plan) for the next runs: 1,000,000 pages
   (``--pages``) and 10,000,000 links (``--links``) by default. The pages are the home page, 20 section hubs
   and NYT-shaped canonical articles ``https://www.nytimes.com/YYYY/MM/DD/section/slug-i.html``, mostly 200,
   ~1% 404 (half of them taken down after a 200), ~0.5% 503 (transient), ~0.5% 301 with a redirect alias;
   published over 5 years (30% with a modified date), last checked over the last 400 days; an etag on 75% of
   the 200s, a Last-Modified on 40%, a capture (WARC record) on every 200; a title and a short text, no HTML.
   Round 1 is finished; every page has its round 1 check, every article its version 1 (3% of the 200s a
   version 2). Each page has ``links / pages`` links, to other pages (85% article, 8% navigation to the hubs,
   4% image, 3% external), and 2% of all links go to one of ``pages / 25`` articles never fetched: the
   frontier's work. The corpus is deterministic (``random.Random(1)``), its dates relative to the build time.
   Rows go in as a crawl writes them: pages, versions and links in crawl order (hubs first, then articles in
   no order of URL), so the b-trees are as scattered as a real store's; only ``links_by_target`` is built
   after the links, in one sort (packed, unlike a crawl's). No ``ANALYZE`` (a crawl runs none). What the store
   derives at every write (the ``wanted`` frontier) is filled by ``Store.rebuild_wanted``. ``html`` is NULL:
   planning reads no HTML, and 1M stored pages of it would make a 100 GB file to build for nothing (its only
   effect, longer rows to step over in ``pages``, is left out). The build runs in a child (Linux passes a
   parent's peak RSS on to the children it starts), takes about 4 minutes on 2 cores and 7 GB of disk; a
   store built for another schema (a digest of what ``Store(":memory:")`` creates) is built again;
2. measure, each time in a fresh interpreter (its peak RSS, ``getrusage(RUSAGE_SELF).ru_maxrss``, is then the
   planning's alone), the wall time of ``RoundPlan.of(get_crawler(settings_dict={"STORE_PATH": path}))``, then
   of filling a set with the dupefilter's fingerprints of ``plan.done`` as ``ResumingScheduler.open`` does;
   ``len(plan.to_fetch)``, ``len(plan.done)``, ``plan.reasons``. Each plan begins round 2: its row is deleted
   after each run, so that every run plans the same new round over the same file. ``--repeats`` runs (default
   3), min / median / max, and a verdict against the issue's target: under 30 s and 1 GiB.

``--cold`` drops the store file from the page cache (``posix_fadvise(DONTNEED)``, no root needed) before each
run. ``--profile`` instead runs three children: each store query of the plan alone (time, rows, RSS); a plan
sampled every 50 ms by a timer (SIGALRM): the line of ``crawler/`` code the main thread is in and the RSS (where the
time goes, where the memory grows, what the plan holds at the end); a plan under cProfile.
"""

from __future__ import annotations

import argparse
import base64
import email.utils
import hashlib
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.store import Store  # noqa: E402
from crawler.store.database import PAGE_COLUMNS, STORE_COLUMNS, VERSION_FIELDS  # noqa: E402

NYT = "https://www.nytimes.com"
MIRROR = "nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion"
SECTIONS = [
    "world",
    "world/europe",
    "world/asia",
    "us",
    "us/politics",
    "nyregion",
    "business",
    "technology",
    "science",
    "health",
    "climate",
    "sports",
    "arts",
    "arts/music",
    "books/review",
    "movies",
    "style",
    "travel",
    "opinion",
    "magazine",
]
_WORDS = (
    "election budget climate court market storm vaccine senate police music film team season city school border "
    "trade energy war peace strike data privacy health art museum crisis report plan deal law judge vote housing "
    "rent tax bank oil gas heat flood fire drought river coast farm food price wage union tech chip phone app "
    "ship rail bridge subway mayor governor ruling appeal verdict inquiry leak spy treaty summit"
)
WORDS = _WORDS.split(" ")
AUTHORS = ["Ann Lee", "Carlos Ruiz", "Mei Chen", "David Cohen", "Amara Okafor", "Jonas Berg", "Priya Nair"]
EXTERNAL = ["twitter.com", "www.youtube.com", "apnews.com", "www.reuters.com", "en.wikipedia.org", "www.instagram.com"]
DAY = 86_400
PUBLISHED_SPAN, CHECKED_SPAN = 5 * 365 * DAY, 400 * DAY
# Link kinds (the rest: external) and the share of all links to articles never fetched.
ARTICLE, NAVIGATION, IMAGE = 0.85, 0.08, 0.04
UNFETCHED = 0.02
PLAN_SECONDS, PLAN_MIB = 30.0, 1024.0
_COLUMNS = (*PAGE_COLUMNS, *(c for c in STORE_COLUMNS if c != "version_count"))  # counted after the versions


# -- the store -----------------------------------------------------------------------------------------------------


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _catalogue(rng: random.Random, pages: int, anchor: int) -> list[tuple[str, str, int | None, int]]:
    """``(url, title, published, depth)`` of every page (published None: a hub) in crawl order: the hubs,
    then the articles in no order of URL (a crawl finds them by links), as a crawl's store inserts them."""
    hubs: list[tuple[str, str, int | None, int]] = [(f"{NYT}/", "The New York Times", None, 0)]
    hubs += [(f"{NYT}/section/{s}", s.split("/")[-1].capitalize(), None, 1) for s in SECTIONS]
    entries = hubs[: max(1, min(len(hubs), pages // 10))]
    for number in range(pages - len(entries)):
        published = anchor - rng.randrange(PUBLISHED_SPAN)
        words = rng.choices(WORDS, k=rng.randint(3, 7))
        day = time.gmtime(published)
        url = (
            f"{NYT}/{day.tm_year}/{day.tm_mon:02d}/{day.tm_mday:02d}/{rng.choice(SECTIONS)}/"
            f"{'-'.join(words)}-{number}.html"
        )
        entries.append((url, " ".join(words).capitalize(), published, rng.randint(2, 6)))
    return entries


def _unfetched(rng: random.Random, pages: int, anchor: int) -> list[tuple[str, str]]:
    """``(url, title)`` of articles that links point to and no page answers."""
    out = []
    for number in range(pages, pages + max(1, pages // 25)):
        day = time.gmtime(anchor - rng.randrange(30 * DAY))
        words = rng.choices(WORDS, k=rng.randint(3, 7))
        url = f"{NYT}/{day.tm_year}/{day.tm_mon:02d}/{day.tm_mday:02d}/{rng.choice(SECTIONS)}/{'-'.join(words)}"
        out.append((f"{url}-{number}.html", " ".join(words).capitalize()))
    return out


def _capture(rng: random.Random, fetched_url: str, ts: int) -> str:
    return json.dumps(
        {
            "date": _iso(ts).replace("+00:00", "Z"),
            "digest": "sha256:" + base64.b32encode(rng.randbytes(32)).decode("ascii"),
            "record_id": f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}>",
            "uri": fetched_url,
        },
        sort_keys=True,
    )


def _page_rows(
    rng: random.Random,
    catalogue: list[tuple[str, str, int | None, int]],
    anchor: int,
    extra: list[tuple[str, str, str, str | None, str | None]],
    aliases: list[tuple[str, str, str]],
    html: str | None = None,
) -> Iterator[tuple[Any, ...]]:
    """The pages rows, in crawl order; ``extra`` gets the pages with a second version (changed, or removed),
    ``aliases`` the redirects and corrected canonicals; ``html`` is every 200's HTML (None: NULL)."""
    articles = [url for url, _, published, _ in catalogue if published is not None] or [catalogue[0][0]]
    for url, title, published, depth in catalogue:
        fetched_url = url.replace(NYT, f"http://{MIRROR}", 1)
        first = published if published is not None else anchor - CHECKED_SPAN
        roll = rng.random() if published is not None else 1.0
        status = 404 if roll < 0.01 else 503 if roll < 0.015 else 301 if roll < 0.02 else 200
        checked = anchor - rng.randrange(CHECKED_SPAN)
        if checked < first:
            checked = first + rng.randrange(max(1, anchor - first))
        fetched = checked  # 20% of the 200s: the last check was a 304, the last fetch before it
        if status == 200 and rng.random() < 0.2:
            fetched -= rng.randrange(min(30 * DAY, checked - first) + 1)
        changed = fetched - rng.randrange(min(90 * DAY, fetched - first) + 1) if rng.random() < 0.5 else fetched
        row: dict[str, Any] = dict.fromkeys(_COLUMNS)
        row.update(
            url=url,
            fetched_url=fetched_url,
            mirror=MIRROR,
            status=status,
            fetched_at=_iso(fetched),
            depth=depth,
            round=1,
            checked_at=_iso(checked),
            changed_at=_iso(changed),
        )
        text = f"{title}. " + " ".join(rng.choices(WORDS, k=rng.randint(25, 45))).capitalize() + "."
        if status == 200:
            row.update(
                content_type="text/html; charset=utf-8",
                title=title,
                authors=json.dumps(rng.sample(AUTHORS, rng.randint(1, 2))) if published is not None else "[]",
                published=_iso(published) if published is not None else None,
                modified=_iso(published + rng.randrange(3 * DAY)) if published and rng.random() < 0.3 else None,
                section=url.split("/")[6].capitalize() if published is not None else None,
                language="en",
                text=text,
                content_hash=f"{rng.getrandbits(256):064x}",
                etag=f'W/"{rng.getrandbits(64):016x}"' if rng.random() < 0.75 else None,
                last_modified=email.utils.formatdate(fetched, usegmt=True) if rng.random() < 0.4 else None,
                capture=_capture(rng, fetched_url, fetched),
                html=html,
            )
            if published is not None and rng.random() < 0.03:
                extra.append((url, "changed", _iso(max(first, changed - rng.randrange(DAY, 10 * DAY))), None, None))
            elif published is not None and rng.random() < 0.005:
                aliases.append((url.replace(".html", ".amp.html"), url, "canonical"))
        elif status == 404:
            row.update(content_type="text/html; charset=utf-8", title="Page Not Found")
            if rng.random() < 0.5:
                extra.append((url, "removed", _iso(max(first, changed - rng.randrange(DAY, 90 * DAY))), title, text))
        elif status == 503:
            row.update(content_type="text/html; charset=utf-8")
        else:
            target = articles[rng.randrange(len(articles))]
            row.update(redirect_to=target)
            aliases.append((url, target, "redirect"))
        yield tuple(row.values())


def _link_rows(
    rng: random.Random,
    catalogue: list[tuple[str, str, int | None, int]],
    unfetched: list[tuple[str, str]],
    links: int,
) -> Iterator[tuple[str, str, str, str]]:
    """The links rows, page by page in crawl order: ``links / pages`` a page."""
    hubs = [(url, title) for url, title, published, _ in catalogue if published is None]
    per_page, rest = divmod(links, len(catalogue))
    for index, (source, _, _, _) in enumerate(catalogue):
        count = per_page + (index < rest)
        chosen: dict[tuple[str, str], str] = {}
        while len(chosen) < count:
            roll = rng.random()
            if roll < UNFETCHED:
                target, text = unfetched[rng.randrange(len(unfetched))]
                kind = "article"
            elif roll < ARTICLE:
                target, text, _, _ = catalogue[rng.randrange(len(catalogue))]
                kind = "article"
            elif roll < ARTICLE + NAVIGATION:
                target, text = hubs[rng.randrange(len(hubs))]
                kind = "navigation"
            elif roll < ARTICLE + NAVIGATION + IMAGE:
                day = 1 + rng.randrange(28)
                target = f"https://static01.nyt.com/images/2025/{1 + day % 12:02d}/{day:02d}/multimedia/"
                target += f"{rng.getrandbits(40):010x}-articleLarge.jpg"
                text, kind = "", "image"
            else:
                target = f"https://{rng.choice(EXTERNAL)}/{rng.choice(WORDS)}/{rng.getrandbits(32):08x}"
                text, kind = "", "external"
            if target != source:
                chosen[target, kind] = text
        for (target, kind), text in chosen.items():
            yield source, target, kind, text


def _sha256(*parts: str | None) -> str:
    return hashlib.sha256("\x1f".join(part or "" for part in parts).encode()).hexdigest()


_VERSION_COLUMNS = (
    f"url, version, round, fetched_at, status, change, {', '.join(VERSION_FIELDS)}, article_hash, capture"
)
# A version 2 keeps the article when it changed, nothing when the page was removed.
_ARTICLE_OR_NULL = ", ".join(
    f"iif(e.kind = 'changed', {value}, NULL)"
    for value in (*(f"p.{name}" for name in VERSION_FIELDS), "bench_sha256(p.title, p.text)")
)
_CHECK_OUTCOME = """CASE WHEN p.checked_at > p.fetched_at THEN 'not-modified' WHEN e.kind IS NOT NULL THEN e.kind
    WHEN p.status = 200 THEN 'new' WHEN p.status >= 500 THEN 'failed' ELSE 'recorded' END"""


def build_store(path: Path, pages: int, links: int, anchor: int, html_kib: int = 0) -> dict[str, Any]:
    """Write the store at ``path`` (see the module's docstring); returns its manifest."""
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    start = time.perf_counter()
    Store(path).close()  # the project's schema, as a crawl creates it
    db = sqlite3.connect(path, isolation_level=None)
    db.create_function("bench_sha256", 2, _sha256, deterministic=True)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-2097152", "temp_store=FILE"):
        db.execute(f"PRAGMA {pragma}")
    # The target index is built after the links, in one sort, rather than row by row.
    (index_sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'links_by_target'").fetchone()
    db.execute("DROP INDEX links_by_target")
    rng = random.Random(1)
    catalogue = _catalogue(rng, pages, anchor)
    unfetched = _unfetched(rng, pages, anchor)
    extra: list[tuple[str, str, str, str | None, str | None]] = []
    aliases: list[tuple[str, str, str]] = []
    marks = ", ".join("?" * len(_COLUMNS))
    db.execute("BEGIN")
    db.executemany(
        f"INSERT INTO pages ({', '.join(_COLUMNS)}) VALUES ({marks})",
        _page_rows(rng, catalogue, anchor, extra, aliases, _html(html_kib)),
    )
    db.executemany("INSERT OR IGNORE INTO aliases (alias, url, reason) VALUES (?, ?, ?)", aliases)
    db.execute("CREATE TEMP TABLE extra (url TEXT PRIMARY KEY, kind TEXT, v1_at TEXT, title TEXT, text TEXT)")
    db.executemany("INSERT INTO extra VALUES (?, ?, ?, ?, ?)", extra)
    db.execute(
        f"""INSERT INTO versions ({_VERSION_COLUMNS})
        SELECT p.url, 1, 1, COALESCE(e.v1_at, p.changed_at), 200, 'new', COALESCE(e.title, p.title), p.authors,
            p.published, p.modified, p.section, 'en', COALESCE(e.text, p.text), p.content_hash,
            bench_sha256(COALESCE(e.title, p.title), COALESCE(e.text, p.text)), p.capture
        FROM pages p LEFT JOIN extra e ON e.url = p.url WHERE p.status = 200 OR e.kind = 'removed' ORDER BY p.rowid"""
    )
    db.execute(
        f"""INSERT INTO versions ({_VERSION_COLUMNS})
        SELECT p.url, 2, 1, p.changed_at, p.status, e.kind, {_ARTICLE_OR_NULL}, p.capture
        FROM extra e JOIN pages p ON p.url = e.url ORDER BY p.rowid"""
    )
    db.execute(
        "UPDATE pages SET version_count = COALESCE((SELECT MAX(v.version) FROM versions v WHERE v.url = pages.url), 0)"
    )
    db.execute(
        f"""INSERT INTO checks (round, url, checked_at, status, outcome)
        SELECT 1, p.url, p.checked_at, CASE WHEN p.checked_at > p.fetched_at THEN 304 ELSE p.status END,
            {_CHECK_OUTCOME}
        FROM pages p LEFT JOIN extra e ON e.url = p.url ORDER BY p.rowid"""
    )
    db.execute(
        "INSERT INTO rounds (round, started_at, finished_at, outcome) VALUES (1, ?, ?, 'finished')",
        (_iso(anchor - CHECKED_SPAN), _iso(anchor)),
    )
    db.execute("COMMIT")
    pages_seconds = time.perf_counter() - start
    db.execute("BEGIN")
    db.executemany(
        "INSERT OR IGNORE INTO links (source, target, kind, text) VALUES (?, ?, ?, ?)",
        _link_rows(rng, catalogue, unfetched, links),
    )
    db.execute("COMMIT")
    links_seconds = time.perf_counter() - start - pages_seconds
    db.execute(index_sql)
    db.execute("PRAGMA journal_mode=WAL")  # as Store leaves it
    db.close()
    index_seconds = time.perf_counter() - start - pages_seconds - links_seconds
    # What the store keeps up to date at every write and the plain SQL above did not (the frontier's
    # ``wanted`` table), filled by the project's own rebuild, as after a migration or a merge.
    with Store(path) as store:
        if hasattr(store, "rebuild_wanted"):
            store.rebuild_wanted()
        tables = [name for (name,) in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        counts = {t: store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables if t != "meta"}
    return {
        "pages": pages,
        "links": links,
        "html_kib": html_kib,
        "schema": schema_signature(),
        "anchor": anchor,
        "counts": counts,
        "build_seconds": round(time.perf_counter() - start, 1),
        "pages_seconds": round(pages_seconds, 1),
        "links_seconds": round(links_seconds, 1),
        "index_seconds": round(index_seconds, 1),
        "derived_seconds": round(time.perf_counter() - start - pages_seconds - links_seconds - index_seconds, 1),
        "bytes": path.stat().st_size,
    }


def _html(kib: int) -> str | None:
    """``kib`` KiB of article-like HTML (the same for every page: only its length matters here), or None."""
    if not kib:
        return None
    paragraph = "<p>" + " ".join(WORDS) + "</p>\n"
    body = paragraph * (kib * 1024 // len(paragraph) + 1)
    return ("<!doctype html><html><body>" + body)[: kib * 1024]


def schema_signature() -> str:
    """A digest of the schema ``Store`` creates: a cached store built for another schema is built again."""
    with Store(":memory:") as store:
        schema = list(store.db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name"))
        schema += list(store.db.execute("SELECT key, value FROM meta ORDER BY key"))
    return hashlib.sha256(repr(schema).encode()).hexdigest()[:16]


def cached_store(workdir: Path, pages: int, links: int, html_kib: int, rebuild: bool) -> tuple[Path, dict[str, Any]]:
    """The store for ``pages`` and ``links`` in ``workdir``, built when missing (or ``rebuild``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"plan-{pages}p-{links}l{f'-{html_kib}k' if html_kib else ''}.sqlite3"
    manifest_path = path.with_suffix(".json")
    if not rebuild and path.is_file() and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        expected = (pages, links, html_kib, schema_signature())
        if tuple(manifest.get(key) for key in ("pages", "links", "html_kib", "schema")) == expected:
            return path, manifest
        print("the cached store was built for another schema (or size)", flush=True)
    manifest_path.unlink(missing_ok=True)
    for stale in workdir.glob(path.name + "*"):
        stale.unlink()
    print(f"building the store {path} (once; kept for the next runs) ...", flush=True)
    # In a child: Linux hands a process's peak RSS on to the processes it starts (ru_maxrss survives exec),
    # so this process stays small for the measured children.
    building = path.with_name(path.name + ".building")
    command = [sys.executable, __file__, "--build-into", str(building), "--pages", str(pages), "--links", str(links)]
    command += ["--html", str(html_kib)]
    subprocess.run(command, cwd=ROOT, check=True)
    building.rename(path)
    manifest = json.loads(building.with_suffix(".json").read_text())
    building.with_suffix(".json").unlink()
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return path, manifest


def forget_new_rounds(path: Path) -> None:
    """Delete the rounds a plan began (every round after the store's own round 1)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("DELETE FROM rounds WHERE round > 1")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def evict(path: Path) -> None:
    """Drop the store's file (and WAL) from the page cache."""
    for name in (path, Path(f"{path}-wal")):
        if name.exists():
            fd = os.open(name, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


# -- the measurement -----------------------------------------------------------------------------------------------

_MEASURE = """
import json, resource, sys, time
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def hwm():  # this process's own peak (its memory map's), a cross-check of ru_maxrss
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
from scrapy.utils.test import get_crawler
from crawler.fingerprint import CanonicalRequestFingerprinter
from crawler.rounds import RoundPlan
import crawler.scheduler
floor = peak()
start = time.perf_counter()
plan = RoundPlan.of(get_crawler(settings_dict={"STORE_PATH": sys.argv[1]}))
planned = time.perf_counter() - start
plan_peak = peak()
start = time.perf_counter()
fingerprints = set()  # RFPDupeFilter.fingerprints, filled as ResumingScheduler.open fills it
fingerprints.update(CanonicalRequestFingerprinter.canonical_fingerprint(url).hex() for url in plan.done)
seeded = time.perf_counter() - start
figures = {"plan": planned, "seed": seeded, "floor": floor, "plan_peak": plan_peak, "peak": peak(), "hwm": hwm()}
figures.update(round=plan.round.number, to_fetch=len(plan.to_fetch), done=len(plan.done),
               validators=len(plan.validators), fingerprints=len(fingerprints), reasons=plan.reasons)
print(json.dumps(figures))
"""

_PROFILE = r"""
import collections, cProfile, io, os, pstats, resource, sys, threading, time
from scrapy.utils.test import get_crawler
from crawler.fingerprint import CanonicalRequestFingerprinter
from crawler.rounds import RoundPlan
from crawler.store import Store
path, mode = sys.argv[1:3]
def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def plan_and_seed():
    plan = RoundPlan.of(get_crawler(settings_dict={"STORE_PATH": path}))
    fingerprints = set()
    fingerprints.update(CanonicalRequestFingerprinter.canonical_fingerprint(url).hex() for url in plan.done)
    return plan, fingerprints
def mib(n): return n / 2**20

if mode == "queries":
    print(f"each store query alone (a fresh interpreter: RSS {rss():.0f} MiB after imports)")
    with Store(path, create=False) as store:
        for name, call in [("known_pages() (streamed, rows dropped)", lambda: sum(1 for _ in store.known_pages())),
                           ("frontier()", lambda: len(store.frontier())), ("aliases()", lambda: len(store.aliases())),
                           ("checked_in_round(1)", lambda: len(store.checked_in_round(1)))]:
            start = time.perf_counter()
            rows = call()
            print(f"  {name:40} {time.perf_counter() - start:7.2f} s {rows:>10,} rows  RSS {rss():5.0f} MiB "
                  f"(peak {peak():.0f})")

elif mode == "sample":  # every 50 ms (SIGALRM): the line of crawler/ code the main thread is in, and the RSS
    import signal
    samples, last = [], [time.perf_counter()]
    def where(frame):
        if frame is not None and frame.f_lasti <= 4 and frame.f_back is not None:
            frame = frame.f_back  # a function just entered: the time before was its caller's (a C call's)
        while frame is not None:
            name = frame.f_code.co_filename
            if "/crawler/" in name:
                return f"{os.path.relpath(name)}:{frame.f_lineno} {frame.f_code.co_name}"
            if name == "<string>" and frame.f_code.co_name.startswith("__"):  # dataclasses' generated code
                return f"(a dataclass's generated {frame.f_code.co_name}) {frame.f_back.f_code.co_name}"
            if name == "<string>":  # this script
                return f"(bench) {frame.f_code.co_name}"
            frame = frame.f_back
        return "(elsewhere)"
    # The handler runs between bytecodes: a C call (an SQL step) is one late sample, which weighs the time
    # since the last one and counts for the line that made the call.
    def sample(signum, frame):
        now = time.perf_counter()
        samples.append((where(frame), now - last[0], rss()))
        last[0] = now
    signal.signal(signal.SIGALRM, sample)
    start = time.perf_counter()
    last[0] = start
    signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
    plan, fingerprints = plan_and_seed()
    signal.setitimer(signal.ITIMER_REAL, 0, 0)
    seconds = time.perf_counter() - start
    print(f"plan + fingerprints, sampled every 50 ms: {seconds:.1f} s, peak RSS {peak():.0f} MiB; "
          f"{len(samples)} samples of the innermost crawler/ frame (a C call, such as an SQL step, counts for "
          "its line)")
    lines, functions, growth, top = collections.Counter(), collections.Counter(), collections.Counter(), {}
    before = samples[0][2]
    for line, weight, now in samples:
        lines[line] += weight / seconds
        functions[line.split(":")[0] + " " + line.split(" ")[-1] if ":" in line else line] += weight / seconds
        growth[line] += max(0.0, now - before)
        top[line] = max(top.get(line, 0.0), now)
        before = now
    print("  by function (share of the wall time):")
    for name, share in functions.most_common(8):
        print(f"    {share:6.1%} {share * seconds:6.1f} s  {name}")
    print("  by line:")
    for name, share in lines.most_common(12):
        print(f"    {share:6.1%} {share * seconds:6.1f} s  {name}")
    print("  where the RSS grew (MiB gained while in that line; highest RSS seen there):")
    for name, gained in growth.most_common(8):
        print(f"    {gained:6.0f} MiB (up to {top[name]:4.0f})  {name}")
    size = sys.getsizeof
    done = size(plan.done) + sum(size(url) for url in plan.done)
    to_fetch = size(plan.to_fetch) + sum(size(pair) + size(pair[0]) for pair in plan.to_fetch)
    validators = size(plan.validators) + sum(
        size(v) + size(v.etag or "") + size(v.last_modified or "")
        + (size(v.capture) + sum(size(k) + size(x) for k, x in v.capture.items()) if v.capture else 0)
        for v in plan.validators.values())
    seen = size(fingerprints) + sum(size(f) for f in fingerprints)
    print(f"  what the plan holds at the end (sys.getsizeof; RSS now {rss():.0f} MiB):\n"
          f"    done {len(plan.done):,} URLs {mib(done):.0f} MiB; to_fetch {len(plan.to_fetch):,} {mib(to_fetch):.0f} "
          f"MiB; validators {len(plan.validators):,} {mib(validators):.0f} MiB (URL keys shared with to_fetch); "
          f"fingerprints {len(fingerprints):,} {mib(seen):.0f} MiB")

else:
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    plan, fingerprints = plan_and_seed()
    profiler.disable()
    print(f"plan + fingerprints under cProfile: {time.perf_counter() - start:.1f} s")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(15)
        text = out.getvalue()
        print(f"-- by {order} --\n" + text[text.index("   ncalls"):].rstrip())
"""


def measure(path: Path, cold: bool) -> dict[str, Any]:
    """One planning in a fresh interpreter: its figures (seconds, MiB, counts)."""
    forget_new_rounds(path)
    if cold:
        evict(path)
    try:
        result = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, cwd=ROOT, check=False
        )
    finally:
        forget_new_rounds(path)
    if result.returncode:
        raise SystemExit(f"child failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def profile(path: Path) -> None:
    """The queries alone, a sampled plan, a cProfiled plan: each in a fresh interpreter."""
    for mode in ("queries", "sample", "cprofile"):
        forget_new_rounds(path)
        try:
            subprocess.run([sys.executable, "-c", _PROFILE, str(path), mode], cwd=ROOT, check=True)
        finally:
            forget_new_rounds(path)
        print(flush=True)


def _spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1_000_000, help="pages in the store (default 1,000,000)")
    parser.add_argument("--links", type=int, default=10_000_000, help="links in the store (default 10,000,000)")
    parser.add_argument("--workdir", default="/tmp/bench_plan", help="where the store is built and kept")
    parser.add_argument("--rebuild", action="store_true", help="build the store again even when it is there")
    parser.add_argument("--repeats", type=int, default=3, help="plannings to time (default 3)")
    parser.add_argument("--cold", action="store_true", help="drop the store from the page cache before each run")
    parser.add_argument("--profile", action="store_true", help="time each query, cProfile one plan, then stop")
    parser.add_argument("--html", type=int, default=0, metavar="KIB", help="KiB of HTML in every 200 (default 0: NULL)")
    parser.add_argument("--build-into", help=argparse.SUPPRESS)  # cached_store's child
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats: at least 1")
    if args.build_into:
        building = Path(args.build_into)
        anchor = int(time.time()) // 3600 * 3600
        manifest = build_store(building, args.pages, args.links, anchor, args.html)
        building.with_suffix(".json").write_text(json.dumps(manifest))
        return

    print(
        f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {datetime.now(UTC):%Y-%m-%d}",
        flush=True,
    )
    path, manifest = cached_store(Path(args.workdir), args.pages, args.links, args.html, args.rebuild)
    counts = manifest["counts"]
    age = (time.time() - manifest["anchor"]) / DAY
    print(
        f"store {path}: {manifest['bytes'] / 2**30:.2f} GiB, "
        + (f"{manifest['html_kib']} KiB of HTML in every 200; " if manifest["html_kib"] else "no HTML; ")
        + ", ".join(f"{count:,} {table}" for table, count in counts.items())
        + f"; built in {manifest['build_seconds']:.0f} s (pages, versions, checks {manifest['pages_seconds']:.0f} s,"
        f" links {manifest['links_seconds']:.0f} s, target index {manifest['index_seconds']:.0f} s, the store's "
        f"derived tables {manifest['derived_seconds']:.0f} s), "
        f"dates relative to {age:.1f} days ago\n",
        flush=True,
    )
    if args.profile:
        profile(path)
        return

    runs = []
    for repeat in range(args.repeats):
        runs.append(measure(path, args.cold))
        run = runs[-1]
        print(
            f"  run {repeat + 1}: plan {run['plan']:.1f} s + fingerprints {run['seed']:.1f} s, "
            f"peak RSS {run['peak']:.0f} MiB",
            flush=True,
        )
    last = runs[-1]
    reasons = ", ".join(f"{count:,} {reason}" for reason, count in sorted(last["reasons"].items()))
    print(
        f"\nround {last['round']} ({'cold' if args.cold else 'warm'} page cache): to fetch {last['to_fetch']:,} "
        f"({reasons}); done {last['done']:,}; validators {last['validators']:,}; "
        f"fingerprints {last['fingerprints']:,}"
    )
    total = [run["plan"] + run["seed"] for run in runs]
    print(f"\n{'figure (min / median / max)':42} {args.repeats} runs")
    print(f"{'RoundPlan.of(get_crawler(...)) s':42} {_spread([run['plan'] for run in runs], '.1f')}")
    print(f"{'dupefilter fingerprints of plan.done s':42} {_spread([run['seed'] for run in runs], '.1f')}")
    print(f"{'plan + fingerprints s':42} {_spread(total, '.1f')}")
    print(f"{'peak RSS after the plan MiB':42} {_spread([run['plan_peak'] for run in runs], '.0f')}")
    print(f"{'peak RSS with the fingerprints MiB':42} {_spread([run['peak'] for run in runs], '.0f')}")
    print(f"{'  (the same, VmHWM) MiB':42} {_spread([run['hwm'] for run in runs], '.0f')}")
    print(f"{'  of which imports (scrapy, crawler) MiB':42} {_spread([run['floor'] for run in runs], '.0f')}")
    seconds, mib = statistics.median(total), max(run["peak"] for run in runs)
    scale = f"{counts['pages']:,} pages / {counts['links']:,} links"
    verdict = "PASS" if seconds < PLAN_SECONDS and mib < PLAN_MIB else "FAIL"
    print(
        f"\ntarget ({scale}: plan + dupefilter < {PLAN_SECONDS:.0f} s and < {PLAN_MIB / 1024:.0f} GiB peak RSS): "
        f"{seconds:.1f} s median, {mib:.0f} MiB worst -> {verdict}"
    )


if __name__ == "__main__":
    main()
