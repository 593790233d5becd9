"""Wait out a mirror that Tor cannot reach, instead of recording its pages as failed.

:class:`MirrorOutageMiddleware` (a downloader middleware) tells a failed page from
an unreachable mirror. When a request gets no answer from the mirror (a SOCKS
error from Tor, privoxy's ``503 Forwarding failure``, a refused, reset or timed
out connection: :func:`crawler.tor.replies.unreachable_reason`), it asks the mirror
directly with a *probe* (``/robots.txt``, through the same proxy):

* the mirror answers: the failure was the page's own; Scrapy's RetryMiddleware
  retries it, and after ``RETRY_TIMES`` the page is recorded as failed
  (transiently: a resumed crawl fetches it again);
* it does not: the mirror is unreachable. Every request for it waits (the one
  that failed goes back to the queue, uncounted by RetryMiddleware; none is
  recorded), the mirror is probed with backoff (``MIRROR_PROBE_DELAY`` growing to
  ``MIRROR_PROBE_MAX_DELAY``), and the crawl resumes at full speed when it answers.
  The log says so once when it starts and once when it ends.

A mirror unreachable for ``MIRROR_PATIENCE`` seconds, or for a reason no wait cures
(Tor's "client authorization" and "bad address" replies), stops the crawl with one
message and the finish reason ``mirror_unreachable``; the requests that waited raise
:class:`Postponed` and are not recorded. A resumed crawl fetches
them (see :mod:`crawler.rounds`).

A mirror that has not answered once since the crawl started (no HTTP response of any
status, robots.txt and probes included) is not a flap: it is more likely gone, or
moved. It gets ``MIRROR_START_PATIENCE`` instead, and the message that stops the crawl
says what Tor said, how to check the site's mirrors (``scrapy mirrors --check --site
NAME``), and which other mirrors of the site the rules know, as start URLs to try.

``Retry-After`` on a 429 or 503 from the mirror pauses its requests for that long
(capped at ``RETRY_AFTER_MAX``) before RetryMiddleware's retry goes out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from crawler.exceptions import CrawlerError
from crawler.reasons import MIRROR_UNREACHABLE
from crawler.tor.replies import Unreachable, proxy_refusal, unreachable_reason
from crawler.transient import RETRY_AFTER_STATUSES
from crawler.url.normalize import normalizer_for

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from crawler.url.rules import Mirror, Site

__all__ = ["MirrorOutageMiddleware", "Postponed", "other_mirrors"]

logger = logging.getLogger(__name__)

PROBE = "mirror_probe"  # request.meta key of a probe
_WAKE_SECONDS = 1.0  # waiters look at the engine (closing?) this often


class Postponed(IgnoreRequest, CrawlerError):
    """A request that was not fetched because what it needs (its mirror, or the shared
    crawl's Redis) stayed unreachable, or the crawl is stopping. It is no answer: nothing
    is recorded, and a resumed crawl fetches it. It is a Scrapy ``IgnoreRequest`` so that
    Scrapy does not log it as a download error; the rest of the project's exceptions are
    in :mod:`crawler.exceptions`, which imports no Scrapy."""


@dataclass
class MirrorState:
    """What the crawl knows of one mirror host's reachability."""

    origin: str  # scheme://host[:port], where probes go
    host: str = ""  # the host name, lower case
    answered: bool = False  # any HTTP response from the mirror itself, of any status, since the crawl started
    down_since: float | None = None  # time.monotonic() of the outage's start
    down_since_wall: datetime | None = None
    reason: Unreachable | None = None
    hold_until: float = 0.0  # Retry-After: no request before this monotonic time
    gave_up: bool = False
    probe: asyncio.Future[Unreachable | None] | None = None
    watcher: asyncio.Task[None] | None = None
    reopened: asyncio.Event = field(default_factory=asyncio.Event)  # wakes the waiters when it answers

    @property
    def down(self) -> bool:
        return self.down_since is not None


class MirrorOutageMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("MIRROR_OUTAGE_ENABLED"):
            raise NotConfigured("MIRROR_OUTAGE_ENABLED is off: Scrapy's RetryMiddleware alone")
        self.crawler = crawler
        self.patience = settings.getfloat("MIRROR_PATIENCE")
        self.start_patience = settings.getfloat("MIRROR_START_PATIENCE")
        self.probe_delay = settings.getfloat("MIRROR_PROBE_DELAY")
        self.probe_max_delay = settings.getfloat("MIRROR_PROBE_MAX_DELAY")
        self.probe_timeout = settings.getfloat("MIRROR_PROBE_TIMEOUT")
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX")
        self.mirrors: dict[str, MirrorState] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MirrorOutageMiddleware:
        return cls(crawler)

    # -- the downloader middleware interface --------------------------------------

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if request.meta.get(PROBE):
            return
        await self._wait_until_open(self._state(request))

    async def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if request.meta.get(PROBE):
            return response
        state = self._state(request)
        refusal = proxy_refusal(response)
        if refusal is not None:
            requeued = await self._no_answer(state, request, refusal)
            return requeued if requeued is not None else response
        state.answered = True  # the mirror's own answer (a 404 or 503 too): its onion service is up
        if response.status in RETRY_AFTER_STATUSES:
            self._honour_retry_after(state, response)
        return response

    async def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | None:
        if request.meta.get(PROBE):
            return None
        unreachable = unreachable_reason(exception)
        if unreachable is None:
            return None
        return await self._no_answer(self._state(request), request, unreachable)

    # -- deciding ---------------------------------------------------------------

    def _state(self, request: Request) -> MirrorState:
        parts = urlparse_cached(request)
        origin = f"{parts.scheme}://{parts.netloc}"
        key = (parts.hostname or "").lower()
        state = self.mirrors.get(key)
        if state is None:
            state = self.mirrors[key] = MirrorState(origin, key)
        else:
            state.origin = origin  # the mirror may have moved us to https
        return state

    async def _no_answer(self, state: MirrorState, request: Request, unreachable: Unreachable) -> Request | None:
        """None when the page itself failed (the mirror answers a probe); else the
        request again, to wait for the mirror (it is then known to be unreachable)."""
        if unreachable.permanent:
            self._give_up(state, unreachable)
        if not state.down and not state.gave_up:
            verdict = await self._probe_once(state)
            if verdict is None:
                self.crawler.stats.inc_value("mirror/failures_of_the_page_itself")
                return None
            if not state.down:  # the first of the failures that shared this probe
                self._mark_down(state, unreachable if unreachable.socks_code is not None else verdict)
        if state.gave_up:
            raise Postponed(f"{request.url}: not fetched, {state.origin} is unreachable")
        self.crawler.stats.inc_value("mirror/requests_waiting_for_mirror")
        return request.replace(dont_filter=True)

    def _patience(self, state: MirrorState) -> tuple[float, str]:
        """How long ``state``'s mirror may stay unreachable, and the setting that says so."""
        if state.answered:
            return self.patience, "MIRROR_PATIENCE"
        return self.start_patience, "MIRROR_START_PATIENCE"

    def _honour_retry_after(self, state: MirrorState, response: Response) -> None:
        delay = _retry_after_seconds((response.headers.get(b"Retry-After") or b"").decode("latin-1"))
        if delay is None or delay <= 0:
            return
        delay = min(delay, self.retry_after_max)
        until = time.monotonic() + delay
        if until <= state.hold_until:
            return
        state.hold_until = until
        self.crawler.stats.inc_value("mirror/retry_after_honoured")
        logger.info(
            "Mirror %s answered %d with Retry-After: its requests wait %.0f s", state.origin, response.status, delay
        )

    # -- waiting ----------------------------------------------------------------

    async def _wait_until_open(self, state: MirrorState) -> None:
        while True:
            if state.gave_up:
                raise Postponed(f"not fetched: {state.origin} is unreachable")
            if self._engine_closing():
                raise Postponed("not fetched: the crawl is stopping")
            now = time.monotonic()
            if not state.down and now >= state.hold_until:
                return
            if state.down:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(state.reopened.wait(), _WAKE_SECONDS)
            else:
                await asyncio.sleep(min(_WAKE_SECONDS, state.hold_until - now))

    def _engine_closing(self) -> bool:
        engine = self.crawler.engine
        # Scrapy's engine waits for every request in progress before it closes: a request
        # waiting here must give up as soon as closing starts (Ctrl-C, CloseSpider).
        return engine is None or not engine.running or getattr(engine._slot, "closing", None) is not None

    # -- probing ----------------------------------------------------------------

    async def _probe_once(self, state: MirrorState) -> Unreachable | None:
        """One probe at a time per mirror; concurrent failures share its answer."""
        if state.probe is None or state.probe.done():
            state.probe = asyncio.ensure_future(self._probe(state))
        return await asyncio.shield(state.probe)

    async def _probe(self, state: MirrorState) -> Unreachable | None:
        """None if the mirror answers. A failure that is not Tor's or the proxy's word (a pooled
        connection that died with a restarted proxy, say) is tried once more on a new connection."""
        verdict = await self._probe_request(state)
        if verdict is not None and verdict.socks_code is None and not verdict.from_proxy:
            verdict = await self._probe_request(state)
        return verdict

    async def _probe_request(self, state: MirrorState) -> Unreachable | None:
        self.crawler.stats.inc_value("mirror/probes")
        request = Request(
            f"{state.origin}/robots.txt",
            dont_filter=True,
            meta={
                PROBE: True,
                "dont_retry": True,
                "dont_obey_robotstxt": True,
                "dont_redirect": True,
                "handle_httpstatus_all": True,
                "download_timeout": self.probe_timeout,
            },
        )
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:  # noqa: BLE001 - any failure of the probe means "no answer"
            return unreachable_reason(exc) or Unreachable(f"{type(exc).__name__}: {exc}")
        refusal = proxy_refusal(response)
        if refusal is None:
            state.answered = True
        return refusal

    def _mark_down(self, state: MirrorState, reason: Unreachable) -> None:
        state.down_since, state.down_since_wall, state.reason = time.monotonic(), datetime.now(UTC), reason
        state.reopened.clear()
        self.crawler.stats.inc_value("mirror/outages")
        patience, setting = self._patience(state)
        logger.warning(
            "Mirror %s is unreachable since %s: %s. Its requests wait (none is recorded as failed); "
            "probing it in %.0f s, then with backoff up to %.0f s; the crawl stops after %s=%.0f s%s.",
            state.origin,
            _clock(state.down_since_wall),
            reason.reason,
            self.probe_delay,
            self.probe_max_delay,
            setting,
            patience,
            "" if state.answered else " (it has not answered once since the crawl started)",
        )
        state.watcher = asyncio.ensure_future(self._watch(state))

    async def _watch(self, state: MirrorState) -> None:
        delay = self.probe_delay
        assert state.down_since is not None and state.reason is not None
        while not state.gave_up:
            patience, _ = self._patience(state)  # a response that came in meanwhile makes it MIRROR_PATIENCE
            left = patience - (time.monotonic() - state.down_since)
            await self._sleep_unless_closing(min(delay, max(left, 0.0)))
            if self._engine_closing():
                return
            verdict = await self._probe_once(state)
            if verdict is None:
                self._mark_up(state)
                return
            if verdict.permanent:
                self._give_up(state, verdict)
                return
            if time.monotonic() - state.down_since >= self._patience(state)[0]:
                self._give_up(state, state.reason)
                return
            delay = min(delay * 2, self.probe_max_delay)

    async def _sleep_unless_closing(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._engine_closing() and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, _WAKE_SECONDS))

    def _mark_up(self, state: MirrorState) -> None:
        assert state.down_since is not None
        seconds = time.monotonic() - state.down_since
        self.crawler.stats.inc_value("mirror/outage_seconds", round(seconds))
        logger.info("Mirror %s answers again after %.0f s unreachable: resuming at full speed", state.origin, seconds)
        state.down_since = state.down_since_wall = state.reason = None
        state.reopened.set()

    def _give_up(self, state: MirrorState, reason: Unreachable) -> None:
        if state.gave_up:
            return
        state.gave_up = True
        state.reopened.set()  # the waiters give up at once
        since = state.down_since_wall or datetime.now(UTC)
        waited = time.monotonic() - state.down_since if state.down_since is not None else 0.0
        _, setting = self._patience(state)
        stats = self.crawler.stats
        if state.answered:
            why = "no wait can help" if reason.permanent else f"unreachable for {waited:.0f} s ({setting})"
            how = "run the same command again once it answers: it finishes this round, fetching only what is missing"
            logger.error(
                "Stopping the crawl: mirror %s is %s, since %s: %s. Nothing that waited for it was recorded as "
                "failed. To continue, %s.",
                state.origin,
                why,
                _clock(since),
                reason.reason,
                how,
            )
        else:  # not a flap: the mirror is gone, or moved; say what to try
            stats.set_value("mirror/never_answered", state.origin)
            if reason.permanent:
                how_long = ", and no wait can help"
            else:
                how_long = f": unreachable since {_clock(since)}, {waited:.0f} s ({setting})"
            logger.error(
                "Stopping the crawl: mirror %s has not answered once since the crawl started%s. %s%s. %s "
                "Nothing that waited for it was recorded as failed; to continue once it answers, run the same "
                "command again.",
                state.origin,
                how_long,
                "Tor says: " if reason.socks_code is not None else "",
                reason.reason,
                self._what_to_try(state),
            )
        stats.set_value("mirror/unreachable", f"{state.origin}: {reason.reason}")
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=MIRROR_UNREACHABLE))

    def _what_to_try(self, state: MirrorState) -> str:
        """What to do about a mirror that never answered: check the site's mirrors, try another."""
        mirror, site, starts = other_mirrors(state.origin, self.crawler.settings.get("RULES_DIR"))
        if mirror is None or site is None:
            return (
                f"{state.host} is no mirror the rules know: is the address right? "
                "`scrapy mirrors --check` checks the mirrors they know."
            )
        down_since = getattr(mirror, "down_since", "")  # the rules' note of public checks, where they have one
        known = f"The rules say public checks have not reached it since {down_since}. " if down_since else ""
        check = f"{known}Check the mirrors of {site.name} with `scrapy mirrors --check --site {site.key}`"
        if not starts:
            return f"{check}; the rules ({site.path}) know no other current mirror of it."
        others = " or ".join(f"-a start_urls={url}" for url in starts)
        return f"{check}, or start from another of its mirrors: {others}."


