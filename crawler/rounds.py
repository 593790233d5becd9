"""Rounds: what one run of a crawl fetches, decided by its store.

Run the same command again, tomorrow, and the crawl follows the living mirror: that is
a new round. Run it again after a stop of any kind (Ctrl-C, ``kill -9``, a mirror that
stayed unreachable, a full disk) and it finishes the interrupted round first. The store
(:mod:`crawler.store.database`) records every round and every check in it, so:

* a round fetches the start URLs and the hub pages (home, sections: a site's
  ``[recrawl] hubs``, by default every stored page that is not an article), every time;
  the articles never fetched (links of stored pages that no page answers); the articles
  due by the schedule (:mod:`crawler.schedule`: by the time since the article last
  changed); and the transient failures of earlier rounds. Articles not due stay in the
  store and the graph untouched: Scrapy's dupefilter starts with them.
* a known page is fetched with the validators of its last answer (``If-None-Match``,
  ``If-Modified-Since``), so an unchanged page costs a 304;
* an interrupted round skips what it has checked already.

Scrapy's own JOBDIR request state (its queue and seen-set) is dropped at every start:
it would count the home page as done for good, and forget requests that never got an
answer. The store has everything they held. A ``spider.state`` left truncated by a crash
or a full disk is set aside with one warning, rather than failing as Scrapy loads it.

Settings: ``RECRAWL_ROUND`` (``"auto"``; ``"new"`` starts a round even when the last one
was interrupted; ``"continue"`` takes up the last one even when it finished),
``RECRAWL_ALL`` (check every known page, due or not: an audit), ``RECRAWL_SCHEDULE``
(every site's schedule; unset: a site's own ``[recrawl] schedule``, else
:data:`~crawler.schedule.DEFAULT_SCHEDULE`).
"""

from __future__ import annotations

import json
import logging
import pickle
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from scrapy import signals
from scrapy.utils.job import job_dir

from crawler import disk
from crawler.schedule import DEFAULT_SCHEDULE, Schedule, parse_timestamp
from crawler.store import Store, StoreError, is_transient, store_path
from crawler.store.database import REMOVED_STATUSES, KnownPage, Round, utc_now
from crawler.url.normalize import normalizer_for
from crawler.url.rules import Rules, Site

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

__all__ = ["PREVIOUS_CAPTURE", "SCRAPY_REQUEST_STATE", "RoundPlan", "Validators"]

logger = logging.getLogger(__name__)

PREVIOUS_CAPTURE = "previous_capture"  # request.meta: the WARC record a 304 refers to
SCRAPY_REQUEST_STATE = ("requests.seen", "requests.queue")  # what Scrapy keeps in JOBDIR about requests
SPIDER_STATE = "spider.state"  # Scrapy's SpiderState extension: the spider's own dict, pickled
_ROUND_MODES = {"auto": None, "new": True, "continue": False}

_BY_CRAWLER: WeakKeyDictionary[Crawler, RoundPlan] = WeakKeyDictionary()


