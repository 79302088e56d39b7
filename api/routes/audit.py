"""Compliance: a proposal's audit trail (JSON API), the compliance pages
(search, timeline beside the Temporal history, certificate of completion)
and streaming exports.

Compliance staff and admins only (`Action.AUDIT`); everyone else gets 403,
or 404 for a proposal whose existence they may not know. Every read of an
audit trail is itself recorded, on the access chain (see countersign.storage.audit),
before the trail is sent.
"""

# No `from __future__ import annotations`: the export route is built per
# policy, and FastAPI reads its `party` filter from the live annotation.

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from api.deps import ApiUser, PolicyDep, SessionDep, TemporalClientDep
from api.routes.pages import PageRoute, Viewer, temporal_link
from api.schemas import SignatureOut
from api.templating import render
from api.text_types import IsoDate
from countersign.domain.access import Action, require
from countersign.domain.dates import NotADay, parse_day
from countersign.domain.errors import InvalidDecision, ProposalClosed
from countersign.domain.policy import Policy
from countersign.domain.reconcile import ERROR, align, reconcile
from countersign.domain.routing import FINAL_STATUSES, Status
from countersign.storage import audit, audit_export, messages, queries
from countersign.storage.audit_export import MATCHING, WHOLE, AuditFilter
from countersign.storage.db import transaction
from countersign.storage.signatures import export_signatures, signatures_by_step
from countersign.storage.tables import AuditEntry, Proposal, ProposalVersion, User, utcnow
from workflows import history

PAGE_SIZE = 100
EVENT_PAGE_SIZE = 200
EXPORT_MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
NO_NUL = r"^[^\x00]*$"  # PostgreSQL refuses NUL in text

ProposalId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The proposal's id")]


# -- shapes ---------------------------------------------------------------------


class AuditEntryOut(BaseModel):
    seq: int
    kind: str
    at: datetime
    actor: str | None
    party: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str
    # A "decided" entry's signature manifestation (stored with the decision; outside the entry's hash).
    signature: SignatureOut | None = None


class ChainBreakOut(BaseModel):
    seq: int | None
    problem: str


class AuditTrailOut(BaseModel):
    proposal_id: int
    workflow_id: str
    status: str
    entries: list[AuditEntryOut]
    head_hash: str  # the last entry's hash (GENESIS for an empty chain)
    intact: bool
    broken: ChainBreakOut | None = None


class Detail(BaseModel):
    detail: str


RESPONSES = {
    401: {"model": Detail, "description": "No valid API token was sent"},
    403: {"model": Detail, "description": "Only compliance staff and admins read audit trails"},
    404: {"model": Detail, "description": "No such proposal, or not one the caller may see"},
}


# -- shared -----------------------------------------------------------------------


def _auditable(session: Session, user: User, proposal_id: int) -> Proposal:
    return queries.get_for(session, user, Action.AUDIT, proposal_id)


def _log_read(session: Session, user: User, via: str, proposal_ids: list[int], **detail: str) -> None:
    """The read is on record before anything is shown: in a write transaction
    of its own (`session` reads)."""
    with transaction(session.get_bind()) as write:
        audit.log_read(write, user.email, via, proposal_ids, **detail)
    session.commit()  # what `session` reads next, it reads after the entry


def _head(entries: list[AuditEntry]) -> str:
    return entries[-1].hash if entries else audit.GENESIS


