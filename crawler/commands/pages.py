"""``scrapy pages -o pages.jsonl``: export the stored pages again, for other tools.

The format follows the extension, with Scrapy's own item exporters: ``.jsonl``,
``.json``, ``.csv``, ``.xml``. Works on a store written by a crawl that ran in
several resumed parts: every page is there once, by canonical URL.
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

EXPORTERS: dict[str, Any] = {  # Scrapy's exporter classes, by extension
    ".jsonl": JsonLinesItemExporter,
    ".json": JsonItemExporter,
    ".csv": CsvItemExporter,
    ".xml": XmlItemExporter,
}


class Command(ProjectCommand):
    def syntax(self) -> str:
        return "-o FILE [--no-html]"

    def short_desc(self) -> str:
        return "Export the stored pages (STORE_PATH) as .jsonl, .json, .csv or .xml"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", required=True, metavar="FILE", help="output file")
        parser.add_argument("--no-html", action="store_true", help="leave out the normalized HTML")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        output = Path(opts.output)
        exporter_class = EXPORTERS.get(output.suffix.lower())
        if exporter_class is None:
            self.fail(f"{output}: use one of {', '.join(EXPORTERS)}")
            return
        store = self.open_store()
        if store is None:
            return
        count = 0
        with store, output.open("wb") as handle:
            exporter = exporter_class(handle, encoding="utf-8")
            exporter.start_exporting()
            for page in store.pages():
                if opts.no_html:
                    page.pop("html", None)
                if exporter_class is CsvItemExporter:
                    page = {k: json.dumps(v) if isinstance(v, list) else v for k, v in page.items()}
                exporter.export_item(page)
                count += 1
            exporter.finish_exporting()
        print(f"{output}: {count} pages")
