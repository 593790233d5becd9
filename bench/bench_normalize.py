"""Benchmark URL normalization: the project's normalizer against w3lib and courlan.

Run as ``python bench/bench_normalize.py [--quick] [--profile]`` from the project root.
One run, one deterministic corpus (``random.Random(1)``), three sections:

1. distinct URLs: the project's normalizer with its cache off, w3lib's ``canonicalize_url``
   and courlan's ``clean_url`` on the same list (URLs/s), plus a breakdown by URL shape;
2. a crawl-like mix with repeats (Zipf-like skew) through the cached ``normalize_url``;
3. ``rewrite_text`` on generated NYT-like article pages (MB/s), cold and warm cache,
   with a regex pass that only finds URLs as the floor (a reference, not a contestant).

Every figure is the best of 3 repeats timed with ``time.perf_counter``. Before timing,
outputs are checked where they must agree (see ``check_*``), so the contest is honest.
"""

from __future__ import annotations

import argparse
import bisect
import cProfile
import itertools
import platform
import pstats
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from importlib.metadata import version
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import courlan  # noqa: E402
from w3lib.url import canonicalize_url  # noqa: E402

from crawler.url import normalize as normalize_mod  # noqa: E402
from crawler.url import rewrite as rewrite_mod  # noqa: E402
from crawler.url import scan  # noqa: E402
from crawler.url.normalize import Normalizer, normalize_url  # noqa: E402
from crawler.url.rewrite import rewrite_text  # noqa: E402
from crawler.url.rules import load_rules  # noqa: E402

REPEATS = 3
V2_HOST = "www.nytimes3xbfgragh.onion"
V3_HOST = "www.nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion"
CLEAR_HOST = "www.nytimes.com"
NYT_HOSTS = (V2_HOST, V3_HOST, CLEAR_HOST)
STATIC_ONION = "static01.graylady3jvrrxbe.onion"
MIRROR_LABELS = ("nytimes3xbfgragh", "nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd", "graylady3jvrrxbe")

SECTIONS = (
    "world",
    "us",
    "politics",
    "nyregion",
    "business",
    "technology",
    "science",
    "health",
    "sports",
    "arts",
    "books",
    "style",
    "food",
    "travel",
    "magazine",
    "opinion",
    "realestate",
    "upshot",
)
SUBSECTIONS = ("middleeast", "europe", "asia", "africa", "americas", "economy", "media", "music", "television")
WORDS = (
    "aleppo",
    "syria",
    "rebels",
    "city",
    "fall",
    "election",
    "trump",
    "clinton",
    "vote",
    "court",
    "senate",
    "house",
    "climate",
    "storm",
    "market",
    "stocks",
    "oil",
    "china",
    "russia",
    "europe",
    "brexit",
    "police",
    "school",
    "health",
    "virus",
    "vaccine",
    "fire",
    "flood",
    "game",
    "season",
    "coach",
    "film",
    "review",
    "book",
    "music",
    "art",
    "museum",
    "recipe",
    "chicken",
    "travel",
    "hotel",
    "apartment",
    "rent",
    "tax",
    "budget",
    "deal",
)
NYT_TRACKING = (
    "rref",
    "action",
    "contentCollection",
    "region",
    "module",
    "version",
    "contentPlacement",
    "pgtype",
    "smid",
    "smtyp",
    "hp",
    "_r",
    "partner",
    "emc",
    "ref",
    "src",
    "WT.nav",
    "WT.mc_id",
)
GLOBAL_TRACKING = ("utm_source", "utm_medium", "utm_campaign", "fbclid", "gclid", "_ga", "mc_cid")
TRACKING_VALUES = {
    "rref": ["collection/sectioncollection/world", "homepage", "collection/byline/anne-barnard"],
    "action": ["click", "Click"],
    "contentCollection": ["world", "Middle East", "politics", "undefined"],
    "region": ["Footer", "Marginalia", "TopBar", "rank", "stream", "Masthead"],
    "module": ["RelatedCoverage", "MostEmailed", "Ribbon", "inline", "SectionsNav", "MoreInSection"],
    "version": ["Full", "Moth-Visible", "ArticleNav", "BrowseTree"],
    "contentPlacement": ["1", "2", "5", "8"],
    "pgtype": ["article", "Homepage", "collection", "sectionfront"],
    "smid": ["tw-nytimes", "fb-nytimes", "nytcore-iphone-share", "tw-share"],
    "utm_source": ["twitter", "newsletter", "facebook"],
    "fbclid": ["IwAR2x9Qm3aBcD_efGh-ijKl", "IwAR0ZzYyXx"],
}
KEPT_NYT = (("page", ["2", "3"]), ("query", ["aleppo", "syria+war"]), ("sort", ["newest"]))


