"""``scrapy merge -o OUT IN [IN ...]``: merge the stores of several crawl workers.

    scrapy merge -o crawl.sqlite3 worker1.sqlite3 worker2.sqlite3

One page per canonical URL; where inputs overlap, the rule of :mod:`crawler.store.merge`
picks the winner, whatever the order of the inputs. OUT is created when missing; when
it exists, it takes part in the merge (merging again changes nothing). A missing,
corrupt or foreign input, no input, or an output that is also an input is one
``error:`` line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse

from crawler.cli import ProjectCommand
from crawler.store.merge import merge_stores


class Command(ProjectCommand):
    def syntax(self) -> str:
        return "-o OUT IN [IN ...]"

    def short_desc(self) -> str:
        return "Merge the crawl stores of several workers into one"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", metavar="OUT", help="the merged store (created when missing)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not opts.output:
            self.fail("an output store is required: -o OUT")
            return
        if not args:
            self.fail("no input stores to merge: scrapy merge -o OUT IN [IN ...]")
            return
        with self.reporting(opts.output):
            stats = merge_stores(opts.output, args)
            print(
                f"{opts.output}: {stats.pages} pages, {stats.links} links, {stats.aliases} aliases "
                f"from {stats.stores} stores ({stats.conflicts} URLs in more than one)"
            )
