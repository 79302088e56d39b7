"""Deadline arithmetic in each party's own time zone and holiday calendar.

Business-day durations count whole working days after the day a clock
starts: "10 business days" from a Wednesday afternoon ends at the last second
of the tenth working day after it, local time ("0 business days" ends with
the current working day, or the next one on a weekend or holiday). Reminders
given in business days go out at the start of the working day (09:00
local). Shorter durations ("4h", "30m", "45s") are plain elapsed time, for
demos and tests.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from countersign.domain.policy import Duration, PartyConfig

UTC = ZoneInfo("UTC")
END_OF_DAY = time(23, 59, 59)
START_OF_DAY = time(9, 0)
_PLAIN_UNITS = {"days": "days", "hours": "hours", "minutes": "minutes", "seconds": "seconds"}


# Holidays are computed once per process for a fixed window of years and then
# only looked up. Building a calendar touches gettext and locale, which the
# workflow sandbox forbids, so workers call `preload` before they start.
YEARS = range(2020, 2041)


@lru_cache(maxsize=64)
def _holidays(code: str) -> frozenset[date]:
    country, _, subdiv = code.partition("-")
    return frozenset(holidays.country_holidays(country, subdiv=subdiv or None, years=YEARS).keys())


def preload(codes: set[str]) -> None:
    for code in codes:
        _holidays(code)


def is_business_day(day: date, calendar: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(calendar)


def add_business_days(day: date, count: int, calendar: str) -> date:
    """The `count`-th working day after `day` (before it when `count` < 0)."""
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    while remaining:
        day += timedelta(days=step)
        if is_business_day(day, calendar):
            remaining -= 1
    return day


def _working_day(day: date, calendar: str, step: int = 1) -> date:
    """`day` if it is a working day, else the nearest one after it (before it when `step` < 0)."""
    while not is_business_day(day, calendar):
        day += timedelta(days=step)
    return day


def _plain(duration: Duration) -> timedelta:
    return timedelta(**{_PLAIN_UNITS[duration.unit]: duration.amount})


def _utc(moment: datetime) -> datetime:
    """Elapsed-time arithmetic is done in UTC: an aware datetime in a local zone
    would add wall-clock time and be an hour out across a DST change."""
    return moment.astimezone(UTC)


def _local(moment: datetime, party: PartyConfig) -> datetime:
    return moment.astimezone(ZoneInfo(party.timezone))


def _at(day: date, clock: time, party: PartyConfig) -> datetime:
    return datetime.combine(day, clock, ZoneInfo(party.timezone)).astimezone(UTC)


def deadline(start: datetime, due: Duration, party: PartyConfig) -> datetime:
    """When a clock of length `due` started at `start` runs out for `party`."""
    if due.unit != "business_days":
        return _utc(start) + _plain(due)
    day = add_business_days(_local(start, party).date(), due.amount, party.holidays)
    return _at(_working_day(day, party.holidays), END_OF_DAY, party)  # "0 business days" on a Sunday: Monday


def before(due_at: datetime, offset: Duration, party: PartyConfig) -> datetime:
    """A reminder time: `offset` before `due_at`, in the party's working days."""
    if offset.unit != "business_days":
        return _utc(due_at) - _plain(offset)
    day = add_business_days(_local(due_at, party).date(), -offset.amount, party.holidays)
    return _at(_working_day(day, party.holidays, -1), START_OF_DAY, party)


def after(due_at: datetime, grace: Duration, party: PartyConfig) -> datetime:
    """The end of a grace period that starts at `due_at`."""
    if grace.unit != "business_days":
        return _utc(due_at) + _plain(grace)
    day = add_business_days(_local(due_at, party).date(), grace.amount, party.holidays)
    return _at(_working_day(day, party.holidays), END_OF_DAY, party)



# Days numbered from 1970-01-01 (Unix time // 86400), in a party's own time: working days counted by
# a running total, so the working time of a span is a few lookups whatever its length.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)  # holidays are known in YEARS only


class WorkingTime:
    """Working time between instants for one party: the time that falls on its working days (in its
    time zone, without its holidays), as its deadlines count: a request left over a weekend waited
    hours, not days. Fast enough for every decision of a year (the charts)."""

    def __init__(self, party: PartyConfig) -> None:
        self._zone = ZoneInfo(party.timezone)
        self._first = (FIRST_DAY - date(1970, 1, 1)).days
        self._working = [is_business_day(FIRST_DAY + timedelta(days=n), party.holidays)
                         for n in range((LAST_DAY - FIRST_DAY).days + 1)]
        self._before = [0]  # working days before each day
        for working in self._working:
            self._before.append(self._before[-1] + working)
        self._offsets: dict[int, float] = {}  # the zone's UTC offset in each UTC hour, in seconds

    def _local(self, epoch: float) -> float:
        hour = int(epoch // 3600)
        offset = self._offsets.get(hour)
        if offset is None:
            moment = datetime.fromtimestamp(hour * 3600, UTC).astimezone(self._zone)
            offset = self._offsets[hour] = moment.utcoffset().total_seconds()
        return epoch + offset

    def days(self, start: float, end: float) -> float:
        """From `start` to `end` (Unix times), in working days."""
        if end <= start:
            return 0.0
        first, last = self._local(start), self._local(end)
        top = len(self._working) - 1
        a = min(max(int(first // 86400) - self._first, 0), top)
        b = min(max(int(last // 86400) - self._first, 0), top)
        if a == b:
            return (last - first) / 86400 if self._working[a] else 0.0
        head = ((a + self._first + 1) * 86400 - first) if self._working[a] else 0.0
        tail = (last - (b + self._first) * 86400) if self._working[b] else 0.0
        return (self._before[b] - self._before[a + 1]) + (head + tail) / 86400


def held(moment: datetime, paused_at: datetime, resumed_at: datetime, due: Duration, party: PartyConfig) -> datetime:
    """`moment` (a due time, reminder or grace end) moved on by the time its clock stood still,
    from `paused_at` to `resumed_at`, counted as the stage's `due` is: elapsed time for elapsed
    durations; for business days, one working day (at the same local time) for each of the
    party's working days that ended with the clock stopped (stopped and restarted on one day:
    nothing moves)."""
    if due.unit != "business_days":
        return _utc(moment) + (_utc(resumed_at) - _utc(paused_at))
    day, last = _local(paused_at, party).date(), _local(resumed_at, party).date()
    lost = 0
    while day < last:
        lost += is_business_day(day, party.holidays)
        day += timedelta(days=1)
    if not lost:
        return moment
    local = _local(moment, party)
    return _at(add_business_days(local.date(), lost, party.holidays), local.time(), party)