class Url:
    """One corpus URL: its text, its shape, and the canonical form it must normalize to (if known)."""

    __slots__ = ("text", "shape", "expected")

    def __init__(self, text: str, shape: str, expected: str | None) -> None:
        self.text, self.shape, self.expected = text, shape, expected


# -- the corpus ---------------------------------------------------------------------------


def _slug(rng: random.Random, n: int | None = None) -> str:
    return "-".join(rng.choice(WORDS) for _ in range(n or rng.randint(3, 8)))


def _tracking(rng: random.Random, names: tuple[str, ...], k: int) -> list[tuple[str, str]]:
    out = []
    for name in rng.sample(names, k):
        values = TRACKING_VALUES.get(name, ["x", "1", "a_b"])
        out.append((name, quote(rng.choice(values), safe="")))
    return out


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in pairs)


def _article_path(rng: random.Random) -> str:
    year = rng.randint(2012, 2021)
    section = rng.choice(SECTIONS)
    sub = f"{rng.choice(SUBSECTIONS)}/" if rng.random() < 0.35 else ""
    return f"/{year}/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{section}/{sub}{_slug(rng)}.html"


def _nyt_article(rng: random.Random) -> Url:
    host = rng.choices(NYT_HOSTS, weights=(5, 3, 2))[0]
    scheme = rng.choice(("http", "https"))
    path = _article_path(rng)
    r = rng.random()
    if r < 0.25:
        junk = []
    elif r < 0.8:
        junk = _tracking(rng, NYT_TRACKING[:9], rng.randint(1, 7))
    else:
        junk = _tracking(rng, NYT_TRACKING, rng.randint(1, 4)) + _tracking(rng, GLOBAL_TRACKING, rng.randint(1, 3))
    kept = []
    if rng.random() < 0.08:
        name, values = rng.choice(KEPT_NYT)
        kept.append((name, rng.choice(values)))
    pairs = junk + kept
    rng.shuffle(pairs)
    fragment = rng.choice(("", "", "", "#comments", "#story-continues-1", "#permid=20110583"))
    text = f"{scheme}://{host}{path}" + (f"?{_query(pairs)}" if pairs else "") + fragment
    expected = canonicalize_url(f"https://{CLEAR_HOST}{path}" + (f"?{_query(kept)}" if kept else ""))
    shape = "nyt article, no query" if not pairs else "nyt article + tracking"
    return Url(text, shape, expected)


def _nyt_nav(rng: random.Random) -> Url:
    host = rng.choices(NYT_HOSTS, weights=(5, 3, 2))[0]
    scheme = rng.choice(("http", "https"))
    kind = rng.random()
    if kind < 0.5:
        path = f"/section/{rng.choice(SECTIONS)}"
        if rng.random() < 0.4:
            path += f"/{rng.choice(SUBSECTIONS)}"
    elif kind < 0.7:
        path = f"/by/{rng.choice(WORDS)}-{rng.choice(WORDS)}"
    elif kind < 0.85:
        path = f"/topic/{rng.choice(('person', 'organization', 'subject'))}/{_slug(rng, 2)}"
    else:
        path = rng.choice(("/", "/pages/todayspaper/index.html", "/crosswords", "/subscription", "/newsletters"))
        path += "" if path == "/" else f"/{rng.randint(1, 9999)}"
    junk = _tracking(rng, ("action", "pgtype", "region", "module", "contentCollection"), rng.randint(0, 4))
    text = f"{scheme}://{host}{path}" + (f"?{_query(junk)}" if junk else "")
    return Url(text, "nyt section/nav", canonicalize_url(f"https://{CLEAR_HOST}{path}"))


