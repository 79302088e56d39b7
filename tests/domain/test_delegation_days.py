"""A delegation's last day in its delegator's own zone (countersign.domain.delegation_days),
across a moment where UTC and New York are on different dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from countersign.domain import delegation_days as days
from countersign.domain.errors import InvalidDecision

NY = "America/New_York"
# 22:00 on 10 June in New York is already 11 June in UTC.
EVENING = datetime(2026, 6, 11, 2, 0, tzinfo=UTC)


def test_the_last_day_ends_at_midnight_where_the_delegator_is():
    assert days.today(NY, EVENING) == date(2026, 6, 10)
    days.check_last_day(date(2026, 6, 10), NY, EVENING)  # today in New York: accepted
    with pytest.raises(InvalidDecision, match=r"America/New_York, today 10 Jun 2026"):
        days.check_last_day(date(2026, 6, 9), NY, EVENING)
    end = days.end_of(date(2026, 6, 10), NY)
    assert end == datetime(2026, 6, 11, 4, 0, tzinfo=UTC)  # midnight EDT
    assert days.last_day(end, NY) == date(2026, 6, 10)
    assert days.end_of(date(2026, 12, 10), NY) == datetime(2026, 12, 11, 5, 0, tzinfo=UTC)  # EST
    assert days.end_of(date(2026, 6, 10), "Asia/Tokyo") == datetime(2026, 6, 10, 15, 0, tzinfo=UTC)


def test_the_period_reads_in_the_delegators_zone():
    end = days.end_of(date(2026, 6, 12), NY)
    assert days.period(EVENING, end, NY) == "10 Jun 2026 22:00 to the end of 12 Jun 2026 (America/New_York)"
    # An API caller's end at a chosen moment is given to the minute.
    assert days.period(EVENING, datetime(2026, 6, 12, 21, 30, tzinfo=UTC), NY) == \
        "10 Jun 2026 22:00 to 12 Jun 2026 17:30 (America/New_York)"
