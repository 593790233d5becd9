# ruff: noqa: B023, E501, SIM105, SIM905 - closures are timed within their own loop iteration
"""Benchmark the URL scanner, rewrite_text on real-page-like documents and normalize_url per URL
class, each side by side with a peer in the same run.

Run as ``python bench/bench_rewrite.py [--quick]`` from the project root (the ``bench`` extra).

0. The scanner (``crawler/url/scan.py``, pure Python) in MB/s (UTF-8) on the same pages as 1.,
   against its definition :data:`~crawler.url.scan.URL_RE` used the plain way: the URL split
   (``scan.split_urls`` against a ``re.split`` with the definition) and the substitution of every
   URL from a memo that knows them all, as a warm rewriter does (``scan.substitute_urls``
   against ``URL_RE.sub`` with a callback that reads the same memo).
1. ``rewrite_text`` in MB/s (UTF-8) on the NYT, BBC and Guardian article pages of
   ``tests/fixtures/realpages`` (clearnet, and as their EOTK mirrors serve them): cold (a
   fresh Normalizer and Rewriter, so every URL is new) and warm (the same rewriter again).
   The w3lib contestant does the same scan and calls ``canonicalize_url`` on every URL found
   (cold: no memo; warm: a dict memo), without mapping or stripping anything.
   "Scans only" is the same rewriter with a normalizer that returns each URL as it is: the
   cost of finding the URLs and attributes, the ceiling for any per-URL work.
2. ``normalize_url`` per URL class, a fresh normalizer per run with its cache off
   (``Normalizer(cache_size=0)``; what it remembers of hosts and parameter names starts
   empty), against w3lib's ``canonicalize_url`` and courlan's ``normalize_url`` on the same
   URLs (URLs/s).

Every figure is the best of ``REPEATS`` runs timed with ``time.perf_counter`` (section 0: of
``4 * REPEATS``, the contestants in turn); a ratio is a speed ratio (above 1.0: the project is faster).
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import random
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import courlan  # noqa: E402
from w3lib.url import canonicalize_url  # noqa: E402

from crawler.url import normalize as normalize_mod  # noqa: E402
from crawler.url import scan  # noqa: E402
from crawler.url.normalize import Normalizer  # noqa: E402
from crawler.url.rewrite import Rewriter  # noqa: E402
from crawler.url.rules import load_rules  # noqa: E402

REPEATS = 5
PAGES_DIR = ROOT / "tests" / "fixtures" / "realpages"


def load_make_pages():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_pages", PAGES_DIR / "make_pages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timings(run: Callable[[], object], setup: Callable[[], object] | None = None, repeats: int = 0) -> list[float]:
    """The sorted times of ``repeats`` (default ``REPEATS``) runs, each after ``setup``."""
    result = []
    for _ in range(repeats or REPEATS):
        if setup is not None:
            setup()
        start = time.perf_counter()
        run()
        result.append(time.perf_counter() - start)
    return sorted(result)


def best(run: Callable[[], object], setup: Callable[[], object] | None = None, repeats: int = 0) -> float:
    return timings(run, setup, repeats)[0]


def best_interleaved(runs: list[Callable[[], object]], repeats: int) -> list[float]:
    """The best time of each of ``runs``, timed in turn ``repeats`` times: runs of a few
    milliseconds, so that a moment when the shared machine slows down costs each the same."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, kept in zip(runs, times, strict=True):
            start = time.perf_counter()
            run()
            kept.append(time.perf_counter() - start)
    return [min(kept) for kept in times]


# -- the pages of 0. and 1., and the w3lib contestant of 1. --------------------------------


def documents() -> dict[str, list[tuple[str, str]]]:
    make_pages = load_make_pages()
    clearnet, mirror = [], []
    for name, base in make_pages.PAGES.items():
        text = (PAGES_DIR / name).read_text(encoding="utf-8")
        clearnet.append((text, base))
        mirror.append((make_pages.eotk_mirror(text), make_pages.eotk_mirror(base)))
    return {"clearnet pages": clearnet, "EOTK mirror pages": mirror}


def w3lib_rewriter() -> Callable[[str, bool], str]:
    """The floor a plain w3lib user gets: the same URL scan, canonicalize_url on each URL."""
    memo: dict[str, str] = {}

    def replace(raw: str) -> str:
        try:
            return canonicalize_url(raw)
        except ValueError:
            return raw

    def replace_memo(raw: str) -> str:
        out = memo.get(raw)
        if out is None:
            out = memo[raw] = replace(raw)
        return out

    def rewrite(text: str, warm: bool) -> str:
        parts = scan.split_urls(text)  # the project's own scan (scan.split_urls when swapped)
        canonical = replace_memo if warm else replace
        parts[1::2] = [canonical(raw) for raw in parts[1::2]]
        return "".join(parts)

    return rewrite


# -- 0. the scanner --------------------------------------------------------------------------


