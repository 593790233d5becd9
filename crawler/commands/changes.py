"""``scrapy changes``: the articles that changed between rounds: edits, headline changes, removals.

    scrapy changes [--since DATE] [--site NAME]                  a short summary on stdout
    scrapy changes [--since DATE] [--site NAME] -o changes.jsonl one JSON line per article
    scrapy changes [--since DATE] [--site NAME] -o changes.html  one page, offline

See :mod:`crawler.store.changes` for what counts as a change. ``--since``: an ISO date or
timestamp (UTC unless it says otherwise); each article's latest version is compared with
the one it had then. ``--site``: a site's key in the rules (``nytimes``, ``bbc``), its name
or one of its hosts. The ``.html`` page is self-contained and safe to open: no script, no
request of any kind (its Content-Security-Policy forbids them, its style allowed by hash),
every text from the store HTML-escaped, no link that leaves it. A missing or unusable
store, a store from a newer release, a date or site that cannot be used, or an output that
cannot be written is one ``error:`` line on stderr and the house exit status
(:data:`crawler.cli.EXIT_FAILED`).
"""

from __future__ import annotations

import argparse
import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from crawler.cli import ProjectCommand
from crawler.exceptions import CrawlerError
from crawler.store import store_path
from crawler.store.changes import KINDS, ArticleChange, Segment, changes, parse_when, resolve_site, rounds_info, wdiff
from crawler.url.normalize import normalizer_for
from crawler.url.rules import Site
from crawler.viewer.page import script_hash

FORMATS = (".jsonl", ".html")
TEMPLATE = Path(__file__).resolve().parent.parent / "viewer" / "changes.html"
SHOWN = 15  # changes listed by the summary on stdout