def _export_response(
    engine: Engine, session: Session, user: User, f: AuditFilter, fmt: str, via: str
) -> StreamingResponse:
    proposal_ids = audit_export.matching_proposal_ids(session, f)
    _log_read(
        session,
        user,
        via,
        proposal_ids,
        format=fmt,
        scope=f.scope,
        filters=" ".join(f"{k}={v}" for k, v in f.as_dict().items()),
        access=str(f.access).lower(),
    )
    entries = audit_export.export_entries(engine, f, proposal_ids)
    signed = export_signatures(session, proposal_ids)
    if fmt == "csv":
        body: Iterator[str] = audit_export.csv_rows(entries, signed)
    else:
        body = audit_export.jsonl(entries, audit_export.header(f, user.email, proposal_ids), signed)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    name = f"countersign-audit-{f'proposal-{f.proposal_id}-' if f.proposal_id else ''}{stamp}.{fmt}"
    return StreamingResponse(
        body,
        media_type=EXPORT_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


# -- JSON API ---------------------------------------------------------------------

router = APIRouter(tags=["audit"], responses=RESPONSES)


@router.get("/proposals/{proposal_id}/audit", response_model=AuditTrailOut)
def proposal_audit(proposal_id: ProposalId, user: ApiUser, session: SessionDep) -> AuditTrailOut:
    """The proposal's audit trail, entry by entry with its hashes, and whether the chain checks out."""
    proposal = _auditable(session, user, proposal_id)
    _log_read(session, user, "api", [proposal.id])
    entries = audit.chain(session, proposal.id)
    broken = audit.check_chain(entries)
    signed = signatures_by_step(session, proposal.id)
    return AuditTrailOut(
        proposal_id=proposal.id,
        workflow_id=queries.workflow_id(proposal.id),
        status=proposal.status,
        entries=[_entry_out(e, signed) for e in entries],
        head_hash=_head(entries),
        intact=broken is None,
        broken=ChainBreakOut(seq=broken.seq, problem=broken.problem) if broken else None,
    )


def _entry_out(entry: AuditEntry, signed: dict) -> AuditEntryOut:
    out = AuditEntryOut.model_validate(entry, from_attributes=True)
    signature = signed.get(entry.step) if entry.kind == "decided" else None
    out.signature = SignatureOut(**signature.as_dict()) if signature else None
    return out


def export_router(policy: Policy) -> APIRouter:
    """The audit export, whose `party` filter names `policy`'s parties: built
    with the app, so that the OpenAPI schema lists them."""
    Party = Literal[tuple(policy.parties)]

    def api_filter(
        proposal: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="One proposal's id")] = None,
        party: Annotated[Party | None, Query(description="Proposals touching this label")] = None,
        status: Annotated[Status | None, Query()] = None,
        stage: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
        actor: Annotated[
            str | None,
            Query(max_length=254, pattern=NO_NUL, description="An event by this person (e-mail or name)"),
        ] = None,
        kind: Annotated[
            str | None, Query(max_length=40, pattern=NO_NUL, description="An event of this kind")
        ] = None,
        since: Annotated[IsoDate | None, Query(description="An event on or after this UTC day")] = None,
        until: Annotated[IsoDate | None, Query(description="An event on or before this UTC day")] = None,
        text: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
        scope: Annotated[
            Literal["whole", "matching"],
            Query(description="whole: every entry of each matching proposal; "
                              "matching: only the matching events"),
        ] = WHOLE,
        access: Annotated[
            bool, Query(description="Include the access log (sign-ins, tokens, audit reads)")
        ] = False,
    ) -> AuditFilter:
        return AuditFilter(
            proposal,
            party,
            status.value if status else None,
            stage,
            actor,
            kind,
            since,
            until,
            text,
            scope,
            access,
        )

    exporting = APIRouter(tags=["audit"], responses=RESPONSES)

    @exporting.get(
        "/audit/export",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"application/x-ndjson": {}, "text/csv": {}},
                  "description": "The export, streamed"}
        },
    )
    def export(
        request: Request,
        user: ApiUser,
        session: SessionDep,
        f: Annotated[AuditFilter, Depends(api_filter)],
        format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
    ) -> StreamingResponse:
        """Export the filtered audit events as JSON Lines or CSV, with their chain hashes."""
        require(user, Action.AUDIT)
        return _export_response(request.app.state.engine, session, user, f, format, "api-export")

    return exporting


# -- pages --------------------------------------------------------------------------

pages = APIRouter(prefix="/compliance", route_class=PageRoute, include_in_schema=False)

FILTER_FIELDS = (
    "proposal",
    "party",
    "status",
    "stage",
    "actor",
    "kind",
    "since",
    "until",
    "text",
    "scope",
    "access",
)


