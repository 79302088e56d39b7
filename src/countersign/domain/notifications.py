"""Who hears about what, by e-mail, from a step's audit events.

The activity that records a workflow step calls `mails_for` with the step's
events and writes the result to the outbox in the same transaction, so a
reminder is never sent for a step that was not stored, nor lost for one that
was. Here is who gets which mail, with the values its templates read; the
wording is in `mail/`: for each kind of event a plain text part
(`<kind>.txt`), an HTML part (`<kind>.html`), and a one-line subject below.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from countersign.domain.links import LinkSigner
from countersign.domain.mail_text import one_line
from countersign.domain.policy import PartyConfig
from countersign.domain.routing import Event

# The HTML part is autoescaped, the text part and subject are not; a value
# a template is not given fails the mail instead of leaving a gap.
ENV = Environment(
    loader=PackageLoader("countersign.domain", "mail"),
    autoescape=select_autoescape(["html"], default_for_string=False),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, auto_reload=False,
)

ACTING_FOR = "{% if delegators %} (acting for {{ delegators|join(', ', attribute='name') }}){% endif %}"
SUBJECTS = {
    "routed": "Decision needed: {{ title }}" + ACTING_FOR,
    "resubmitted": "New version to review: {{ title }}" + ACTING_FOR,
    "reminded": "Reminder: {{ title }} is due {{ due }}" + ACTING_FOR,
    "escalated": "Overdue: {{ party_name }} on {{ title }}",
    "expired": "Expired: {{ party_name }} on {{ title }}",
    "changes_requested": "Changes requested: {{ title }}",
    "concluded": "{{ title }}: {{ status }}",
    "grant_expiry_reminded": "Grant expiring: {{ party_name }} on {{ title }}",
    "grant_revoked": "Grant revoked: {{ party_name }} on {{ title }}",
    "obligation_overdue": "Overdue: {{ party_name }}'s obligation on {{ title }}",
}
MAILED_KINDS = frozenset(SUBJECTS)  # the kinds of event that send mail

# Every template is compiled here, once, at import: compiling Python source in
# worker threads at the same time can fail on CPython 3.11.7 (workflows/sandbox.py).
# The partials a part includes are compiled too and kept in the environment's
# cache, where an include finds them (auto_reload off: no file is read again).
TEMPLATES = {
    kind: (ENV.from_string(subject), ENV.get_template(f"{kind}.txt"), ENV.get_template(f"{kind}.html"))
    for kind, subject in SUBJECTS.items()
}
PARTIALS = [ENV.get_template(name) for name in ENV.list_templates() if name.startswith("_")]


@dataclass(frozen=True)
class Mail:
    recipient: str
    subject: str
    body: str  # the plain text part
    html_body: str
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
    step = _Step(events, proposal_id, audience, parties, base_url, links)
    common = {"title": title, "link": step.link}
    return [render(event.kind, recipient, {**common, **values})
            for event in events if event.kind in MAILED_KINDS
            for recipient, values in getattr(step, event.kind)(event)]


def render(kind: str, recipient: str, values: dict[str, Any]) -> Mail:
    subject, text, html = TEMPLATES[kind]
    # The subject is a header: one line, whatever the title or names typed hold (mail_text).
    return Mail(recipient, one_line(subject.render(values)), text.render(values), html.render(values), kind)


Recipients = Iterator[tuple[str, dict[str, Any]]]


class _Step:
    """One step's mail: a method per kind of event, naming who hears of it and
    with which values (besides the title and the proposal's link)."""

    def __init__(self, events: list[Event], proposal_id: int, audience: Audience,
                 parties: dict[str, PartyConfig], base_url: str, links: LinkSigner | None) -> None:
        self.events = events
        self.proposal_id = proposal_id
        self.audience = audience
        self.parties = parties
        self.links = links
        self.link = f"{base_url.rstrip('/')}/proposals/{proposal_id}"
        self.conclusion = next((e for e in events if e.kind == "concluded"), None)

    def routed(self, event: Event) -> Recipients:
        for item in event.detail["due"].split(","):
            party, _, due = item.partition("=")
            yield from self._reps(party, stage=event.detail["stage"], due=self._when(due, party))

    def resubmitted(self, event: Event) -> Recipients:
        if any(e.kind == "routed" for e in self.events):
            return  # a material change re-routed it: the reps hear of it once, from "routed"
        for party in filter(None, event.detail["reopened"].split(",")):
            yield from self._reps(party, version=event.detail["version"], stage=event.detail["stage"])

    def reminded(self, event: Event) -> Recipients:
        yield from self._reps(event.party, stage=event.detail["stage"],
                              due=self._when(event.detail["due_at"], event.party))

    def escalated(self, event: Event) -> Recipients:
        values = dict(party_name=self._name(event.party), stage=event.detail["stage"],
                      due=self._when(event.detail["due_at"], event.party),
                      grace_ends=self._when(event.detail["grace_ends_at"], event.party))
        for recipient in self._contacts(event.party):
            yield recipient, values

    def expired(self, event: Event) -> Recipients:
        # A party dropped under on_overdue = "expire". The proposal-level "expired" (under
        # "escalate") comes with "concluded", whose mail says why; its contacts were told at escalation.
        if not event.party:
            return
        # The owner hears of an expiry that ends the proposal in its conclusion mail, not twice.
        recipients = self._contacts(event.party) + ([] if self.conclusion else [self.audience.owner])
        values = dict(party_name=self._name(event.party), expiry=self._expiry(event),
                      concluded_as=self._status(self.conclusion) if self.conclusion else None)
        for recipient in dict.fromkeys(recipients):
            yield recipient, values

    def changes_requested(self, event: Event) -> Recipients:
        comment = next((e.detail.get("comment", "") for e in self.events
                        if e.kind == "decided" and e.party == event.party), "")
        yield self.audience.owner, dict(party_name=self._name(event.party), version=event.detail["version"],
                                        comment=comment, resubmit_link=f"{self.link}/resubmit")

    def concluded(self, event: Event) -> Recipients:
        expiries = [self._expiry(e) for e in self.events if e.kind == "expired"]
        yield self.audience.owner, dict(status=self._status(event), expiries=expiries)

    def grant_expiry_reminded(self, event: Event) -> Recipients:
        yield self.audience.owner, dict(party_name=self._name(event.party),
                                        expires=self._when(event.detail["expires_at"], event.party))

    def obligation_overdue(self, event: Event) -> Recipients:
        yield self.audience.owner, dict(party_name=self._name(event.party), text=event.detail["text"],
                                        due=self._when(event.detail["due_at"], event.party),
                                        denies=event.detail.get("denies") == "true")

    def grant_revoked(self, event: Event) -> Recipients:
        yield self.audience.owner, dict(party_name=self._name(event.party), reason=event.detail["reason"])

    def _reps(self, party: str, **values: Any) -> Recipients:
        """The party's reps; a delegate is asked to act for that party's reps who delegated to them."""
        link = self.links.url(self.proposal_id, party) if self.links is not None else f"{self.link}/decide"
        for rep in self.audience.reps.get(party, []):
            delegators = [dict(name=d.name, email=d.email, until=self._when(d.until, party))
                          for d in self.audience.acting_for.get(rep, []) if d.party == party]
            yield rep, dict(values, party_name=self._name(party), decide_link=link, delegators=delegators)

    def _expiry(self, event: Event) -> dict[str, Any]:
        """For `why_expired` (mail/_expiry.*): one party dropped, or the proposal expired."""
        return dict(stage=event.detail["stage"], party=self._name(event.party) if event.party else None,
                    parties=[self._name(p) for p in event.detail.get("parties", "").split(",") if p])

    def _contacts(self, party: str) -> list[str]:
        """Told when a party is overdue: its escalation contact, if any, and compliance."""
        config = self.parties.get(party)
        return ([config.escalation] if config and config.escalation else []) + self.audience.compliance

    # A proposal started under an earlier policy file may name a party the worker's policy lacks.
    def _name(self, party: str) -> str:
        return self.parties[party].name if party in self.parties else party

    def _when(self, moment: datetime | str, party: str) -> str:
        """A moment (or its ISO form) in the party's own time zone."""
        moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        return local_time(moment, self.parties[party].timezone if party in self.parties else "UTC")

    @staticmethod
    def _status(concluded: Event) -> str:
        return concluded.detail["status"].replace("_", " ")
