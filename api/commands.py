"""What a signed-in user asks Countersign to do, shared by the JSON API and
the forms: authorize, then hand the change to the proposal's workflow.

Nothing here writes proposal state: the workflow's activities do. Each
function returns once the change is stored (the update returns after its
step's activity has committed), so the caller reads the proposal back.

These run on the event loop, where they await Temporal; their database work
runs in the thread pool (`run_in_threadpool`), as a sync route's does. On the
loop, a request waiting for a connection from a pool run dry would stop
every request of the process, those that would give connections back
included.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from sqlalchemy import bindparam
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api.schemas import DecisionIn, ProposalContent
from countersign.domain import file_types, tiers, version_files
from countersign.domain.access import Action, require
from countersign.domain.errors import Conflict, DomainError, InvalidDecision, ProposalClosed
from countersign.domain.policy import Policy
from countersign.domain.version_files import FileFacts
from countersign.storage import delegation, messages
from countersign.storage.db import transaction
from countersign.storage.queries import ProposalAccess, access_for
from countersign.storage.tables import Decision, ProposalNumber, User, utcnow
from workflows import client as wf
from workflows.messages import (
    AcknowledgeRequest,
    DecisionRequest,
    ProposalInput,
    ResubmitRequest,
    WithdrawRequest,
)

Uploads = Sequence[tuple[str, bytes]]  # (name, content) of files attached with a new version

# Built once: every decision reads it.
_DECISION_BY_ID = select(Decision.proposal_id, Decision.party, Decision.decision, Decision.comment).where(Decision.decision_id == bindparam("decision_id"))


def release_connection(session: Session) -> None:
    """End the session's transaction, so that its database connection goes
    back to the pool while the workflow works. An update can take long (a
    worker restarting, Temporal failing over); requests holding connections
    meanwhile would use up the pool. The session stays usable: it takes a
    connection again when the caller reads the result back."""
    session.commit()  # nothing to write; sessions here do not expire their objects on commit


async def submit(session: Session, temporal: Client, task_queue: str, policy: Policy, user: User,
                 body: ProposalContent, files: Uploads = (), files_dir: Path | None = None) -> int:
    """The new proposal's id, once it is stored (with `files`, attached to version 1)."""
    require(user, Action.SUBMIT)
    content = body.model_dump(mode="json")
    tiers.route(policy, content).check_submittable()  # an unacceptable tier: 422 naming the rule
    checked = check_files(files)
    proposal_id = await run_in_threadpool(_allocate_number, session)
    start = ProposalInput(proposal_id, user.email, content, policy, checked)
    await _with_files(session, wf.start_proposal(temporal, task_queue, start), files, files_dir)
    return proposal_id


def check_files(files: Uploads) -> list[FileFacts]:
    """The files as a version records them; Refused (422) for an empty or refused one, before anything is stored."""
    return [file_types.facts(name, content) for name, content in files]


async def _with_files(session: Session, change: Awaitable[object], files: Uploads, files_dir: Path | None) -> None:
    """Run the workflow change that stores a version naming `files`, their bytes written first (the
    version's step stores their rows with it, in one transaction). Refused: the bytes this call wrote
    go again, unless a stored file has them meanwhile. Unreachable: they stay, for the version
    Temporal may yet store."""
    written = await run_in_threadpool(messages.write_blobs, files_dir, [c for _, c in files]) if files else []
    try:
        await change
    except wf.WorkflowUnavailable:
        raise
    except DomainError:
        await run_in_threadpool(messages.drop_unrecorded, session, written)
        raise


def _allocate_number(session: Session) -> int:
    with transaction(session.get_bind()) as write:  # an unused number is harmless; a half-stored proposal is not
        number = ProposalNumber(allocated_at=utcnow())
        write.add(number)
        write.flush()
        return number.id