def page_filter(params: Mapping[str, str],
                policy: Policy) -> tuple[AuditFilter, dict[str, str], dict[str, str]]:
    """The filter from a search form's query string, leniently: a value that
    cannot be read is left out and explained. Returns (filter, form values, errors)."""
    values = {name: (params.get(name) or "").replace("\x00", "").strip()[:254] for name in FILTER_FIELDS}
    errors: dict[str, str] = {}
    f = AuditFilter(
        stage=values["stage"] or None,
        actor=values["actor"] or None,
        kind=values["kind"] or None,
        text=values["text"] or None,
        scope=MATCHING if values["scope"] == MATCHING else WHOLE,
        access=values["access"] in ("1", "true", "on", "yes"),
    )
    if values["proposal"]:
        number = values["proposal"].lstrip("#")
        if number.isdigit() and 0 < int(number) < 2**31:
            f.proposal_id = int(number)
        else:
            errors["proposal"] = "a proposal number, such as 42"
    if values["party"]:
        if values["party"] in policy.parties:
            f.party = values["party"]
        else:
            errors["party"] = "choose a label from the list"
    if values["status"]:
        if values["status"] in {s.value for s in Status}:
            f.status = values["status"]
        else:
            errors["status"] = "choose a status from the list"
    for name in ("since", "until"):
        if values[name]:
            try:
                setattr(f, name, parse_day(values[name]))
            except NotADay as error:
                errors[name] = str(error)
            else:
                values[name] = getattr(f, name).isoformat()  # what the date field shows and sends
    if f.since and f.until and f.since > f.until:
        errors["until"] = f"the to-date comes before the from-date ({f.since.isoformat()}): nothing could match"
        f.since = f.until = None
    return f, values, errors


def stage_choices(policy: Policy, stored: list[str]) -> list[str]:
    """Every stage of the policy, in its order (the risk tiers' added stages after), then any other stage
    a proposal is in (a policy changed since)."""
    names = [s.name for s in policy.stages]
    for tier in policy.tiers.values():
        names += [s.name for s in tier.add_stages]
    names += sorted(stored)
    return list(dict.fromkeys(names))


def _query_string(f: AuditFilter) -> str:
    shown = f.as_dict()
    if "proposal_id" in shown:
        shown["proposal"] = shown.pop("proposal_id")
    return urlencode(shown)


