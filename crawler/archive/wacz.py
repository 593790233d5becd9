"""A crawl's WARC files and store as one WACZ 1.1.1 package, built by py-wacz.

py-wacz (the Webrecorder reference implementation, also the validator) indexes the
WARC files into CDXJ, stores them uncompressed in the ZIP (as the spec asks, so that
replay can seek into them), and writes ``datapackage.json`` with every file's sha256.
This module gives it ``pages/pages.jsonl``, written from the store: one line per page
answered with a 2xx, under its canonical URL (which replays, through the revisit
records of :mod:`crawler.archive.archive`), with its title, fetch time and cleaned
text, so that ReplayWeb.page can list and search them. The pages file is streamed
from the store to disk and copied into the package as it is (``--copy-pages``), and
the WARC files are copied in chunks: neither sits in memory, whatever the crawl's size.

>>> pages_header("A crawl")
{'format': 'json-pages-1.0', 'id': 'pages', 'title': 'A crawl', 'hasText': True}
>>> page_line("https://www.nytimes.com/a.html", "2026-12-01T11:10:46+00:00", "A", "Text.")
{'url': 'https://www.nytimes.com/a.html', 'ts': '2026-12-01T11:10:46Z', 'title': 'A', 'text': 'Text.'}
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.archive.files import OPEN_SUFFIX
from crawler.exceptions import ExportError
from crawler.store import Store

__all__ = ["WaczStats", "page_line", "pages_header", "warc_files", "write_wacz"]


@dataclass(frozen=True)
class WaczStats:
    pages: int
    warcs: int
    bytes: int


def warc_files(sources: Iterable[str | Path]) -> list[Path]:
    """The ``.warc.gz`` files named, or found in the folders named (files still being
    written, ``.open``, are left out), in name order: several workers' series together."""
    found: set[Path] = set()
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found.update(p for p in path.glob("*.warc.gz") if p.is_file())
        elif path.is_file() and not path.name.endswith(OPEN_SUFFIX):
            found.add(path)
        else:
            raise ExportError(f"{path}: no such WARC file or folder")
    return sorted(found, key=lambda p: (p.name, str(p)))


def pages_header(title: str) -> dict[str, Any]:
    return {"format": "json-pages-1.0", "id": "pages", "title": title, "hasText": True}


def page_line(url: str, fetched_at: str, title: str, text: str) -> dict[str, Any]:
    return {"url": url, "ts": fetched_at.replace("+00:00", "Z"), "title": title, "text": text}


def write_wacz(store: Store, warcs: list[Path], output: str | Path, title: str = "Onion mirror crawl") -> WaczStats:
    """Write ``output`` (a .wacz) from ``warcs`` and the pages of ``store``. The file is
    written beside ``output`` and renamed into place when complete."""
    if not warcs:
        raise ExportError("no WARC files to package (crawl with -s WARC_DIR=DIR, or name them with --warc)")
    try:
        from wacz.main import main as wacz_main
    except ImportError:
        raise ExportError("py-wacz is not installed: pip install 'onion-news-crawler[wacz]'") from None
    output = Path(output)
    names = [p.name for p in warcs]
    if len(set(names)) != len(names):
        raise ExportError("two WARC files share a name; a WACZ keeps one folder of them")
    with tempfile.TemporaryDirectory(dir=output.parent or ".", prefix=".wacz-") as folder:
        pages_path = Path(folder) / "pages.jsonl"
        count = _write_pages(store, pages_path, title)
        partial = Path(folder) / output.name
        arguments = ["create", "-o", str(partial), "-p", str(pages_path), "--copy-pages", "--title", title]
        chatter = io.StringIO()
        with contextlib.redirect_stdout(chatter):
            status = wacz_main([*arguments, *map(str, warcs)])
        if status:
            raise ExportError(f"{output}: py-wacz could not build the package: {chatter.getvalue().strip()}")
        os.replace(partial, output)
    return WaczStats(count, len(warcs), output.stat().st_size)


def _write_pages(store: Store, path: Path, title: str) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as file:
        file.write(json.dumps(pages_header(title)) + "\n")
        for url, fetched_at, page_title, text in store.answered_pages():
            file.write(json.dumps(page_line(url, fetched_at, page_title, text), ensure_ascii=False) + "\n")
            count += 1
    return count
