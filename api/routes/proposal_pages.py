"""Proposal pages: submit, read, decide, withdraw, acknowledge and resubmit.

Each form posts to its own page and answers success with a 303 to the
proposal (Post/Redirect/Get); a refused form is shown again with the reason
beside the field it concerns. The changes themselves go through
`api.commands`, the same calls the JSON API makes.
"""

from __future__ import annotations

import difflib
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from api import answers, commands, proposal_summary, reauth, risk_form
from api.csrf import CsrfProtected
from api.deps import PolicyDep, SessionDep, SettingsDep, TemporalClientDep
from api.errors import status_for
from api.oidc import recent_provider_sign_in
from api.routes.auth import client_address
from api.routes import thread_pages
from api.routes.messages import files_dir, read_upload
from api.routes.pages import PageRoute, Viewer, error_page, live, sentence, temporal_link
from api.schemas import CHECKLIST_QUESTIONS, DecisionIn, ProposalContent, proposal_submit
from api.templating import DECISION_LABELS, REJECT_HINTS, flash, render
from countersign.domain.access import Action, Role, can, require
from countersign.domain.dates import NotADay, parse_day
from countersign.domain.errors import DomainError
from countersign.domain.policy import Policy
from countersign.domain.reject_outcome import RejectOutcome, reject_outcome
from countersign.domain.routing import FINAL_STATUSES, Status
from countersign.domain.signature import from_stored
from countersign.settings import Settings
from countersign.storage import accounts, delegation, queries, version_views
from countersign.storage import messages as messages_store
from countersign.storage.throttle import Throttled
from countersign.storage.tables import Decision, Proposal, User

router = APIRouter(prefix="/proposals", route_class=PageRoute, include_in_schema=False)

# -- the proposal form (submit and resubmit) --------------------------------

TEXT_FIELDS = ("title", "summary", "capability", "data_sources", "launch_scope", "requested_decision_date")
FIELD_LABELS = {
    "title": "Title",
    "summary": "Summary",
    "capability": "AI capability",
    "parties": "Catalogs it touches",
    "data_sources": "Data sources",
    "launch_scope": "Launch scope",
    "requested_decision_date": "Requested decision date",
    "synthesises": "Synthesises",
    "user_uploads": "User uploads",
    "markets": "Markets",
    "files": "Files",
    **{f"checklist.{key}": question.split(":", 1)[0] for key, question in CHECKLIST_QUESTIONS.items()},
}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def read_proposal_form(form: FormData) -> dict[str, Any]:
    """Everything typed into the form, as typed (to show it again if refused)."""
    values: dict[str, Any] = {name: _text(form, name) for name in TEXT_FIELDS}
    values["parties"] = [p for p in form.getlist("parties") if isinstance(p, str)]
    values["checklist"] = {key: _text(form, f"checklist.{key}") for key in CHECKLIST_QUESTIONS}
    values |= risk_form.read(form)
    return values


def form_values(policy: Policy, content: dict[str, Any] | None = None) -> dict[str, Any]:
    """Form values from a stored version's content, or a blank form (every party ticked)."""
    content = content or {}
    values = {name: str(content.get(name) or "") for name in TEXT_FIELDS}
    values["parties"] = list(content.get("parties") or policy.parties)
    checklist = content.get("checklist") or {}
    values["checklist"] = {key: str(checklist.get(key) or "") for key in CHECKLIST_QUESTIONS}
    values |= risk_form.values(content)
    return values


