"""The mail a step's events produce (countersign.domain.notifications), from events the
real routing core makes: a delegate is asked plainly to act for the rep who
delegated, and a party dropped by on_overdue = "expire" is told to the lead,
compliance and the party's escalation contact, once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from countersign.domain.notifications import Audience, Delegator, Mail, mails_for
from countersign.domain.policy import Policy, load_policy, parse_policy
from countersign.domain.routing import Event, Review

POLICIES = Path(__file__).parents[1] / "policies"
UTC = timezone.utc
T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday
TITLE = "AI remix studio"
BASE = "http://countersign.test"
OWNER, COMPLIANCE = "lead@example.com", "compliance@example.com"
SONY = ["ana.sony@example.com", "ben.sony@example.com", "cy.sony@example.com"]
WARNER = ["rep.warner@example.com"]
AWAY = Delegator("sony", "Ana Away", "ana.sony@example.com", datetime(2026, 12, 18, 22, 0, tzinfo=UTC))


def policy(*stages: dict, allow_partial: bool = False, escalation: bool = True) -> Policy:
    parties = load_policy().parties
    return parse_policy({
        "allow_partial": allow_partial,
        "parties": {k: {"name": p.name, "timezone": p.timezone, "holidays": p.holidays,
                        **({"escalation": p.escalation} if escalation else {})} for k, p in parties.items()},
        "stages": list(stages),
    }, "test policy")


def audience(acting_for: dict[str, list[Delegator]] | None = None) -> Audience:
    return Audience(OWNER, {"sony": SONY, "warner": WARNER}, [COMPLIANCE], acting_for or {})


def mails(events: list[Event], pol: Policy, who: Audience | None = None) -> list[Mail]:
    return mails_for(events, 7, TITLE, who or audience(), pol.parties, BASE)


def run_clock(review: Review, until: datetime) -> list[list[Event]]:
    """The workflow's steps: sleep to the next deadline, advance the clock, one step per wake-up."""
    steps = []
    while (moment := review.next_deadline()) is not None and moment <= until:
        if events := review.advance_clock(moment):
            steps.append(events)
    return steps


def by_recipient(sent: list[Mail]) -> dict[str, list[Mail]]:
    out: dict[str, list[Mail]] = {}
    for mail in sent:
        out.setdefault(mail.recipient, []).append(mail)
    return out


# -- delegation --------------------------------------------------------------


def test_a_delegate_is_asked_to_act_for_the_delegator_and_the_other_reps_mail_is_unchanged():
    pol = policy({"name": "Review", "due": "10 business days"})
    _, opening = Review.open(pol, ["sony", "warner"], T0)
    plain = by_recipient(mails(opening, pol))
    delegated = by_recipient(mails(opening, pol, audience({"ben.sony@example.com": [AWAY]})))

    [ben] = delegated["ben.sony@example.com"]
    assert ben.subject == f"Decision needed: {TITLE} (acting for Ana Away)"
    first = ben.body.splitlines()[0]
    # the delegator by name and e-mail, and the delegation's end in Sony's own time (New York)
    assert "act for Ana Away (ana.sony@example.com)" in first
    assert "until Fri 18 Dec 2026, 17:00 EST" in first and "Sony Music Group" in first
    assert ben.body.endswith(plain["ben.sony@example.com"][0].body)  # then the usual mail, whole
    # the delegator, the other Sony rep and Warner's rep get exactly what they got before
    for rep in ("ana.sony@example.com", "cy.sony@example.com", *WARNER):
        assert delegated[rep] == plain[rep]
    assert sorted(delegated) == sorted(plain)  # nobody added, nobody left out


def test_every_mail_asking_reps_to_act_carries_the_delegation():
    pol = policy({"name": "Review", "due": "10 business days", "reminders": ["3 business days"]},
                 {"name": "Legal", "due": "5 business days"})
    review, opening = Review.open(pol, ["sony", "warner"], T0)
    [reminders] = run_clock(review, T0 + timedelta(days=12))  # the reminder, before it is due
    review.decide("warner", "request_changes", "Say which stems.", 1, WARNER[0], T0 + timedelta(days=12))
    resubmitted = review.resubmit(OWNER, T0 + timedelta(days=13))
    who = audience({"ben.sony@example.com": [AWAY]})
    for events, kind in ((opening, "routed"), (reminders, "reminded"), (resubmitted, "resubmitted")):
        [ben] = [m for m in mails(events, pol, who) if m.recipient == "ben.sony@example.com"]
        assert ben.kind == kind and ben.subject.endswith("(acting for Ana Away)"), (kind, ben.subject)
        assert ben.body.startswith("You are asked to act for Ana Away (ana.sony@example.com)"), kind


def test_a_delegate_of_several_reps_sees_each_and_only_on_their_partys_mail():
    pol = policy({"name": "Review", "due": "10 business days"})
    _, opening = Review.open(pol, ["sony", "warner"], T0)
    other = Delegator("sony", "Cy Out", "cy.sony@example.com", datetime(2027, 1, 8, 17, 0, tzinfo=UTC))
    elsewhere = Delegator("warner", "Wes Warner", "wes@warner.example",
                          datetime(2027, 1, 8, 17, 0, tzinfo=UTC))
    sent = by_recipient(mails(opening, pol, audience({"ben.sony@example.com": [AWAY, other, elsewhere],
                                                      WARNER[0]: [AWAY]})))
    [ben] = sent["ben.sony@example.com"]
    assert ben.subject.endswith("(acting for Ana Away, Cy Out)")
    assert "Wes Warner" not in ben.body
    assert "- Ana Away (ana.sony@example.com), until Fri 18 Dec 2026" in ben.body
    assert "- Cy Out (cy.sony@example.com), until Fri 08 Jan 2027, 12:00 EST" in ben.body
    # a Sony delegation says nothing in a Warner rep's Warner mail
    assert "act for" not in sent[WARNER[0]][0].body


