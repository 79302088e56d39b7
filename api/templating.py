"""The Jinja2 environment for the pages: filters, globals and rendering.

Every template is compiled once, when the app is built: a broken template
stops start-up, and no request waits for a compile. `auto_reload` is off:
templates do not change while the app runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from starlette.templating import Jinja2Templates

from api import csrf, risk_form
from api.schemas import CHECKLIST_QUESTIONS, LaunchScope
from countersign.domain import file_types
from countersign.domain.policy import Policy
from countersign.domain.reject_outcome import RejectOutcome
from countersign.storage.tables import User

TEMPLATES = Path(__file__).parent / "templates"

STATE_LABELS = {
    "pending": "Pending",
    "approved": "Approved",
    "approved_with_conditions": "Approved with conditions",
    "changes_requested": "Changes requested",
    "rejected": "Rejected",
    "expired": "Expired",
    "dropped": "Dropped out",
    "waiting": "Waiting",
    "not_needed": "Not needed",
    "in_review": "In review",
    "approved_partial": "Approved (partial)",
    "withdrawn": "Withdrawn",
}
DECISION_LABELS = {
    "approve": "Approve",
    "approve_with_conditions": "Approve with conditions",
    "request_changes": "Request changes",
    "reject": "Reject",
}
DECISION_HINTS = {
    "approve": "Your label signs off on this version as it stands.",
    "approve_with_conditions": "Sign off, on conditions the lead must acknowledge. Write the conditions below.",
    "request_changes": "Return the proposal to its lead for a new version. Write the changes you need below.",
}
# The "reject" hint says what a rejection does under the policy in force (countersign.domain.reject_outcome).
REJECT_HINTS = {
    RejectOutcome.REJECTED: "Your label does not sign off, and under this policy the whole proposal is rejected "
                            "at once: every label it touches must approve. Write your reason below.",
    RejectOutcome.STAGE_FAILS: "Your label does not sign off, and the proposal is rejected: this stage cannot pass "
                               "under its rule without your label. Write your reason below.",
    RejectOutcome.PARTIAL: "Your label does not sign off and drops out of this and later stages; the other labels "
                           "go on, and the proposal can be approved for them alone (a partial approval). "
                           "Write your reason below.",
}
LAUNCH_SCOPE_LABELS = {
    LaunchScope.INTERNAL_SANDBOX.value: "Internal sandbox",
    LaunchScope.PILOT.value: "Pilot market",
    LaunchScope.BROAD_ROLLOUT.value: "Broad rollout",
}
ROLE_LABELS = {"lead": "Product lead", "rep": "Label rep", "compliance": "Compliance", "admin": "Admin",
               "party_admin": "Party admin"}
CHECKLIST_TITLES = {key: question.split(":", 1)[0] for key, question in CHECKLIST_QUESTIONS.items()}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def in_zone(value: datetime | None, zone: str = "UTC") -> str:
    """'Tue 9 Dec 2026, 17:59 EST': a moment as read in time zone `zone`."""
    if value is None:
        return "—"
    local = _aware(value).astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def utc(value: datetime | None) -> str:
    return in_zone(value, "UTC")


def iso(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _aware(value).astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def day(value: date | str | None) -> str:
    """'Wed 9 Dec 2026' for a date (or an ISO date string)."""
    if not value:
        return "—"
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    return f"{value:%a} {value.day} {value:%b %Y}"


def relative(value: datetime | None, now: datetime | None = None) -> str:
    """'in 3 days', '5 hours ago': how far a moment is from now."""
    if value is None:
        return ""
    seconds = (_aware(value) - (now or datetime.now(UTC))).total_seconds()
    future, seconds = seconds >= 0, abs(seconds)
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            text = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"in {text}" if future else f"{text} ago"
    return "in under a minute" if future else "just now"


def overdue(value: datetime | None) -> bool:
    return value is not None and _aware(value) < datetime.now(UTC)


def to_dt(value: str | datetime | None) -> datetime | None:
    """An ISO time from an audit entry's detail, as a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def state_label(state: str | None) -> str:
    return STATE_LABELS.get(state or "", (state or "").replace("_", " ").capitalize())


class CompiledOnce(jinja2.BytecodeCache):
    """Each template's compiled code, kept for every app this process builds:
    the tests build hundreds, and only the first compiles (~0.3 s)."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])  # dropped if the source changed since

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledOnce()


def build_environment(policy: Policy) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        bytecode_cache=COMPILED,
        autoescape=jinja2.select_autoescape(["html"]),
        auto_reload=False,
        cache_size=-1,  # never evict a compiled template: nothing may compile after start-up
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )

    def party_name(key: str | None) -> str:
        party = policy.parties.get(key or "")
        return party.name if party else (key or "")

    def party_zone(key: str | None) -> str:
        party = policy.parties.get(key or "")
        return party.timezone if party else "UTC"

    def party_short(key: str | None) -> str:
        return party_name(key).split(" ")[0]

    env.filters.update(
        party_short=party_short, in_zone=in_zone, utc=utc, iso=iso, day=day, relative=relative, overdue=overdue, to_dt=to_dt, state_label=state_label,
        party_name=party_name, party_zone=party_zone,
        decision_label=lambda v: DECISION_LABELS.get(v, v),
        scope_label=lambda v: LAUNCH_SCOPE_LABELS.get(v, v),
        role_label=lambda v: ROLE_LABELS.get(v, v),
    )
    env.globals.update(
        PARTIES=policy.parties,
        CHECKLIST_QUESTIONS=CHECKLIST_QUESTIONS,
        CHECKLIST_TITLES=CHECKLIST_TITLES,
        LAUNCH_SCOPE_LABELS=LAUNCH_SCOPE_LABELS,
        DECISION_LABELS=DECISION_LABELS,
        DECISION_HINTS=DECISION_HINTS,
        RISK_SYNTHESES=risk_form.SYNTHESES,
        ALLOWED_FILES=file_types.ALLOWED,
    )
    return env


def build_templates(policy: Policy) -> Jinja2Templates:
    env = build_environment(policy)
    templates = Jinja2Templates(env=env)
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)  # compile now: a broken template stops start-up
    return templates


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200,
           user: User | None = None):
    """A page: the template with the signed-in user, the CSRF token and any flash message."""
    context = dict(context or {})
    context.setdefault("user", user if user is not None else getattr(request.state, "user", None))
    context.setdefault("csrf_token", csrf.token(request))
    if "flash" not in context:  # fragments pass flash=None: a poll must not eat the next page's message
        context["flash"] = request.session.pop("flash", None)
    context.setdefault("page_title", None)
    context.setdefault("inbox_count", getattr(request.state, "inbox_count", None))
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status_code,
                                      headers={"Cache-Control": "no-store"})


def flash(request: Request, message: str) -> None:
    """A one-time confirmation, shown on the next page (after a redirect)."""
    request.session["flash"] = message
