"""Who hears about what, by e-mail: pure formatting from audit events.

The activity that records a workflow step calls `mails_for` with the step's
events and writes the result to the outbox in the same transaction, so a
reminder is never sent for a step that was not stored, nor lost for one that
was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from countersign.domain.links import LinkSigner
from countersign.domain.policy import PartyConfig
from countersign.domain.routing import Event


@dataclass(frozen=True)
class Mail:
    recipient: str
    subject: str
    body: str
    kind: str


@dataclass(frozen=True)
class Delegator:
    """A rep who delegated their party's decisions to a colleague until `until`
    (countersign.storage.delegation)."""

    party: str
    name: str
    email: str
    until: datetime


@dataclass(frozen=True)
class Audience:
    """The people a proposal's mail can go to."""

    owner: str
    reps: dict[str, list[str]]  # party -> rep e-mails
    compliance: list[str]
    # rep e-mail -> the delegations in force to that rep: their mail asks them to act for these reps
    acting_for: dict[str, list[Delegator]] = field(default_factory=dict)


def local_time(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%a %d %b %Y, %H:%M %Z")


def mails_for(
    events: list[Event],
    proposal_id: int,
    title: str,
    audience: Audience,
    parties: dict[str, PartyConfig],
    base_url: str,
    links: LinkSigner | None = None,
) -> list[Mail]:
    """With `links`, reps' mail carries a signed link naming the proposal and
    their party (countersign.domain.links); without, a plain link to the form."""
    link = f"{base_url.rstrip('/')}/proposals/{proposal_id}"

    def decide_link(party: str) -> str:
        return links.url(proposal_id, party) if links is not None else f"{link}/decide"
    comments = {e.party: e.detail.get("comment", "") for e in events if e.kind == "decided"}
    concluded = next((e for e in events if e.kind == "concluded"), None)
    mails: list[Mail] = []

    def party_name(party: str) -> str:
        config = parties.get(party)
        return config.name if config else party

    def to_reps(party: str, subject: str, lines: list[str], kind: str) -> None:
        for rep in audience.reps.get(party, []):
            delegators = [d for d in audience.acting_for.get(rep, []) if d.party == party]
            if delegators:
                names = ", ".join(d.name for d in delegators)
                mails.append(Mail(rep, f"{subject} (acting for {names})",
                                  "\n".join(acting_for_lines(party, delegators) + [""] + lines), kind))
            else:
                mails.append(Mail(rep, subject, "\n".join(lines), kind))

    def acting_for_lines(party: str, delegators: list[Delegator]) -> list[str]:
        """Said first in a delegate's mail: for whom, and until when."""
        timezone = parties[party].timezone if party in parties else "UTC"
        whom = [f"{d.name} ({d.email}), until {local_time(d.until, timezone)}" for d in delegators]
        if len(whom) == 1:
            lines = [f"You are asked to act for {whom[0]}: they delegated their {party_name(party)} "
                     "decisions to you."]
        else:
            lines = [f"You are asked to act for these colleagues, who delegated their {party_name(party)} "
                     "decisions to you:", *(f"- {w}" for w in whom)]
        return lines + ["To decide for them, choose \"on behalf of\" them in the decision form."]

    def expiry_line(event: Event) -> str:
        """Why an "expired" event happened, for the owner's and the others' mail."""
        stage = event.detail["stage"]
        if event.party:  # on_overdue = "expire": the party is dropped, the review may go on
            return (f"{party_name(event.party)} did not decide in '{stage}' by the end of its grace period "
                    f"and is out of this review.")
        names = ", ".join(party_name(p) for p in event.detail.get("parties", "").split(",") if p)
        return f"It expired in '{stage}': {names} did not decide by the end of the grace period."

    def decision_needed(party: str, due_at: datetime, stage: str, kind: str) -> None:
        config = parties.get(party)
        due = local_time(due_at, config.timezone) if config else due_at.isoformat()
        to_reps(party, f"Decision needed: {title}", [
            f"'{title}' waits on {config.name if config else party}'s decision in '{stage}'.",
            f"Due: {due}.", "", f"Decide here: {decide_link(party)}",
        ], kind)

    for event in events:
        detail = event.detail
        if event.kind == "routed" and detail.get("due"):
            for item in detail["due"].split(","):
                party, _, due = item.partition("=")
                decision_needed(party, datetime.fromisoformat(due), detail["stage"], event.kind)
        elif event.kind == "resubmitted" and detail.get("reopened"):
            for party in detail["reopened"].split(","):
                to_reps(party, f"New version to review: {title}", [
                    f"Version {detail['version']} of '{title}' reopens '{detail['stage']}' for your label.",
                    "", f"Review it here: {decide_link(party)}",
                ], event.kind)
        elif event.kind == "reminded":
            config = parties.get(event.party)
            due = datetime.fromisoformat(detail["due_at"])
            to_reps(event.party, f"Reminder: {title} is due {local_time(due, config.timezone) if config else due}", [
                f"'{title}' still waits on your label's decision in '{detail['stage']}'.",
                f"Due: {local_time(due, config.timezone) if config else due.isoformat()}.",
                "", f"Decide here: {decide_link(event.party)}",
            ], event.kind)
        elif event.kind == "escalated":
            config = parties.get(event.party)
            name = config.name if config else event.party
            recipients = ([config.escalation] if config and config.escalation else []) + audience.compliance
            grace = datetime.fromisoformat(detail["grace_ends_at"])
            body = "\n".join([
                f"{name} has not decided on '{title}' in '{detail['stage']}', due "
                f"{local_time(datetime.fromisoformat(detail['due_at']), config.timezone if config else 'UTC')}.",
                f"The grace period ends {local_time(grace, config.timezone if config else 'UTC')}; "
                "after that the proposal expires.", "", link,
            ])
            for recipient in recipients:
                mails.append(Mail(recipient, f"Overdue: {name} on {title}", body, event.kind))
        elif event.kind == "expired" and event.party:
            # A party dropped under on_overdue = "expire". The proposal-level "expired" (under
            # "escalate") comes with "concluded", whose mail says why; its contacts were told at escalation.
            config = parties.get(event.party)
            name = party_name(event.party)
            if concluded:
                outcome = f"With that the proposal has concluded: {concluded.detail['status'].replace('_', ' ')}."
            else:
                outcome = f"The review goes on without {name}: an approval will not cover {name}'s catalog."
            body = "\n".join([expiry_line(event), outcome, "", link])
            # The owner hears of an expiry that ends the proposal in its conclusion mail, not twice.
            recipients = (([config.escalation] if config and config.escalation else []) + audience.compliance
                          + ([] if concluded else [audience.owner]))
            for recipient in dict.fromkeys(recipients):
                mails.append(Mail(recipient, f"Expired: {name} on {title}", body, event.kind))
        elif event.kind == "changes_requested":
            mails.append(Mail(audience.owner, f"Changes requested: {title}", "\n".join([
                f"{event.party} asks for changes to version {detail.get('version')} of '{title}':",
                "", comments.get(event.party, ""), "", f"Edit and resubmit: {link}/resubmit",
            ]), event.kind))
        elif event.kind == "concluded":
            status = detail["status"].replace("_", " ")
            why = [expiry_line(e) for e in events if e.kind == "expired"]
            mails.append(Mail(audience.owner, f"{title}: {status}",
                              "\n".join([f"'{title}' has concluded: {status}.", *why, "", link]), event.kind))
    return mails