@dataclass(frozen=True)
class Report:
    """What the summary and the page say besides the changes themselves."""

    store: str
    rounds: int
    last_started: str | None
    since: str | None
    site: Site | None
    changes: list[ArticleChange]

    def scope(self) -> str:
        """``since 2026-01-02, The New York Times`` (empty: the whole crawl, every site)."""
        parts = [f"since {self.since}"] if self.since else []
        if self.site is not None:
            parts.append(f"{self.site.name} ({self.site.key})")
        return ", ".join(parts)

    def tally(self) -> str:
        """``3 articles changed: 2 edited, 1 removed; 1 headline changed``."""
        count = len(self.changes)
        kinds = [
            f"{sum(c.kind == kind for c in self.changes)} {kind}"
            for kind in KINDS
            if any(c.kind == kind for c in self.changes)
        ]
        headlines = sum(c.headline_changed for c in self.changes)
        scope = f" ({self.scope()})" if self.scope() else ""
        line = f"{_plural(count, 'article')} changed{scope}"
        if count:
            line += f": {', '.join(kinds)}; {_plural(headlines, 'headline')} changed"
        return line

    def rounds_line(self) -> str:
        if not self.rounds:
            return f"{self.store}: no round yet"
        return f"{self.store}: {_plural(self.rounds, 'round')}, the last started {self.last_started}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class Command(ProjectCommand):
    def syntax(self) -> str:
        return "[--since DATE] [--site NAME] [-o FILE.jsonl | -o FILE.html]"

    def short_desc(self) -> str:
        return "List the stored articles that changed (edits, headlines, removals), or export them"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "-o",
            "--output",
            metavar="FILE",
            help=f"write every change to FILE ({' or '.join(FORMATS)}); without it, a summary on stdout",
        )
        parser.add_argument(
            "--since",
            metavar="DATE",
            help="compare with each article as it was at DATE (ISO date or timestamp; default: its first version)",
        )
        parser.add_argument("--site", metavar="NAME", help="only this site's articles (rules key, name or host)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            self.fail(f"unexpected arguments: {' '.join(args)}")
            return
        output = Path(opts.output) if opts.output else None
        if output is not None and output.suffix.lower() not in FORMATS:
            self.fail(f"{output}: use one of {', '.join(FORMATS)}")
            return
        assert self.settings is not None
        try:
            since = parse_when(opts.since) if opts.since else None
        except CrawlerError as exc:
            self.fail(f"--since: {exc}")
            return
        try:
            rules = normalizer_for(self.settings.get("RULES_DIR")).rules
            site = resolve_site(opts.site, rules) if opts.site else None
        except CrawlerError as exc:
            self.fail(f"--site: {exc}" if opts.site else str(exc))
            return
        store = self.open_store()
        if store is None:
            return
        with self.reporting(store_path(self.settings), str(output) if output else None), store:
            rounds, last_started = rounds_info(store)
            found = changes(store, since, site, rules=rules)
            report = Report(store.path, rounds, last_started, opts.since, site, found)
            if output is None:
                print(format_summary(report))
            elif output.suffix.lower() == ".jsonl":
                write_jsonl(found, output)
                print(f"{output}: {report.tally()}")
            else:
                output.write_text(render_page(report), encoding="utf-8")
                print(f"{output}: {report.tally()}")


# -- outputs ---------------------------------------------------------------------


def write_jsonl(found: Iterable[ArticleChange], path: Path) -> None:
    """One JSON object per line and per article, ``url`` its first key."""
    with path.open("w", encoding="utf-8") as handle:
        for change in found:
            handle.write(json.dumps(change.to_dict(), ensure_ascii=False) + "\n")


def format_summary(report: Report, shown: int = SHOWN) -> str:
    """A few lines for the terminal: the rounds, the tally, the first ``shown`` changes."""
    lines = [report.rounds_line(), report.tally()]
    for change in report.changes[:shown]:
        figures = f"+{change.chars_added} -{change.chars_removed}"
        label = "headline" if change.headline_changed else change.kind
        lines.append(f"  {label:<9}{figures:>13}  {change.url}")
        if change.headline_changed:
            lines.append(f"  {'':<9}{'':>13}  {wdiff(change.title_diff)}")
    if len(report.changes) > shown:
        lines.append(f"  ... and {len(report.changes) - shown} more: -o changes.html shows them all, with their diffs")
    # Page text is the pages' own: no control character of it reaches the terminal (escape sequences).
    return _CONTROLS.sub("\N{REPLACEMENT CHARACTER}", "\n".join(lines))


_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def render_segments(segments: Sequence[Segment]) -> str:
    """A word diff as HTML: insertions in ``<ins>``, deletions in ``<del>``, all text escaped
    (the space after an edited run stays outside its mark; a deletion and the insertion that
    replaces it are kept a space apart).

    >>> render_segments([Segment("equal", "A <b> "), Segment("delete", "x"), Segment("insert", "y & z ")])
    'A &lt;b&gt; <del>x</del> <ins>y &amp; z</ins> '
    """
    tags = {"insert": "ins", "delete": "del"}
    parts: list[str] = []
    previous = "equal"
    for op, text in segments:
        if not text:
            continue
        if op not in tags:
            parts.append(_e(text))
        else:
            words = text.rstrip()
            space = " " if previous in tags and parts and not parts[-1][-1:].isspace() else ""
            parts.append(f"{space}<{tags[op]}>{_e(words)}</{tags[op]}>{_e(text[len(words) :])}")
        previous = op
    return "".join(parts)


def _article(change: ArticleChange) -> str:
    title = render_segments(change.title_diff) or '<span class="none">(no title)</span>'
    kind = f'<span class="kind {_e(change.kind)}">{_e(change.kind)}</span>'
    if change.kind == "removed":
        meta = (
            f"{kind} {_e(change.last_fetched_at)}: answered 404 or 410 after version {change.version_before} "
            f'({_e(change.first_fetched_at)}); <span class="minus">&minus;{change.chars_removed}</span> characters'
        )
        body = ""
    else:
        rounds = ", ".join(map(str, change.rounds))
        meta = (
            f'{kind} <span class="plus">+{change.chars_added}</span> '
            f'<span class="minus">&minus;{change.chars_removed}</span> characters &middot; '
            f"version {change.version_before} &rarr; {change.version_after} (of {change.versions}) &middot; "
            f"{_e(change.first_fetched_at)} &rarr; {_e(change.last_fetched_at)} &middot; "
            f"round{'s' if len(change.rounds) != 1 else ''} {_e(rounds)}"
        )
        text = render_segments(change.text_diff)
        body = f'<div class="diff">{text}</div>' if text else '<p class="none">The text did not change.</p>'
    return (
        f'<article class="{_e(change.kind)}">\n<h3>{title}</h3>\n<p class="url">{_e(change.url)}</p>\n'
        f'<p class="meta">{meta}</p>\n{body}\n</article>'
    )


def _section(heading: str, found: Sequence[ArticleChange]) -> str:
    if not found:
        return ""
    articles = "\n".join(_article(change) for change in found)
    return f'<section>\n<h2>{_e(heading)} <span class="count">({len(found)})</span></h2>\n{articles}\n</section>'


def content_security_policy(style: str) -> str:
    """Nothing from anywhere, no script at all: only the page's own style, by its hash."""
    return "; ".join(
        ["default-src 'none'", f"style-src {script_hash(style)}", "img-src 'none'", "base-uri 'none'"]
        + ["form-action 'none'"]
    )


def render_page(report: Report) -> str:
    """The whole page, as text: headline changes, then the other edits, then removed articles."""
    template = TEMPLATE.read_text(encoding="utf-8")
    match = re.search(r"<style>(.*?)</style>", template, re.DOTALL)
    if match is None:  # pragma: no cover - a developer's slip
        raise ValueError(f"{TEMPLATE}: no <style> element")
    found = report.changes
    headlines = [c for c in found if c.headline_changed]
    edits = [c for c in found if not c.headline_changed and c.kind != "removed"]
    removed = [c for c in found if c.kind == "removed"]
    sections = [
        _section("Headline changes", headlines),
        _section("Edited and restored", edits),
        _section("Removed", removed),
    ]
    body = "\n".join(s for s in sections if s) or '<p class="none">No article changed.</p>'
    header = f"<p>{_e(report.tally())}.</p>\n<p>{_e(report.rounds_line())}.</p>"
    parts = {
        "CSP": _e(content_security_policy(match.group(1))),
        "TITLE": _e(f"Article changes in {Path(report.store).name}"),
        "HEADER": header,
        "SECTIONS": body,
    }
    # One pass over the template: what is put in is never read again for markers.
    return re.sub(r"@@([A-Z]+)@@", lambda m: parts[m.group(1)], template)
