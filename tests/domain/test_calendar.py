"""Deadline arithmetic: business days in each party's own time zone and
holiday calendar; due times at 23:59:59 local, business-day reminders at
09:00 local; plain durations as elapsed time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from countersign.domain import calendar
from countersign.domain.policy import Duration, PartyConfig, load_policy

PARTIES = load_policy().parties
SONY, UNIVERSAL, MERLIN, BELIEVE = (PARTIES[k] for k in ("sony", "universal", "merlin", "believe"))
UTC = timezone.utc
NY, LA, LONDON, PARIS = (ZoneInfo(z) for z in ("America/New_York", "America/Los_Angeles", "Europe/London",
                                                "Europe/Paris"))
BD = lambda n: Duration(n, "business_days")  # noqa: E731


def local(year, month, day, hour, minute, zone, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=zone)


def due_local(start: datetime, days: int, party: PartyConfig) -> datetime:
    return calendar.deadline(start, BD(days), party).astimezone(ZoneInfo(party.timezone))


# -- holidays --------------------------------------------------------------------

def test_us_thanksgiving_is_skipped_but_the_friday_after_counts():
    wednesday = local(2026, 11, 25, 15, 0, NY)  # Thanksgiving is Thursday 26 November 2026
    assert due_local(wednesday, 1, SONY) == local(2026, 11, 27, 23, 59, NY, 59)
    assert due_local(wednesday, 2, SONY) == local(2026, 11, 30, 23, 59, NY, 59)
    # The same moment for a French label: Thanksgiving is a working day in Paris.
    assert due_local(wednesday, 1, BELIEVE) == local(2026, 11, 26, 23, 59, PARIS, 59)


def test_a_clock_started_on_a_holiday_counts_from_the_next_working_day():
    thanksgiving = local(2026, 11, 26, 10, 0, NY)
    assert due_local(thanksgiving, 1, SONY).date() == date(2026, 11, 27)


def test_christmas_in_france():
    christmas_eve = local(2026, 12, 24, 10, 0, PARIS)  # 25 December 2026 is a Friday
    assert due_local(christmas_eve, 1, BELIEVE).date() == date(2026, 12, 28)
    assert due_local(christmas_eve, 2, BELIEVE).date() == date(2026, 12, 29)  # no Boxing Day in France


def test_christmas_and_boxing_day_in_great_britain():
    christmas_eve = local(2026, 12, 24, 10, 0, LONDON)
    # 25 Fri Christmas, 26 Sat Boxing Day, 28 Mon Boxing Day (substitute).
    assert due_local(christmas_eve, 1, MERLIN).date() == date(2026, 12, 29)
    # 2027: both fall on the weekend; substitutes on Monday 27 and Tuesday 28.
    assert due_local(local(2027, 12, 24, 10, 0, LONDON), 1, MERLIN).date() == date(2027, 12, 29)


def test_observed_us_holiday_on_the_friday_before():
    # 25 December 2027 is a Saturday: observed on Friday 24 December.
    assert due_local(local(2027, 12, 23, 10, 0, NY), 1, SONY).date() == date(2027, 12, 27)


def test_subdivision_calendars_add_regional_holidays():
    # Easter Monday is a bank holiday in England but not in every part of the UK,
    # so "GB" alone treats it as a working day; "GB-ENG" does not.
    easter_monday = date(2026, 4, 6)
    assert calendar.is_business_day(easter_monday, "GB")
    assert not calendar.is_business_day(easter_monday, "GB-ENG")


# -- weekends -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (local(2026, 3, 13, 16, 0, NY), 1, date(2026, 3, 16)),  # Friday → Monday
        (local(2026, 3, 14, 11, 0, NY), 1, date(2026, 3, 16)),  # Saturday → Monday
        (local(2026, 3, 15, 11, 0, NY), 1, date(2026, 3, 16)),  # Sunday → Monday
        (local(2026, 3, 16, 11, 0, NY), 5, date(2026, 3, 23)),  # Monday + 5 → next Monday
        (local(2026, 3, 11, 11, 0, NY), 10, date(2026, 3, 25)),  # Wednesday + 10 → Wednesday fortnight
    ],
)
def test_weekends_do_not_count(start, days, due):
    assert due_local(start, days, SONY).date() == due


def test_the_local_date_decides_not_the_utc_date():
    # 02:00 UTC on Wednesday 25 November 2026 is still Tuesday evening in Los Angeles.
    moment = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert due_local(moment, 1, UNIVERSAL).date() == date(2026, 11, 25)
    assert due_local(moment, 1, BELIEVE).date() == date(2026, 11, 26)


def test_zero_business_days_ends_with_the_working_day():
    assert due_local(local(2026, 3, 11, 11, 0, NY), 0, SONY) == local(2026, 3, 11, 23, 59, NY, 59)
    # On a weekend or holiday, with the next working day: a due date never lands on a day off.
    assert due_local(local(2026, 3, 14, 11, 0, NY), 0, SONY).date() == date(2026, 3, 16)
    assert due_local(local(2026, 12, 25, 11, 0, PARIS), 0, BELIEVE).date() == date(2026, 12, 28)


def test_add_business_days_both_ways():
    assert calendar.add_business_days(date(2026, 11, 25), 2, "US") == date(2026, 11, 30)
    assert calendar.add_business_days(date(2026, 11, 30), -2, "US") == date(2026, 11, 25)
    assert calendar.add_business_days(date(2026, 11, 28), 0, "US") == date(2026, 11, 28)


# -- time of day and DST -------------------------------------------------------------------

@pytest.mark.parametrize("party", list(PARTIES.values()), ids=list(PARTIES))
def test_due_at_last_second_and_reminders_at_nine_local(party):
    zone = ZoneInfo(party.timezone)
    start = datetime(2026, 6, 10, 13, 30, tzinfo=UTC)
    due = calendar.deadline(start, BD(10), party)
    assert due.astimezone(zone).time() == time(23, 59, 59)
    for offset in (BD(3), BD(1)):
        reminder = calendar.before(due, offset, party).astimezone(zone)
        assert reminder.time() == time(9, 0)
        assert calendar.is_business_day(reminder.date(), party.holidays)
    grace = calendar.after(due, BD(2), party).astimezone(zone)
    assert grace.time() == time(23, 59, 59)
    assert calendar.add_business_days(due.astimezone(zone).date(), 2, party.holidays) == grace.date()


def test_first_reminder_of_a_ten_day_stage_is_seven_business_days_in():
    start = local(2026, 11, 25, 15, 0, NY)
    due = calendar.deadline(start, BD(10), SONY)
    assert due.astimezone(NY) == local(2026, 12, 10, 23, 59, NY, 59)
    assert calendar.before(due, BD(3), SONY).astimezone(NY) == local(2026, 12, 7, 9, 0, NY)
    assert calendar.before(due, BD(1), SONY).astimezone(NY) == local(2026, 12, 9, 9, 0, NY)
    assert calendar.after(due, BD(2), SONY).astimezone(NY) == local(2026, 12, 14, 23, 59, NY, 59)
    # Counted independently: 7 working days from the start to the first reminder.
    assert _working_days_between(start.date(), date(2026, 12, 7), "US") == 7


def test_european_dst_end():
    # Clocks go back on Sunday 25 October 2026 in Paris (UTC+2 → UTC+1).
    friday = local(2026, 10, 23, 12, 0, PARIS)
    due = calendar.deadline(friday, BD(1), BELIEVE)
    assert due == datetime(2026, 10, 26, 22, 59, 59, tzinfo=UTC)  # 23:59:59 CET
    reminder = calendar.before(due, BD(1), BELIEVE)
    assert reminder == datetime(2026, 10, 23, 7, 0, tzinfo=UTC)  # 09:00 CEST


def test_us_dst_end_and_start():
    # Clocks go back on Sunday 1 November 2026 in New York (UTC-4 → UTC-5).
    due = calendar.deadline(local(2026, 10, 30, 12, 0, NY), BD(1), SONY)
    assert due == datetime(2026, 11, 3, 4, 59, 59, tzinfo=UTC)
    assert calendar.before(due, BD(1), SONY) == datetime(2026, 10, 30, 13, 0, tzinfo=UTC)
    # Clocks go forward on Sunday 8 March 2026 (UTC-5 → UTC-4).
    due = calendar.deadline(local(2026, 3, 6, 12, 0, NY), BD(1), SONY)
    assert due == datetime(2026, 3, 10, 3, 59, 59, tzinfo=UTC)


def test_between_the_two_dst_changes_new_york_and_london_are_four_hours_apart():
    start = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)  # US on summer time, UK not yet
    sony = calendar.deadline(start, BD(1), SONY)
    merlin = calendar.deadline(start, BD(1), MERLIN)
    assert sony - merlin == timedelta(hours=4)


# -- plain durations -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "delta"),
    [("45s", timedelta(seconds=45)), ("30m", timedelta(minutes=30)), ("4h", timedelta(hours=4)),
     ("2 days", timedelta(days=2))],
)
def test_plain_durations_are_elapsed_time(text, delta):
    start = datetime(2026, 11, 28, 3, 17, 5, tzinfo=UTC)  # a Saturday: plain time ignores calendars
    assert calendar.deadline(start, Duration.parse(text), SONY) == start + delta
    due = start + delta
    assert calendar.before(due, Duration.parse(text), SONY) == start
    assert calendar.after(due, Duration.parse(text), SONY) == due + delta


def test_plain_days_are_elapsed_hours_across_dst():
    start = local(2026, 10, 24, 12, 0, PARIS)  # Saturday, before the clocks go back
    due = calendar.deadline(start, Duration.parse("2 days"), BELIEVE)
    assert due - start == timedelta(hours=48)
    assert due.astimezone(PARIS).hour == 11


def test_plain_reminder_before_a_business_day_due():
    due = calendar.deadline(local(2026, 11, 25, 15, 0, NY), BD(1), SONY)
    reminder = calendar.before(due, Duration.parse("4h"), SONY)
    assert reminder.astimezone(NY) == local(2026, 11, 27, 19, 59, NY, 59)


def test_business_day_grace_after_a_plain_due():
    due = local(2026, 11, 28, 10, 0, NY)  # a Saturday
    assert calendar.after(due, BD(1), SONY).astimezone(NY) == local(2026, 11, 30, 23, 59, NY, 59)
    assert calendar.after(due, BD(0), SONY).astimezone(NY).date() == date(2026, 11, 30)


# -- against an independent count -------------------------------------------------------------------

def _working_days_between(start: date, end: date, code: str) -> int:
    """Working days after `start` up to and including `end`, straight from `holidays`."""
    country, _, subdiv = code.partition("-")
    years = range(start.year, end.year + 1)
    days_off = holidays.country_holidays(country, subdiv=subdiv or None, years=years)
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += day.weekday() < 5 and day not in days_off
    return count


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(datetime(2024, 1, 1), datetime(2034, 12, 31), timezones=st.just(UTC)),
    days=st.integers(min_value=1, max_value=25),
    party=st.sampled_from(sorted(PARTIES)),
)
def test_business_day_deadlines_agree_with_an_independent_count(start, days, party):
    config = PARTIES[party]
    zone = ZoneInfo(config.timezone)
    due = calendar.deadline(start, BD(days), config).astimezone(zone)
    assert due.time() == time(23, 59, 59)
    assert calendar.is_business_day(due.date(), config.holidays)
    assert _working_days_between(start.astimezone(zone).date(), due.date(), config.holidays) == days
    reminder = calendar.before(due, BD(1), config).astimezone(zone)
    assert reminder.time() == time(9, 0)
    assert _working_days_between(reminder.date(), due.date(), config.holidays) == 1


def test_working_time_leaves_out_weekends_and_holidays_in_the_labels_own_time():
    def days(start: datetime, end: datetime) -> float:
        return calendar.WorkingTime(SONY).days(start.timestamp(), end.timestamp())

    friday_evening = local(2026, 11, 20, 18, 0, NY)  # a Friday in New York
    assert days(friday_evening, local(2026, 11, 23, 6, 0, NY)) == pytest.approx(0.5)
    assert days(friday_evening, friday_evening + timedelta(minutes=30)) * 1440 == pytest.approx(30)
    # Thanksgiving (Thursday 26 November 2026) is a US holiday: Wednesday noon to Friday noon is one day
    assert days(local(2026, 11, 25, 12, 0, NY), local(2026, 11, 27, 12, 0, NY)) == pytest.approx(1.0)
    # across the end of summer time (Sunday 1 November 2026 in New York): Friday and Monday, whole
    assert days(local(2026, 10, 30, 0, 0, NY), local(2026, 11, 3, 0, 0, NY)) == pytest.approx(2.0)
    assert days(local(2026, 10, 30, 12, 0, NY), local(2026, 11, 9, 12, 0, NY)) == pytest.approx(6.0)
    assert days(friday_evening, friday_evening - timedelta(hours=1)) == 0
