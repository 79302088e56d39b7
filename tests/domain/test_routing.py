"""The routing rules, one example per rule of DESIGN.md ("Routing policy")
and issue 3: stages, rules, rejection and partial approval, changes and
resubmission, conditions, withdrawal, refusals, and the clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from countersign.domain.errors import (
    InvalidDecision,
    NotAwaitingChanges,
    NothingToAcknowledge,
    NotPendingParty,
    PolicyError,
    ProposalClosed,
    StaleVersion,
)
from countersign.domain.policy import Policy, load_policy, parse_policy
from countersign.domain.routing import Event, Review, SlotState, Status, current_parties

POLICIES = Path(__file__).parents[1] / "policies"
UTC = timezone.utc
NY, LONDON, PARIS = ZoneInfo("America/New_York"), ZoneInfo("Europe/London"), ZoneInfo("Europe/Paris")
T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday: 10:00 in New York, 16:00 in Paris
ALL = list(load_policy().parties)
DEFAULT_STAGES = ["Rights & licensing review", "Legal sign-off", "Executive approval"]
THREE = ["sony", "merlin", "believe"]
SUM = ["sony", "universal", "merlin"]


def policy(*stages: dict, allow_partial: bool = False) -> Policy:
    """The shipped parties with these stages."""
    parties = load_policy().parties
    return parse_policy(
        {
            "allow_partial": allow_partial,
            "parties": {k: {"name": p.name, "timezone": p.timezone, "holidays": p.holidays,
                            "escalation": p.escalation} for k, p in parties.items()},
            "stages": list(stages),
        },
        "test policy",
    )


def stage(name: str = "Review", **fields) -> dict:
    return {"name": name, "due": "10 business days", **fields}


TWO_STAGES = (stage("Rights"), stage("Legal"))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def decide(review: Review, party: str, verdict: str = "approve", comment: str = "", *,
           version: int | None = None, now: datetime = T0) -> list[Event]:
    comment = comment or ("" if verdict == "approve" else f"{party}'s note")
    return review.decide(party, verdict, comment, review.version if version is None else version,
                         f"rep.{party}@example.com", now)


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


def run_clock(review: Review, until: datetime) -> list[Event]:
    """What the workflow does: sleep to the next deadline, advance the clock, repeat."""
    events: list[Event] = []
    while (moment := review.next_deadline()) is not None and moment <= until:
        events += review.advance_clock(moment)
    return events


def states(review: Review) -> dict[str, str]:
    return {view.party: view.state.value for view in review.snapshot().parties}


# -- stages --------------------------------------------------------------------

def test_default_policy_runs_three_stages_in_order():
    review, events = Review.open(load_policy(), ALL, T0)
    assert kinds(events) == ["routed"]
    assert events[0].detail["stage"] == DEFAULT_STAGES[0]
    assert events[0].detail["parties"] == ",".join(ALL)
    for index, name in enumerate(DEFAULT_STAGES):
        opened = at(60 * index)
        snap = review.snapshot()
        assert (snap.stage, snap.stage_index, snap.status) == (name, index, Status.IN_REVIEW)
        assert snap.pending == ALL
        for party in ALL[:-1]:
            assert decide(review, party, now=opened + timedelta(minutes=1))[0].kind == "decided"
            assert review.stage.name == name  # "all": waits for the last one
        events = decide(review, ALL[-1], now=at(60 * (index + 1)))
        assert kinds(events) == ["decided", "routed" if index < 2 else "concluded"]
    assert review.status == Status.APPROVED
    assert review.outcome_scope is None
    assert [s.name for s in review.snapshot().stages] == DEFAULT_STAGES


def test_each_stage_due_date_counts_from_when_it_opened():
    review, _ = Review.open(load_policy(), ["sony"], T0)
    assert review.stage.slots["sony"].due_at.astimezone(NY).date().isoformat() == "2026-12-10"  # 10 days
    decide(review, "sony", now=datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    assert review.stage.name == "Legal sign-off"
    assert review.stage.slots["sony"].due_at.astimezone(NY).date().isoformat() == "2026-12-08"  # 5 days


def test_a_party_waiting_for_its_stage_is_told_so():
    review, _ = Review.open(policy(stage("Labels", parties=["sony", "universal", "warner", "merlin"]),
                                   stage("Believe", parties=["believe"])), ALL, T0)
    assert review.party_state("believe") == SlotState.WAITING
    with pytest.raises(NotPendingParty, match="believe has no decision to make in 'Labels'; its next stage"):
        decide(review, "believe")
    for party in ["sony", "universal", "warner", "merlin"]:
        decide(review, party)
    assert review.stage.name == "Believe" and review.pending_parties() == ["believe"]
    with pytest.raises(NotPendingParty, match="sony takes no part in 'Believe'"):
        decide(review, "sony")


def test_a_stage_without_touched_parties_is_skipped():
    review, events = Review.open(
        policy(stage("Majors", parties=["sony", "universal", "warner"]), stage("Everyone")),
        ["merlin", "believe"], T0,
    )
    assert events[0].detail["stage"] == "Everyone"
    assert [s.name for s in review.stages] == ["Everyone"]


def test_after_a_skipped_stage_each_stage_keeps_its_own_rule_and_timing():
    stages = (stage("Majors", parties=["sony", "universal", "warner"], due="10 business days"),
              stage("Screen", rule="any", due="2 business days"),
              stage("Final", rule="all", due="5 business days"))
    review, _ = Review.open(policy(*stages), ["merlin", "believe"], T0)
    assert review.stage.name == "Screen"
    # Wednesday 25 November + 2 business days in Paris: Friday 27 November.
    assert review.stage.slots["believe"].due_at.astimezone(PARIS).date().isoformat() == "2026-11-27"
    decide(review, "merlin", "request_changes", now=at(1))
    review.resubmit("lead", at(2))
    assert review.stage.slots["merlin"].due_at.astimezone(LONDON).date().isoformat() == "2026-11-27"
    events = decide(review, "merlin", now=at(3))  # "any": one approval passes Screen
    assert kinds(events) == ["decided", "routed"] and events[1].detail["stage"] == "Final"
    assert [s.name for s in review.stages] == ["Screen", "Final"]
    assert review.stage.slots["believe"].due_at.astimezone(PARIS).date().isoformat() == "2026-12-02"
    decide(review, "merlin", now=at(4))
    assert review.status == Status.IN_REVIEW  # "all": Believe too
    decide(review, "believe", now=at(5))
    assert review.status == Status.APPROVED


def test_open_refuses_parties_the_policy_does_not_know():
    small = parse_policy({"parties": {"sony": {"name": "Sony", "timezone": "UTC", "holidays": "US"}},
                          "stages": [stage()]}, "small.toml")
    with pytest.raises(PolicyError, match=r"no \[parties.merlin\] table"):
        Review.open(small, ["sony", "merlin"], T0)
    with pytest.raises(ValueError, match="at least one party"):
        Review.open(small, [], T0)


# -- rules ---------------------------------------------------------------------------

def test_rule_all_waits_for_everyone():
    review, _ = Review.open(policy(stage(rule="all")), ["sony", "merlin", "believe"], T0)
    decide(review, "sony")
    decide(review, "merlin")
    assert review.status == Status.IN_REVIEW and review.pending_parties() == ["believe"]
    assert kinds(decide(review, "believe")) == ["decided", "concluded"]
    assert review.status == Status.APPROVED


def test_rule_any_passes_on_the_first_approval():
    review, _ = Review.open(policy(stage("Screen", rule="any"), stage("Sign")), THREE, T0)
    events = decide(review, "merlin")
    assert kinds(events) == ["decided", "routed"]
    first = review.snapshot().stages[0]
    assert {v.party: v.state for v in first.parties} == {
        "sony": SlotState.NOT_NEEDED, "merlin": SlotState.APPROVED, "believe": SlotState.NOT_NEEDED,
    }
    assert review.pending_parties() == ["sony", "merlin", "believe"]  # not needed is not dropped


def test_rule_quorum():
    review, _ = Review.open(policy(stage(rule="quorum:2")), ["sony", "universal", "merlin"], T0)
    assert decide(review, "sony")[-1].kind == "decided"
    assert review.status == Status.IN_REVIEW
    assert kinds(decide(review, "merlin")) == ["decided", "concluded"]
    assert review.status == Status.APPROVED
    assert review.party_state("universal") == SlotState.NOT_NEEDED


def test_quorum_larger_than_the_touched_parties_needs_them_all():
    review, _ = Review.open(policy(stage(rule="quorum:3")), ["sony", "merlin"], T0)
    decide(review, "sony")
    assert review.status == Status.IN_REVIEW
    decide(review, "merlin")
    assert review.status == Status.APPROVED


def test_quorum_that_can_no_longer_be_met_fails_at_once():
    review, _ = Review.open(policy(stage(rule="quorum:2"), allow_partial=True), SUM, T0)
    decide(review, "sony", "reject")
    assert review.status == Status.IN_REVIEW  # two can still approve
    events = decide(review, "universal", "reject")
    assert kinds(events) == ["decided", "concluded"]
    assert review.status == Status.REJECTED
    assert review.party_state("merlin") == SlotState.NOT_NEEDED


def test_quorum_passes_despite_a_rejection_when_partial_is_allowed():
    review, _ = Review.open(policy(stage(rule="quorum:2"), allow_partial=True), SUM, T0)
    decide(review, "universal", "reject")
    decide(review, "sony")
    decide(review, "merlin")
    assert (review.status, review.outcome_scope) == (Status.APPROVED_PARTIAL, ["sony", "merlin"])


# -- rejection and partial approval ------------------------------------------------------

def test_reject_without_partial_concludes_rejected_at_once():
    review, _ = Review.open(load_policy(), ALL, T0)
    decide(review, "sony")
    events = decide(review, "warner", "reject", "Not for our catalog.")
    assert kinds(events) == ["decided", "concluded"]
    assert events[0].detail == {"decision": "reject", "version": "1", "stage": DEFAULT_STAGES[0],
                                "comment": "Not for our catalog."}
    assert events[1].detail == {"status": "rejected"}
    assert review.status == Status.REJECTED and review.concluded
    assert states(review) == {"sony": "approved", "universal": "not_needed", "warner": "rejected",
                              "merlin": "not_needed", "believe": "not_needed"}
    snap = review.snapshot()
    assert snap.pending == [] and snap.next_due_at is None and review.next_deadline() is None


def test_a_rejection_needs_a_reason():
    review, _ = Review.open(load_policy(), ALL, T0)
    with pytest.raises(InvalidDecision, match="a comment is required: write the reason for rejecting"):
        review.decide("sony", "reject", "   ", 1, "rep", T0)
    assert review.party_state("sony") == SlotState.PENDING


def test_with_partial_a_rejecting_party_drops_out_of_later_stages():
    review, _ = Review.open(policy(stage("Rights"), stage("Legal"), allow_partial=True),
                            ["sony", "universal", "merlin"], T0)
    decide(review, "universal", "reject")
    assert review.status == Status.IN_REVIEW
    decide(review, "sony")
    events = decide(review, "merlin")
    assert kinds(events) == ["decided", "routed"] and events[1].detail["parties"] == "sony,merlin"
    assert list(review.stage.slots) == ["sony", "merlin"]
    assert review.party_state("universal") == SlotState.DROPPED
    with pytest.raises(NotPendingParty, match="universal is out of this review after rejecting"):
        decide(review, "universal")
    decide(review, "sony")
    events = decide(review, "merlin")
    assert events[-1].detail == {"status": "approved_partial", "scope": "sony,merlin"}
    assert review.status == Status.APPROVED_PARTIAL
    assert review.outcome_scope == ["sony", "merlin"]
    assert review.snapshot().outcome_scope == ["sony", "merlin"]


def test_rejection_in_a_later_stage_drops_that_party_from_the_scope():
    review, _ = Review.open(policy(*TWO_STAGES, allow_partial=True), ["sony", "merlin"], T0)
    decide(review, "sony")
    decide(review, "merlin")
    decide(review, "merlin", "reject")
    decide(review, "sony")
    assert (review.status, review.outcome_scope) == (Status.APPROVED_PARTIAL, ["sony"])


def test_partial_but_everyone_rejects_is_rejected():
    review, _ = Review.open(policy(stage(), allow_partial=True), ["sony", "merlin"], T0)
    decide(review, "sony", "reject")
    decide(review, "merlin", "reject")
    assert review.status == Status.REJECTED and review.outcome_scope is None


# -- request changes and resubmission -----------------------------------------------------

def test_request_changes_returns_the_proposal_to_its_lead():
    review, _ = Review.open(load_policy(), ["sony", "warner", "merlin"], T0)
    decide(review, "sony")
    events = decide(review, "warner", "request_changes", "Name the licence.")
    assert kinds(events) == ["decided", "changes_requested"]
    assert review.status == Status.CHANGES_REQUESTED
    snap = review.snapshot()
    assert snap.pending == [] and snap.next_due_at is None
    assert states(review) == {"sony": "approved", "warner": "changes_requested", "merlin": "waiting"}
    with pytest.raises(NotPendingParty, match="decisions resume when the lead submits version 2"):
        decide(review, "merlin")
    # Deadlines pause while the lead edits: nothing is due, however long it takes.
    assert review.next_deadline() is None
    assert review.advance_clock(T0 + timedelta(days=90)) == []
    assert review.status == Status.CHANGES_REQUESTED


def test_request_changes_needs_the_changes():
    review, _ = Review.open(load_policy(), ALL, T0)
    with pytest.raises(InvalidDecision, match="write the changes you need"):
        review.decide("sony", "request_changes", "", 1, "rep", T0)


def test_resubmit_reopens_the_stage_for_everyone_who_had_not_approved():
    review, _ = Review.open(policy(*TWO_STAGES), ["sony", "warner", "merlin", "believe"], T0)
    for party in ["sony", "warner", "merlin", "believe"]:
        decide(review, party)  # Rights passes
    decide(review, "sony", now=at(10))
    decide(review, "merlin", "approve_with_conditions", "Credit the producers.", now=at(11))
    decide(review, "warner", "request_changes", "Name the licence.", now=at(12))

    later = T0 + timedelta(days=20)
    events = review.resubmit("lead@example.com", later)
    assert kinds(events) == ["resubmitted"]
    assert events[0].detail == {"version": "2", "stage": "Legal", "reopened": "warner,believe"}
    assert (review.status, review.version, review.stage.name) == (Status.IN_REVIEW, 2, "Legal")
    assert states(review) == {"sony": "approved", "warner": "pending", "merlin": "approved_with_conditions",
                              "believe": "pending"}
    assert review.stage.slots["sony"].version == 1  # approvals stand
    assert review.stages[0].slots["believe"].state == SlotState.APPROVED  # the earlier stage is untouched
    # The reopened parties' clocks start again from the resubmission.
    assert review.stage.slots["warner"].due_at > later
    with pytest.raises(StaleVersion, match="version 1 is no longer current; the proposal is at version 2"):
        decide(review, "warner", version=1)
    with pytest.raises(StaleVersion, match="there is no version 3; the proposal is at version 2"):
        decide(review, "warner", version=3)
    with pytest.raises(NotPendingParty, match=r"sony has already decided in 'Legal' \(approved\); a"):
        decide(review, "sony")
    decide(review, "warner", now=later)
    decide(review, "believe", now=later)
    assert review.awaiting_acknowledgement  # merlin's conditions from version 1 still stand
    review.acknowledge("lead@example.com", later)
    assert review.status == Status.APPROVED


def test_resubmit_only_when_changes_were_requested():
    review, _ = Review.open(load_policy(), ALL, T0)
    with pytest.raises(NotAwaitingChanges, match="no changes were requested"):
        review.resubmit("lead", T0)
    with pytest.raises(NotAwaitingChanges):
        review.check_resubmit()


def test_changes_requested_twice_makes_version_three():
    review, _ = Review.open(policy(stage()), ["sony", "merlin"], T0)
    decide(review, "sony", "request_changes")
    review.resubmit("lead", at(1))
    decide(review, "merlin", "request_changes", now=at(2))
    review.resubmit("lead", at(3))
    assert review.version == 3 and review.pending_parties() == ["sony", "merlin"]


# -- conditions --------------------------------------------------------------------------------

def test_approve_with_conditions_waits_for_the_lead():
    review, _ = Review.open(policy(stage()), ["sony", "believe"], T0)
    with pytest.raises(InvalidDecision, match="write the conditions"):
        review.decide("sony", "approve_with_conditions", "", 1, "rep", T0)
    decide(review, "sony", "approve_with_conditions", "Credit the producers.")
    events = decide(review, "believe")
    assert kinds(events) == ["decided"]  # approved in substance only
    assert review.status == Status.IN_REVIEW and not review.concluded
    assert review.awaiting_acknowledgement
    assert review.pending_parties() == [] and review.next_deadline() is None
    snap = review.snapshot()
    assert [(c.party, c.text, c.version, c.acknowledged) for c in snap.conditions] == [
        ("sony", "Credit the producers.", 1, False)
    ]
    events = review.acknowledge("lead@example.com", at(5))
    assert kinds(events) == ["conditions_acknowledged", "concluded"]
    assert events[0].detail == {"conditions": "sony: Credit the producers."}
    assert review.status == Status.APPROVED
    assert review.snapshot().conditions[0].acknowledged
    with pytest.raises(ProposalClosed):
        review.acknowledge("lead@example.com", at(6))


def test_conditions_acknowledged_early_do_not_hold_up_the_end():
    review, _ = Review.open(policy(stage()), ["sony", "believe"], T0)
    decide(review, "sony", "approve_with_conditions", "Credit the producers.")
    assert not review.awaiting_acknowledgement
    assert kinds(review.acknowledge("lead", at(1))) == ["conditions_acknowledged"]
    assert kinds(decide(review, "believe", now=at(2))) == ["decided", "concluded"]
    assert review.status == Status.APPROVED


def test_nothing_to_acknowledge():
    review, _ = Review.open(policy(stage()), ["sony"], T0)
    with pytest.raises(NothingToAcknowledge, match="no open conditions"):
        review.acknowledge("lead", T0)


def test_conditions_before_skipped_final_stages_still_await_acknowledgement():
    majors = stage("Majors", parties=["sony", "universal", "warner"])
    review, _ = Review.open(policy(stage("Everyone"), majors), ["merlin"], T0)
    decide(review, "merlin", "approve_with_conditions", "Label the output.")
    assert review.status == Status.IN_REVIEW and review.awaiting_acknowledgement
    review.acknowledge("lead", at(1))
    assert review.status == Status.APPROVED


def test_conditions_of_a_party_that_dropped_out_do_not_block():
    review, _ = Review.open(policy(*TWO_STAGES, allow_partial=True), ["sony", "merlin"], T0)
    decide(review, "sony", "approve_with_conditions", "Credit the producers.")
    decide(review, "merlin")
    decide(review, "sony", "reject", "Legal says no.")
    events = decide(review, "merlin")
    assert events[-1].kind == "concluded"
    assert (review.status, review.outcome_scope) == (Status.APPROVED_PARTIAL, ["merlin"])


# -- withdrawal --------------------------------------------------------------------------------

@pytest.mark.parametrize("moment", ["in_review", "changes_requested", "awaiting_acknowledgement"])
def test_withdraw_at_any_time_before_the_end(moment):
    review, _ = Review.open(policy(stage()), ["sony", "merlin"], T0)
    if moment == "changes_requested":
        decide(review, "sony", "request_changes")
    elif moment == "awaiting_acknowledgement":
        decide(review, "sony", "approve_with_conditions")
        decide(review, "merlin")
    events = review.withdraw("lead@example.com", "  Product cancelled. ", at(3))
    assert kinds(events) == ["withdrawn", "concluded"]
    assert events[0].detail == {"reason": "Product cancelled."} and events[0].actor == "lead@example.com"
    assert review.status == Status.WITHDRAWN
    assert "pending" not in states(review).values() and "waiting" not in states(review).values()
    assert review.snapshot().pending == [] and review.next_deadline() is None
    with pytest.raises(ProposalClosed, match="this proposal is withdrawn; it can no longer change"):
        review.withdraw("lead@example.com", "", at(4))


# -- refusals ----------------------------------------------------------------------------------

def test_refusals_name_what_went_wrong():
    review, _ = Review.open(policy(stage()), ["sony", "merlin"], T0)
    with pytest.raises(NotPendingParty, match="this proposal does not touch believe's catalog"):
        decide(review, "believe")
    with pytest.raises(InvalidDecision, match="'maybe' is not a decision; use one of approve, approve_with_"):
        review.decide("sony", "maybe", "", 1, "rep", T0)
    with pytest.raises(StaleVersion, match="there is no version 2"):
        decide(review, "sony", version=2)
    decide(review, "sony")
    with pytest.raises(NotPendingParty, match=r"sony has already decided in 'Review' \(approved\); a"):
        decide(review, "sony", "reject")
    decide(review, "merlin")
    with pytest.raises(ProposalClosed, match="this proposal is approved; it can no longer change"):
        decide(review, "merlin")
    with pytest.raises(ProposalClosed):
        review.check_resubmit()
    with pytest.raises(ProposalClosed):
        review.check_acknowledge()


def test_checks_never_change_the_review():
    review, _ = Review.open(policy(stage()), ["sony", "merlin"], T0)
    decide(review, "sony")
    before = review.snapshot()
    for check in (lambda: review.check_decision("sony", "approve", "", 1),
                  lambda: review.check_decision("merlin", "reject", "", 1),
                  lambda: review.check_decision("merlin", "approve", "", 7),
                  review.check_resubmit, review.check_acknowledge):
        with pytest.raises(Exception):
            check()
    review.check_decision("merlin", "approve", "", 1)
    review.check_open()
    assert review.snapshot() == before


def test_a_refused_decision_changes_nothing():
    review, _ = Review.open(policy(stage()), ["sony", "merlin"], T0)
    before = review.snapshot()
    with pytest.raises(StaleVersion):
        decide(review, "sony", version=0)
    assert review.snapshot() == before


# -- the clock --------------------------------------------------------------------------------

def test_reminders_escalation_and_expiry_in_each_partys_own_time():
    review, _ = Review.open(load_policy(), ["sony", "believe"], T0)
    assert review.next_deadline() == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)  # Believe's first reminder
    assert review.advance_clock(datetime(2026, 12, 4, 7, 59, tzinfo=UTC)) == []  # not a minute early
    events = run_clock(review, T0 + timedelta(days=30))
    timeline = [(e.kind, e.party, e.at) for e in events]
    # Stage due in 10 business days from Wednesday 25 November: New York skips Thanksgiving, Paris does not.
    # Reminders 3 and 1 business days before due at 09:00 local; escalation at 23:59:59 local on the due day.
    assert timeline == [
        ("reminded", "believe", datetime(2026, 12, 4, 9, 0, tzinfo=PARIS)),  # 7 business days in (FR)
        ("reminded", "sony", datetime(2026, 12, 7, 9, 0, tzinfo=NY)),  # 7 business days in (US)
        ("reminded", "believe", datetime(2026, 12, 8, 9, 0, tzinfo=PARIS)),
        ("reminded", "sony", datetime(2026, 12, 9, 9, 0, tzinfo=NY)),
        ("escalated", "believe", datetime(2026, 12, 9, 23, 59, 59, tzinfo=PARIS)),
        ("escalated", "sony", datetime(2026, 12, 10, 23, 59, 59, tzinfo=NY)),
        # Two business days of grace after Believe's due date, then the proposal expires.
        ("expired", None, datetime(2026, 12, 11, 23, 59, 59, tzinfo=PARIS)),
        ("concluded", None, datetime(2026, 12, 11, 23, 59, 59, tzinfo=PARIS)),
    ]
    believe_due = datetime(2026, 12, 9, 23, 59, 59, tzinfo=PARIS)
    assert datetime.fromisoformat(events[0].detail["due_at"]) == believe_due
    assert datetime.fromisoformat(events[4].detail["grace_ends_at"]) == believe_due + timedelta(days=2)
    assert events[6].detail == {"stage": DEFAULT_STAGES[0], "parties": "believe"}
    assert review.status == Status.EXPIRED
    assert states(review) == {"sony": "not_needed", "believe": "expired"}
    assert review.next_deadline() is None


def test_a_party_that_decided_gets_no_reminders():
    review, _ = Review.open(load_policy(), ["sony", "believe"], T0)
    decide(review, "believe", now=at(1))
    events = run_clock(review, datetime(2026, 12, 10, 12, 0, tzinfo=UTC))
    assert {e.party for e in events} == {"sony"} and kinds(events) == ["reminded", "reminded"]


def test_a_decision_after_escalation_still_counts():
    review, _ = Review.open(policy(stage(grace="2 business days")), ["sony"], T0)
    events = run_clock(review, datetime(2026, 12, 12, tzinfo=UTC))
    assert kinds(events)[-1] == "escalated" and review.status == Status.IN_REVIEW
    decide(review, "sony", now=datetime(2026, 12, 12, tzinfo=UTC))
    assert review.status == Status.APPROVED


def test_on_overdue_expire_drops_only_the_silent_party():
    review, _ = Review.open(load_policy(POLICIES / "quorum_partial.toml"), ["sony", "merlin", "believe"], T0)
    decide(review, "sony")
    decide(review, "believe")
    events = run_clock(review, T0 + timedelta(days=30))
    # Rights is due in 5 business days (Wednesday 2 December in London), 1 day of grace, no escalation.
    assert [(e.kind, e.party) for e in events] == [
        ("reminded", "merlin"), ("expired", "merlin"), ("routed", None),
        ("reminded", "sony"), ("reminded", "believe"), ("expired", "sony"), ("concluded", None),
    ]
    assert events[1].at == datetime(2026, 12, 3, 23, 59, 59, tzinfo=LONDON)
    assert events[2].detail["parties"] == "sony,believe"  # merlin is out of the later stages
    # Legal needs two approvals: once Sony's slot expires (in New York, before Paris), it cannot pass.
    # Nobody rejected anything, so the proposal expired rather than being rejected.
    assert review.status == Status.EXPIRED
    assert states(review) == {"sony": "expired", "merlin": "dropped", "believe": "not_needed"}


def test_on_overdue_expire_then_partial_approval():
    review, _ = Review.open(load_policy(POLICIES / "quorum_partial.toml"), ["sony", "merlin", "believe"], T0)
    decide(review, "sony")
    decide(review, "believe")
    run_clock(review, datetime(2026, 12, 4, tzinfo=UTC))  # merlin expired in Rights
    assert review.stage.name == "Legal" and review.party_state("merlin") == SlotState.DROPPED
    decide(review, "sony", now=datetime(2026, 12, 4, tzinfo=UTC))
    decide(review, "believe", now=datetime(2026, 12, 4, tzinfo=UTC))  # quorum:2
    decide(review, "believe", now=datetime(2026, 12, 4, tzinfo=UTC))  # any
    assert (review.status, review.outcome_scope) == (Status.APPROVED_PARTIAL, ["sony", "believe"])


def test_on_overdue_expire_without_partial_expires_the_proposal():
    quick = stage(due="45s", grace="15s", on_overdue="expire")
    review, _ = Review.open(policy(quick), ["sony", "merlin"], T0)
    decide(review, "sony")
    events = run_clock(review, at(5))
    assert [(e.kind, e.party, e.at) for e in events] == [
        ("expired", "merlin", T0 + timedelta(seconds=60)), ("concluded", None, T0 + timedelta(seconds=60)),
    ]
    assert review.status == Status.EXPIRED  # full approval is impossible; nobody rejected


def test_escalate_with_any_rule_waits_for_the_last_party_in_grace():
    # Believe's grace ends six hours before Sony's: the stage can still pass in New York.
    review, _ = Review.open(policy(stage(rule="any", grace="1 business day")), ["sony", "believe"], T0)
    paris_end = datetime(2026, 12, 10, 23, 59, 59, tzinfo=PARIS)
    events = run_clock(review, paris_end)
    assert kinds(events)[-1] == "escalated" and review.status == Status.IN_REVIEW
    assert review.next_deadline() > paris_end
    decide(review, "sony", now=paris_end + timedelta(hours=1))
    assert review.status == Status.APPROVED

    review, _ = Review.open(policy(stage(rule="any", grace="1 business day")), ["sony", "believe"], T0)
    events = run_clock(review, T0 + timedelta(days=40))
    assert kinds(events)[-2:] == ["expired", "concluded"]
    assert events[-1].at == datetime(2026, 12, 11, 23, 59, 59, tzinfo=NY)
    assert events[-2].detail["parties"] == "sony,believe"


def test_escalate_with_any_rule_expires_once_only_lapsed_parties_are_left():
    review, _ = Review.open(policy(stage(rule="any", grace="1 business day"), allow_partial=True),
                            ["sony", "believe"], T0)
    paris_end = datetime(2026, 12, 10, 23, 59, 59, tzinfo=PARIS)
    run_clock(review, paris_end)  # Believe is past its grace; Sony still has until the end of its day
    events = decide(review, "sony", "reject", now=paris_end + timedelta(hours=1))
    # Only Believe could still pass the stage, and its grace is over: the proposal expires now,
    # rather than waiting for a deadline that will never come.
    assert kinds(events) == ["decided", "expired", "concluded"]
    assert events[1].detail == {"stage": "Review", "parties": "believe"}
    assert review.status == Status.EXPIRED  # with partial approval, Sony's "no" alone would not have ended it
    assert states(review) == {"sony": "rejected", "believe": "expired"}


def test_seconds_policy_reminds_escalates_and_expires_in_seconds():
    review, _ = Review.open(load_policy(POLICIES / "seconds.toml"), ["sony"], T0)
    events = run_clock(review, at(2))
    assert [(e.kind, (e.at - T0).seconds) for e in events] == [
        ("reminded", 30), ("reminded", 50), ("escalated", 60), ("expired", 80), ("concluded", 80),
    ]


def test_a_reminder_overtaken_by_the_due_time_is_not_sent():
    review, _ = Review.open(policy(stage(due="60s", reminders=["30s"], grace="60s")), ["sony"], T0)
    events = review.advance_clock(T0 + timedelta(seconds=61))  # e.g. a worker that was down
    assert kinds(events) == ["escalated"]


def test_clock_after_the_end_does_nothing():
    review, _ = Review.open(policy(stage()), ["sony"], T0)
    decide(review, "sony")
    assert review.next_deadline() is None
    assert review.advance_clock(T0 + timedelta(days=365)) == []


# -- the snapshot -------------------------------------------------------------------------------

def test_snapshot_shows_every_party_and_stage():
    review, _ = Review.open(policy(stage("Rights"), stage("Legal"), allow_partial=True),
                            ["sony", "merlin", "believe"], T0)
    decide(review, "believe", "reject", "No.")
    decide(review, "sony")
    decide(review, "merlin", now=at(30))
    decide(review, "sony", now=at(31))
    snap = review.snapshot()
    assert (snap.status, snap.version, snap.stage, snap.stage_index) == (Status.IN_REVIEW, 1, "Legal", 1)
    assert [(v.party, v.state) for v in snap.parties] == [
        ("sony", SlotState.APPROVED), ("merlin", SlotState.PENDING), ("believe", SlotState.DROPPED),
    ]
    assert snap.pending == ["merlin"]
    assert snap.next_due_at == review.stage.slots["merlin"].due_at
    assert [(s.index, s.name, s.opened_at) for s in snap.stages] == [(0, "Rights", T0), (1, "Legal", at(30))]
    sony = snap.parties[0]
    assert (sony.decided_by, sony.decided_at, sony.version) == ("rep.sony@example.com", at(31), 1)


def test_current_parties_are_the_current_stage_and_the_touched_parties_outside_it():
    review, _ = Review.open(policy(stage("Rights"), stage("Legal", parties=["sony", "believe"]), allow_partial=True),
                            ["sony", "warner", "merlin", "believe"], T0)
    decide(review, "warner", "reject", "No.")
    for party in ["sony", "merlin", "believe"]:
        decide(review, party, now=at(30))
    decide(review, "believe", now=at(40))
    snap = review.snapshot()
    assert snap.stage == "Legal"
    parties = current_parties(snap)
    assert [(v.party, v.state) for v in parties] == [  # the proposal's order, outsiders in between
        ("sony", SlotState.PENDING), ("warner", SlotState.DROPPED), ("merlin", SlotState.WAITING),
        ("believe", SlotState.APPROVED),
    ]
    sony = parties[0]  # its place in Legal, not its approval in Rights
    assert (sony.due_at, sony.decided_by) == (review.stage.slots["sony"].due_at, None)
    assert snap.stages[0].parties[0].decided_by == "rep.sony@example.com"
    assert (parties[3].decided_at, parties[3].decided_by) == (at(40), "rep.believe@example.com")