def _static_image(rng: random.Random) -> Url:
    scheme = rng.choice(("http", "https"))
    year, month, day = rng.randint(2012, 2021), rng.randint(1, 12), rng.randint(1, 28)
    slug = f"{day:02d}{rng.choice(WORDS)}{rng.randint(1, 99)}"
    size = rng.choice(("superJumbo", "articleLarge", "thumbStandard", "master1050", "videoSixteenByNine3000"))
    path = f"/images/{year}/{month:02d}/{day:02d}/{rng.choice(SECTIONS)}/{slug}/{slug}-{size}.jpg"
    kept = [("quality", rng.choice(("75", "90"))), ("auto", "webp")] if rng.random() < 0.5 else []
    text = f"{scheme}://{STATIC_ONION}{path}" + (f"?{_query(kept)}" if kept else "")
    expected = canonicalize_url("https://static01.nyt.com" + path + (f"?{_query(kept)}" if kept else ""))
    return Url(text, "static01 image", expected)


def _other(rng: random.Random) -> Url:
    kind = rng.random()
    if kind < 0.3:
        path = "/" + "/".join(_slug(rng, 2) for _ in range(rng.randint(1, 3)))
        params = [(rng.choice(("id", "q", "lang", "p")), str(rng.randint(1, 999)))] if rng.random() < 0.5 else []
        text = f"https://example.com{path}" + (f"?{_query(params)}" if params else "")
        return Url(text, "other host, plain", canonicalize_url(text))
    if kind < 0.55:
        page = rng.choice(("re", "urllib.parse", "functools", "asyncio-task", "stdtypes", "datetime"))
        text = f"https://docs.python.org/3/library/{page}.html"
        if rng.random() < 0.4:
            text += f"?highlight={rng.choice(WORDS)}"
        if rng.random() < 0.3:
            text += f"&utm_source={rng.choice(('x', 'so'))}" if "?" in text else "?utm_source=so"
        text += rng.choice(("", f"#{page}.{rng.choice(WORDS)}"))
        expected = canonicalize_url(re.sub(r"[?&]utm_source=[a-z]+", "", text))
        return Url(text, "other host, docs.python.org", expected)
    if kind < 0.75:
        nested = _nyt_article(rng).text
        text = "https://twitter.com/intent/tweet?url=" + quote(nested, safe="") + "&text=" + quote(_slug(rng, 4))
        if rng.random() < 0.5:
            text += "&via=nytimes"
        return Url(text, "twitter share, nested URL", None)
    # percent-encoding and non-ASCII paths, written in either form
    words = ["café", "Überblick", "naïve", "東京", "%E2%9C%93", "a%20b", "%7Euser", "São_Paulo", "Zürich"]
    path = "/wiki/" + "/".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
    host = rng.choice(("example.com", "de.example.org", "example.net"))
    query = f"?q={rng.choice(('caf%C3%A9', 'naïve', 'x y', 'a%2Fb'))}" if rng.random() < 0.5 else ""
    text = f"https://{host}{path}{query}"
    return Url(text, "other host, %-enc/non-ASCII", canonicalize_url(text))


def make_corpus(n: int) -> list[Url]:
    """``n`` distinct URLs shaped like a crawl of a news mirror, always the same for the same ``n``."""
    rng = random.Random(1)
    makers = (_nyt_article, _nyt_nav, _static_image, _other)
    weights = (62, 10, 8, 20)
    seen: set[str] = set()
    out: list[Url] = []
    while len(out) < n:
        url = rng.choices(makers, weights)[0](rng)
        if url.text not in seen:
            seen.add(url.text)
            out.append(url)
    return out


# -- the article pages --------------------------------------------------------------------

