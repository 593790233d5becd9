"""``scrapy summary``: what the store holds (pages, articles, links by kind, most linked-to)."""

from __future__ import annotations

import argparse
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand

from crawler.commands._store import open_store
from crawler.store.summary import format_summary, summarize


class Command(ScrapyCommand):
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def short_desc(self) -> str:
        return "Summarize the store (STORE_PATH)"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        store = open_store(self.settings)
        if store is None:
            self.exitcode = 2
            return
        with store:
            print(format_summary(summarize(store)))
