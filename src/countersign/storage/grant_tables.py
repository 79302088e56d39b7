"""Read model of consent after approval: per-party grants and their
obligations, rewritten whole by the workflow's step that changes them
(workflows.activities). The grants check (`queries`-style reads in
countersign.storage.grants) answers from here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from countersign.storage.tables import _json, _ts


class GrantRecord(SQLModel, table=True):
    __tablename__ = "grant_record"
    # The check reads one grant by (proposal, party): this constraint's index serves it.
    __table_args__ = (UniqueConstraint("proposal_id", "party"),)
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id")
    party: str = Field(max_length=40, index=True)
    state: str = Field(max_length=20)  # active, suspended, revoked, expired
    scope: str = Field(max_length=40)  # the launch scope approved
    markets: list[str] = _json(nullable=False)
    starts_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)
    version: int
    reason: str | None = None  # of the last suspension or revocation


class ObligationRecord(SQLModel, table=True):
    __tablename__ = "obligation"
    __table_args__ = (UniqueConstraint("proposal_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    number: int  # the obligation's id within its proposal
    party: str = Field(max_length=40, index=True)
    text: str
    due_at: datetime = _ts(nullable=False)
    state: str = Field(max_length=20)  # open, submitted, accepted, returned
    evidence: str | None = None
    comment: str | None = None
