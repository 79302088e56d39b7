"""Mail queued with each step, on SQLite and PostgreSQL: a rep's delegate is
asked to act for them while the delegation is in force, and a party dropped
under on_overdue = "expire" is told to the lead, compliance and its contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from countersign.domain import calendar
from countersign.domain.routing import Event, Review
from countersign.storage import delegation
from countersign.storage.accounts import create_user
from countersign.storage.db import transaction
from countersign.storage.tables import Delegation, OutboxMail, User, utcnow
from tests import factories
from workflows.activities import ProposalActivities
from workflows.messages import NewVersion, StepRecord

PROPOSAL = 4_343_457  # clear of the id blocks conftest reserves per test
LEAD, COMPLIANCE = "lead@example.com", "compliance@example.com"
ANA, BEN, CY, DEE = (f"{n}.sony@example.com" for n in ("ana", "ben", "cy", "dee"))
START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # Monday
POLICY = factories.policy({"name": "Review", "rule": "any", "due": "2 business days",
                           "grace": "1 business day", "on_overdue": "expire"}, allow_partial=True)


@pytest.fixture
def people(any_engine) -> None:
    with transaction(any_engine) as session:
        for email, role, party in ((LEAD, "lead", None), (COMPLIANCE, "compliance", None),
                                   (ANA, "rep", "sony"), (BEN, "rep", "sony"), (CY, "rep", "sony"),
                                   (DEE, "rep", "sony"),
                                   ("rep.believe@example.com", "rep", "believe"),
                                   ("mo.merlin@example.com", "rep", "merlin"),
                                   ("max.merlin@example.com", "rep", "merlin")):
            name = email.split(".")[0].title() + " Rep"
            create_user(session, email, role, factories.PASSWORD, name=name, party=party,
                        parties=factories.PARTIES)


@pytest.fixture
def activities(any_engine, people) -> ProposalActivities:
    return ProposalActivities(any_engine, POLICY.parties, "http://countersign.test")


def rep(session: Session, email: str) -> User:
    return session.exec(select(User).where(User.email == email)).one()


@pytest.fixture
def delegations(any_engine, people) -> Delegation:
    """Ana delegates to Ben for a week; Cy's delegation to Dee was ended, Ana's to Cy has not begun,
    Dee's to Ana is over, and Merlin's is for a label the proposal does not touch."""
    now = utcnow()
    admin = factories.user(any_engine, "admin")
    with transaction(any_engine) as session:
        in_force = delegation.create(session, rep(session, ANA), BEN, now + timedelta(days=7))
        ended = delegation.create(session, rep(session, CY), DEE, now + timedelta(days=7))
        delegation.end(session, ended.id, rep(session, CY))
        delegation.create(session, rep(session, ANA), CY, now + timedelta(days=9), now + timedelta(days=8))
        over = delegation.create(session, admin, ANA, now + timedelta(days=1), delegator_email=DEE)
        over.starts_at, over.ends_at = now - timedelta(days=3), now - timedelta(seconds=1)
        delegation.create(session, rep(session, "mo.merlin@example.com"), "max.merlin@example.com",
                          now + timedelta(days=7))
        session.expunge(in_force)
    return in_force


def opening(parties: list[str], at: datetime = START) -> tuple[Review, StepRecord]:
    calendar.preload({party.holidays for party in POLICY.parties.values()})
    body = factories.submission(parties=parties)
    review, events = Review.open(POLICY, parties, at)
    submitted = Event("submitted", at, actor=LEAD, detail={"version": "1"})
    return review, StepRecord(PROPOSAL, 1, at, review.snapshot(), [submitted, *events], created_by=LEAD,
                              new_version=NewVersion(1, body, LEAD))


def next_step(review: Review) -> list[Event]:
    """What the workflow does: sleep to the next deadline and advance the clock, until something happens."""
    while not (events := review.advance_clock(review.next_deadline())):
        pass
    return events


def outbox(engine, step: int) -> list[OutboxMail]:
    with Session(engine) as session:
        return list(session.exec(
            select(OutboxMail).where(OutboxMail.proposal_id == PROPOSAL, OutboxMail.step == step)
            .order_by(col(OutboxMail.recipient), col(OutboxMail.id))))


def test_only_a_delegation_in_force_for_a_touched_label_is_found(any_engine, delegations):
    with Session(any_engine) as session:
        found = delegation.in_force(session, ["sony", "believe"])
    assert [(d.id, delegator.email, delegate.email) for d, delegator, delegate in found] == [
        (delegations.id, ANA, BEN)]


def test_the_delegate_is_asked_to_act_for_the_delegator_and_the_others_get_the_usual_mail(
        activities, any_engine, delegations):
    _, record = opening(["sony", "believe"], at=utcnow())
    activities.record_step(record)
    sent = {m.recipient: m for m in outbox(any_engine, 1)}
    assert sorted(sent) == sorted([ANA, BEN, CY, DEE, "rep.believe@example.com"])  # the same people as before
    ben = sent[BEN]
    assert ben.subject == "Decision needed: AI remix studio (acting for Ana Rep)"
    ends = delegations.ends_at.astimezone(ZoneInfo(POLICY.parties["sony"].timezone))  # in Sony's own time
    assert ben.body.startswith(f"You are asked to act for Ana Rep ({ANA}), "
                               f"until {ends:%a %d %b %Y, %H:%M %Z}")
    assert "Decide here: http://countersign.test/proposals/" in ben.body
    # the HTML part is stored beside the text: the same words, the link as a link
    assert f"<p>You are asked to act for Ana Rep ({ANA}), until {ends:%a %d %b %Y, %H:%M %Z}" in ben.html_body
    assert '<a href="http://countersign.test/proposals/' in ben.html_body
    for other in (ANA, CY, DEE, "rep.believe@example.com"):  # ended, not begun, over: no word of delegation
        assert sent[other].subject == "Decision needed: AI remix studio", other
        assert "act for" not in sent[other].body, other


def test_delegations_are_judged_at_the_steps_time_not_the_clocks(activities, any_engine, delegations):
    """A step's time is the workflow's: a task run again later, or a test
    server's skipped clock, must ask the delegates in force at that time."""
    _, record = opening(["sony"], at=delegations.ends_at + timedelta(days=1))  # Ana's delegation to Ben is over
    activities.record_step(record)
    sent = {m.recipient: m for m in outbox(any_engine, 1)}
    assert sent[BEN].subject == "Decision needed: AI remix studio"
    assert "act for" not in sent[BEN].body