@pages.get("", name="compliance_search")
def search(
    request: Request, user: Viewer, session: SessionDep, policy: PolicyDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> object:
    require(user, Action.AUDIT)
    f, values, errors = page_filter(request.query_params, policy)
    proposals, total = audit_export.search_proposals(session, f, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    events, event_total = audit_export.search_events(session, f, EVENT_PAGE_SIZE)
    shown = sorted({e.proposal_id for e in events if e.proposal_id is not None})
    _log_read(session, user, "search", shown, filters=" ".join(f"{k}={v}" for k, v in f.as_dict().items()))
    owners = {
        u.id: u for u in session.exec(select(User).where(col(User.id).in_({p.owner_id for p in proposals})))
    }
    titles = {p.id: p.title for p in session.exec(select(Proposal).where(col(Proposal.id).in_(shown)))}
    stages = stage_choices(policy, list(session.exec(select(Proposal.stage).distinct())))
    kinds = sorted(set(session.exec(select(AuditEntry.kind).distinct())))
    return render(
        request,
        "compliance/search.html",
        {
            "page_title": "Compliance",
            "values": values,
            "errors": errors,
            "filtered": bool(f.as_dict()),
            "proposals": proposals,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "events": events,
            "event_total": event_total,
            "titles": titles,
            "owners": owners,
            "statuses": [s.value for s in Status],
            "final_statuses": [s.value for s in FINAL_STATUSES],
            "stages": stages,
            "kinds": kinds,
            "query": _query_string(f),
            "query_matching": _query_string(AuditFilter(**{**f.__dict__, "scope": MATCHING})),
            "event_filtered": f.has_event_conditions or bool(f.text),
        },
        user=user,
    )


@pages.get("/export.{fmt}", name="compliance_export")
def page_export(request: Request, fmt: str, user: Viewer, session: SessionDep, policy: PolicyDep) -> object:
    require(user, Action.AUDIT)
    if fmt not in EXPORT_MEDIA:
        raise InvalidDecision("exports come as .jsonl or .csv")
    f, _, errors = page_filter(request.query_params, policy)
    if errors:
        raise InvalidDecision(
            "the filters could not be read: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
        )
    return _export_response(request.app.state.engine, session, user, f, fmt, "export")


@pages.get("/proposals/{proposal_id}", name="compliance_timeline")
async def timeline(
    request: Request,
    proposal_id: ProposalId,
    user: Viewer,
    session: SessionDep,
    temporal: TemporalClientDep,
    tasks: Annotated[bool, Query()] = False,
) -> object:
    # Async for the history from Temporal; the database work in the thread pool (see api.commands).
    proposal = await run_in_threadpool(_open_timeline, session, user, proposal_id)
    loaded = await history.load(temporal, proposal.id)
    context = await run_in_threadpool(_timeline_context, session, proposal, loaded, tasks,
                                      temporal_link(request, user, proposal))
    return render(request, "compliance/timeline.html", context, user=user)


def _open_timeline(session: Session, user: User, proposal_id: int) -> Proposal:
    proposal = _auditable(session, user, proposal_id)
    _log_read(session, user, "timeline", [proposal.id])
    return proposal


def _timeline_context(session: Session, proposal: Proposal, loaded: history.ProposalHistory, tasks: bool,
                      temporal_url: str | None) -> dict:
    stored, decisions, trail = audit.stored_state(session, proposal.id)
    disagreements = reconcile(proposal.id, stored, decisions, trail, loaded.facts)
    entries = audit.chain(session, proposal.id)
    return {
        "page_title": f"Audit trail · {proposal.title}",
        "proposal": proposal,
        "owner": session.get(User, proposal.owner_id),
        "entries": entries,
        "signatures": signatures_by_step(session, proposal.id),  # for the "decided" entries, by step
        "broken": audit.check_chain(entries),
        "head": _head(entries),
        "facts": loaded.facts,
        "rows": [r for r in loaded.rows if tasks or not r.task],
        "hidden_tasks": 0 if tasks else sum(1 for r in loaded.rows if r.task),
        "show_tasks": tasks,
        "aligned": align(trail, loaded.facts) if loaded.facts.found else {},
        "disagreements": [d for d in disagreements if d.kind != "history_unavailable"],
        "errors": sum(1 for d in disagreements if d.severity == ERROR),
        "concluded": Status(proposal.status) in FINAL_STATUSES,
        "temporal_url": temporal_url,
        "workflow_id": queries.workflow_id(proposal.id),
    }


@pages.get("/proposals/{proposal_id}/certificate", name="compliance_certificate")
def certificate(request: Request, proposal_id: ProposalId, user: Viewer, session: SessionDep) -> object:
    proposal = _auditable(session, user, proposal_id)
    if Status(proposal.status) not in FINAL_STATUSES:
        raise ProposalClosed(
            f"proposal {proposal.id} is still {proposal.status.replace('_', ' ')}: "
            "a certificate of completion is issued once it has concluded"
        )
    _log_read(session, user, "certificate", [proposal.id])
    entries = audit.chain(session, proposal.id)
    stored, decisions, trail = audit.stored_state(session, proposal.id)
    checks = [
        d for d in reconcile(proposal.id, stored, decisions, trail, None) if d.kind != "history_unavailable"
    ]
    versions = session.exec(
        select(ProposalVersion)
        .where(ProposalVersion.proposal_id == proposal.id)
        .order_by(col(ProposalVersion.number))
    ).all()
    concluded = next((e for e in reversed(entries) if e.kind == "concluded"), None)
    return render(
        request,
        "compliance/certificate.html",
        {
            "page_title": f"Certificate of completion · proposal {proposal.id}",
            "proposal": proposal,
            "owner": session.get(User, proposal.owner_id),
            "versions": versions,
            "decisions": [e for e in entries if e.kind == "decided"],
            "signatures": signatures_by_step(session, proposal.id),  # by the step that wrote each decision
            "acknowledgements": [e for e in entries if e.kind == "conditions_acknowledged"],
            "withdrawn": next((e for e in entries if e.kind == "withdrawn"), None),
            "concluded": concluded,
            "entries": entries,
            # the concluded version's files, those carried forward from earlier versions included
            "version_files": messages.version_files(session, proposal)[proposal.version].files,
            "broken": audit.check_chain(entries),
            "checks": checks,
            "head": _head(entries),
            "issued_at": utcnow(),
            "workflow_id": queries.workflow_id(proposal.id),
        },
        user=user,
    )
