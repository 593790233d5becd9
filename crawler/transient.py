"""What counts as a transient failure: one table for the store, the retries and the outage waits.

A fetch that failed transiently is worth another try, and never counts as the page's answer:

* the store (:mod:`crawler.store.database`) never lets it make a page done, nor
  overwrite a page answered for good, and the next round fetches it again;
* Scrapy's RetryMiddleware tries the statuses of :data:`RETRY_HTTP_CODES` again at once
  (the settings take them from here), up to ``RETRY_TIMES``;
* the outage middleware (:mod:`crawler.tor.outage`) waits as long as ``Retry-After``
  asks on the statuses of :data:`RETRY_AFTER_STATUSES`.

No response at all (Tor could not reach the onion service, a reset, a timeout) is
transient too; the outage middleware decides whether the mirror as a whole is down.

>>> [is_transient(s) for s in (None, 200, 304, 404, 410, 408, 429, 500, 503, 599)]
[True, False, False, False, False, True, True, True, True, True]
>>> set(RETRY_HTTP_CODES) <= {s for s in range(600) if is_transient(s)}
True
"""

from __future__ import annotations

__all__ = ["RETRY_AFTER_STATUSES", "RETRY_HTTP_CODES", "TRANSIENT_STATUSES", "is_transient", "transient_sql"]

# Besides no response and every 5xx: Request Timeout, Too Many Requests (RFC 9110 15.5.9, RFC 6585 4).
TRANSIENT_STATUSES = (408, 429)
# Retried at once by Scrapy: the 5xx a gateway or an overloaded server answers (522, 524: Cloudflare's
# timeouts), and the two above. Other 5xx (501 Not Implemented, 505...) wait for the next round.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, *TRANSIENT_STATUSES]
# A Retry-After on these is honoured (RFC 9110 10.2.3), up to RETRY_AFTER_MAX seconds.
RETRY_AFTER_STATUSES = (429, 503)


def is_transient(status: int | None) -> bool:
    """True when a fetch that ended with ``status`` (None: no response) is worth another try."""
    return status is None or status >= 500 or status in TRANSIENT_STATUSES


def transient_sql(table: str) -> str:
    """:func:`is_transient` of ``table``'s ``status`` column, in SQL (``table``: an alias).

    >>> transient_sql("p")
    '(p.status IS NULL OR p.status >= 500 OR p.status IN (408, 429))'
    """
    statuses = ", ".join(map(str, TRANSIENT_STATUSES))
    return f"({table}.status IS NULL OR {table}.status >= 500 OR {table}.status IN ({statuses}))"
