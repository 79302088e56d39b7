"""Commands on an approved proposal's grants and obligations, shared by the
JSON API and the forms: authorize, then hand the change to the proposal's
workflow (as api.commands does for the review)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api.commands import release_connection
from countersign.domain.access import Action, Role
from countersign.domain.errors import Forbidden, NotFound
from countersign.storage import messages as files
from countersign.storage.grant_tables import ObligationRecord
from countersign.storage.queries import access_for
from countersign.storage.tables import User
from workflows import client as wf
from workflows.messages import EvidenceRequest, EvidenceReview, GrantActionRequest


async def grant_action(session: Session, temporal: Client, user: User, proposal_id: int, party: str,
                       action: str, reason: str) -> None:
    """Suspend, resume or revoke: a party's reps act on their own party's grant only."""
    await run_in_threadpool(_authorize_party, session, user, proposal_id, party)
    await wf.grant_action(temporal, proposal_id, GrantActionRequest(party, action, reason, user.email))


async def submit_evidence(session: Session, temporal: Client, user: User, proposal_id: int, number: int,
                          text: str, upload: tuple[str, bytes] | None = None, files_dir: Path | None = None) -> None:
    """Text, or a file (`upload`: its name and bytes) with or without text. The file's bytes are
    stored first, by SHA-256; its row is written with the step that records the evidence, and
    bytes written for evidence the workflow refuses are removed again."""
    proposal = await run_in_threadpool(access_for, session, user, Action.VIEW, proposal_id)
    if user.role != Role.LEAD or proposal.owner_id != user.id:
        raise Forbidden("only the proposal's lead submits evidence for its obligations")
    release_connection(session)
    evidence, written = await run_in_threadpool(files.store_evidence_blob, files_dir, *upload) if upload else (None, [])
    try:
        await wf.submit_evidence(temporal, proposal_id, EvidenceRequest(number, text, user.email, evidence))
    except BaseException:
        await run_in_threadpool(files.drop_unrecorded, session, written)
        raise


async def review_evidence(session: Session, temporal: Client, user: User, proposal_id: int, number: int,
                          accept: bool, comment: str) -> None:
    """Accept or return evidence: the reps of the obligation's party."""
    party = await run_in_threadpool(_obligation_party, session, user, proposal_id, number)
    await run_in_threadpool(_authorize_party, session, user, proposal_id, party)
    await wf.review_evidence(temporal, proposal_id, EvidenceReview(number, party, accept, comment, user.email))


def _authorize_party(session: Session, user: User, proposal_id: int, party: str) -> None:
    access_for(session, user, Action.VIEW, proposal_id)
    if user.role != Role.REP or user.party != party:
        raise Forbidden(f"only {party}'s reps act on {party}'s grant and obligations")
    release_connection(session)


def _obligation_party(session: Session, user: User, proposal_id: int, number: int) -> str:
    access_for(session, user, Action.VIEW, proposal_id)
    party = session.execute(select(ObligationRecord.party).where(
        ObligationRecord.proposal_id == proposal_id, ObligationRecord.number == number)).scalar()
    if party is None:
        raise NotFound(f"proposal {proposal_id} has no obligation {number}")
    return party
