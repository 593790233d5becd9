"""``scrapy graph``: export the link graph of the crawl store.

    scrapy graph -o graph.json [--articles-only] [--by-host] [--no-dangling] [-s STORE_PATH=crawl.sqlite3]

The format follows the output's extension: .json (node-link, streamed), .csv (edge
list, streamed), .graphml or .gexf (for Gephi; built in memory). See
:mod:`crawler.store.graph`. A store that is missing or unusable, or an output that cannot be
written, is one ``error:`` line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse

from scrapy.exceptions import UsageError

from crawler.cli import ProjectCommand
from crawler.store import Store, store_path
from crawler.store.graph import FORMATS, export_graph


class Command(ProjectCommand):
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
        with self.reporting(path, opts.output), Store(path, create=False) as store:
            stats = export_graph(
                store,
                opts.output,
                articles_only=opts.articles_only,
                by_host=opts.by_host,
                keep_dangling=not opts.no_dangling,
            )
            print(f"{opts.output}: {stats.nodes} nodes, {stats.edges} edges ({stats.dangling} dangling)")
