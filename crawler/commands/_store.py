"""Shared by the commands that read the store: open it or explain why not."""

from __future__ import annotations

import sys

from scrapy.settings import BaseSettings

from crawler.store import Store, StoreError, store_path


def open_store(settings: BaseSettings) -> Store | None:
    """The store named by STORE_PATH, or None after printing why it cannot be used."""
    path = store_path(settings)
    try:
        return Store(path, create=False)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