@dataclass(frozen=True)
class Validators:
    """What a conditional request sends back, and the capture a 304 refers to."""

    etag: str | None = None
    last_modified: str | None = None
    capture_json: str | None = None  # the WARC record of the last answer's payload, as the store keeps it

    @property
    def capture(self) -> dict[str, str] | None:
        """The capture, read when a request is made (not for every known page when planning)."""
        return json.loads(self.capture_json) if self.capture_json else None

    def headers(self) -> dict[str, str]:
        """``If-None-Match`` / ``If-Modified-Since`` for the validators there are (RFC 9110, 13.1)."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(repr=False)
class RoundPlan:
    """One run's round: its number, what it fetches, what it leaves alone."""

    round: Round | None = None  # None: no store to plan with (it cannot be opened)
    to_fetch: list[tuple[str, int]] = field(default_factory=list)  # (canonical URL, depth)
    done: set[str] = field(default_factory=set)  # known and not to be fetched: the dupefilter's start
    checked: set[str] = field(default_factory=set)  # checked already in this (interrupted) round
    validators: dict[str, Validators] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)  # how many of to_fetch, by why
    store: str = ""  # the store's path, where the round's end is recorded
    shared: bool = False  # a shared crawl (REDIS_URL): the round and its seen-set are in Redis

    @classmethod
    def of(cls, crawler: Crawler) -> RoundPlan:
        """The crawl's round, planned once (the scheduler, the spider and the store pipeline ask)."""
        plan = _BY_CRAWLER.get(crawler)
        if plan is None:
            plan = _BY_CRAWLER[crawler] = cls._plan(crawler)
            if plan.round is not None:
                crawler.signals.connect(plan._spider_closed, signal=signals.spider_closed, weak=False)
                crawler.stats.set_value("mirror/round", plan.round.number)
                plan.store = store_path(crawler.settings)
        return plan

    @classmethod
    def _plan(cls, crawler: Crawler) -> RoundPlan:
        settings = crawler.settings
        jobdir = job_dir(settings)
        if jobdir:
            try:
                _drop_scrapy_request_state(Path(jobdir))
                _set_aside_damaged_state(Path(jobdir))
            except OSError as exc:  # a read-only JOBDIR: said once, and the crawl stops as it opens
                problem = disk.WriteProblem.of(exc, jobdir)
                disk.write_failed(crawler, "to JOBDIR", problem, "set JOBDIR to another folder")
        mode = str(settings.get("RECRAWL_ROUND")).lower()
        if mode not in _ROUND_MODES:
            logger.warning("RECRAWL_ROUND=%s: use auto, new or continue; taking auto", mode)
        path = store_path(settings)
        shared = _shared_round(crawler) if settings.get("REDIS_URL") else None
        try:
            with Store(path) as store:
                if shared is not None:  # the round every worker of the shared crawl is on
                    this_round = store.begin_round(shared[1], number=shared[0])
                else:
                    this_round = store.begin_round(new=_ROUND_MODES.get(mode))
                plan = cls._from_store(store, this_round, crawler)
                plan.shared = bool(settings.get("REDIS_URL"))
        except StoreError as exc:  # the store pipeline says so, once, and stops the crawl
            logger.debug("Cannot plan the round with the store: %s", exc)
            return cls()
        except OSError as exc:  # a folder that cannot be written: the store pipeline says so, once
            logger.debug("Cannot plan the round with the store %s: %s", path, exc)
            return cls()
        depth_limit = settings.getint("DEPTH_LIMIT")
        if depth_limit:
            plan.to_fetch = [(url, depth) for url, depth in plan.to_fetch if depth <= depth_limit]
        plan._log(path)
        return plan

    @classmethod
    def _from_store(cls, store: Store, this_round: Round, crawler: Crawler) -> RoundPlan:
        settings = crawler.settings
        rules = normalizer_for(settings.get("RULES_DIR")).rules
        decide = _Decider(rules, settings.get("RECRAWL_SCHEDULE"), settings.getbool("RECRAWL_ALL"), this_round)
        plan = cls(this_round, checked=store.checked_in_round(this_round.number) if this_round.continued else set())
        wanted: dict[str, int] = {}
        for page in store.known_pages():
            if page.url in plan.checked:
                plan.done.add(page.url)
                continue
            reason = decide(page)
            if reason is None:
                plan.done.add(page.url)
                continue
            wanted[page.url] = page.depth
            plan.reasons[reason] = plan.reasons.get(reason, 0) + 1
            validators = _validators(page)
            if validators is not None:
                plan.validators[page.url] = validators
        for url, depth in store.frontier():
            if url not in wanted and url not in plan.checked and url not in plan.done:
                wanted[url] = depth
                plan.reasons["new"] = plan.reasons.get("new", 0) + 1
        plan.done |= store.aliases() - wanted.keys()
        plan.to_fetch = sorted(wanted.items())
        return plan

    def __repr__(self) -> str:
        # Short: PyDispatcher puts a receiver's repr in an error it makes and drops (a whole plan
        # of a large store was 1-2 s and 235 MiB there).
        number = self.round.number if self.round is not None else None
        return f"<RoundPlan round={number} to_fetch={len(self.to_fetch)} done={len(self.done)}>"

    def _log(self, path: str) -> None:
        assert self.round is not None
        how = "interrupted before, taken up again" if self.round.continued else "a new round"
        why = ", ".join(f"{count} {reason}" for reason, count in sorted(self.reasons.items())) or "nothing known"
        logger.info(
            "Round %d of %s, %s: to fetch besides the start URLs: %s; %d known pages left alone%s",
            self.round.number,
            path,
            how,
            why,
            len(self.done),
            f", {len(self.checked)} checked already in this round" if self.checked else "",
        )

    def _spider_closed(self, spider: Spider, reason: str) -> None:
        assert self.round is not None
        try:
            with Store(self.store, create=False) as store:
                store.end_round(self.round.number, reason)
        except (StoreError, OSError, sqlite3.Error) as exc:  # the next run takes the round up again
            if isinstance(exc, StoreError):
                logger.debug("Could not record the end of round %d: %s", self.round.number, exc)
            else:
                disk.write_failed(
                    spider.crawler, "to the store", disk.WriteProblem.of(exc, self.store), "set STORE_PATH"
                )


