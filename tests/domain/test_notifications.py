"""The mail a step's events produce (countersign.domain.notifications), from events the
real routing core makes: a delegate is asked plainly to act for the rep who
delegated, and a party dropped by on_overdue = "expire" is told to the lead,
compliance and the party's escalation contact, once. Each mail has a plain text
part and an HTML part from its kind's templates; the HTML part is escaped."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from importlib.resources import files
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from countersign.domain import notifications
from countersign.domain.checkpoint import Checkpoint, Signer, new_private_key_pem
from countersign.domain.checkpoint_mail import checkpoint_mail
from countersign.domain.message_mail import message_mail
from countersign.domain.notifications import MAILED_KINDS, Audience, Delegator, Mail, mails_for, render
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


def mails(events: list[Event], pol: Policy, who: Audience | None = None, title: str = TITLE) -> list[Mail]:
    return mails_for(events, 7, title, who or audience(), pol.parties, BASE)


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
    assert ("<p>You are asked to act for Ana Away (ana.sony@example.com), until Fri 18 Dec 2026, 17:00 EST: "
            "they delegated their Sony Music Group decisions to you.</p>") in ben.html_body
    assert f'<a href="{BASE}/proposals/7/decide" class="action"' in ben.html_body
    for part in (ben.body, ben.html_body):  # due in Sony's own time
        assert "Due: Thu 10 Dec 2026, 23:59 EST." in part
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
        assert "<p>You are asked to act for Ana Away (ana.sony@example.com)" in ben.html_body, kind


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
    assert "Wes Warner" not in ben.body and "Wes Warner" not in ben.html_body
    assert "- Ana Away (ana.sony@example.com), until Fri 18 Dec 2026" in ben.body
    assert "- Cy Out (cy.sony@example.com), until Fri 08 Jan 2027, 12:00 EST" in ben.body
    assert "<li>Ana Away (ana.sony@example.com), until Fri 18 Dec 2026" in ben.html_body
    assert "<li>Cy Out (cy.sony@example.com), until Fri 08 Jan 2027, 12:00 EST</li>" in ben.html_body
    # a Sony delegation says nothing in a Warner rep's Warner mail
    assert "act for" not in sent[WARNER[0]][0].body and "act for" not in sent[WARNER[0]][0].html_body


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
    assert ("<p>Merlin did not decide in 'Rights' by the end of its grace period and is out of this "
            "review.</p>") in mail.html_body
    assert "<p>The review goes on without Merlin: an approval will not cover Merlin's catalog.</p>" \
        in mail.html_body
    assert f'<a href="{BASE}/proposals/7" class="action"' in mail.html_body
    assert len({(m.body, m.html_body) for m in expired}) == 1


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
    assert "<p>Merlin did not decide in 'Quick' by the end of its grace period" in lead.html_body
    for other in (COMPLIANCE, "escalations@merlin.example"):
        [mail] = sent[other]
        assert mail.kind == "expired"
        assert "With that the proposal has concluded: expired." in mail.body
        assert "<p>With that the proposal has concluded: expired.</p>" in mail.html_body
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
    assert "Sony Music Group did not decide" in lead.html_body and "Believe did not decide" in lead.html_body


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
    assert ("<p>It expired in 'Review': Sony Music Group did not decide by the end of the grace period.</p>"
            in sent[0].html_body)


def test_other_conclusions_read_as_before():
    pol = policy({"name": "Review", "due": "10 business days"})
    review, _ = Review.open(pol, ["sony"], T0)
    events = review.decide("sony", "approve", "", 1, "rep.sony@example.com", T0)
    [mail] = mails(events, pol)
    assert (mail.recipient, mail.body) == (OWNER, f"'{TITLE}' has concluded: approved.\n\nOpen the proposal: {BASE}/proposals/7")
    assert f"<p>'{TITLE}' has concluded: approved.</p>" in mail.html_body
    assert f'<a href="{BASE}/proposals/7" class="action"' in mail.html_body


# -- every kind, both parts ---------------------------------------------------


def every_kind(title: str = TITLE, comment: str = "Say which stems.") -> list[Mail]:
    """The mail of two reviews that between them make every kind of event that mails,
    with a delegate among Sony's reps."""
    who = audience({"ben.sony@example.com": [AWAY]})
    pol = policy({"name": "Review", "due": "10 business days", "reminders": ["3 business days"],
                  "grace": "2 business days"})
    review, opening = Review.open(pol, ["sony", "warner"], T0)
    steps = [opening, *run_clock(review, T0 + timedelta(days=12))]  # the reminders
    steps.append(review.decide("warner", "request_changes", comment, 1, WARNER[0], T0 + timedelta(days=12)))
    steps.append(review.resubmit(OWNER, T0 + timedelta(days=13)))
    steps += run_clock(review, T0 + timedelta(days=60))  # reminders, escalation, the proposal expires
    sent = [m for events in steps for m in mails(events, pol, who, title)]

    pol = load_policy(POLICIES / "quorum_partial.toml")  # Merlin is dropped, the review goes on
    review, _ = Review.open(pol, ["sony", "merlin", "believe"], T0)
    review.decide("sony", "approve", "", 1, "rep.sony@example.com", T0)
    review.decide("believe", "approve", "", 1, "rep.believe@example.com", T0)
    sent += [m for events in run_clock(review, datetime(2026, 12, 4, tzinfo=UTC))
             for m in mails(events, pol, who, title)]
    grants = [Event("grant_expiry_reminded", T0, "sony", detail={"expires_at": (T0 + timedelta(days=30)).isoformat()}),
              Event("grant_revoked", T0, "warner", "rep.warner@example.com", {"reason": comment}),
              Event("obligation_overdue", T0, "sony", detail={"obligation": "1", "text": comment,
                                                              "due_at": T0.isoformat(), "denies": "true"})]
    return sent + mails(grants, pol, who, title)


