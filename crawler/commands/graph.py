"""``scrapy graph``: export the link graph of the crawl store.

    scrapy graph -o graph.json [--articles-only] [--by-host] [--no-dangling] [-s STORE_PATH=crawl.sqlite3]

The format follows the output's extension: .json (node-link, streamed), .csv (edge
list, streamed), .graphml or .gexf (for Gephi; built in memory). See
:mod:`crawler.store.graph`. A store that is missing or unusable, or an output that cannot be
written, is one ``error:`` line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.store import Store, StoreError, store_path
from crawler.store.graph import FORMATS, export_graph


class Command(ScrapyCommand):
    requires_project = False
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "-o FILE [options]"

    def short_desc(self) -> str:
        return f"Export the link graph of the crawl store ({', '.join(FORMATS)})"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "-o",
            "--output",
            metavar="FILE",
            help=f"output file; its extension ({', '.join(FORMATS)}) chooses the format",
        )
        parser.add_argument("--articles-only", action="store_true", help="only links of kind article")
        parser.add_argument("--by-host", action="store_true", help="one node per host, edges weighted by link count")
        parser.add_argument("--no-dangling", action="store_true", help="drop link targets that were never fetched")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        if not opts.output:
            raise UsageError("an output file is required: -o FILE")
        path = store_path(self.settings)
        try:
            with Store(path, create=False) as store:
                stats = export_graph(
                    store,
                    opts.output,
                    articles_only=opts.articles_only,
                    by_host=opts.by_host,
                    keep_dangling=not opts.no_dangling,
                )
        except (StoreError, ValueError) as exc:
            self._fail(str(exc))
            return
        except sqlite3.DatabaseError as exc:
            self._fail(f"{path}: cannot read the store ({exc})")
            return
        except OSError as exc:
            self._fail(f"{opts.output}: cannot write ({exc.strerror or exc})")
            return
        print(f"{opts.output}: {stats.nodes} nodes, {stats.edges} edges ({stats.dangling} dangling)")

    def _fail(self, message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        self.exitcode = 2