class _Decider:
    """Why a stored page is fetched in this round (a reason), or None when it is left alone."""

    def __init__(self, rules: Rules, schedule: str | None, check_all: bool, this_round: Round) -> None:
        self.rules = rules
        self.default = Schedule.parse(schedule or DEFAULT_SCHEDULE)
        self.forced = bool(schedule)
        self.check_all = check_all
        now = parse_timestamp(this_round.started_at)
        assert now is not None
        self.now = now  # the round's start: every run of the round decides alike
        self.sites: dict[str, Site | None] = {}  # by host: a store holds few hosts and many pages

    def __call__(self, page: KnownPage) -> str | None:
        if is_transient(page.status):
            return "to retry"
        host, path = _host_and_path(page.url)
        if host not in self.sites:
            self.sites[host] = self.rules.site_for_host(host)
        site = self.sites[host]
        if site is not None and site.is_hub_path(path):
            return "hubs"
        if self.check_all:
            return "to audit (RECRAWL_ALL)"
        article = page.status is not None and 200 <= page.status < 300
        removed = page.status in REMOVED_STATUSES and page.versions > 0
        if not (article or removed):
            return None  # a redirect, a 404 never answered, a file: an answer for good
        schedule = site.schedule if site is not None and site.schedule and not self.forced else self.default
        checked = parse_timestamp(page.checked_at) or self.now
        if schedule.is_due(self._last_change(page), checked, self.now):
            return "due"
        return None

    def _last_change(self, page: KnownPage) -> datetime:
        """When the article last changed: the newer of the dates it states (modified,
        published) and, once the crawl has seen it change, when it saw that."""
        stated = [moment for moment in map(parse_timestamp, (page.modified, page.published)) if moment]
        seen = parse_timestamp(page.changed_at) or self.now
        if page.versions > 1 or not stated:
            stated.append(seen)
        return max(stated)


def _host_and_path(url: str) -> tuple[str, str]:
    """The host and path of a stored (canonical) URL, without urlsplit's work: canonical
    URLs are ``scheme://host[:port]/path[?query]``, lower-case host, no user info.

    >>> _host_and_path("https://www.nytimes.com/2016/a.html?page=2"), _host_and_path("https://www.dw.com")
    (('www.nytimes.com', '/2016/a.html'), ('www.dw.com', '/'))
    """
    rest = url.partition("://")[2]
    authority, slash, path = rest.partition("/")
    path = (slash + path).partition("?")[0].partition("#")[0] or "/"
    host = authority.rpartition("@")[2]
    if not host.startswith("["):
        host = host.partition(":")[0]
    return host.lower(), path


def _shared_round(crawler: Crawler) -> tuple[int, str] | None:
    """The shared crawl's round (number, start), or None when Redis cannot tell (the shared
    scheduler then says why and stops the worker)."""
    from crawler.shared.rounds import begin_shared_round

    try:
        number, started, new = begin_shared_round(crawler.settings, crawler.spidercls.name, utc_now())
    except Exception as exc:  # noqa: BLE001 - redis's errors, or no redis installed: the scheduler reports it
        logger.debug("No shared round: %s", exc)
        return None
    logger.info("Shared round %d (%s, started %s)", number, "begun here" if new else "joined", started)
    return number, started


def _validators(page: KnownPage) -> Validators | None:
    answered = page.status is not None and 200 <= page.status < 300
    if not answered or not (page.etag or page.last_modified):
        return None
    return Validators(page.etag, page.last_modified, page.capture)


def _set_aside_damaged_state(jobdir: Path) -> None:
    """A ``spider.state`` that a crash or a full disk left truncated would make Scrapy's
    SpiderState raise when the spider opens: moved aside, with one warning. The spider keeps
    nothing there that the crawl needs (the store holds the crawl)."""
    path = jobdir / SPIDER_STATE
    try:
        with path.open("rb") as handle:
            pickle.load(handle)  # noqa: S301 - the crawl's own file, which Scrapy unpickles next
    except FileNotFoundError:
        return
    except Exception as exc:  # noqa: BLE001 - EOFError, UnpicklingError...: any damage
        aside = path.with_name(f"{SPIDER_STATE}.damaged")
        path.replace(aside)
        logger.warning("%s could not be read (%s): set aside as %s; the store decides what is left", path, exc, aside)


def _drop_scrapy_request_state(jobdir: Path) -> None:
    for name in SCRAPY_REQUEST_STATE:
        path = jobdir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
