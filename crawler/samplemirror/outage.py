"""An outage switch: the mirror becomes unreachable for a while, the way Tor shows it.

An :class:`Outage` is shared by a :class:`~.server.MirrorServer` and the proxies in
front of it. After the server has answered ``after_articles`` article requests
with 200, the outage starts: the proxies cut every connection they relay, answer
new SOCKS connects with ``socks_reply`` (0x04 "host unreachable" by default; Tor's
extended codes 0xF0-0xF7 work too) and HTTP requests with privoxy's ``503
Forwarding failure``, for ``seconds`` (``math.inf``: until :meth:`Outage.end`).

>>> outage = Outage(after_articles=1, seconds=60)
>>> outage.active
False
>>> outage.article_served(); outage.active
True
>>> outage.end(); outage.active
False
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

HOST_UNREACHABLE = 0x04

PRIVOXY_FAILURE_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>503 - Forwarding failure (Privoxy@localhost)</title></head>\n"
    "<body><h1>503 - Forwarding failure</h1><p>Privoxy was unable to socks5t-forward your request "
    "{url} through 127.0.0.1: SOCKS5 request failed</p></body></html>\n"
)


class Outage:
    """The mirror unreachable for ``seconds`` once ``after_articles`` articles were served."""

    def __init__(
        self,
        after_articles: int = 0,
        seconds: float = math.inf,
        socks_reply: int = HOST_UNREACHABLE,
        start_delay: float = 0.0,
    ) -> None:
        self.after_articles = after_articles
        self.seconds = seconds
        self.socks_reply = socks_reply
        self.start_delay = start_delay  # lets the response that triggered it reach the client first
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self._served = 0
        self._lock = threading.Lock()
        self._on_start: list[Callable[[], None]] = []

    @property
    def active(self) -> bool:
        """True while the mirror is unreachable."""
        if self.started_at is None:
            return False
        if self.ended_at is None and time.monotonic() - self.started_at >= self.seconds:
            self.ended_at = self.started_at + self.seconds
        return self.ended_at is None

    @property
    def over(self) -> bool:
        """True once the outage has started and ended."""
        return self.started_at is not None and not self.active

    def on_start(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the outage starts (the proxies cut their connections)."""
        self._on_start.append(callback)

    def article_served(self) -> None:
        """The server answered an article request with 200 (it counts them)."""
        with self._lock:
            self._served += 1
            due = self.started_at is None and self._served == self.after_articles
        if due:
            if self.start_delay > 0:
                threading.Timer(self.start_delay, self.start).start()
            else:
                self.start()

    def start(self) -> None:
        """Start the outage now (idempotent)."""
        with self._lock:
            if self.started_at is not None:
                return
            self.started_at = time.monotonic()
        for callback in self._on_start:
            callback()

    def end(self) -> None:
        """End the outage now."""
        if self.started_at is None:
            self.started_at = time.monotonic()
        self.ended_at = time.monotonic()
