"""``scrapy summary``: what the store holds (pages, articles, links by kind, most linked-to)."""

from __future__ import annotations

import argparse

from crawler.cli import ProjectCommand
from crawler.store.summary import format_summary, summarize


class Command(ProjectCommand):
    def short_desc(self) -> str:
        return "Summarize the store (STORE_PATH)"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        store = self.open_store()
        if store is None:
            return
        with store:
            print(format_summary(summarize(store)))
