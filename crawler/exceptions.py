"""The project's exceptions, in one place.

:class:`CrawlerError` is the base of every error the project raises on purpose;
the Scrapy-facing ones also derive from the Scrapy exception they stand for.
"""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest

__all__ = ["CrawlerError", "Postponed"]


class CrawlerError(Exception):
    """Base of the project's own errors."""


class Postponed(IgnoreRequest, CrawlerError):
    """A request that was not fetched because its mirror stayed unreachable or the crawl
    is stopping. It is no answer: nothing is recorded, and a resumed crawl fetches it."""
