"""A day as a person enters it in a date field.

A browser's date picker sends the ISO form (2026-12-31) whatever it shows,
but where it shows a plain text box people type the form of their locale:
31/12/2026, 12/31/2026, 31.12.2026, 31 Dec 2026. Every form that reads a
day reads it here: ISO, and any other form that can only mean one day. A
day and month that could be either way round (03/04/2026) are refused,
naming both readings, rather than guessed.
"""

from __future__ import annotations

import re
from datetime import date

MONTHS = {name: number for number, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
    ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
    ("dec", "december")), start=1) for name in names}

ISO = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
NUMERIC = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")  # day and month, in an order the locale sets
DAY_FIRST = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{4})")  # 31 Dec 2026
MONTH_FIRST = re.compile(r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")  # December 31, 2026
EXAMPLE = "such as 2026-12-31 or 31 Dec 2026"


class NotADay(ValueError):
    """`str(error)` says what was wrong and what to enter instead, for the field's message."""


def parse_day(text: str) -> date:
    typed = " ".join(text.split())
    if not typed:
        raise NotADay(f"enter a date {EXAMPLE}")
    lowered = typed.lower()
    if match := ISO.fullmatch(lowered):
        return _day(typed, int(match[1]), int(match[3]), int(match[4]))
    if match := NUMERIC.fullmatch(lowered):
        first, second, year = int(match[1]), int(match[3]), int(match[4])
        if match[2] == "." or first > 12 >= second or first == second:  # 31.12.2026 is day first everywhere
            return _day(typed, year, second, first)
        if second > 12 >= first:  # 12/31/2026
            return _day(typed, year, first, second)
        if first <= 12 and second <= 12:
            one, other = date(year, second, first), date(year, first, second)
            raise NotADay(f"“{typed}” could be {one:%-d %B} or {other:%-d %B} {year}: enter "
                          f"{one.isoformat()} or {other.isoformat()}, or pick the day in the calendar")
        raise NotADay(f"there is no day “{typed}”: enter a date {EXAMPLE}")
    for pattern, day_at, month_at in ((DAY_FIRST, 1, 2), (MONTH_FIRST, 2, 1)):
        if (match := pattern.fullmatch(lowered)) and match[month_at] in MONTHS:
            return _day(typed, int(match[3]), MONTHS[match[month_at]], int(match[day_at]))
    raise NotADay(f"“{typed}” is not a date we can read: enter a date {EXAMPLE}")


def _day(typed: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise NotADay(f"there is no day “{typed}”: enter a date {EXAMPLE}") from None
