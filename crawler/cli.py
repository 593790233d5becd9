"""The command line: ``onion-crawler``, and the base of the project's scrapy commands.

``onion-crawler`` runs the project's scrapy commands from any folder.

``scrapy crawl`` needs a Scrapy project: inside this checkout ``scrapy.cfg`` names
``crawler.settings``; anywhere else, Scrapy's own ``SCRAPY_SETTINGS_MODULE=crawler.settings``
does. ``onion-crawler`` sets that for you (unless it is set already) and runs scrapy::

    onion-crawler crawl mirror -a start_urls=https://www.nytimesn7...onion/ -s JOBDIR=job
    onion-crawler demo
    onion-crawler graph -o graph.json
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand

from crawler.exceptions import CrawlerError, StoreError
from crawler.store import Store, store_path

EXIT_FAILED = 2


def project_settings() -> dict[str, Any]:
    """``crawler.settings`` as a dict (what ``Settings.setmodule`` reads from it)."""
    from crawler import settings

    return {name: getattr(settings, name) for name in dir(settings) if name.isupper()}


class ProjectCommand(ScrapyCommand):
    """Base of the project's store and URL commands (entry points: they run in any folder)."""

    requires_project = False
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {**project_settings(), "LOG_ENABLED": False}

    def fail(self, message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        self.exitcode = EXIT_FAILED

    @contextmanager
    def reporting(self, store: str, output: str | None = None) -> Iterator[None]:
        """Turn what can go wrong with a store (and an output file) into one line and exit status 2."""
        try:
            yield
        except CrawlerError as exc:
            self.fail(str(exc))
        except sqlite3.DatabaseError as exc:
            self.fail(f"{store}: cannot use the store ({exc})")
        except OSError as exc:
            self.fail(f"{output or store}: cannot write ({exc.strerror or exc})")

    def open_store(self) -> Store | None:
        """The store named by STORE_PATH, or None after saying why it cannot be used."""
        try:
            return Store(store_path(self.settings), create=False)
        except StoreError as exc:
            self.fail(str(exc))
            return None


SETTINGS_MODULE = "crawler.settings"


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
    from scrapy.cmdline import execute

    execute(["onion-crawler", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