def test_a_party_dropped_by_expiry_is_told_then_the_end_goes_to_the_lead_once(activities, any_engine):
    review, record = opening(["sony", "believe"])
    activities.record_step(record)
    # Paris ends its days six hours before New York: Believe expires first, and Sony can still pass the stage.
    first = next_step(review)
    assert [(e.kind, e.party) for e in first] == [("expired", "believe")]
    activities.record_step(StepRecord(PROPOSAL, 2, first[0].at, review.snapshot(), first))
    mails = outbox(any_engine, 2)
    assert [(m.kind, m.recipient) for m in mails] == [
        ("expired", COMPLIANCE), ("expired", "escalations@believe.example"), ("expired", LEAD)]
    assert all(m.subject == "Expired: Believe on AI remix studio" for m in mails)
    assert "The review goes on without Believe" in mails[0].body

    second = next_step(review)
    assert [(e.kind, e.party) for e in second] == [("expired", "sony"), ("concluded", None)]
    activities.record_step(StepRecord(PROPOSAL, 3, second[0].at, review.snapshot(), second))
    mails = outbox(any_engine, 3)
    assert [(m.kind, m.recipient) for m in mails] == [
        ("expired", COMPLIANCE), ("expired", "escalations@sony.example"), ("concluded", LEAD)]
    assert "Sony Music Group did not decide in 'Review'" in mails[-1].body
