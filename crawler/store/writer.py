"""Group commit: every page is committed as soon as it arrives, many per transaction under load.

A crawl hands each page to :class:`StoreWriter` and waits for its commit, so a page
counts as stored only once it is on disk (a ``kill -9`` then costs at most the pages
still in flight). A thread does the writing: it takes every page waiting, up to
``batch_size``, and commits them in one transaction. Pages arriving one by one are
each committed at once; a burst shares a transaction, which keeps the write rate of
large batches (see ``bench/bench_store.py``).

>>> import asyncio
>>> from crawler.store.database import Check, Store
>>> writer = StoreWriter(Store(":memory:"), batch_size=100).start()
>>> async def store_one():
...     await writer.write({"url": "https://www.nytimes.com/a.html", "fetched_url": "http://x.onion/a.html",
...                         "mirror": "x.onion", "status": 200, "fetched_at": "2026-01-01T00:00:00+00:00"})
>>> asyncio.run(store_one())
>>> writer.store.counts()["pages"], writer.written
(1, 1)
>>> writer.stop()
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Mapping
from typing import Any

from crawler.store.database import Check, Store

__all__ = ["StoreWriter"]

logger = logging.getLogger(__name__)

_STOP = object()


class StoreWriter:
    """Writes pages to ``store`` from a thread of its own; :meth:`write` awaits the commit."""

    def __init__(self, store: Store, batch_size: int, round: int | None = None) -> None:
        self.store = store
        self.round = round  # the round whose checks the pages are (None: the store's newest)
        self.batch_size = max(1, batch_size)
        self.written = 0
        self.transactions = 0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)

    def start(self) -> StoreWriter:
        self._thread.start()
        return self

    async def write(self, page: Mapping[str, Any]) -> Check:
        """Store ``page``; returns what the check found once it is committed (raises what the write raised)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Check] = loop.create_future()
        self._queue.put((page, loop, done))
        return await done

    def stop(self) -> None:
        """Commit what is waiting, then stop the thread."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = any(entry is _STOP for entry in batch)
            pages = [entry for entry in batch if entry is not _STOP]
            if pages:
                self._commit(pages)
            if stopping:
                return

    def _commit(self, pages: list[tuple[Mapping[str, Any], asyncio.AbstractEventLoop, asyncio.Future[Check]]]) -> None:
        error: Exception | None = None
        outcomes: list[Check | None] = [None] * len(pages)
        try:
            outcomes = list(self.store.write([page for page, _, _ in pages], round=self.round))
            self.written += len(pages)
            self.transactions += 1
        except Exception as exc:  # noqa: BLE001 - handed to every page's writer
            error = exc
        for (_, loop, done), outcome in zip(pages, outcomes, strict=True):
            loop.call_soon_threadsafe(_settle, done, outcome, error)


def _settle(done: asyncio.Future[Check], outcome: Check | None, error: Exception | None) -> None:
    if done.done():
        return
    if error is None:
        assert outcome is not None
        done.set_result(outcome)
    else:
        done.set_exception(error)
