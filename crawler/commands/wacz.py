"""``scrapy wacz``: package the crawl's WARC files and store as one WACZ file.

    scrapy wacz -o crawl.wacz [--warc DIR_OR_FILE ...] [--title TITLE] [-s STORE_PATH=crawl.sqlite3]

Reads the WARC files in ``WARC_DIR`` (or those named with ``--warc``, which may be
given several times: one folder per worker of a shared crawl) and the pages of the
store at ``STORE_PATH``. See :mod:`crawler.archive.wacz`. A store or WARC file that
is missing or unusable, or an output that cannot be written, is one ``error:`` line
on stderr and exit status 2.
"""

from __future__ import annotations

import argparse

from scrapy.exceptions import UsageError

from crawler.archive.wacz import warc_files, write_wacz
from crawler.cli import ProjectCommand
from crawler.store import Store, store_path


class Command(ProjectCommand):
    def syntax(self) -> str:
        return "-o FILE.wacz [options]"

    def short_desc(self) -> str:
        return "Package the crawl's WARC files and pages as one WACZ file"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", metavar="FILE", help="the .wacz file to write")
        parser.add_argument(
            "--warc",
            action="append",
            metavar="PATH",
            help="a WARC file or a folder of them (repeatable; default: WARC_DIR)",
        )
        parser.add_argument("--title", default="Onion mirror crawl", help="the package's title")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        if not opts.output:
            raise UsageError("an output file is required: -o FILE.wacz")
        assert self.settings is not None
        sources = opts.warc or ([self.settings["WARC_DIR"]] if self.settings["WARC_DIR"] else [])
        path = store_path(self.settings)
        with self.reporting(path, opts.output), Store(path, create=False) as store:
            stats = write_wacz(store, warc_files(sources), opts.output, opts.title)
            print(f"{opts.output}: {stats.pages} pages, {stats.warcs} WARC files, {stats.bytes} bytes")
