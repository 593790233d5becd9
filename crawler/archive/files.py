"""A series of WARC files in ``WARC_DIR``: names, rotation, crash safety, payload dedup.

Files are named the way Heritrix names them, ``PREFIX-TIMESTAMP-SERIAL-HOST.warc.gz``,
where TIMESTAMP is the 17-digit time the file was opened and HOST is this process's
id and a random token (``4242.3f9a0c1e``), not the machine's name: WARC files get
shared, and the token still keeps two workers' series apart. A file is written as
``NAME.warc.gz.open`` and renamed to ``NAME.warc.gz`` when it is complete (rotated
at ``WARC_MAX_SIZE``, or closed with the crawl), as Heritrix does.

Every record is gzip-compressed on its own (a gzip member per record) and written
with one ``write``. A process killed mid-write can still leave a partial last
record (the kernel may stop a large write at a page boundary), so a series opened
on a ``WARC_DIR`` that holds ``.open`` files from a killed run first cuts each one
back to its last complete record and renames it: every file then reads cleanly up
to its end, and the new run writes new files. A writer holds an exclusive lock
(``flock``) on its ``.open`` file, which the kernel drops when the process dies, so
the files of other live workers sharing the folder are told apart and left alone.

Identical payloads: each response's payload digest is remembered, with the record
that holds it, in ``digests-HOST.txt`` beside the files (one line per payload, so a
run killed mid-line loses at most that line). A later response with the same digest,
in this run or a resumed one, from another worker's series too, is written as a
revisit that refers to the first.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from crawler.archive.records import WarcWriter

__all__ = ["OPEN_SUFFIX", "Stored", "WarcFiles", "complete_length"]

logger = logging.getLogger(__name__)

OPEN_SUFFIX = ".open"
_DIGESTS_GLOB = "digests-*.txt"


@dataclass(frozen=True)
class Stored:
    """Where a record went: its id, target URI and date (what a revisit refers to), its file."""

    record_id: str
    uri: str
    date: str
    filename: str


class WarcFiles:
    """Appends records to the current file of this process's series, rotating by size."""

    def __init__(self, folder: str | Path, prefix: str, max_size: int, warcinfo: Any) -> None:
        """``warcinfo(filename)`` gives the warcinfo record that opens each file."""
        self.folder = Path(folder)
        self.prefix = prefix
        self.max_size = max_size
        self.host = f"{os.getpid()}.{secrets.token_hex(4)}"
        self._warcinfo = warcinfo
        self._serial = 0
        self._path: Path | None = None
        self._fd: int | None = None
        self._size = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.folder.glob(f"*.warc.gz{OPEN_SUFFIX}")):
            _close_if_abandoned(path)
        self.payloads: dict[str, Stored] = _read_digests(self.folder)
        self._digests = os.open(self.folder / f"digests-{self.host}.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    # -- writing -------------------------------------------------------------------

    def write(self, *records: Any) -> list[Stored]:
        """Write ``records`` (warcio records) to the current file, together, and say where."""
        buffer = BytesIO()
        writer = WarcWriter(buffer, gzip=True)
        for record in records:
            writer.write_record(record)
        data = buffer.getvalue()
        if self._fd is None or (self._size and self._size + len(data) > self.max_size):
            self._rotate()
        assert self._fd is not None and self._path is not None
        try:
            _write_all(self._fd, data)
        except OSError:
            self._cut_and_close()
            raise
        self._size += len(data)
        name = self._path.name.removesuffix(OPEN_SUFFIX)
        return [
            Stored(
                r.rec_headers.get_header("WARC-Record-ID"),
                r.rec_headers.get_header("WARC-Target-URI") or "",
                r.rec_headers.get_header("WARC-Date"),
                name,
            )
            for r in records
        ]

    def remember_payload(self, digest: str, stored: Stored) -> None:
        """Record that ``digest``'s payload is in ``stored``: later copies become revisits."""
        self.payloads[digest] = stored
        line = f"{digest} {stored.record_id} {stored.date} {stored.filename} {stored.uri}\n"
        end = os.fstat(self._digests).st_size
        try:
            _write_all(self._digests, line.encode("utf-8", "surrogateescape"))
        except OSError:
            os.ftruncate(self._digests, end)  # no half line: a later copy is archived whole instead
            raise

    def close(self) -> None:
        self._close_file()
        os.close(self._digests)

    def _cut_and_close(self) -> None:
        """After a write that failed part way (a full disk): cut the file back to its last
        complete record and close it, so that it reads cleanly to its end whatever follows.
        Shrinking a file needs no space. The next write opens a new file."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self._size)
            self._close_file()
        except OSError as exc:  # still an .open file: the next run cuts it back (see _close_if_abandoned)
            logger.debug("Could not close %s after a failed write: %s", self._path, exc)
            os.close(self._fd)
            self._fd = self._path = None

    # -- files -----------------------------------------------------------------------

    def _rotate(self) -> None:
        self._close_file()
        self._serial += 1
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")[:17]
        name = f"{self.prefix}-{stamp}-{self._serial:05d}-{self.host}.warc.gz"
        self._path = self.folder / f"{name}{OPEN_SUFFIX}"
        # Created under another name and locked before it is an .open file, so that no other
        # process of a shared WARC_DIR takes it for one a killed run left.
        creating = self._path.with_name(f"{self._path.name}.new")
        self._fd = os.open(creating, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        creating.rename(self._path)
        buffer = BytesIO()
        WarcWriter(buffer, gzip=True).write_record(self._warcinfo(name))
        _write_all(self._fd, buffer.getvalue())
        self._size = len(buffer.getvalue())

    def _close_file(self) -> None:
        if self._fd is None or self._path is None:
            return
        os.fsync(self._fd)
        self._path.rename(self._path.with_name(self._path.name.removesuffix(OPEN_SUFFIX)))
        os.close(self._fd)  # and with it the lock
        self._fd = self._path = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def complete_length(path: Path) -> int:
    """The length of the longest prefix of a ``.warc.gz`` file made of complete gzip
    members (records), read in chunks: the file is never in memory whole."""
    good = position = 0
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            while chunk:
                try:
                    decompressor.decompress(chunk)
                except zlib.error:
                    return good
                if not decompressor.eof:
                    position += len(chunk)
                    break
                position += len(chunk) - len(decompressor.unused_data)
                good = position
                chunk = decompressor.unused_data
                decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return good


def _close_if_abandoned(path: Path) -> None:
    """A file left open by a killed run (no live process holds its lock): cut it to its
    last complete record, and close it. A file another live worker writes is left alone."""
    with open(path, "r+b") as file:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # a live writer's
        size = path.stat().st_size
        good = complete_length(path)
        if good < size:
            file.truncate(good)
            logger.warning(
                "%s: cut an incomplete last record (%d bytes) left by a stopped crawl", path.name, size - good
            )
        path.rename(path.with_name(path.name.removesuffix(OPEN_SUFFIX)))


def _read_digests(folder: Path) -> dict[str, Stored]:
    payloads: dict[str, Stored] = {}
    for path in sorted(folder.glob(_DIGESTS_GLOB)):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split(" ", 4)
            if len(parts) == 5 and parts[0] not in payloads:
                digest, record_id, date, filename, uri = parts
                payloads[digest] = Stored(record_id, uri, date, filename)
    return payloads
