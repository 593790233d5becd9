"""Rounds in a shared crawl: one round number for every worker, one seen-set per round.

A single-machine crawl keeps its rounds in its store (:mod:`crawler.rounds`). Workers that
share a crawl through Redis keep their own stores, so the round is decided in Redis:

* ``PREFIX:round`` is the round the workers are on, ``PREFIX:round:finished`` the last one
  they finished (a worker closing with ``finished`` means the shared queue is empty and no
  worker holds a claim: the joint closing of :class:`~crawler.shared.SharedScheduler`);
* a worker that starts when the round is finished begins the next one, in one script, so
  that two workers starting together never begin two; the others join it. The round's
  start time (``PREFIX:round:started:N``) is the same for every worker, and so is the
  schedule that every worker computes from it;
* each round has its own seen-set (``PREFIX:dupefilter:N``): a URL is fetched once per round
  across all workers, and again in the next; the last round's set is deleted when the next
  one begins.
"""

from __future__ import annotations

from typing import Any

from crawler.shared.connection import redis_from_settings, shared_key

__all__ = ["begin_shared_round", "finish_shared_round", "seen_key"]

# KEYS: round, finished, started-prefix, seen-prefix. ARGV: now. Returns {round, started_at, new}.
_BEGIN = """
local number = tonumber(redis.call('GET', KEYS[1]) or '0')
local finished = tonumber(redis.call('GET', KEYS[2]) or '0')
if number == 0 or finished >= number then
  number = number + 1
  redis.call('SET', KEYS[1], number)
  redis.call('SET', KEYS[3] .. number, ARGV[1])
  redis.call('DEL', KEYS[4] .. (number - 1))
  return {number, ARGV[1], 1}
end
return {number, redis.call('GET', KEYS[3] .. number) or ARGV[1], 0}
"""
# KEYS: finished. ARGV: the round a worker finished.
_FINISH = """
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
"""


def _keys(settings: Any, spider: str) -> list[str]:
    return [
        shared_key(settings, spider, "round"),
        shared_key(settings, spider, "round:finished"),
        shared_key(settings, spider, "round:started:"),
        shared_key(settings, spider, "dupefilter:"),
    ]


def begin_shared_round(settings: Any, spider: str, now: str) -> tuple[int, str, bool]:
    """The shared round a starting worker is on: ``(number, started_at, new)``. Raises what
    redis raises when Redis cannot be reached (the scheduler then says so and stops)."""
    server = redis_from_settings(settings)
    number, started, new = server.eval(_BEGIN, 4, *_keys(settings, spider), now)
    return int(number), started.decode() if isinstance(started, bytes) else str(started), bool(new)


def finish_shared_round(server: Any, settings: Any, spider: str, number: int) -> None:
    """Record that the workers finished round ``number`` (the next worker to start begins the next)."""
    server.eval(_FINISH, 1, shared_key(settings, spider, "round:finished"), number)


def seen_key(settings: Any, spider: str, number: int | None) -> str:
    """The seen-set of round ``number`` (None: a worker with no round, the crawl-long set)."""
    return shared_key(settings, spider, "dupefilter" if number is None else f"dupefilter:{number}")