PROSE = (
    "The rebels’ retreat from eastern Aleppo marked the end of a four-year struggle for the city.",
    "Residents described days without water or electricity, and nights spent in basements.",
    "“We did not expect it to end this way,” said one resident, who asked not to be named.",
    "The United Nations said it had received reports of civilians being killed in their homes.",
    "Diplomats in Geneva, Moscow and Washington traded accusations over the collapse of the truce.",
    "Analysts said the government’s victory would reshape the war, though not end it.",
    "Aid convoys waited at the edge of the city for permission that never came.",
    "In the western districts, government supporters celebrated with fireworks and car horns.",
)


def _a(href: str, text: str, cls: str = "") -> str:
    return f'<a class="{cls or "css-1wjnrbv"}" href="{href.replace("&", "&amp;")}">{text}</a>'


def make_page(rng: random.Random, corpus: list[Url], nav: list[str]) -> tuple[str, str]:
    """One NYT-like article page (150-300 KB) and its mirror URL."""
    host = rng.choice((V2_HOST, V3_HOST))
    path = _article_path(rng)
    url = f"http://{host}{path}"
    img = f"http://{STATIC_ONION}/images/2016/12/05/world/05aleppo{rng.randint(1, 999)}/05aleppo-superJumbo.jpg"
    title = _slug(rng, 6).replace("-", " ").title()
    json_url = url.replace("/", "\\/")
    json_img = img.replace("/", "\\/")
    head = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{title} - The New York Times</title>",
        f'<link rel="canonical" href="{url}">',
        f'<meta property="og:url" content="{url}?smid=fb-share">',
        f'<meta property="og:image" content="{img}?year=2016&amp;h=550&amp;w=1050">',
        f'<meta name="twitter:url" content="{url}">',
        f'<meta name="twitter:image" content="{img}">',
        f'<link rel="alternate" hreflang="en" href="https://{CLEAR_HOST}{path}">',
        '<link rel="stylesheet" href="/vi-assets/static-assets/global-a1b2c3.css">',
        '<script type="application/ld+json">{"@context":"http:\\/\\/schema.org","@type":"NewsArticle",'
        f'"mainEntityOfPage":"{json_url}","url":"{json_url}","headline":"{title}",'
        f'"image":[{{"@type":"ImageObject","url":"{json_img}","height":1365,"width":2048}}],'
        f'"publisher":{{"@type":"Organization","name":"The New York Times","logo":{{"url":'
        f'"https:\\/\\/{STATIC_ONION}\\/images\\/misc\\/NYT_logo_rss_250x40.png"}}}}}}</script>',
        "</head><body>",
    ]
    parts = head + ['<nav class="css-1d8a290" aria-label="Main">']
    parts += [_a(link, link.rsplit("/", 1)[-1].split("?")[0] or "Home", "css-1b4m4gs") for link in nav]
    parts.append('</nav><article id="story">')
    parts.append(
        f'<figure><img src="{img}" srcset="{img} 2048w, {img.replace("superJumbo", "articleLarge")} 600w"'
        f' alt="" loading="lazy"></figure>'
    )
    target = rng.randint(150_000, 300_000)
    related = [u.text for u in rng.sample(corpus, 30)]
    size = sum(map(len, parts))
    paragraph_count = 0
    state: list[str] = []
    while size < target * 0.55:
        sentences = " ".join(rng.choice(PROSE) for _ in range(rng.randint(3, 7)))
        if rng.random() < 0.3:
            link = rng.choice(corpus).text
            sentences += " " + _a(link, "read more")
        paragraph = f'<p class="css-axufdj evys1bk0">{sentences}</p>'
        parts.append(paragraph)
        size += len(paragraph)
        paragraph_count += 1
        if paragraph_count % 8 == 0:
            img2 = f"//{STATIC_ONION}/images/2016/12/05/world/{_slug(rng, 1)}{paragraph_count}/x-articleLarge.jpg"
            parts.append(f'<figure><img src="{img2}" alt=""><figcaption>{rng.choice(PROSE)}</figcaption></figure>')
    parts.append("</article><aside><h2>Related Coverage</h2><ul>")
    parts += [f"<li>{_a(link, 'Related')}</li>" for link in related]
    parts.append("</ul></aside>")
    # The preloaded state: JSON in a script, its URLs \/-escaped, as NYT pages carry it.
    while size < target:
        u = rng.choice(corpus).text.replace("/", "\\/")
        entry = (
            f'{{"__typename":"Article","id":"QXJ0aWNsZToxMDA{rng.randint(0, 99999):05d}",'
            f'"url":"{u}","headline":{{"default":"{_slug(rng, 5)}"}},"promotionalMedia":'
            f'{{"crops":[{{"url":"https:\\/\\/{STATIC_ONION}\\/images\\/2016\\/{rng.randint(1, 9999)}.jpg"}}]}}}}'
        )
        state.append(entry)
        size += len(entry)
    parts.append(f'<script>window.__preloadedData = {{"items":[{",".join(state)}]}};</script>')
    parts.append('<script src="/vi-assets/static-assets/main-4d5e6f.js" async></script></body></html>')
    return "\n".join(parts), url


