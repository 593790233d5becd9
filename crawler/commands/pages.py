"""``scrapy pages -o pages.jsonl``: export the stored pages again, for other tools.

The format follows the extension, with Scrapy's own item exporters: ``.jsonl``,
``.json``, ``.csv``, ``.xml``. Works on a store written by a crawl that ran in
several resumed parts: every page is there once, by canonical URL.

    scrapy pages -o pages.jsonl                     each page as it is now (its latest state)
    scrapy pages -o versions.jsonl --versions       every version of every article, one item each
    scrapy pages -o then.jsonl --at 2026-01-31      each page as it stood then (its latest version
                                                    fetched at or before that day's end, or that instant)

See :mod:`crawler.store.changes` for what ``--versions`` and ``--at`` read.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from scrapy.exporters import (
    CsvItemExporter,
    JsonItemExporter,
    JsonLinesItemExporter,
    XmlItemExporter,
)

from crawler.cli import ProjectCommand
from crawler.exceptions import ExportError
from crawler.store.changes import iter_versions, pages_at, parse_when

EXPORTERS: dict[str, Any] = {  # Scrapy's exporter classes, by extension
    ".jsonl": JsonLinesItemExporter,
    ".json": JsonItemExporter,
    ".csv": CsvItemExporter,
    ".xml": XmlItemExporter,
}


class Command(ProjectCommand):
    def syntax(self) -> str:
        return "-o FILE [--no-html] [--versions | --at DATE]"

    def short_desc(self) -> str:
        return "Export the stored pages (STORE_PATH) as .jsonl, .json, .csv or .xml"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", required=True, metavar="FILE", help="output file")
        parser.add_argument("--no-html", action="store_true", help="leave out the normalized HTML")
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--versions", action="store_true", help="export every version of every article, one item per version"
        )
        which.add_argument(
            "--at",
            metavar="DATE",
            help="export each page as it stood at DATE (ISO date: its end; or timestamp): its latest version then",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        output = Path(opts.output)
        exporter_class = EXPORTERS.get(output.suffix.lower())
        if exporter_class is None:
            self.fail(f"{output}: use one of {', '.join(EXPORTERS)}")
            return
        try:
            at = parse_when(opts.at, end_of_day=True) if opts.at else None
        except ExportError as exc:
            self.fail(f"--at: {exc}")
            return
        store = self.open_store()
        if store is None:
            return
        count = 0
        with store, output.open("wb") as handle:
            exporter = exporter_class(handle, encoding="utf-8")
            exporter.start_exporting()
            items = iter_versions(store) if opts.versions else store.pages() if at is None else pages_at(store, at)
            for page in items:
                if opts.no_html:
                    page.pop("html", None)
                if exporter_class is CsvItemExporter:
                    page = {k: json.dumps(v) if isinstance(v, list) else v for k, v in page.items()}
                exporter.export_item(page)
                count += 1
            exporter.finish_exporting()
        what = "versions" if opts.versions else "pages" if at is None else f"pages as of {opts.at}"
        print(f"{output}: {count} {what}")
