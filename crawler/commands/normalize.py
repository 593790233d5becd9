"""``scrapy normalize``: print the canonical form of URLs, or rewrite a document.

    scrapy normalize URL [URL ...]          # or one URL per line on stdin
    scrapy normalize --explain URL          # and the rule behind each change
    scrapy normalize --text [--base URL] < page.html > clean.html

A line that is not a URL is reported on stderr (naming the line) and the exit
status is 1 at the end; the other lines are still printed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator

from crawler.cli import ProjectCommand
from crawler.url.normalize import InvalidUrl, Normalizer
from crawler.url.rewrite import Rewriter
from crawler.url.rules import RuleError, load_rules


class Command(ProjectCommand):
    def syntax(self) -> str:
        return "[options] [URL ...]"

    def short_desc(self) -> str:
        return "Print the canonical form of URLs (arguments or stdin), or rewrite a document"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--explain", action="store_true", help="show the rule behind each change")
        parser.add_argument("--text", action="store_true", help="rewrite the document on stdin to stdout")
        parser.add_argument("--base", metavar="URL", help="resolve relative URLs against URL")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        try:
            normalizer = Normalizer(load_rules(self.settings.get("RULES_DIR")))
        except RuleError as exc:
            self.fail(f"bad rules: {exc}")
            return
        if opts.text:
            try:
                self._rewrite_stdin(normalizer, opts.base)
            except InvalidUrl as exc:  # a bad --base; the text itself never fails
                self.fail(str(exc))
            return
        lines = args if args else _stdin_lines()
        failed = 0
        for number, line in _numbered(lines):
            try:
                print(self._normalize_line(normalizer, line, opts))
            except InvalidUrl as exc:
                failed += 1
                print(f"error: line {number}: {line!r}: {exc}", file=sys.stderr)
        sys.stdout.flush()
        if failed:
            self.exitcode = 1

    @staticmethod
    def _normalize_line(normalizer: Normalizer, line: str, opts: argparse.Namespace) -> str:
        if not opts.explain:
            return normalizer.normalize(line, opts.base)
        explanation = normalizer.explain(line, opts.base)
        details = [f"  {change}" for change in explanation.changes] or ["  (unchanged)"]
        return "\n".join([explanation.canonical, *details])

    @staticmethod
    def _rewrite_stdin(normalizer: Normalizer, base: str | None) -> None:
        # surrogateescape keeps bytes that are not UTF-8 exactly as they came.
        text = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
        output = Rewriter(normalizer).rewrite(text, base)
        sys.stdout.buffer.write(output.encode("utf-8", "surrogateescape"))
        sys.stdout.flush()


def _stdin_lines() -> Iterator[str]:
    for line in sys.stdin:
        yield line.rstrip("\r\n")


def _numbered(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, line.strip()