def make_pages(corpus: list[Url], count: int = 20) -> list[tuple[str, str]]:
    rng = random.Random(2)
    nav = [f"/section/{s}?action=click&pgtype=Homepage&region=TopBar&module=SectionsNav" for s in SECTIONS]
    nav += [f"http://{V2_HOST}/section/{s}/{sub}" for s in SECTIONS[:3] for sub in SUBSECTIONS]
    nav += ["/", "/pages/todayspaper/index.html", "/crosswords", "/subscription?campaignId=6Y9LW", "/newsletters"]
    nav += ["https://myaccount.nytimes.com/auth/login?response_type=cookie&client_id=vi", "#site-content"]
    assert len(nav) >= 50
    return [make_page(rng, corpus, nav) for _ in range(count)]


# -- timing -------------------------------------------------------------------------------


def best_of(run: Callable[[], object], setup: Callable[[], object] | None = None) -> float:
    """The shortest of ``REPEATS`` timed runs (``setup`` runs untimed before each)."""
    best = float("inf")
    for _ in range(REPEATS):
        if setup is not None:
            setup()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def loop(fn: Callable[[str], object], urls: list[str]) -> Callable[[], None]:
    def run() -> None:
        for url in urls:
            fn(url)

    return run


def uncached() -> Callable[[str], str]:
    """The project's normalizer with caching defeated (``lru_cache(maxsize=0)`` stores nothing)."""
    normalizer = Normalizer(load_rules(), cache_size=0)
    assert normalizer.normalize.cache_info().maxsize == 0
    return normalizer.normalize


def fresh_default_cache() -> None:
    """Forget the shared default normalizer (and its cache) and the rewriter built on it."""
    normalize_mod.normalizer_for.cache_clear()
    normalize_mod._SHARED.clear()
    rewrite_mod._default_rewriter.cache_clear()


# -- honesty checks -----------------------------------------------------------------------


def check_normalizer(corpus: list[Url], project: Callable[[str], str]) -> dict[str, int]:
    """Every URL whose canonical form is known normalizes to it; others contain no mirror host."""
    counts: Counter[str] = Counter()
    for url in corpus:
        got = project(url.text)
        if url.expected is not None:
            assert got == url.expected, (url.text, got, url.expected)
            counts["expected"] += 1
        else:
            assert ".onion" not in got, (url.text, got)
            counts["nested"] += 1
        if url.shape.startswith("other host") and "utm_" not in url.text:
            # no mirror host, no tracking parameter: the project and w3lib must agree exactly
            assert got == canonicalize_url(url.text), (url.text, got, canonicalize_url(url.text))
            counts["same as w3lib"] += 1
    return counts


def check_rewrite(pages: list[tuple[str, str]], rewritten: list[str]) -> None:
    for (page, _), out in zip(pages, rewritten, strict=True):
        lowered = out.lower()
        for label in MIRROR_LABELS:
            assert label not in lowered, label
        assert "rref=" not in out and "pgtype=" not in out and "smid=" not in out
        assert "https:\\/\\/www.nytimes.com\\/" in out  # JSON escaping kept
        assert out.count("<p ") == page.count("<p ")  # prose untouched


