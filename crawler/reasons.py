"""Why a crawl stopped: every finish reason the project gives, and the exit status it means.

Scrapy records a crawl's finish reason in the ``finish_reason`` stat: ``"finished"``
when there was nothing left to fetch, ``"shutdown"`` after Ctrl-C. The project adds its
own, each set by the one component that stops the crawl for it, and ``scrapy crawl``
(:mod:`crawler.commands.crawl`) turns the reason into an exit status scripts can act on:

* 0: finished, or stopped by hand;
* 1 (:data:`EXIT_CANNOT_START`): something must be fixed before the crawl can go on
  (the proxy, the store, WARC_DIR, a write the operating system refuses);
* 75 (:data:`EXIT_TRY_AGAIN_LATER`, sysexits.h ``EX_TEMPFAIL``): the same command,
  run again later, goes on where this one stopped (a mirror or Redis came back, disk
  space was freed).

>>> exit_status(MIRROR_UNREACHABLE), exit_status(DISK_FULL), exit_status(WRITE_FAILED)
(75, 75, 1)
>>> exit_status("finished"), exit_status("shutdown")
(0, 0)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ARCHIVE_ERROR",
    "DISK_FULL",
    "EXIT_CANNOT_START",
    "EXIT_TRY_AGAIN_LATER",
    "MIRROR_UNREACHABLE",
    "PROXY_UNREACHABLE",
    "REASONS",
    "REDIS_LOST",
    "REDIS_UNREACHABLE",
    "STORE_ERROR",
    "WRITE_FAILED",
    "FinishReason",
    "exit_status",
]

EXIT_CANNOT_START = 1
EXIT_TRY_AGAIN_LATER = 75  # sysexits.h EX_TEMPFAIL

PROXY_UNREACHABLE = "proxy_unreachable"
REDIS_UNREACHABLE = "redis_unreachable"
STORE_ERROR = "store_error"
ARCHIVE_ERROR = "archive_error"
WRITE_FAILED = "write_failed"
MIRROR_UNREACHABLE = "mirror_unreachable"
REDIS_LOST = "redis_lost"
DISK_FULL = "disk_full"


@dataclass(frozen=True)
class FinishReason:
    """One finish reason: its name (the ``finish_reason`` stat), exit status, and meaning."""

    name: str
    exit_status: int
    meaning: str


REASONS: dict[str, FinishReason] = {
    reason.name: reason
    for reason in (
        FinishReason(PROXY_UNREACHABLE, EXIT_CANNOT_START, "ONION_PROXY is down, refused the crawl, or is not a proxy"),
        FinishReason(REDIS_UNREACHABLE, EXIT_CANNOT_START, "REDIS_URL does not answer at start, or needs scrapy-redis"),
        FinishReason(STORE_ERROR, EXIT_CANNOT_START, "STORE_PATH cannot be opened or created"),
        FinishReason(ARCHIVE_ERROR, EXIT_CANNOT_START, "WARC_DIR or WARC_PREFIX cannot be used"),
        FinishReason(WRITE_FAILED, EXIT_CANNOT_START, "a write refused for good (read-only, permission, I/O error)"),
        FinishReason(MIRROR_UNREACHABLE, EXIT_TRY_AGAIN_LATER, "a mirror stayed unreachable past its patience"),
        FinishReason(REDIS_LOST, EXIT_TRY_AGAIN_LATER, "Redis stopped answering for SHARED_REDIS_PATIENCE"),
        FinishReason(DISK_FULL, EXIT_TRY_AGAIN_LATER, "no space left, or less than STORE_MIN_FREE_MB"),
    )
}


def exit_status(reason: str | None) -> int:
    """The exit status of a crawl that stopped for ``reason``: 0 for Scrapy's own reasons."""
    known = REASONS.get(reason or "")
    return known.exit_status if known is not None else 0
