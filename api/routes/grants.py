"""JSON API: route preview, the grants check, and grant and obligation actions (API.md, 0.2)."""

# No `from __future__ import annotations`: the preview's body is built per
# policy, and FastAPI reads its class from the live annotation.

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from api import grant_commands
from api.deps import ApiUser, GrantsCheckUser, Now, PolicyDep, SessionDep, SettingsDep, TemporalClientDep
from api.errors import ERROR_RESPONSES
from api.routes.messages import files_dir, read_upload
from api.routes.proposals import ProposalId, _read_back
from api.text_types import NO_NUL
from api.schemas import (
    EvidenceIn,
    EvidenceReviewIn,
    GrantCheckOut,
    PreviewOut,
    ProposalOut,
    ReasonIn,
    proposal_submit,
)
from countersign.domain.access import Action, require
from countersign.domain.grants import SCOPES
from countersign.domain.policy import Policy
from countersign.domain.preview import preview
from countersign.storage import grants

PartyKey = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", description="A party's key")]
ObligationId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The obligation's number in its proposal")]

router = APIRouter(tags=["grants"], responses=ERROR_RESPONSES)


def preview_router(policy: Policy) -> APIRouter:
    """The preview takes the submit body, which names `policy`'s parties."""
    ProposalSubmit = proposal_submit(policy)
    previewing = APIRouter(prefix="/proposals", tags=["proposals"], responses=ERROR_RESPONSES)

    @previewing.post("/preview", response_model=PreviewOut)
    def preview_route(body: ProposalSubmit, user: ApiUser, now: Now) -> PreviewOut:
        """The tier, stages, parties and first due dates this body would get if submitted now."""
        require(user, Action.SUBMIT)
        return preview_out(preview(policy, body.model_dump(mode="json"), now))

    return previewing


def preview_out(found) -> PreviewOut:
    return PreviewOut(
        tier=found.tier, rules=[dict(rule=m.rule, tier=m.tier, why=m.why) for m in found.matches],
        stages=[dict(name=s.name, rule=s.rule, parties=s.parties, added_by=s.added_by, rule_set_by=s.rule_set_by,
                     due=s.due, due_at=s.due_at) for s in found.stages],
        submittable=found.submittable, reason=found.reason)


@router.get("/grants/check", response_model=GrantCheckOut)
def check_grant(
    user: GrantsCheckUser, session: SessionDep, policy: PolicyDep, now: Now,
    proposal: int = Query(ge=1, le=2**31 - 1, description="The proposal's id"),
    party: str = Query(max_length=40, pattern=NO_NUL, description="The party whose catalog the product would use"),
    scope: Literal[SCOPES] | None = Query(None, description="The launch scope the product runs at"),
) -> GrantCheckOut:
    """Whether the product may use `party`'s catalog under `proposal` now (from the read model)."""
    deny_overdue = bool(policy.grants and policy.grants.deny_when_obligation_overdue)
    answer, grant = grants.check(session, proposal, party, scope, now, deny_overdue)
    return GrantCheckOut(allowed=answer.allowed, reason=answer.reason, grant=grant)


def _grant_route(action: str):
    async def grant_action(proposal_id: ProposalId, party: PartyKey, body: ReasonIn, user: ApiUser,
                           session: SessionDep, temporal: TemporalClientDep) -> ProposalOut:
        await grant_commands.grant_action(session, temporal, user, proposal_id, party, action, body.reason)
        return await run_in_threadpool(_read_back, session, user, proposal_id)

    grant_action.__doc__ = f"{action.capitalize()} the caller's own party's grant, with a reason (that party's reps)."
    return grant_action


# One route per action, as API.md lists them.
for _action in ("suspend", "resume", "revoke"):
    router.post(f"/proposals/{{proposal_id}}/grants/{{party}}/{_action}", response_model=ProposalOut,
                name=f"{_action}_grant", operation_id=f"{_action}_grant")(_grant_route(_action))


@router.post("/proposals/{proposal_id}/obligations/{number}/evidence", response_model=ProposalOut)
async def submit_evidence(proposal_id: ProposalId, number: ObligationId, body: EvidenceIn, user: ApiUser,
                          session: SessionDep, temporal: TemporalClientDep) -> ProposalOut:
    await grant_commands.submit_evidence(session, temporal, user, proposal_id, number, body.text)
    return await run_in_threadpool(_read_back, session, user, proposal_id)


@router.post("/proposals/{proposal_id}/obligations/{number}/evidence/file", response_model=ProposalOut,
             responses={413: {"description": "The file is too large"}})
async def submit_evidence_file(proposal_id: ProposalId, number: ObligationId, user: ApiUser, session: SessionDep,
                               temporal: TemporalClientDep, settings: SettingsDep,
                               file: Annotated[UploadFile, File(description="the evidence, as a file")],
                               text: Annotated[str, Form(max_length=20000, pattern=NO_NUL)] = "") -> ProposalOut:
    """The lead sends a file as the evidence (multipart `file`, optional `text` beside it). Seen by
    the lead, the obligation's party's reps and compliance; on the audit chain by name, size, type
    and SHA-256. Typed by content as other files are (else 422)."""
    content = await read_upload(file, settings)
    await grant_commands.submit_evidence(session, temporal, user, proposal_id, number, text,
                                         (file.filename or "evidence", content), files_dir(settings))
    return await run_in_threadpool(_read_back, session, user, proposal_id)


@router.post("/proposals/{proposal_id}/obligations/{number}/{verdict}", response_model=ProposalOut)
async def review_evidence(proposal_id: ProposalId, number: ObligationId, verdict: Literal["accept", "return"],
                          body: EvidenceReviewIn, user: ApiUser, session: SessionDep,
                          temporal: TemporalClientDep) -> ProposalOut:
    await grant_commands.review_evidence(session, temporal, user, proposal_id, number, verdict == "accept",
                                         body.comment)
    return await run_in_threadpool(_read_back, session, user, proposal_id)