# -- expiry ------------------------------------------------------------------


def test_a_dropped_party_is_told_to_lead_compliance_and_its_escalation_contact_while_the_review_goes_on():
    pol = load_policy(POLICIES / "quorum_partial.toml")  # Rights: all, expire; partial approval allowed
    review, _ = Review.open(pol, ["sony", "merlin", "believe"], T0)
    review.decide("sony", "approve", "", 1, "rep.sony@example.com", T0)
    review.decide("believe", "approve", "", 1, "rep.believe@example.com", T0)
    steps = run_clock(review, datetime(2026, 12, 4, tzinfo=UTC))
    step = next(s for s in steps if any(e.kind == "expired" for e in s))
    assert [(e.kind, e.party) for e in step] == [("expired", "merlin"), ("routed", None)]

    expired = [m for m in mails(step, pol) if m.kind == "expired"]
    assert sorted(m.recipient for m in expired) == sorted(["escalations@merlin.example", COMPLIANCE, OWNER])
    mail = expired[0]
    assert mail.subject == f"Expired: Merlin on {TITLE}"
    assert "Merlin did not decide in 'Rights' by the end of its grace period and is out of this review." \
        in mail.body
    assert "The review goes on without Merlin: an approval will not cover Merlin's catalog." in mail.body
    assert f"{BASE}/proposals/7" in mail.body
    assert len({m.body for m in expired}) == 1


def test_an_expiry_that_ends_the_proposal_reaches_the_lead_once_with_the_reason():
    pol = policy({"name": "Quick", "due": "45s", "grace": "15s", "on_overdue": "expire"})
    review, _ = Review.open(pol, ["sony", "merlin"], T0)
    review.decide("sony", "approve", "", 1, "rep.sony@example.com", T0)
    [step] = run_clock(review, T0 + timedelta(minutes=5))
    assert [(e.kind, e.party) for e in step] == [("expired", "merlin"), ("concluded", None)]

    sent = by_recipient(mails(step, pol))
    [lead] = sent[OWNER]  # one mail: the conclusion, saying why
    assert (lead.kind, lead.subject) == ("concluded", f"{TITLE}: expired")
    assert "Merlin did not decide in 'Quick' by the end of its grace period" in lead.body
    for other in (COMPLIANCE, "escalations@merlin.example"):
        [mail] = sent[other]
        assert mail.kind == "expired"
        assert "With that the proposal has concluded: expired." in mail.body
    assert "escalations@sony.example" not in sent  # Sony decided: its contact hears nothing


def test_without_an_escalation_contact_the_lead_and_compliance_are_still_told():
    pol = policy({"name": "Quick", "due": "45s", "grace": "15s", "on_overdue": "expire", "rule": "any"},
                 allow_partial=True, escalation=False)
    review, _ = Review.open(pol, ["sony", "believe"], T0)
    # Both are due 45 s after T0 with 15 s of grace: they expire together, and nobody is left
    [step] = run_clock(review, T0 + timedelta(minutes=5))
    assert [(e.kind, e.party) for e in step] == [
        ("expired", "sony"), ("expired", "believe"), ("concluded", None)]
    sent = mails(step, pol)
    assert sorted((m.kind, m.recipient, m.subject) for m in sent) == [
        ("concluded", OWNER, f"{TITLE}: expired"),
        ("expired", COMPLIANCE, f"Expired: Believe on {TITLE}"),
        ("expired", COMPLIANCE, f"Expired: Sony Music Group on {TITLE}"),
    ]
    [lead] = [m for m in sent if m.recipient == OWNER]
    assert "Sony Music Group did not decide" in lead.body and "Believe did not decide" in lead.body


def test_a_proposal_expiring_after_escalation_is_told_once_by_its_conclusion():
    """Under "escalate" the contacts and compliance were told at the due time;
    the proposal-level "expired" event adds no mail of its own."""
    pol = policy({"name": "Review", "due": "10 business days", "grace": "2 business days"})
    review, _ = Review.open(pol, ["sony"], T0)
    steps = run_clock(review, T0 + timedelta(days=40))
    assert [[e.kind for e in s] for s in steps][-2:] == [["escalated"], ["expired", "concluded"]]
    sent = mails(steps[-1], pol)
    assert [(m.kind, m.recipient) for m in sent] == [("concluded", OWNER)]
    assert sent[0].body.splitlines()[:2] == [
        f"'{TITLE}' has concluded: expired.",
        "It expired in 'Review': Sony Music Group did not decide by the end of the grace period.",
    ]


def test_other_conclusions_read_as_before():
    pol = policy({"name": "Review", "due": "10 business days"})
    review, _ = Review.open(pol, ["sony"], T0)
    events = review.decide("sony", "approve", "", 1, "rep.sony@example.com", T0)
    [mail] = mails(events, pol)
    assert (mail.recipient, mail.body) == (OWNER, f"'{TITLE}' has concluded: approved.\n\n{BASE}/proposals/7")