def bench_scanner(rows: list[tuple[str, str, str]]) -> None:
    normalize = Normalizer(load_rules()).normalize

    def canonical(raw: str) -> str:
        try:
            return normalize(raw)
        except ValueError:
            return raw

    for label, docs in documents().items():
        texts = [text for text, _ in docs]
        megabytes = sum(len(text.encode("utf-8", "surrogatepass")) for text in texts) / 1e6
        memo: dict[str, str] = {}

        def remember(raw: str) -> str:
            memo[raw] = canonical(raw)
            return memo[raw]

        for text in texts:  # every URL of the pages in the memo, as in a warm rewriter
            scan.substitute_urls(text, memo, remember)
        assert all(
            scan.substitute_urls(text, memo, remember)
            == scan.URL_RE.sub(lambda match: memo.get(match[0]) or remember(match[0]), text)
            for text in texts
        )
        definition_split = scan._URL_SPLIT_RE.split
        split, split_peer, substitute, substitute_peer = best_interleaved(
            [
                lambda: [scan.split_urls(text) for text in texts],
                lambda: [definition_split(text) for text in texts],
                lambda: [scan.substitute_urls(text, memo, remember) for text in texts],
                lambda: [scan.URL_RE.sub(lambda m: memo.get(m[0]) or remember(m[0]), text) for text in texts],
            ],
            4 * REPEATS,  # a few ms a run: more runs
        )
        rows.append((f"0. the scanner, {label} ({len(texts)} pages, {megabytes:.2f} MB, {len(memo):,} URLs)", "", ""))
        rows.append(
            (
                "  URL split, scan.split_urls",
                f"{megabytes / split:,.1f} MB/s",
                f"vs re.split with URL_RE {split_peer / split:.2f}x ({megabytes / split_peer:,.1f} MB/s)",
            )
        )
        rows.append(
            (
                "  URLs substituted from a full memo, scan.substitute_urls",
                f"{megabytes / substitute:,.1f} MB/s",
                f"vs URL_RE.sub with a callback {substitute_peer / substitute:.2f}x "
                f"({megabytes / substitute_peer:,.1f} MB/s)",
            )
        )


# -- 1. rewrite_text ----------------------------------------------------------------------


