"""A party's clock stopped while its question is open (policy key pause_while_question_open):
the policy key, the due date moved by the open span in business or elapsed time, and the
reminders, escalation and expiry held meanwhile."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from countersign.domain import calendar
from countersign.domain.errors import PolicyError
from countersign.domain.policy import Duration, load_policy
from countersign.domain.routing import Review, SlotState, Status
from tests.domain.test_routing import policy, stage

UTC = timezone.utc
T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday: 10:00 in New York
SONY = load_policy().parties["sony"]  # America/New_York, US holidays


def test_the_key_on_a_stage_or_at_the_top_level_off_by_default_misspelt_refused():
    assert not policy(stage()).pauses_for_questions(0)
    on_top = replace(policy(stage("A"), stage("B", pause_while_question_open=False)), pause_while_question_open=True)
    assert on_top.pauses_for_questions(0) and not on_top.pauses_for_questions(1)
    assert policy(stage(pause_while_question_open=True)).pauses_for_questions(0)
    with pytest.raises(PolicyError, match="unknown field 'pause_while_questions_open'"):
        policy(stage(pause_while_questions_open=True))
    with pytest.raises(PolicyError, match="pause_while_question_open.*true or false"):
        policy(stage(pause_while_question_open="yes"))


def test_held_moves_a_moment_by_the_open_span_as_the_deadline_counts_it():
    due = datetime(2026, 12, 9, 4, 59, 59, tzinfo=UTC)  # 23:59:59 Tuesday 8 December in New York
    # elapsed durations: the span itself
    assert calendar.held(due, T0, T0 + timedelta(hours=5), Duration(60, "seconds"), SONY) == due + timedelta(hours=5)
    # business days: one working day for each one that ended with the clock stopped
    business = Duration(10, "business_days")
    assert calendar.held(due, T0, T0 + timedelta(hours=5), business, SONY) == due  # answered the same day
    # asked Wednesday, answered Monday: Wednesday, Thanksgiving (a holiday) and Friday ended stopped -> 2 days
    monday = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert calendar.held(due, T0, monday, business, SONY) == datetime(2026, 12, 11, 4, 59, 59, tzinfo=UTC)


def test_an_open_question_holds_its_partys_clock_and_the_answer_moves_it_on():
    review, _ = Review.open(policy(stage(due="60s", reminders=["10s"], grace="20s",
                                         pause_while_question_open=True)), ["sony", "merlin"], T0)
    sony, merlin = review.stage.slots["sony"], review.stage.slots["merlin"]
    due = sony.due_at
    assert review.question_opened("merlin", 7, T0) != [] and review.question_opened("sony", 8, T0)
    [paused] = review.question_opened("merlin", 9, T0 + timedelta(seconds=5)) or [None]  # stopped already
    assert paused is None
    # held: only the others' clocks run; nothing fires for a paused party
    assert review.next_deadline() is None
    events = review.advance_clock(T0 + timedelta(hours=1))
    assert events == [] and review.status == Status.IN_REVIEW
    assert review.snapshot().parties[0].paused_since == T0
    # sony's answer restarts its clock, moved by the hour it stood still
    [resumed] = review.question_closed(8, T0 + timedelta(hours=1))
    assert resumed.kind == "clock_resumed" and sony.due_at == due + timedelta(hours=1) and sony.paused_at is None
    assert sony.reminders_at == [due + timedelta(hours=1) - timedelta(seconds=10)]
    assert review.next_deadline() == sony.reminders_at[0]
    # merlin stays stopped until its last open question is answered
    assert review.question_closed(7, T0 + timedelta(hours=2)) == [] and merlin.paused_at == T0
    assert review.question_closed(9, T0 + timedelta(hours=2))[0].detail["due_at"] == (
        due + timedelta(hours=2)).isoformat()
    # then the deadline runs: escalation, then expiry after the grace
    kinds = [e.kind for e in review.advance_clock(T0 + timedelta(hours=3))]
    assert "escalated" in kinds and review.status == Status.EXPIRED


def test_without_the_key_or_a_pending_slot_a_question_changes_nothing():
    review, _ = Review.open(policy(stage(due="60s")), ["sony"], T0)
    assert review.question_opened("sony", 1, T0) == [] and review.next_deadline() is not None
    paused, _ = Review.open(policy(stage(due="60s", pause_while_question_open=True)), ["sony", "merlin"], T0)
    paused.decide("sony", "approve", "", 1, "rep.sony@example.com", T0)
    assert paused.stage.slots["sony"].state == SlotState.APPROVED
    assert paused.question_opened("sony", 2, T0) == [] and paused.question_opened("believe", 3, T0) == []
    assert paused.question_closed(2, T0) == []