def _message(error: dict[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("missing", "string_too_short"):
        return "This is required."
    if kind == "string_too_long":
        return f"Too long: keep it to {ctx.get('max_length')} characters."
    if kind in ("enum", "literal_error", "bool_parsing", "bool_type", "list_type", "string_type"):
        return "Choose one of the options."  # only a form altered outside the page sends these
    if kind == "value_error":
        return sentence(str(ctx.get("error") or error["msg"]))
    return sentence(error["msg"])


def field_errors(error: ValidationError) -> dict[str, str]:
    """One message per form field, keyed by the field's name in the form."""
    found: dict[str, str] = {}
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        name = ".".join(loc[:2]) if loc and loc[0] == "checklist" else (loc[0] if loc else "form")
        if name == "checklist":  # the whole checklist is missing: point at its first question
            name = f"checklist.{next(iter(CHECKLIST_QUESTIONS))}"
        found.setdefault(name, _message(item))
    return found


def validate_proposal(policy: Policy,
                      values: dict[str, Any]) -> tuple[ProposalContent | None, dict[str, str]]:
    errors: dict[str, str] = {}
    if day := values["requested_decision_date"].strip():  # as typed in the locale's form, or as the picker sent it
        try:
            values["requested_decision_date"] = day = parse_day(day).isoformat()  # shown again in the picker's form
        except NotADay as error:
            errors["requested_decision_date"], day = sentence(str(error)), ""
    data = {**{k: v for k, v in values.items() if k != "remove_files"},  # the form's, not the version's
            "requested_decision_date": day or None, "markets": risk_form.markets(values["markets"])}
    try:
        body = proposal_submit(policy).model_validate(data)
    except ValidationError as error:
        return None, field_errors(error) | errors
    return (None, errors) if errors else (body, {})


def _proposal_form(request: Request, template: str, values: dict[str, Any], errors: dict[str, str],
                   status_code: int = 200, **context: Any):
    return render(request, template, {
        "values": values,
        "errors": errors,
        "field_labels": FIELD_LABELS,
        "form_error": context.pop("form_error", None),
        **context,
    }, status_code=status_code)


@router.get("/new", name="new_proposal")
def new_proposal_form(request: Request, user: Viewer, policy: PolicyDep) -> object:
    require(user, Action.SUBMIT)
    return _proposal_form(request, "proposals/new.html", form_values(policy), {}, page_title="New proposal")


async def read_files(form: FormData, settings: Settings) -> tuple[list[tuple[str, bytes]], dict[str, str]]:
    """The files chosen in the form's `files` field, and the field's error if one is refused (its
    type, or empty): checked before anything is stored. Larger than the limit: 413 (read_upload)."""
    files = []
    for upload in form.getlist("files"):
        if isinstance(upload, UploadFile) and upload.filename:
            files.append((upload.filename, await read_upload(upload, settings)))
    try:
        commands.check_files(files)
    except DomainError as error:
        return files, {"files": sentence(str(error))}
    return files, {}


@router.post("/new")
async def submit_proposal(request: Request, user: Viewer, _: CsrfProtected, session: SessionDep,
                          temporal: TemporalClientDep, settings: SettingsDep, policy: PolicyDep) -> object:
    require(user, Action.SUBMIT)
    form = await request.form()
    values = read_proposal_form(form)
    body, errors = validate_proposal(policy, values)
    files, file_errors = await read_files(form, settings)
    if body is None or file_errors:
        return _proposal_form(request, "proposals/new.html", values, errors | file_errors, 422,
                              page_title="New proposal")
    try:
        proposal_id = await commands.submit(session, temporal, settings.task_queue, policy, user, body, files,
                                            files_dir(settings))
    except DomainError as error:
        return _proposal_form(request, "proposals/new.html", values, {}, status_for(error),
                              page_title="New proposal", form_error=str(error))
    flash(request, "Your proposal was submitted and is now with the labels for review.")
    return RedirectResponse(f"/proposals/{proposal_id}", status_code=303)


# -- the proposal page --------------------------------------------------------


DIFF_FIELDS = ("title", "summary", "capability", "data_sources", "launch_scope", "requested_decision_date")


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)  # each word with the space after it


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """[(op, text)] with op one of "same", "del", "ins": what changed, word by word (difflib)."""
    a, b = _words(old), _words(new)
    parts: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            parts.append(("del", "".join(a[i1:i2])))
        if j2 > j1:
            parts.append(("ins", "".join(b[j1:j2])))
    return parts


def _flat(content: dict[str, Any]) -> dict[str, str]:
    flat = {name: str(content.get(name) or "") for name in DIFF_FIELDS}
    flat["parties"] = ", ".join(content.get("parties") or [])
    flat |= risk_form.flat(content)
    for key in CHECKLIST_QUESTIONS:
        flat[f"checklist.{key}"] = str((content.get("checklist") or {}).get(key) or "")
    return flat


def version_changes(rows: list, material: list[str] = ()) -> list[dict[str, Any]]:
    """Each version after the first, with what changed since the one before it, field by
    field, and whether the policy calls the field material."""
    changes = []
    for before, after in zip(rows, rows[1:]):
        old, new = _flat(before.content), _flat(after.content)
        fields = [(FIELD_LABELS.get(name, name), word_diff(old[name], new[name]), name in material)
                  for name in new if old[name] != new[name]]
        changes.append({"number": after.number, "since": before.number, "submitted_by": after.submitted_by,
                        "submitted_at": after.submitted_at, "fields": fields})
    return changes


def changes_since_seen(session: Session, user: User, proposal: Proposal, material: list[str]) -> dict | None:
    """What the version under decision changed since the last version `user` saw (opened or decided
    on; version_views), or, if they saw none, since the one before it; with the version files added
    meanwhile. None on a first version."""
    rows = queries.versions(session, proposal.id)
    if len(rows) < 2:
        return None
    since = version_views.last_seen_before(session, user, proposal.id, rows[-1].number)
    base = next((row for row in rows if row.number == since), rows[-2])
    files = messages_store.version_files(session, proposal)
    before, now = files[base.number].files, files[rows[-1].number].files
    return {"change": version_changes([base, rows[-1]], material)[0], "seen": since is not None,
            "files": [f for f in now if f not in before], "files_removed": [f for f in before if f not in now]}


def note_seen(request: Request, session: Session, user: User, proposal: Proposal) -> None:
    """A reviewer opened this version (version_views): written once, only the first time."""
    if user.role == Role.REP and not version_views.seen(session, user.id, proposal.id, proposal.version):
        version_views.record(request.app.state.engine, user.id, proposal.id, proposal.version)


def detail_context(request: Request, session: Session, policy: Policy, user: User,
                   proposal: Proposal) -> dict[str, Any]:
    public = answers.to_public(session, proposal, user)
    matrix = queries.stage_matrix(session, proposal.id)
    upcoming = []
    if Status(proposal.status) not in FINAL_STATUSES:  # stages still ahead, not yet opened
        route = [s["name"] for s in proposal.route["stages"]] if proposal.route else [s.name for s in policy.stages]
        upcoming = route[route.index(proposal.stage) + 1:] if proposal.stage in route else []
    decisions = session.exec(
        select(Decision).where(Decision.proposal_id == proposal.id).order_by(Decision.decided_at, Decision.id)
    ).all()
    open_conditions = [c for c in public.conditions if not c.acknowledged]
    versions = queries.versions(session, proposal.id)
    deadlines = sorted(((row.due_at, party, row.paused_since) for party, row in public.parties.items()
                        if row.state == "pending" and row.due_at), key=lambda item: item[0])
    return {
        "page_title": proposal.title,
        "proposal": proposal,
        "public": public,
        "owner": session.get(User, proposal.owner_id),
        "content": answers.get_version(session, proposal.id, proposal.version).content,
        "matrix": matrix,
        "upcoming": upcoming,
        "decisions": decisions,
        "signed": {d.id: from_stored(d.signature) for d in decisions},  # each decision's signature manifestation
        "people": accounts.names(session, {e for d in decisions for e in (d.actor, d.on_behalf_of) if e}),
        "open_conditions": open_conditions,
        "temporal_url": temporal_link(request, user, proposal),
        "versions": versions,
        "changes": version_changes(versions, policy.material_fields),
        "version_files": messages_store.version_files(session, proposal),  # each version's, added and removed
        "risk": risk_form.detail(policy, user, proposal, public, messages_store.evidence_files(session, user, proposal)),
        "reminders": queries.audit_entries(session, proposal.id, ("reminded", "escalated")),
        "deadlines": deadlines,
        "summary": proposal_summary.summarise(session, proposal, public, upcoming, open_conditions),
        "may": {
            "decide": can(user, Action.DECIDE, proposal),
            "withdraw": can(user, Action.WITHDRAW, proposal),
            "acknowledge": can(user, Action.ACKNOWLEDGE, proposal) and bool(open_conditions),
            "resubmit": can(user, Action.RESUBMIT, proposal),
            # only while grants run: an approval without them is not widened (workflows.proposal)
            "widen": can(user, Action.WIDEN, proposal) and any(g.state != "revoked" for g in public.grants.values()),
        },
        "action_error": None,
        "thread": thread_pages.context(session, user, proposal),  # messages and files (issue 21)
    }


@router.get("/{proposal_id}", name="proposal")
def proposal_page(request: Request, proposal_id: int, user: Viewer, session: SessionDep,
                  policy: PolicyDep) -> object:
    proposal = queries.get_visible(session, user, proposal_id)
    page = render(request, "proposals/detail.html", detail_context(request, session, policy, user, proposal))
    note_seen(request, session, user, proposal)
    return page


@router.get("/{proposal_id}/live", name="proposal_live")
def proposal_live(request: Request, proposal_id: int, user: Viewer, session: SessionDep,
                  policy: PolicyDep) -> object:
    """The proposal page's changing parts, for the page's poller (live.js)."""
    proposal = queries.get_visible(session, user, proposal_id)
    context = {**detail_context(request, session, policy, user, proposal), "flash": None}
    return live(request, render(request, "proposals/_live.html", context))


@router.get("/{proposal_id}/versions/{number}", name="proposal_version")
def version_page(request: Request, proposal_id: int, number: int, user: Viewer, session: SessionDep) -> object:
    proposal = queries.get_visible(session, user, proposal_id)
    version = answers.get_version(session, proposal_id, number)
    return render(request, "proposals/version.html", {
        "page_title": f"{proposal.title}, version {number}",
        "proposal": proposal,
        "version": version,
        "content": version.content,
    })


async def _act(request: Request, session: Session, policy: Policy, user: User,
               proposal_id: int, action, done: str) -> object:
    """Run one of the proposal page's buttons; PRG on success, the page with the reason if refused."""
    try:
        await action
    except DomainError as error:
        context = await run_in_threadpool(_detail_again, request, session, policy, user, proposal_id)
        context["action_error"] = sentence(str(error))
        return render(request, "proposals/detail.html", context, status_code=status_for(error))
    flash(request, done)
    return RedirectResponse(f"/proposals/{proposal_id}", status_code=303)


def _detail_again(request: Request, session: Session, policy: Policy, user: User, proposal_id: int) -> dict:
    session.expire_all()  # the proposal as it is now, after the refused change
    return detail_context(request, session, policy, user, queries.get_visible(session, user, proposal_id))


@router.post("/{proposal_id}/withdraw", name="withdraw")
async def withdraw(request: Request, proposal_id: int, user: Viewer, _: CsrfProtected, session: SessionDep,
                   temporal: TemporalClientDep, policy: PolicyDep,
                   reason: Annotated[str, Form(max_length=5000)] = "") -> object:
    return await _act(request, session, policy, user, proposal_id,
                      commands.withdraw(session, temporal, user, proposal_id, reason.strip()),
                      "The proposal was withdrawn; the labels no longer review it.")


@router.post("/{proposal_id}/acknowledge", name="acknowledge")
async def acknowledge(request: Request, proposal_id: int, user: Viewer, _: CsrfProtected, session: SessionDep,
                      temporal: TemporalClientDep, policy: PolicyDep) -> object:
    return await _act(request, session, policy, user, proposal_id,
                      commands.acknowledge(session, temporal, user, proposal_id),
                      "You acknowledged the conditions.")


# -- the decision form --------------------------------------------------------


def _decide_form(request: Request, session: Session, user: User, proposal: Proposal, values: dict[str, str],
                 errors: dict[str, str], status_code: int = 200, form_error: str | None = None,
                 closed: str | None = None):
    public = answers.to_public(session, proposal, user)
    return render(request, "proposals/decide.html", {
        "page_title": f"Decide: {proposal.title}",
        "proposal": proposal,
        "slot": public.parties.get(user.party),
        "content": answers.get_version(session, proposal.id, proposal.version).content,
        "values": values,
        "errors": errors,
        "form_error": form_error,
        "closed": closed,
        "decision_id": str(uuid.uuid4()),  # fresh per rendering: one form sent twice counts once
        "diff": changes_since_seen(session, user, proposal, request.app.state.policy.material_fields),
        "reject_hint": REJECT_HINTS[_reject_outcome(request.app.state.policy, proposal, public, user.party)],
        "delegators": delegation.active_delegators(session, user),  # whom the rep may decide for
        # How the signer re-authenticates (api.reauth): their password, or a recent sign-in at their provider.
        "at_provider": reauth.signs_in_at_provider(session, user),
        "provider_fresh": recent_provider_sign_in(user, request.session),
    }, status_code=status_code)


def _decide_form_again(request: Request, session: Session, user: User, proposal_id: int, *args, **kwargs):
    """The form after a refused decision, with the proposal as it is now."""
    session.expire_all()
    return _decide_form(request, session, user, queries.get_visible(session, user, proposal_id), *args, **kwargs)


def _blank_decision(proposal: Proposal) -> dict[str, str]:
    return {"decision": "", "comment": "", "version": str(proposal.version)}


@router.get("/{proposal_id}/decide", name="decide")
def decide_form(request: Request, proposal_id: int, user: Viewer, session: SessionDep) -> object:
    proposal = queries.get_for(session, user, Action.DECIDE, proposal_id)
    values = _blank_decision(proposal)
    if not can(user, Action.DECIDE, proposal):
        return _decide_form(request, session, user, proposal, values, {}, 409,
                            closed=_why_closed(proposal))
    page = _decide_form(request, session, user, proposal, values, {})
    note_seen(request, session, user, proposal)
    return page


def _reject_outcome(policy: Policy, proposal: Proposal, public, party: str | None) -> RejectOutcome:
    """What `party` rejecting would do now, under the proposal's route (its tier may set the stage's rule)."""
    stages = proposal.route["stages"] if proposal.route else [{"name": s.name, "rule": s.rule} for s in policy.stages]
    rule = next((s["rule"] for s in stages if s["name"] == proposal.stage), "all")
    others = [row.state for party_key, row in public.parties.items() if party_key != party]
    return reject_outcome(policy.allow_partial, rule, others)


def _why_closed(proposal: Proposal) -> str:
    status = Status(proposal.status)
    if status == Status.CHANGES_REQUESTED:
        return "Changes were requested; decisions resume when the lead submits a new version."
    if status in FINAL_STATUSES:
        return f"This proposal is {status.value.replace('_', ' ')}; it can no longer change."
    return "Your label has no decision open on this proposal right now."


@router.post("/{proposal_id}/decide")
async def decide(request: Request, proposal_id: int, user: Viewer, _: CsrfProtected, session: SessionDep,
                 temporal: TemporalClientDep,
                 decision: Annotated[str, Form(max_length=40)] = "",
                 comment: Annotated[str, Form(max_length=5000)] = "",
                 version: Annotated[str, Form(max_length=20)] = "",
                 decision_id: Annotated[str, Form(max_length=100)] = "",
                 on_behalf_of: Annotated[str, Form(max_length=254)] = "",
                 password: Annotated[str, Form(max_length=1000)] = "") -> object:
    proposal = await run_in_threadpool(queries.get_for, session, user, Action.DECIDE, proposal_id)
    values = {"decision": decision, "comment": comment, "version": version, "on_behalf_of": on_behalf_of}
    try:
        body = DecisionIn.model_validate({
            "decision": decision or None, "comment": comment, "decision_id": decision_id or None,
            "version": version or None, "on_behalf_of": on_behalf_of or None,
        })
    except ValidationError as error:
        errors = {}
        for item in error.errors():
            name = str(item["loc"][0]) if item["loc"] else "form"
            if name == "decision":
                errors.setdefault("decision", "Choose a decision.")
            elif name == "comment":
                errors.setdefault("comment", _message(item))
            else:  # version or decision id: the form itself was altered
                errors.setdefault("form", "This form is out of date; reload the page and decide again.")
        return await run_in_threadpool(_decide_form, request, session, user, proposal, values, errors, 422,
                                       form_error=errors.get("form"))
    address = client_address(request)
    try:
        await commands.decide(session, temporal, user, proposal_id, body, lambda: reauth.on_form(
            session, request.session, user, password, address, proposal_id))
    except (reauth.ReauthenticationFailed, Throttled) as error:
        status_code = 429 if isinstance(error, Throttled) else 403
        errors = {} if isinstance(error, reauth.ProviderSignInNeeded) else {"password": sentence(str(error))}
        return await run_in_threadpool(_decide_form_again, request, session, user, proposal_id, values, errors,
                                       status_code, form_error=None if errors else sentence(str(error)))
    except DomainError as error:
        errors = {}
        if status_for(error) == 422 and body.decision != "approve":
            errors["comment"] = sentence(str(error))
        return await run_in_threadpool(_decide_form_again, request, session, user, proposal_id, values, errors,
                                       status_for(error), form_error=None if errors else sentence(str(error)))
    flash(request, f"Your decision for {request.app.state.policy.parties[user.party].name} was recorded: "
                   f"{DECISION_LABELS[body.decision.value].lower()}.")
    return RedirectResponse(f"/proposals/{proposal_id}", status_code=303)


# -- resubmission -------------------------------------------------------------


def _resubmit_context(session: Session, proposal: Proposal) -> dict[str, Any]:
    public = answers.to_public(session, proposal)
    requested = [(party, row.comment) for party, row in public.parties.items()
                 if row.state == "changes_requested" and row.comment]
    return {"page_title": f"New version: {proposal.title}", "proposal": proposal,
            "next_version": proposal.version + 1, "requested": requested,
            "widening": proposal.status in (Status.APPROVED, Status.APPROVED_PARTIAL),
            "current_files": messages_store.version_files(session, proposal)[proposal.version].files}


def _removed_files(form: FormData) -> list[int]:
    """The current version's files listed on the form and unticked there: the new version leaves them out
    (one attached meanwhile, not listed, is kept)."""
    kept = set(form.getlist("keep_files"))
    return [int(i) for i in dict.fromkeys(form.getlist("listed_files"))
            if isinstance(i, str) and i.isdigit() and i not in kept and int(i) <= 2**31 - 1]


def _may_resubmit(user: User, proposal: Proposal) -> bool:
    """Returned for changes; or approved, for a wider launch scope (the workflow checks the scope is wider)."""
    return can(user, Action.RESUBMIT, proposal) or can(user, Action.WIDEN, proposal)


@router.get("/{proposal_id}/resubmit", name="resubmit")
def resubmit_form(request: Request, proposal_id: int, user: Viewer, session: SessionDep,
                  policy: PolicyDep) -> object:
    proposal = queries.get_for(session, user, Action.RESUBMIT, proposal_id)
    content = answers.get_version(session, proposal_id, proposal.version).content.model_dump(mode="json")
    values = form_values(policy, content)
    if not _may_resubmit(user, proposal):
        return error_page(request, 409, "No changes were requested; only a proposal returned for changes, or an "
                                        "approved one seeking a wider launch scope, "
                                        "can be resubmitted.")
    return _proposal_form(request, "proposals/resubmit.html", values, {}, **_resubmit_context(session, proposal))


@router.post("/{proposal_id}/resubmit")
async def resubmit(request: Request, proposal_id: int, user: Viewer, _: CsrfProtected, session: SessionDep,
                   temporal: TemporalClientDep, policy: PolicyDep, settings: SettingsDep) -> object:
    proposal = await run_in_threadpool(queries.get_for, session, user, Action.RESUBMIT, proposal_id)
    form = await request.form()
    values = read_proposal_form(form)
    values["parties"] = list(proposal.parties)  # a new version keeps the catalogs it touches
    values["remove_files"] = _removed_files(form)
    body, errors = validate_proposal(policy, values)
    files, file_errors = await read_files(form, settings)
    if body is None or file_errors:
        return _proposal_form(request, "proposals/resubmit.html", values, errors | file_errors, 422,
                              **await run_in_threadpool(_resubmit_context, session, proposal))
    try:
        await commands.resubmit(session, temporal, user, proposal_id, body, files, values["remove_files"],
                                files_dir(settings))
    except DomainError as error:
        return _proposal_form(request, "proposals/resubmit.html", values, {}, status_for(error),
                              form_error=sentence(str(error)),
                              **await run_in_threadpool(_resubmit_context, session, proposal))
    flash(request, f"Version {proposal.version + 1} was submitted; the labels review it now.")
    return RedirectResponse(f"/proposals/{proposal_id}", status_code=303)