def bench_rewrite(rows: list[tuple[str, str, str]]) -> None:
    rules = load_rules()
    for label, docs in documents().items():
        megabytes = sum(len(text.encode("utf-8", "surrogatepass")) for text, _ in docs) / 1e6
        holder: list[Rewriter] = []

        def fresh() -> None:
            holder[:] = [Rewriter(Normalizer(rules))]

        def run() -> None:
            for text, base in docs:
                holder[0].rewrite(text, base)

        cold_times = timings(run, fresh, 3 * REPEATS)  # ~10 ms a run: more runs, and the median too
        cold, cold_median = cold_times[0], cold_times[len(cold_times) // 2]
        warm = best(run)  # the last fresh rewriter, now warm

        def fresh_identity() -> None:  # the same scans and escaping, no normalizing at all
            normalizer = Normalizer(rules)
            normalizer.normalize = lambda url, base=None: url  # type: ignore[method-assign]
            holder[:] = [Rewriter(normalizer)]

        scan_only = best(run, fresh_identity)
        w3 = w3lib_rewriter()
        w3_cold = best(lambda: [w3(text, False) for text, _ in docs])
        w3_warm = best(lambda: [w3(text, True) for text, _ in docs])
        rows.append((f"1. rewrite_text, {label} ({len(docs)} pages, {megabytes:.2f} MB)", "", ""))
        rows.append(
            (
                "  project, cold",
                f"{megabytes / cold:,.1f} MB/s",
                f"median {megabytes / cold_median:,.1f} MB/s; vs w3lib scan+canonicalize {w3_cold / cold:.2f}x",
            )
        )
        rows.append(("  project, warm", f"{megabytes / warm:,.1f} MB/s", f"vs w3lib with a memo {w3_warm / warm:.2f}x"))
        rows.append(("  scans only (URLs found, not normalized)", f"{megabytes / scan_only:,.1f} MB/s", "reference"))
        rows.append(("  w3lib scan + canonicalize_url, cold", f"{megabytes / w3_cold:,.1f} MB/s", ""))
        rows.append(("  w3lib scan + canonicalize_url, warm", f"{megabytes / w3_warm:,.1f} MB/s", ""))


# -- 2. normalize_url per URL class ----------------------------------------------------------

WORDS = "aleppo syria rebels city election court climate market china europe police school film".split()
V3 = "www.nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd.onion"
BBC_V3 = "www.bbcweb3hytmzhn5d532owbu6oqadra5z3ar726vq5kgwwn6aucdccrad.onion"


def url_classes(n: int) -> dict[str, list[str]]:
    rng = random.Random(1)

    def slug(k: int) -> str:
        return "-".join(rng.choice(WORDS) for _ in range(k))

    def article(host: str) -> str:
        return f"https://{host}/2024/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/world/{slug(5)}.html"

    classes: dict[str, Callable[[], str]] = {
        "ASCII, other host": lambda: (
            f"https://example.com/{slug(2)}/{slug(3)}?id={rng.randint(1, 999)}&q={rng.choice(WORDS)}"
        ),
        "non-ASCII path": lambda: (
            f"https://de.example.org/wiki/{rng.choice(['Zürich', 'São_Paulo', 'café', '東京'])}/{slug(3)}"
        ),
        "%-encoded path": lambda: (
            f"https://example.net/wiki/{rng.choice(['caf%C3%A9', '%E2%9C%93', 'a%20b', '%7euser'])}/{slug(3)}?q=a%2Fb"
        ),
        "share link, nested clearnet URL": lambda: (
            "https://twitter.com/intent/tweet?url="
            + quote(article("www.nytimes.com") + "?smid=tw-share", safe="")
            + f"&text={quote(slug(4))}&via=nytimes"
        ),
        "share link, nested mirror URL": lambda: (
            "https://www.facebook.com/dialog/share?app_id=1&href="
            + quote(f"https://{BBC_V3}/news/{slug(2)}-{rng.randint(10**7, 10**8)}?SThisFB", safe="")
        ),
        "IPv6 host": lambda: (
            f"http://[2001:0DB8:{rng.randint(0, 9999):04x}:0000:0000:0000:0000:0001]:8080/{slug(2)}?a={rng.randint(1, 9)}"
        ),
        "tracking (clearnet)": lambda: (
            article("www.nytimes.com")
            + f"?action=click&module=RelatedLinks&pgtype=Article&utm_source={rng.choice(WORDS)}&UTM_MEDIUM=x"
        ),
        "mirror + tracking": lambda: (
            article(V3).replace("https", "http")
            + f"?rref=collection%2F{slug(2)}&region=Footer&contentPlacement={rng.randint(1, 9)}"
        ),
    }
    out: dict[str, list[str]] = {}
    for name, make in classes.items():
        seen: dict[str, None] = {}
        for _ in range(n * 20):
            if len(seen) == n:
                break
            seen[make()] = None
        out[name] = list(seen)
    return out


def bench_normalize(rows: list[tuple[str, str, str]], n: int) -> None:
    rules = load_rules()
    holder: list[Callable[[str], str]] = []

    def fresh() -> None:
        # A fresh normalizer per run, its URL cache off: what it remembers of hosts and
        # parameter names starts empty each run, like the module's memo of IPv6 literals.
        holder[:] = [Normalizer(rules, cache_size=0).normalize]
        compressed = getattr(normalize_mod, "_compressed_ipv6", None)
        if compressed is not None:
            compressed.cache_clear()

    def project(url: str) -> str:
        return holder[0](url)

    rows.append(
        (f"2. normalize_url per URL class (up to {n:,} distinct URLs each, fresh normalizer, no cache)", "", "")
    )

    def courlan_normalize(url: str) -> str:
        return courlan.normalize_url(url)

    for name, urls in url_classes(n).items():
        n = len(urls)
        times = {}
        for contestant, fn in (("project", project), ("w3lib", canonicalize_url), ("courlan", courlan_normalize)):

            def run(fn: Callable[[str], object] = fn) -> None:
                for url in urls:
                    try:
                        fn(url)
                    except ValueError:
                        pass

            times[contestant] = best(run, fresh if contestant == "project" else None)
        rows.append(
            (
                f"  {name}",
                f"{n / times['project']:,.0f} URLs/s",
                f"project/w3lib {times['w3lib'] / times['project']:.2f}x, "
                f"project/courlan {times['courlan'] / times['project']:.2f}x "
                f"(w3lib {n / times['w3lib']:,.0f}, courlan {n / times['courlan']:,.0f} URLs/s)",
            )
        )


def main() -> None:
    global REPEATS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and URLs")
    args = parser.parse_args()
    if args.quick:
        REPEATS = 2
    n = 1_000 if args.quick else 5_000
    print(
        f"Python {platform.python_version()}, w3lib {version('w3lib')}, courlan {version('courlan')}, "
        f"best of {REPEATS}, code in {ROOT}"
    )
    loop = timings(lambda: sum(range(300_000)), repeats=40)
    print(
        f"this machine now: a plain Python loop's median run is {loop[20] / loop[0]:.2f}x its best "
        "(a shared VM's speed moves; read the ratios, measured within one run)"
    )
    rows: list[tuple[str, str, str]] = []
    bench_scanner(rows)
    bench_rewrite(rows)
    bench_normalize(rows, n)
    width = max(len(r[0]) for r in rows) + 2
    for name, figure, ratio in rows:
        print(f"{name:<{width}}{figure:>16}  {ratio}" if figure else name)


if __name__ == "__main__":
    main()
