"""Grants after approval and the runtime's check, without Temporal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from countersign.domain.errors import GrantRefused, NotAwaitingChanges, NotFound
from countersign.domain.grants import SCOPES, Consent, EvidenceFile, GrantState, check_grant, covers
from countersign.domain.policy import load_policy
from countersign.domain.routing import Review, Status
from tests import factories

POLICY = load_policy(factories.POLICIES / "tiers_seconds.toml")
T0 = datetime(2026, 12, 1, 15, tzinfo=UTC)
LABELS = ["sony", "universal", "warner"]


def approved(conditions: bool = True) -> tuple[Review, dict]:
    body = factories.submission(POLICY, launch_scope="pilot", markets=["GB", "FR"])
    review, _ = Review.open(POLICY, LABELS, T0, content=body)
    while review.status == Status.IN_REVIEW and review.pending_parties():
        for party in review.pending_parties()[::-1]:  # under "any", warner alone decides the last stage
            if party not in review.pending_parties():
                continue
            first = review.stage.name == "Rights & licensing review"
            verdict = "approve_with_conditions" if conditions and party == "warner" and first else "approve"
            review.decide(party, verdict, "Monthly takedown report", review.version, f"rep.{party}", T0)
    if review.open_conditions:
        review.acknowledge("lead", T0)
    assert review.status == Status.APPROVED
    return review, body


def test_each_approving_party_gets_a_grant_for_the_approved_scope_until_the_policys_expiry():
    review, body = approved()
    consent, events = Consent.issue(review, body, POLICY, T0)
    assert list(consent.grants) == LABELS
    sony = consent.grants["sony"]
    assert (sony.scope, sony.markets, sony.state) == ("pilot", ["GB", "FR"], GrantState.ACTIVE)
    assert sony.expires_at == T0 + timedelta(seconds=300) and sony.remind_at == T0 + timedelta(seconds=240)
    [obligation] = consent.obligations
    assert (obligation.party, obligation.due_at) == ("warner", T0 + timedelta(seconds=120))
    assert [e.kind for e in events].count("grant_issued") == 3 and events[-1].kind == "obligation_set"


def test_suspend_resume_revoke_need_a_reason_and_the_right_state():
    review, body = approved(conditions=False)
    consent, _ = Consent.issue(review, body, POLICY, T0)
    with pytest.raises(GrantRefused, match="reason is required"):
        consent.check_action("sony", "suspend", " ")
    with pytest.raises(GrantRefused, match="cannot be resumed"):
        consent.check_action("sony", "resume", "why")
    with pytest.raises(NotFound):
        consent.check_action("merlin", "revoke", "why")
    assert consent.act("sony", "suspend", "audit", "rep.sony", T0)[0].kind == "grant_suspended"
    assert consent.act("sony", "resume", "done", "rep.sony", T0)[0].kind == "grant_resumed"
    consent.act("sony", "revoke", "gone", "rep.sony", T0)
    with pytest.raises(GrantRefused, match="revoked"):
        consent.check_action("sony", "resume", "back")
    assert consent.live  # the others still hold theirs


def test_the_clock_reminds_the_lead_then_expires_every_grant_and_the_consent_ends():
    review, body = approved(conditions=False)
    consent, _ = Consent.issue(review, body, POLICY, T0)
    assert consent.next_deadline() == T0 + timedelta(seconds=240)
    kinds = [e.kind for e in consent.advance_clock(T0 + timedelta(seconds=240))]
    assert kinds == ["grant_expiry_reminded"] * 3
    assert consent.next_deadline() == T0 + timedelta(seconds=300)
    assert [e.kind for e in consent.advance_clock(T0 + timedelta(seconds=300))] == ["grant_expired"] * 3
    assert not consent.live and consent.next_deadline() is None


def test_evidence_goes_from_the_lead_to_the_party_and_can_come_back():
    review, body = approved()
    consent, _ = Consent.issue(review, body, POLICY, T0)
    with pytest.raises(GrantRefused, match="no evidence to review"):
        consent.check_review(1, "warner")
    consent.submit_evidence(1, "May's report", "lead", T0)
    with pytest.raises(NotFound, match="warner's to review"):
        consent.check_review(1, "sony")
    with pytest.raises(GrantRefused, match="say what the evidence lacks"):
        consent.review_evidence(1, "warner", False, "", "rep.warner", T0)
    consent.review_evidence(1, "warner", False, "Missing France", "rep.warner", T0)
    assert consent.obligations[0].state == "returned"
    overdue = consent.advance_clock(T0 + timedelta(seconds=120))
    assert [e.kind for e in overdue] == ["obligation_overdue"]
    with pytest.raises(GrantRefused, match="or attach a file"):
        consent.submit_evidence(1, " ", "lead", T0)
    [sent] = consent.submit_evidence(1, "", "lead", T0, EvidenceFile("france.pdf", 9, "application/pdf", "ab" * 32))
    assert sent.detail == {"obligation": "1", "evidence": "", "file_name": "france.pdf", "file_size": "9",
                           "file_type": "application/pdf", "file_sha256": "ab" * 32}
    consent.review_evidence(1, "warner", False, "And France's total", "rep.warner", T0)
    consent.submit_evidence(1, "May's report, France too", "lead", T0)
    consent.review_evidence(1, "warner", True, "", "rep.warner", T0)
    assert consent.obligations[0].state == "accepted"


@pytest.mark.parametrize(("state", "scope", "overdue", "reason"), [
    (None, None, False, "no_grant"),
    ("revoked", "pilot", False, "revoked"),
    ("suspended", "pilot", False, "suspended"),
    ("expired", "pilot", False, "expired"),
    ("active", "internal_sandbox", False, "out_of_scope"),
    ("active", "pilot", True, "obligation_overdue"),
    ("active", "pilot", False, "granted"),
])
def test_the_check_names_why(state, scope, overdue, reason):
    answer = check_grant(state, scope, T0 + timedelta(days=1), "pilot", overdue, T0)
    assert answer.reason == reason and answer.allowed == (reason == "granted")


def test_an_active_grant_past_its_expiry_is_expired_before_the_timer_records_it():
    assert check_grant("active", "pilot", T0, "pilot", False, T0).reason == "expired"


@given(st.sampled_from(SCOPES), st.sampled_from(SCOPES))
def test_a_scope_covers_exactly_the_scopes_inside_it(granted, asked):
    assert covers(granted, asked) == (SCOPES.index(asked) <= SCOPES.index(granted))


def test_conditions_given_to_a_version_before_a_material_change_lapse_with_their_approval():
    body = factories.submission(POLICY, launch_scope="pilot")
    review, _ = Review.open(POLICY, LABELS, T0, content=body)
    review.decide("sony", "approve_with_conditions", "Old terms", 1, "rep.sony", T0)
    review.decide("warner", "request_changes", "Pay more", 1, "rep.warner", T0)
    review.resubmit("lead", T0, dict(body, checklist={**body["checklist"], "compensation": "More."}))
    assert review.open_conditions == [] and review.version == 2
    while review.pending_parties():
        party = review.pending_parties()[0]
        review.decide(party, "approve", "", 2, f"rep.{party}", T0)
    assert review.status == Status.APPROVED  # nothing left to acknowledge
    consent, _ = Consent.issue(review, body, POLICY, T0)
    assert consent.obligations == []


def test_widening_an_approved_proposals_scope_is_a_new_round_from_the_first_stage():
    review, body = approved(conditions=False)
    with pytest.raises(NotAwaitingChanges, match="only by widening its launch scope"):
        review.check_resubmit(dict(body, summary="New words."))
    with pytest.raises(NotAwaitingChanges, match="only by widening"):
        review.check_resubmit(dict(body, launch_scope="internal_sandbox"))
    events = review.resubmit("lead", T0, dict(body, launch_scope="broad_rollout"))
    assert events[0].detail["widened"] == "launch_scope" and events[0].detail["material"] == "launch_scope"
    assert review.status == Status.IN_REVIEW and review.version == 2
    assert review.stage.name == "Rights & licensing review" and review.pending_parties() == LABELS
