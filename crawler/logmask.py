"""Keep credentials in URLs (REDIS_URL, ONION_PROXY) out of every log line.

Scrapy logs its overridden settings at start; this record factory masks
``scheme://user:password@host`` in every message before any handler sees it.
User names go too: a SOCKS user name is the crawl's stream-isolation credential.

>>> mask_secrets("redis://:s3cret@10.0.0.5:6379/0 and socks5h://tor:pw@127.0.0.1:9050")
'redis://:***@10.0.0.5:6379/0 and socks5h://***:***@127.0.0.1:9050'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s'\"]*):(?P<password>[^@\s'\"]+)(?=@)")


def mask_secrets(text: str) -> str:
    return _USERINFO.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    user = "***" if match["user"] else ""
    return f"{match['scheme']}{user}:***"


def install() -> None:
    """Mask secrets in every log record, once per process."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "masks_secrets", False):
        return

    def masking_factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        if "://" in str(record.msg) or any("://" in str(arg) for arg in _args(record)):
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                return record
            record.msg, record.args = mask_secrets(message), None
        return record

    masking_factory.masks_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masking_factory)


def _args(record: logging.LogRecord) -> tuple[object, ...]:
    if isinstance(record.args, Mapping):
        return tuple(record.args.values())
    return tuple(record.args or ())