def test_every_kind_that_mails_has_a_text_and_an_html_template_and_renders_both():
    mail_dir = files("countersign.domain") / "mail"
    for kind in MAILED_KINDS:
        assert (mail_dir / f"{kind}.txt").is_file() and (mail_dir / f"{kind}.html").is_file(), kind
    sent = every_kind()
    assert {m.kind for m in sent} == MAILED_KINDS
    for mail in sent:
        assert mail.subject and "\n" not in mail.subject, mail
        assert f"{BASE}/proposals/7" in mail.body, mail  # every mail leads to the proposal
        assert mail.html_body.startswith("<!DOCTYPE html>") and mail.html_body.endswith("</html>"), mail
        assert f'<a href="{BASE}/proposals/7' in mail.html_body, mail
        assert "<" not in mail.body, mail  # no markup in the text part
    [changes] = [m for m in sent if m.kind == "changes_requested"]
    assert changes.body.startswith(f"Warner Music Group asks for changes to version 1 of '{TITLE}':")
    assert "Say which stems." in changes.body and "Say which stems." in changes.html_body
    assert f'<a href="{BASE}/proposals/7/resubmit" class="action"' in changes.html_body
    [escalated] = [m for m in sent if m.kind == "escalated" and m.recipient == "escalations@sony.example"]
    for part in (escalated.body, escalated.html_body):  # in Sony's own time
        assert "due Tue 22 Dec 2026, 23:59 EST." in part
        assert "The grace period ends Thu 24 Dec 2026, 23:59 EST; after that the proposal expires." in part


def test_every_mail_has_the_sites_look_a_text_part_and_one_action_to_tap():
    signed = Signer(new_private_key_pem()).sign(Checkpoint(12, "ab" * 32, T0))
    sent = every_kind("x" * 200) + [
        checkpoint_mail(signed, BASE),
        message_mail("lead@example.com", 7, TITLE, "Ana", True, False, "Which stems?",
                     [("stems.pdf", 10, f"{BASE}/proposals/7/files/1")], BASE, mentioned=False)]
    assert {m.kind for m in sent} == MAILED_KINDS | {"checkpoint", "message"}
    for mail in sent:
        html = mail.html_body
        assert 'name="viewport"' in html and "max-width:600px" in html and "<style" not in html, mail.kind
        assert "Countersign</td>" in html and "background:#f6f7f9" in html  # the site's header and colours
        assert "overflow-wrap:anywhere" in html  # a title without a space wraps on a phone
        [(href, label)] = re.findall(r'<a href="([^"]+)" class="action" style="[^"]*padding:13px 24px;[^"]*'
                                     r'line-height:22px;[^"]*">([^<]+)</a>', html)  # one button, 48 px high
        assert f"{label}: {href}" in mail.body, mail.kind  # and the same action in the text part
        assert html.count("<a href=") == 1 + (mail.kind == "message")  # a message's file links are plain
        assert "<" not in mail.body, mail.kind


def test_markup_is_escaped_in_the_html_part_and_kept_literal_in_the_text_part_and_subject():
    title, comment = '<script>alert("hi")</script> & co', "<img src=x onerror=alert(1)>"
    sent = every_kind(title, comment)
    assert {m.kind for m in sent} == MAILED_KINDS
    for mail in sent:
        assert title in mail.subject, mail
        assert "<script>" not in mail.html_body and "<img" not in mail.html_body, mail
    with_title = [m for m in sent if title in m.body]
    assert {m.kind for m in with_title} == MAILED_KINDS - {"expired"}  # an expiry names the title in its subject
    for mail in with_title:
        assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt; &amp; co" in mail.html_body, mail
    [changes] = [m for m in sent if m.kind == "changes_requested"]
    assert comment in changes.body and "&lt;img src=x onerror=alert(1)&gt;" in changes.html_body


def test_a_value_a_template_is_not_given_fails_loudly():
    with pytest.raises(UndefinedError, match="party_name"):
        render("escalated", OWNER, {"title": TITLE, "link": BASE, "stage": "Review", "due": "soon",
                                    "grace_ends": "later"})


def test_mail_is_rendered_from_templates_compiled_at_import(monkeypatch):
    """Compiling in worker threads at the same time can fail on CPython 3.11.7
    (workflows/sandbox.py): the activity's threads only render."""
    compiled = []
    compile_source = notifications.ENV.compile

    def noting(source, name=None, *args, **kwargs):
        compiled.append(name)
        return compile_source(source, name, *args, **kwargs)

    monkeypatch.setattr(notifications.ENV, "compile", noting)
    assert {m.kind for m in every_kind()} == MAILED_KINDS
    assert compiled == []


def test_a_material_resubmission_mails_each_rep_once_asking_for_a_decision():
    from tests import factories

    pol = load_policy(POLICIES / "tiers_seconds.toml")
    body = factories.submission(pol, capability="voice")
    review, _ = Review.open(pol, ["sony", "warner"], T0, content=body)
    review.decide("sony", "request_changes", "Pay them", 1, "rep.sony@example.com", T0)
    events = review.resubmit(OWNER, T0, factories.submission(pol, capability="voice clone"))
    sent = mails(events, pol, audience(), TITLE)
    assert sorted((m.kind, m.recipient) for m in sent) == [("routed", rep) for rep in sorted(SONY + WARNER)]
