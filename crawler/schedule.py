"""When a known article is due to be checked again: by the time since it last changed.

NewsDiffs' steps are the model (its ``get_update_delay``: every 15 minutes under 3 hours
since the last change, hourly under a day, every 3 hours under a week, every 3 days under
30 days, every 30 days under 360 days, then never), with a floor that suits Tor: nothing
is checked more often than hourly, since a fetch through Tor costs seconds and the mirror
its bandwidth. An article that changed recently is checked often; one untouched for a year
is left alone.

A schedule is written as steps ``AGE:INTERVAL``, ages rising, in the units ``m``, ``h``,
``d`` (``RECRAWL_SCHEDULE``, or a site's ``[recrawl] schedule`` in its rules):

>>> schedule = Schedule.parse("1d:1h 7d:3h 30d:3d 360d:30d")
>>> schedule.interval(timedelta(hours=5))
datetime.timedelta(seconds=3600)
>>> schedule.interval(timedelta(days=10))
datetime.timedelta(days=3)
>>> schedule.interval(timedelta(days=400)) is None  # older than the last step: never again
True
>>> changed, checked = _at("2026-12-01T00:00:00+00:00"), _at("2026-12-03T00:00:00+00:00")
>>> schedule.is_due(changed, checked, now=_at("2026-12-03T02:00:00+00:00"))  # 2 days old: every 3 h
False
>>> schedule.is_due(changed, checked, now=_at("2026-12-03T03:00:00+00:00"))
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["DEFAULT_SCHEDULE", "Schedule", "ScheduleError", "parse_timestamp"]

#: NewsDiffs' steps from one day on; under a day, hourly (Tor's floor rather than 15 minutes).
DEFAULT_SCHEDULE = "1d:1h 7d:3h 30d:3d 360d:30d"

_UNITS = {"m": 60, "h": 3600, "d": 86400}
_SPAN = re.compile(r"(\d+(?:\.\d+)?)([mhd])")


class ScheduleError(ValueError):
    """A schedule that cannot be read; the message names the step and the problem."""


@dataclass(frozen=True)
class Schedule:
    """Steps ``(age, interval)``, ages rising: an article whose last change is younger than
    ``age`` is checked every ``interval``; one older than the last age, never again."""

    steps: tuple[tuple[timedelta, timedelta], ...]

    @classmethod
    def parse(cls, text: str | list[str] | tuple[str, ...]) -> Schedule:
        """Read ``"1d:1h 7d:3h"`` (or a list of steps, as a rule file writes them)."""
        words = text.split() if isinstance(text, str) else [str(word) for word in text]
        if not words:
            raise ScheduleError("a schedule needs at least one step AGE:INTERVAL (e.g. 1d:1h)")
        steps = tuple(_step(word) for word in words)
        ages = [age for age, _ in steps]
        if ages != sorted(ages) or len(set(ages)) != len(ages):
            raise ScheduleError(f"{' '.join(words)!r}: the ages must rise from step to step")
        return cls(steps)

    def interval(self, age: timedelta) -> timedelta | None:
        """How often an article whose last change is ``age`` ago is checked; None: never."""
        for limit, every in self.steps:
            if age < limit:
                return every
        return None

    def is_due(self, changed: datetime, checked: datetime, now: datetime) -> bool:
        """Whether an article last changed at ``changed`` and last checked at ``checked``
        is to be checked at ``now``."""
        every = self.interval(max(now - changed, timedelta(0)))
        return every is not None and now - checked >= every


def _step(word: str) -> tuple[timedelta, timedelta]:
    age, sep, every = word.partition(":")
    if not sep:
        raise ScheduleError(f"{word!r}: write a step as AGE:INTERVAL, e.g. 7d:3h")
    return _span(age, word), _span(every, word)


def _span(text: str, word: str) -> timedelta:
    match = _SPAN.fullmatch(text.strip())
    if match is None:
        raise ScheduleError(f"{word!r}: {text!r} is not a span such as 90m, 3h or 7d")
    span = timedelta(seconds=float(match[1]) * _UNITS[match[2]])
    if span <= timedelta(0):
        raise ScheduleError(f"{word!r}: a span must be longer than zero")
    return span


def parse_timestamp(text: str | None) -> datetime | None:
    """An ISO 8601 timestamp or date as an aware datetime (UTC when it names no zone);
    None for anything else.

    >>> parse_timestamp("2019-11-18T17:56:00-05:00").isoformat()
    '2019-11-18T17:56:00-05:00'
    >>> parse_timestamp("2019-11-18").isoformat()
    '2019-11-18T00:00:00+00:00'
    >>> parse_timestamp("yesterday") is None
    True
    """
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _at(text: str) -> datetime:
    moment = parse_timestamp(text)
    assert moment is not None
    return moment
