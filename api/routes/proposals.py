"""JSON API: proposals (API.md)."""

# No `from __future__ import annotations`: the submit routes are built per
# policy, and FastAPI reads their body's class from the live annotation.

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api import answers, commands, reauth
from api.deps import ApiUser, PolicyDep, SessionDep, SettingsDep, TemporalClientDep
from api.routes.auth import client_address
from api.errors import ERROR_RESPONSES
from api.schemas import DecisionIn, ProposalOut, VersionOut, WithdrawIn, proposal_submit, resubmit_body
from api.text_types import NO_NUL
from countersign.domain import search
from countersign.domain.access import Action, require
from countersign.domain.policy import Policy
from countersign.domain.routing import Status
from countersign.storage import messages, queries
from countersign.storage.tables import User

# Ids are 32-bit integers in every supported database.
ProposalId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The proposal's id")]
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1, description="A version number, from 1")]

router = APIRouter(prefix="/proposals", tags=["proposals"], responses=ERROR_RESPONSES)


def _read_back(session: Session, user: User, proposal_id: int) -> ProposalOut:
    """The proposal as a command left it: the command returns once its step is
    stored. Run in the thread pool (see api.commands); fresh, as the
    workflow's activity changed it through another connection."""
    return answers.to_public(session, queries.get_visible(session, user, proposal_id, fresh=True), user)


@router.get("", response_model=list[ProposalOut])
def list_proposals(
    user: ApiUser,
    session: SessionDep,
    status: Status | None = None,
    party: str | None = Query(None, max_length=40, pattern=NO_NUL),
    stage: str | None = Query(None, max_length=200, pattern=NO_NUL),
    q: str | None = Query(None, max_length=200, pattern=r"^[^\x00]*\w[^\x00]*$",
                          description="Words that each begin a word of the title or summary"),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=2**31 - 1),
) -> list[ProposalOut]:
    terms = search.terms(q) if q is not None else ()  # no word to look for: 422, saying so
    rows = queries.list_visible(session, user, status and status.value, party, stage, limit, offset, terms)
    return answers.to_public_many(session, rows, user)


# ":int": "/proposals/preview" (POST only) is not a proposal's path.
@router.get("/{proposal_id:int}", response_model=ProposalOut)
def get_proposal(proposal_id: ProposalId, user: ApiUser, session: SessionDep) -> ProposalOut:
    return answers.to_public(session, queries.get_visible(session, user, proposal_id), user)


@router.post("/{proposal_id}/decisions", status_code=status.HTTP_201_CREATED, response_model=ProposalOut)
async def decide(proposal_id: ProposalId, body: DecisionIn, user: ApiUser, session: SessionDep,
                 temporal: TemporalClientDep, policy: PolicyDep, request: Request) -> ProposalOut:
    """Needs a token with the decide scope, and the signer's `password` where the policy asks for it (api.reauth)."""
    await commands.decide(session, temporal, user, proposal_id, body, lambda: reauth.on_api(
        session, policy, user, request.state.api_token, body.password, client_address(request), proposal_id))
    return await run_in_threadpool(_read_back, session, user, proposal_id)


@router.post("/{proposal_id}/withdraw", response_model=ProposalOut)
async def withdraw(proposal_id: ProposalId, body: WithdrawIn, user: ApiUser, session: SessionDep,
                   temporal: TemporalClientDep) -> ProposalOut:
    await commands.withdraw(session, temporal, user, proposal_id, body.reason)
    return await run_in_threadpool(_read_back, session, user, proposal_id)


@router.post("/{proposal_id}/acknowledge", response_model=ProposalOut)
async def acknowledge(proposal_id: ProposalId, user: ApiUser, session: SessionDep, temporal: TemporalClientDep) -> ProposalOut:
    await commands.acknowledge(session, temporal, user, proposal_id)
    return await run_in_threadpool(_read_back, session, user, proposal_id)


@router.get("/{proposal_id}/versions/{number}", response_model=VersionOut)
def get_version(proposal_id: ProposalId, number: VersionNumber, user: ApiUser, session: SessionDep) -> VersionOut:
    proposal = queries.get_visible(session, user, proposal_id)
    version = answers.get_version(session, proposal_id, number)
    files = messages.version_files(session, proposal)[number]
    version.files, version.files_added, version.files_removed = (
        [f.id for f in group] for group in (files.files, files.added, files.removed))
    return version


def submit_router(policy: Policy) -> APIRouter:
    """Submit and resubmit, whose body names `policy`'s parties: built with
    the app, so that the OpenAPI schema lists them."""
    ProposalSubmit = proposal_submit(policy)
    ProposalResubmit = resubmit_body(policy)
    submitting = APIRouter(prefix="/proposals", tags=["proposals"], responses=ERROR_RESPONSES)

    @submitting.post("", status_code=status.HTTP_201_CREATED, response_model=ProposalOut)
    async def submit_proposal(body: ProposalSubmit, user: ApiUser, session: SessionDep,
                              temporal: TemporalClientDep, settings: SettingsDep) -> ProposalOut:
        proposal_id = await commands.submit(session, temporal, settings.task_queue, policy, user, body)
        return await run_in_threadpool(_read_back, session, user, proposal_id)

    @submitting.post("/{proposal_id}/resubmit", response_model=ProposalOut)
    async def resubmit(proposal_id: ProposalId, body: ProposalResubmit, user: ApiUser, session: SessionDep,
                       temporal: TemporalClientDep) -> ProposalOut:
        """The new version carries the current one's files forward, less `remove_files`."""
        await commands.resubmit(session, temporal, user, proposal_id, body, remove_files=body.remove_files)
        return await run_in_threadpool(_read_back, session, user, proposal_id)

    return submitting


inbox_router = APIRouter(tags=["inbox"], responses=ERROR_RESPONSES)


@inbox_router.get("/inbox", response_model=list[ProposalOut])
def inbox(user: ApiUser, session: SessionDep) -> list[ProposalOut]:
    require(user, Action.INBOX)
    return answers.to_public_many(session, queries.inbox(session, user.party), user)

