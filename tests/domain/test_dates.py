"""Date fields read what a browser's picker sends and what people type in their locale's form (issue 25)."""

from __future__ import annotations

from datetime import date

import pytest

from countersign.domain.dates import NotADay, parse_day

DAY = date(2026, 12, 31)


@pytest.mark.parametrize("typed", ["2026-12-31", " 2026/12/31 ", "2026.12.31", "31/12/2026", "12/31/2026",
                                   "31.12.2026", "31-12-2026", "31 Dec 2026", "31st December, 2026",
                                   "Dec 31, 2026", "december 31 2026", "Dec. 31st 2026"])
def test_every_form_that_means_one_day_is_read(typed):
    assert parse_day(typed) == DAY


def test_a_day_the_field_cannot_be_sure_of_is_refused_saying_why():
    assert parse_day("04/04/2026") == date(2026, 4, 4) and parse_day("3.4.2026") == date(2026, 4, 3)
    with pytest.raises(NotADay, match="“03/04/2026” could be 3 April or 4 March 2026: enter 2026-04-03 or "
                                      "2026-03-04, or pick the day in the calendar"):
        parse_day("03/04/2026")
    for typed, said in (("2026-02-30", "there is no day “2026-02-30”"), ("31/13/2026", "there is no day"),
                        ("31/12/26", "is not a date we can read"), ("tomorrow", "“tomorrow” is not a date"),
                        ("31 Smarch 2026", "not a date"), (" ", "^enter a date such as")):
        with pytest.raises(NotADay, match=said):
            parse_day(typed)