# -- the report ---------------------------------------------------------------------------


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def section(self, title: str) -> None:
        self.rows.append((title, "", ""))

    def add(self, name: str, figure: str, ratio: str = "") -> None:
        self.rows.append((f"  {name}", figure, ratio))

    def print(self) -> None:
        width = max(len(r[0]) for r in self.rows) + 2
        print(f"{'name':<{width}}{'figure':>16}  ratio")
        print("-" * (width + 40))
        for name, figure, ratio in self.rows:
            print(f"{name:<{width}}{figure:>16}  {ratio}" if figure else name)


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f} URLs/s"


def zipf_sequence(distinct: list[Url], lookups: int, s: float = 1.1) -> list[str]:
    """``lookups`` draws with a Zipf-like skew; navigation URLs rank first, as on every page of a crawl."""
    rng = random.Random(3)
    ranked = [u.text for u in distinct if u.shape == "nyt section/nav"]
    others = [u.text for u in distinct if u.shape != "nyt section/nav"]
    rng.shuffle(others)
    ranked += others
    cumulative = list(itertools.accumulate(1.0 / (rank**s) for rank in range(1, len(ranked) + 1)))
    total = cumulative[-1]
    return [ranked[bisect.bisect_left(cumulative, rng.random() * total)] for _ in range(lookups)]


def bench_distinct(table: Table, urls: list[Url]) -> float:
    texts = [u.text for u in urls]
    contestants = {
        "project Normalizer, cache_size=0": uncached(),
        "w3lib canonicalize_url": canonicalize_url,
        "courlan clean_url": courlan.clean_url,
    }
    times = {name: best_of(loop(fn, texts)) for name, fn in contestants.items()}
    project = times["project Normalizer, cache_size=0"]
    for name, seconds in times.items():
        ratio = "" if seconds is project else f"project/{name.split()[0]} = {seconds / project:.2f}x"
        table.add(name, rate(len(texts), seconds), ratio)
    return times["w3lib canonicalize_url"] / project


def bench_shapes(table: Table, urls: list[Url]) -> None:
    by_shape: dict[str, list[str]] = {}
    for url in urls:
        by_shape.setdefault(url.shape, []).append(url.text)
    project = uncached()
    for shape, texts in sorted(by_shape.items(), key=lambda kv: -len(kv[1])):
        t_project = best_of(loop(project, texts))
        t_w3lib = best_of(loop(canonicalize_url, texts))
        table.add(
            f"{shape} ({len(texts):,}): project",
            rate(len(texts), t_project),
            f"project/w3lib = {t_w3lib / t_project:.2f}x (w3lib {rate(len(texts), t_w3lib)})",
        )


def bench_mix(table: Table, distinct: list[Url], lookups: int) -> None:
    sequence = zipf_sequence(distinct, lookups)
    unique = len(set(sequence))
    top = Counter(sequence).most_common(1)[0][1]
    table.add(
        f"sequence: {lookups:,} lookups, {unique:,} distinct URLs seen",
        f"top URL x{top:,}",
        f"cache hit rate {1 - unique / lookups:.1%}",
    )
    # cached and uncached answers agree on the whole sequence
    fresh_default_cache()
    plain = uncached()
    assert all(normalize_url(u) == plain(u) for u in set(sequence))
    holder: list[Callable[[str], str]] = []

    def fresh_instance() -> None:
        holder[:] = [Normalizer(load_rules()).normalize]

    rows = (  # (row name, short name for the ratio, seconds)
        (
            "normalize_url (module fn, fresh cache)",
            "normalize_url",
            best_of(loop(normalize_url, sequence), fresh_default_cache),
        ),
        (
            "Normalizer().normalize (fresh cache)",
            "Normalizer.normalize",
            best_of(lambda: loop(holder[0], sequence)(), fresh_instance),
        ),
        ("project Normalizer, cache_size=0", "uncached", best_of(loop(uncached(), sequence))),
        ("w3lib canonicalize_url", "w3lib", best_of(loop(canonicalize_url, sequence))),
        ("courlan clean_url", "courlan", best_of(loop(courlan.clean_url, sequence))),
    )
    project = rows[0][2]
    for name, short, seconds in rows:
        ratio = "" if seconds is project else f"normalize_url/{short} = {seconds / project:.2f}x"
        table.add(name, rate(lookups, seconds), ratio)


