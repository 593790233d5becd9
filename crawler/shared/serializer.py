"""Requests in Redis as JSON, never pickle (scrapy-redis: ``picklecompat.py``).

scrapy-redis pickles requests, so anyone who can write to Redis runs code on every worker;
here they are Scrapy's ``Request.to_dict`` as JSON, bytes tagged, and anything else is refused.

No proxy credentials go to Redis: a request that comes back to the queue (a retry, a request
put back after an outage) carries the proxy URL it was sent through, with the stream-isolation
or the user's own credentials in it, and an HTTP proxy's ``Proxy-Authorization`` header. They
are left out; ``ProxyMiddleware`` sets the proxy again on every request.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from crawler.exceptions import UnsafeRequest

logger = logging.getLogger(__name__)


class JsonRequestSerializer:
    """``dumps``/``loads`` for scrapy-redis queues: JSON only, bytes tagged as base64."""

    @staticmethod
    def dumps(obj: dict[str, Any]) -> str:
        return json.dumps(_to_json(_without_proxy(obj)), separators=(",", ":"), sort_keys=True)

    @staticmethod
    def loads(data: bytes | str) -> dict[str, Any]:
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError:
            raise UnsafeRequest("not UTF-8 text (a pickle?)") from None
        if not text.startswith("{"):
            raise UnsafeRequest("not a JSON object (a pickle?)")
        try:
            obj = json.loads(text, object_hook=_from_json)
        except json.JSONDecodeError as exc:
            raise UnsafeRequest(f"not valid JSON: {exc}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("url"), str):
            raise UnsafeRequest("not a request")
        return obj


# What a download puts on a request from the proxy setting (Scrapy's HttpProxyMiddleware).
_PROXY_META = frozenset({"proxy", "_auth_proxy", "_scheme_proxy"})
_PROXY_HEADERS = frozenset({b"proxy-authorization", "proxy-authorization"})


def _without_proxy(obj: dict[str, Any]) -> dict[str, Any]:
    meta, headers = obj.get("meta") or {}, obj.get("headers") or {}
    if _PROXY_META.isdisjoint(meta) and not any(_is_proxy_header(name) for name in headers):
        return obj
    return {
        **obj,
        "meta": {key: value for key, value in meta.items() if key not in _PROXY_META},
        "headers": {name: value for name, value in headers.items() if not _is_proxy_header(name)},
    }


def _is_proxy_header(name: Any) -> bool:
    return isinstance(name, bytes | str) and name.lower() in _PROXY_HEADERS


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        if value.isascii():  # header names and values, mostly: a third smaller than base64
            return {"$ascii": value.decode("ascii")}
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: _to_json(item) for key, item in value.items()}
        return {"$items": [[_to_json(key), _to_json(item)] for key, item in value.items()]}
    if isinstance(value, list | tuple):
        return [_to_json(item) for item in value]
    return value


def _from_json(obj: dict[str, Any]) -> Any:
    if set(obj) == {"$ascii"}:
        return obj["$ascii"].encode("ascii")
    if set(obj) == {"$bytes"}:
        return base64.b64decode(obj["$bytes"])
    if set(obj) == {"$items"}:
        return {_hashable(key): item for key, item in obj["$items"]}
    return obj


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key