async def decide(session: Session, temporal: Client, user: User, proposal_id: int, body: DecisionIn,
                 reauthenticate: Callable[[], str]) -> None:
    """`reauthenticate`: checks the signer's re-authentication once the decision is theirs to make
    (api.reauth), raising if it fails, and says how they re-authenticated."""
    decision_id, request, stored = await run_in_threadpool(_decision, session, user, proposal_id, body,
                                                           reauthenticate)
    # Sent again even when stored: Temporal applies a repeated update id once
    # and answers it as it answered the first.
    try:
        await wf.decide(temporal, proposal_id, request, decision_id)
    except ProposalClosed:
        if not stored:
            raise
        # the same decision sent again after its proposal closed: it counted once


def _decision(session: Session, user: User, proposal_id: int, body: DecisionIn,
              reauthenticate: Callable[[], str]) -> tuple[str, DecisionRequest, bool]:
    """The decision's id, the update to send, and whether that id is stored already."""
    proposal = access_for(session, user, Action.DECIDE, proposal_id)
    how = reauthenticate()
    decision_id = body.decision_id or str(uuid.uuid4())
    earlier = session.execute(_DECISION_BY_ID, {"decision_id": decision_id}).first()
    # The same id again is a retry of the same decision (answered as the first
    # time); with another proposal, party, verdict or comment it is a mistake (API.md: 409).
    if earlier is not None and (
        (earlier.proposal_id, earlier.party, str(earlier.decision), earlier.comment or "")
        != (proposal_id, user.party, body.decision.value, body.comment.strip())
    ):
        raise Conflict(f"decision id {decision_id} was used for another decision; send a new one")
    on_behalf_of = delegation.acting_for(session, user, body.on_behalf_of).email if body.on_behalf_of else None
    request = DecisionRequest(user.party, body.decision.value, body.comment, body.version or proposal.version,
                              user.email, on_behalf_of, signer_name=user.name, signer_role=user.role,
                              reauthenticated=how)
    release_connection(session)
    return decision_id, request, earlier is not None


async def resubmit(session: Session, temporal: Client, user: User, proposal_id: int, body: ProposalContent,
                   files: Uploads = (), remove_files: Sequence[int] = (), files_dir: Path | None = None) -> None:
    """A new version: the current one's files carried forward, less `remove_files`, plus `files`."""
    proposal, current = await run_in_threadpool(_authorize_resubmit, session, user, proposal_id)
    if body.parties != proposal.parties:
        raise InvalidDecision(
            "a new version cannot change which parties' catalogs it touches; withdraw this proposal and submit a new one"
        )
    removed = version_files.check_removals(remove_files, current, proposal.version)
    request = ResubmitRequest(user.email, body.model_dump(mode="json", exclude={"remove_files"}), check_files(files),
                              removed)
    await _with_files(session, wf.resubmit(temporal, proposal_id, request), files, files_dir)


def _authorize_resubmit(session: Session, user: User, proposal_id: int) -> tuple[ProposalAccess, list[int]]:
    """The proposal, and the ids of its current version's files."""
    proposal = access_for(session, user, Action.RESUBMIT, proposal_id)
    current = [f.id for f in messages.version_files(session, proposal)[proposal.version].files]
    release_connection(session)
    return proposal, current


async def withdraw(session: Session, temporal: Client, user: User, proposal_id: int, reason: str) -> None:
    await run_in_threadpool(_authorize, session, user, Action.WITHDRAW, proposal_id)
    await wf.withdraw(temporal, proposal_id, WithdrawRequest(user.email, reason))


async def acknowledge(session: Session, temporal: Client, user: User, proposal_id: int) -> None:
    await run_in_threadpool(_authorize, session, user, Action.ACKNOWLEDGE, proposal_id)
    await wf.acknowledge(temporal, proposal_id, AcknowledgeRequest(user.email))


def _authorize(session: Session, user: User, action: Action, proposal_id: int) -> ProposalAccess:
    proposal = access_for(session, user, action, proposal_id)
    release_connection(session)
    return proposal
