"""``scrapy graph``: export the link graph of the crawl store.

    scrapy graph -o graph.json [--articles-only] [--by-host] [--no-dangling] [-s STORE_PATH=crawl.sqlite3]
    scrapy graph -o graph.html [--max-nodes N] [--max-edges N]

The format follows the output's extension: .json (node-link, streamed), .csv (edge
list, streamed), .graphml or .gexf (for Gephi; built in memory), .html (the offline
interactive viewer, :mod:`crawler.viewer`; within ``VIEWER_MAX_NODES`` and
``VIEWER_MAX_EDGES``, or the options: past them it keeps the most linked nodes and says
what it cut, on stderr). See :mod:`crawler.store.graph`. A store that is missing or
unusable, or an output that cannot be written, is one ``error:`` line on stderr and exit
status 2.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.exceptions import UsageError

from crawler.cli import ProjectCommand
from crawler.store import Store, store_path
from crawler.store.graph import FORMATS, export_graph
from crawler.viewer.page import Drawing


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
        parser.add_argument(
            "--max-nodes",
            type=int,
            metavar="N",
            help="html: keep at most the N most linked nodes (default: the VIEWER_MAX_NODES setting)",
        )
        parser.add_argument(
            "--max-edges", type=int, metavar="N", help="html: keep at most N edges (default: VIEWER_MAX_EDGES)"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        if not opts.output:
            raise UsageError("an output file is required: -o FILE")
        assert self.settings is not None
        max_nodes = self.settings.getint("VIEWER_MAX_NODES") if opts.max_nodes is None else opts.max_nodes
        max_edges = self.settings.getint("VIEWER_MAX_EDGES") if opts.max_edges is None else opts.max_edges
        if max_nodes < 1 or max_edges < 0:
            raise UsageError("--max-nodes must be at least 1 and --max-edges at least 0")
        path = store_path(self.settings)
        with self.reporting(path, opts.output), Store(path, create=False) as store:
            stats = export_graph(
                store,
                opts.output,
                articles_only=opts.articles_only,
                by_host=opts.by_host,
                keep_dangling=not opts.no_dangling,
                max_nodes=max_nodes,
                max_edges=max_edges,
                drawing=Drawing.from_settings(self.settings),
            )
            print(f"{opts.output}: {stats.nodes} nodes, {stats.edges} edges ({stats.dangling} dangling)")
            if stats.cut is not None:
                print(f"{opts.output}: {stats.cut.describe()}", file=sys.stderr)