def other_mirrors(origin: str, rules_dir: str | None = None) -> tuple[Mirror | None, Site | None, list[str]]:
    """The mirror at ``origin`` (``scheme://host``), its site, and the home page of the same
    host on each of the site's other current mirrors, as start URLs; (None, None, []) if the
    rules do not know the mirror. Retired mirrors (every v2 onion address: Tor disabled v2
    onion services in 2021) are left out.

    >>> mirror, site, starts = other_mirrors("https://www.bbcnewsd73hkzno2ini43t4gblxvycyac5aw4gnv7t2rccijh7745uqd.onion")
    >>> site.key, starts
    ('bbc', ['https://www.bbcweb3hytmzhn5d532owbu6oqadra5z3ar726vq5kgwwn6aucdccrad.onion/'])
    """
    try:
        normalizer = normalizer_for(rules_dir)
        mirror = normalizer.mirror_for_host(urlsplit(origin).hostname or "")
        if mirror is None:
            return None, None, []
        site = normalizer.rules.site(mirror.site)
        starts: list[str] = []
        for other in site.mirrors:
            if other.onion == mirror.onion or other.version < 3 or getattr(other, "retired", False):
                continue
            address = normalizer.fetch_url(f"{origin}/", other)  # in the scheme the other mirror serves
            if address is not None and address not in starts:
                starts.append(address)
    except (CrawlerError, ValueError, KeyError):  # rules the spider loaded already: not expected
        logger.debug("No other mirrors for %s", origin, exc_info=True)
        return None, None, []
    return mirror, site, starts


def _retry_after_seconds(value: str) -> float | None:
    """Seconds from a ``Retry-After`` value (delta-seconds or an HTTP-date), or None.

    >>> _retry_after_seconds("30"), _retry_after_seconds("soon")
    (30.0, None)
    """
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


def _clock(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
