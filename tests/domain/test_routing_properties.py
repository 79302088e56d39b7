"""Property tests: random policies, random proposals and random sequences of
decisions, resubmissions, acknowledgements, clock advances and withdrawals.
After every step the review must keep the invariants of DESIGN.md and
issue 3 (see `check_invariants`)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from countersign.domain import calendar
from countersign.domain.errors import DomainError
from countersign.domain.policy import Duration, Policy, load_policy, parse_policy
from countersign.domain.routing import APPROVING, Event, Review, SlotState, Status, Verdict

UTC = timezone.utc
SHIPPED = load_policy().parties
KEYS = tuple(SHIPPED)
FINAL = {Status.APPROVED, Status.APPROVED_PARTIAL, Status.REJECTED, Status.WITHDRAWN, Status.EXPIRED}
OUT = {SlotState.REJECTED, SlotState.EXPIRED}

# -- random policies ------------------------------------------------------------

PLAIN_UNITS = {"s": 1, "m": 60, "h": 3600}


@st.composite
def timing(draw) -> dict:
    """Due, reminders and grace: either all business days or all elapsed time."""
    if draw(st.booleans()):
        due = draw(st.integers(1, 10))
        reminders = draw(st.lists(st.integers(0, due - 1), max_size=2, unique=True))
        return {"due": f"{due} business days", "reminders": [f"{r} business days" for r in reminders],
                "grace": f"{draw(st.integers(0, 3))} business days"}
    unit = draw(st.sampled_from(sorted(PLAIN_UNITS)))
    due = draw(st.integers(1, 90))
    reminders = draw(st.lists(st.integers(1, due - 1), max_size=2, unique=True)) if due > 1 else []
    return {"due": f"{due}{unit}", "reminders": [f"{r}{unit}" for r in reminders],
            "grace": f"{draw(st.integers(0, 90))}{unit}"}


@st.composite
def policies(draw) -> Policy:
    stages = []
    for number in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            parties = "touched"
            seats = len(KEYS)
        else:
            parties = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=5, unique=True))
            seats = len(parties)
        rule = draw(st.sampled_from(["all", "any", "quorum"]))
        if rule == "quorum":
            rule = f"quorum:{draw(st.integers(1, seats))}"
        stages.append({"name": f"Stage {number + 1}", "parties": parties, "rule": rule,
                       "on_overdue": draw(st.sampled_from(["escalate", "expire"])), **draw(timing())})
    # Every party is asked somewhere (the parser insists): any party no stage lists joins the first.
    listed = {p for s in stages if s["parties"] != "touched" for p in s["parties"]}
    if not any(s["parties"] == "touched" for s in stages) and listed != set(KEYS):
        stages[0]["parties"] = sorted(set(stages[0]["parties"]) | (set(KEYS) - listed))
    raw = {
        "allow_partial": draw(st.booleans()),
        "parties": {
            k: {"name": p.name, "timezone": p.timezone, "holidays": p.holidays} for k, p in SHIPPED.items()
        },
        "stages": stages,
    }
    return parse_policy(raw, "random policy")


touched_parties = st.lists(st.sampled_from(KEYS), min_size=1, max_size=5, unique=True).map(
    lambda ps: [p for p in KEYS if p in ps]
)
starts = st.datetimes(datetime(2025, 1, 1), datetime(2035, 12, 31), timezones=st.just(UTC))
delays = st.one_of(
    st.just(timedelta(0)),
    st.integers(1, 120).map(lambda s: timedelta(seconds=s)),
    st.integers(1, 72).map(lambda h: timedelta(hours=h)),
    st.integers(1, 20).map(lambda d: timedelta(days=d)),
)


# -- invariants ----------------------------------------------------------------------

def stage_policy(review: Review, name: str):
    return next(s for s in review.policy.stages if s.name == name)  # names are unique (the parser insists)


def last_slot(review: Review, party: str):
    for stage in reversed(review.stages):
        if party in stage.slots:
            return stage.slots[party]
    return None


def check_invariants(review: Review) -> None:
    policy = review.policy
    status = review.status
    current = review.stage
    slots_of = {
        p: [(i, stage.slots[p]) for i, stage in enumerate(review.stages) if p in stage.slots]
        for p in review.touched
    }

    # Nothing stays pending once the proposal has ended; nobody decides while changes are made.
    if status in FINAL or status == Status.CHANGES_REQUESTED:
        assert review.pending_parties() == []
        assert all(s.state != SlotState.PENDING for st in review.stages for s in st.slots.values())
    if status == Status.CHANGES_REQUESTED:
        assert any(s.state == SlotState.CHANGES_REQUESTED for s in current.slots.values())
    # Stages open in policy order, each at most once.
    indexes = [stage.index for stage in review.stages]
    assert indexes == sorted(set(indexes))
    assert [stage.name for stage in review.stages] == [policy.stages[i].name for i in indexes]
    # Only the current stage can have open slots.
    for stage in review.stages[:-1]:
        assert all(s.state not in (SlotState.PENDING, SlotState.WAITING) for s in stage.slots.values())

    # A rejecting or expired party never appears in a later stage, nor in an approved scope.
    for party, slots in slots_of.items():
        out = [i for i, s in slots if s.state in OUT]
        if out:
            assert out[0] == slots[-1][0], f"{party} is back after dropping out in stage {out[0]}"
        if party in review.dropped:
            assert out, f"{party} is dropped without rejecting or expiring"
    assert len(set(review.dropped)) == len(review.dropped)

    if status in (Status.APPROVED, Status.APPROVED_PARTIAL):
        # Every stage that opened passed under its rule...
        for stage in review.stages:
            rule = stage_policy(review, stage.name).rule
            approvals = sum(s.state in APPROVING for s in stage.slots.values())
            assert all(s.state != SlotState.PENDING for s in stage.slots.values())
            if rule == "all":
                assert approvals >= 1
                assert all(s.state in APPROVING or s.state in OUT for s in stage.slots.values())
            else:
                needed = 1 if rule == "any" else min(int(rule.split(":")[1]), len(stage.slots))
                assert approvals >= needed, f"{stage.name} passed with {approvals} of {needed} approvals"
        # ...and every stage that never opened had nobody left to ask.
        opened = {stage.name for stage in review.stages}
        for index, sp in enumerate(policy.stages):
            if sp.name not in opened:
                assert not [p for p in policy.stage_parties(index, review.touched) if p not in review.dropped]
        # The lead acknowledged every condition that still matters.
        assert not [c for c in review.open_conditions if c.party not in review.dropped]
        scope = [p for p in review.touched if p not in review.dropped]
        for party in scope:
            slot = last_slot(review, party)
            assert slot is not None and (slot.state in APPROVING or slot.state == SlotState.NOT_NEEDED)
        if status == Status.APPROVED:
            # Approved means every touched party ended approving (or was not needed by an any/quorum rule).
            assert review.dropped == [] and review.outcome_scope is None
        else:
            assert policy.allow_partial and review.outcome_scope == scope
            assert 0 < len(scope) < len(review.touched)
            assert not set(review.outcome_scope) & set(review.dropped)
    else:
        assert review.outcome_scope is None
    if status == Status.REJECTED:
        assert any(s.state == SlotState.REJECTED for st in review.stages for s in st.slots.values())
    if review.dropped and not policy.allow_partial:
        assert status in (Status.REJECTED, Status.EXPIRED, Status.WITHDRAWN)

    # Every due date lands on a working day of the party's own calendar, in its own time zone.
    for stage in review.stages:
        sp = stage_policy(review, stage.name)
        for slot in stage.slots.values():
            if slot.due_at is None:  # on hold while changes are made (and then the proposal ended)
                assert slot.state in (SlotState.WAITING, SlotState.NOT_NEEDED)
                continue
            party = policy.parties[slot.party]
            zone = ZoneInfo(party.timezone)
            due = slot.due_at.astimezone(zone)
            if sp.due.unit == "business_days":
                assert due.time() == time(23, 59, 59)
                assert calendar.is_business_day(due.date(), party.holidays), f"{slot.party} due {due}"
            if sp.grace.unit == "business_days":
                grace = slot.grace_ends_at.astimezone(zone)
                assert grace.time() == time(23, 59, 59)
                assert calendar.is_business_day(grace.date(), party.holidays)
            else:
                assert slot.grace_ends_at - slot.due_at == timedelta(seconds=sp.grace.amount * PLAIN_UNITS[
                    {"seconds": "s", "minutes": "m", "hours": "h"}[sp.grace.unit]])
            assert slot.reminders_at == sorted(slot.reminders_at)
            for reminder in slot.reminders_at:
                assert reminder < slot.due_at
                if all(r.unit == "business_days" for r in sp.reminders):
                    local = reminder.astimezone(zone)
                    assert local.time() == time(9, 0)
                    assert calendar.is_business_day(local.date(), party.holidays)

    # The snapshot agrees with the review.
    snap = review.snapshot()
    pending = [p for p, s in current.slots.items() if s.state == SlotState.PENDING]
    assert snap.pending == review.pending_parties() == pending
    assert [v.party for v in snap.parties if v.state == SlotState.PENDING] == pending
    assert [v.party for v in snap.parties] == review.touched
    assert (snap.status, snap.version, snap.stage, snap.stage_index) == (
        status, review.version, current.name, len(review.stages) - 1,
    )
    assert [s.name for s in snap.stages] == [s.name for s in review.stages]
    assert snap.next_due_at == min((current.slots[p].due_at for p in pending), default=None)
    assert snap.outcome_scope == review.outcome_scope
    for view in snap.parties:
        if view.party in review.dropped:
            assert view.state in (SlotState.DROPPED, SlotState.REJECTED, SlotState.EXPIRED)
    assert (review.next_deadline() is None) == (not pending)
    # Never stuck: a proposal in review waits on some party, or on the lead's acknowledgement.
    if status == Status.IN_REVIEW:
        assert bool(pending) != review.awaiting_acknowledgement


# -- driving -------------------------------------------------------------------------

class Driver:
    """Applies random operations the way the workflow would, checking each one."""

    def __init__(self, review: Review, events: list[Event], now: datetime) -> None:
        self.review, self.events, self.now = review, list(events), now

    def attempt(self, check, act) -> None:
        """A refused check refuses the action too, with the same error and no change."""
        before = self.review.snapshot()
        try:
            check()
        except DomainError as refused:
            with pytest.raises(type(refused)):
                act()
            assert self.review.snapshot() == before
            assert str(refused)  # a message a person can act on
            return
        self.events += act()

    def decide(self, party: str, verdict: Verdict, version: int) -> None:
        comment = "" if verdict == Verdict.APPROVE else f"{party}: {verdict.value}"
        self.attempt(
            lambda: self.review.check_decision(party, verdict.value, comment, version),
            lambda: self.review.decide(party, verdict.value, comment, version, f"rep.{party}", self.now),
        )

    def advance(self, moment: datetime) -> None:
        self.now = max(self.now, moment)
        self.events += self.review.advance_clock(self.now)
        # No busy loop: once the clock has run, nothing is due at or before now.
        following = self.review.next_deadline()
        assert following is None or following > self.now, (following, self.now)
        assert self.review.advance_clock(self.now) == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies(), touched=touched_parties, start=starts, data=st.data())
def test_random_operations_keep_the_invariants(policy, touched, start, data):
    review, events = Review.open(policy, touched, start)
    driver = Driver(review, events, start)
    check_invariants(review)
    history = [review.status]
    # Each example has a mood of its own: from agreeable to hostile.
    verdicts = [Verdict.APPROVE] * 4 + [Verdict.APPROVE_WITH_CONDITIONS, Verdict.REQUEST_CHANGES] + [
        Verdict.REJECT] * data.draw(st.integers(0, 3), label="hostility")
    for _ in range(data.draw(st.integers(1, 40), label="steps")):
        before_version, before_dropped = review.version, list(review.dropped)
        before_stages = len(review.stages)
        driver.now += data.draw(delays, label="delay")
        op = data.draw(st.sampled_from(
            ["decide"] * 10 + ["clock"] * 3 + ["resubmit", "acknowledge", "withdraw"]
        ), label="op")
        if op == "decide":
            pending = review.pending_parties()
            mostly_pending = pending and data.draw(st.integers(0, 3), label="pending party?") > 0
            party = data.draw(st.sampled_from(pending if mostly_pending else KEYS), label="party")
            verdict = data.draw(st.sampled_from(verdicts), label="verdict")
            version = review.version + data.draw(st.sampled_from([0, 0, 0, 0, -1, 1]), label="version offset")
            driver.decide(party, verdict, version)
        elif op == "clock":
            following = review.next_deadline()
            if following is not None and data.draw(st.booleans(), label="to next deadline"):
                driver.advance(following)
            else:
                driver.advance(driver.now)
        elif op == "resubmit":
            driver.attempt(review.check_resubmit, lambda: review.resubmit("lead", driver.now))
        elif op == "acknowledge":
            driver.attempt(review.check_acknowledge, lambda: review.acknowledge("lead", driver.now))
        else:
            if data.draw(st.integers(0, 3), label="withdraw?") == 0:
                driver.attempt(review.check_open,
                               lambda: review.withdraw("lead", "changed plans", driver.now))

        check_invariants(review)
        # History only moves forward.
        if history[-1] in FINAL:
            assert review.status == history[-1]
        history.append(review.status)
        assert review.version in (before_version, before_version + 1)
        assert review.dropped[: len(before_dropped)] == before_dropped
        assert len(review.stages) >= before_stages

    event(f"ended {review.status.value}")
    event(f"{len(review.stages)} of {len(policy.stages)} stages opened")
    concluded = [e for e in driver.events if e.kind == "concluded"]
    assert len(concluded) == (1 if review.concluded else 0)
    if concluded:
        assert concluded[0].detail["status"] == review.status.value
    assert [e.at for e in driver.events] == sorted(e.at for e in driver.events)


@settings(max_examples=100, deadline=None)
@given(policy=policies(), touched=touched_parties, start=starts)
def test_silence_always_ends(policy, touched, start):
    """Nobody answers: following the deadlines alone, the proposal ends, in a bounded number of steps."""
    review, _ = Review.open(policy, touched, start)
    driver = Driver(review, [], start)
    for _ in range(200):
        following = review.next_deadline()
        if following is None:
            break
        driver.advance(following)
        check_invariants(review)
    assert review.status == Status.EXPIRED
    assert review.next_deadline() is None


@settings(max_examples=100, deadline=None)
@given(policy=policies(), touched=touched_parties, start=starts, data=st.data())
def test_everyone_approving_approves(policy, touched, start, data):
    """Whatever the rules, prompt approvals by everyone asked end in full approval."""
    review, _ = Review.open(policy, touched, start)
    now = start
    while review.pending_parties():
        now += data.draw(st.integers(0, 3600).map(lambda s: timedelta(seconds=s)))
        review.decide(data.draw(st.sampled_from(review.pending_parties())), "approve", "", 1, "rep", now)
        check_invariants(review)
    assert review.status == Status.APPROVED


@settings(max_examples=100, deadline=None)
@given(policy=policies(), touched=touched_parties, start=starts, data=st.data())
def test_one_rejection_without_partial_rejects(policy, touched, start, data):
    policy = dataclasses.replace(policy, allow_partial=False)
    review, _ = Review.open(policy, touched, start)
    rejecter = data.draw(st.sampled_from(review.pending_parties()))
    review.decide(rejecter, "reject", "No.", 1, "rep", start)
    assert review.status == Status.REJECTED
    check_invariants(review)


def test_durations_in_the_random_policies_are_as_written():
    """Guard for the PLAIN_UNITS table above."""
    assert Duration.parse("7s").unit == "seconds" and Duration.parse("7m").unit == "minutes"
    assert Duration.parse("7h").unit == "hours"
