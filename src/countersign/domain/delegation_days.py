"""A delegation's last day, counted where its delegator is.

A rep names the last day they are away. The delegation covers the whole of
that day in their own party's time zone and ends at the midnight after it
there; an end is exclusive (countersign.storage.delegation.is_active), so
the form, its checks and the access rule all count the same day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from countersign.domain.errors import InvalidDecision


def today(zone: str, now: datetime) -> date:
    """The date it is at `now` where `zone` is."""
    return now.astimezone(ZoneInfo(zone)).date()


def end_of(last_day: date, zone: str) -> datetime:
    """When a delegation whose last day is `last_day` ends (UTC): the midnight after it in `zone`."""
    return datetime.combine(last_day + timedelta(days=1), time(0), ZoneInfo(zone)).astimezone(UTC)


def check_last_day(last_day: date, zone: str, now: datetime) -> None:
    if last_day < today(zone, now):
        raise InvalidDecision(f"the last day has passed where you are ({zone}, today {today(zone, now):%d %b %Y}): "
                              "give today or a later day")


def last_day(ends_at: datetime, zone: str) -> date:
    """The last day a delegation ending at `ends_at` covers, in `zone`."""
    return (ends_at.astimezone(ZoneInfo(zone)) - timedelta(microseconds=1)).date()


def period(starts_at: datetime, ends_at: datetime, zone: str) -> str:
    """E.g. "10 Jun 2026 22:00 to the end of 12 Jun 2026 (America/New_York)": in the delegator's zone.
    An end at an API caller's chosen moment, not a midnight, is given to the minute."""
    start, end = starts_at.astimezone(ZoneInfo(zone)), ends_at.astimezone(ZoneInfo(zone))
    until = (f"the end of {last_day(ends_at, zone):%d %b %Y}" if end.time() == time(0)
             else f"{end:%d %b %Y %H:%M}")
    return f"{start:%d %b %Y %H:%M} to {until} ({zone})"