def bench_rewrite(table: Table, pages: list[tuple[str, str]]) -> None:
    megabytes = sum(len(page.encode()) for page, _ in pages) / 1e6
    url_count = sum(len(rewrite_mod.URL_RE.findall(page)) for page, _ in pages)
    table.add(f"{len(pages)} pages, {megabytes:.2f} MB, {url_count:,} absolute URLs", " ")

    def first_pass() -> list[str]:
        return [rewrite_text(page, base=url) for page, url in pages]

    fresh_default_cache()
    check_rewrite(pages, first_pass())
    cold = warm = float("inf")
    for _ in range(REPEATS):
        fresh_default_cache()
        start = time.perf_counter()
        first_pass()
        middle = time.perf_counter()
        first_pass()
        end = time.perf_counter()
        cold, warm = min(cold, middle - start), min(warm, end - middle)

    floor = best_of(lambda: ["".join(scan.split_urls(page)) for page, _ in pages])
    table.add(
        "rewrite_text, first pass (cold cache)", f"{megabytes / cold:,.2f} MB/s", f"{floor / cold:.2f}x floor speed"
    )
    table.add(
        "rewrite_text, second pass (warm cache)",
        f"{megabytes / warm:,.2f} MB/s",
        f"{floor / warm:.2f}x floor speed; warm/cold = {cold / warm:.2f}x",
    )
    table.add(
        "reference: the URL scan alone, split and joined (floor)", f"{megabytes / floor:,.2f} MB/s", "not a contestant"
    )


def profile(urls: Iterable[str]) -> None:
    project = uncached()
    texts = list(urls)
    print(f"profiling the uncached normalizer on {len(texts):,} URLs")
    profiler = cProfile.Profile()
    profiler.runcall(loop(project, texts))
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 distinct URLs and 20,000 lookups")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="",
        metavar="SHAPE",
        help="cProfile the uncached normalizer (on URLs whose shape contains SHAPE), then stop",
    )
    args = parser.parse_args()
    n_distinct = 5_000 if args.quick else 50_000
    lookups = 20_000 if args.quick else 200_000
    mix_distinct = 20_000

    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"w3lib {version('w3lib')}, courlan {version('courlan')}, {'quick' if args.quick else 'full'} run, "
        f"best of {REPEATS}"
    )
    started = time.perf_counter()
    corpus = make_corpus(max(n_distinct, mix_distinct))
    if args.profile is not None:
        profile(u.text for u in corpus[:n_distinct] if args.profile in u.shape)
        return
    distinct = corpus[:n_distinct]
    counts = check_normalizer(corpus, uncached())
    courlan_none = sum(courlan.clean_url(u.text) is None for u in distinct)
    shapes = Counter(u.shape for u in distinct)
    print(
        f"checks passed on {len(corpus):,} URLs: {counts['expected']:,} match their known canonical form, "
        f"{counts['same as w3lib']:,} plain other-host URLs equal w3lib's, {counts['nested']:,} nested mapped; "
        f"courlan returned None for {courlan_none:,}"
    )
    print("corpus shapes: " + ", ".join(f"{shape} {n / len(distinct):.0%}" for shape, n in shapes.most_common()))
    print()

    table = Table()
    table.section(f"1. distinct URLs ({n_distinct:,}), no cache anywhere")
    ratio = bench_distinct(table, distinct)
    table.section("1b. by URL shape, project (cache off) vs w3lib")
    bench_shapes(table, distinct)
    table.section(f"2. crawl-like mix with repeats (Zipf s=1.1 over {mix_distinct:,} URLs)")
    bench_mix(table, corpus[:mix_distinct], lookups)
    table.section("3. rewrite_text on NYT-like article pages (MB of UTF-8)")
    bench_rewrite(table, make_pages(corpus[:mix_distinct]))
    table.print()
    print()
    print(
        f"project/w3lib on distinct URLs: {ratio:.2f}x ({'faster' if ratio >= 1 else 'SLOWER'}); "
        f"total time {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
