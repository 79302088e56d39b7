"""Which versions of a proposal a person has seen: the decision form diffs from
the last one before the version under decision (tables.VersionView, UI state).

A version counts as seen when its person opened the proposal's page or decision
form on it, or decided on it. Each (person, proposal, version) is written once.
"""

from __future__ import annotations

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from countersign.storage.db import insert_new, transaction
from countersign.storage.tables import Decision, User, VersionView, utcnow

def seen(session: Session, user_id: int, proposal_id: int, version: int) -> bool:
    return session.exec(select(VersionView.id).where(
        VersionView.user_id == user_id, VersionView.proposal_id == proposal_id, VersionView.version == version,
    )).first() is not None


def record(engine: Engine, user_id: int, proposal_id: int, version: int) -> None:
    """Note that the person saw this version (a second request for the same one writes nothing)."""
    row = dict(user_id=user_id, proposal_id=proposal_id, version=version, seen_at=utcnow())
    with transaction(engine) as session:
        session.execute(insert_new(engine, VersionView, row))


def last_seen_before(session: Session, user: User, proposal_id: int, version: int) -> int | None:
    """The latest version before `version` that `user` opened or decided on, if any."""
    opened = session.exec(select(func.max(VersionView.version)).where(
        VersionView.user_id == user.id, VersionView.proposal_id == proposal_id, VersionView.version < version,
    )).one()
    decided = session.exec(select(func.max(Decision.version)).where(
        Decision.proposal_id == proposal_id, Decision.actor == user.email, Decision.version < version,
    )).one()
    return max((v for v in (opened, decided) if v is not None), default=None)
