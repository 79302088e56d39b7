"""The conversation on a proposal: messages, attached files and redactions (countersign.storage.messages).

Messages, files, their links, removals from a version, redactions and which questions the workflow was
told of are append-only facts (the database refuses to change them: migrations 0008_threads_files,
0016_question_clock and 0022_question_told). What redaction removes, a message's text or a file's
bytes, is held apart: `message_text` rows and the
content-addressed blobs on disk; their SHA-256 stays, in the row and on the audit chain.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from countersign.storage.tables import _ts


class Message(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    thread_id: int | None = Field(default=None, index=True)  # the thread's first message; None: this one
    reply_to: int | None = Field(default=None, foreign_key="message.id")
    author: str = Field(max_length=254)  # e-mail
    author_role: str = Field(max_length=20)
    visibility: str = Field(max_length=20)  # countersign.domain.messages.Visibility
    party: str | None = Field(default=None, max_length=40)  # the one party of a label / label_lead thread
    question: bool = False  # a rep's question to the lead: open until the lead replies in its thread
    answers: bool = False  # the lead's reply, which closes the thread's question
    version: int | None = None  # a version it refers to
    checklist_item: str | None = Field(default=None, max_length=40)  # a checklist item it refers to
    text_sha256: str = Field(max_length=64)
    created_at: datetime = _ts(nullable=False)


class MessageText(SQLModel, table=True):
    """A message's words: the one part redaction deletes."""

    __tablename__ = "message_text"
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("message.id"), primary_key=True,
                                             autoincrement=False))
    text: str


class StoredFile(SQLModel, table=True):
    """A file attached on a proposal: to a version (`version`) or to a message (`message_file`)."""

    __tablename__ = "stored_file"
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    name: str = Field(max_length=200)
    size: int
    content_type: str = Field(max_length=100)
    sha256: str = Field(max_length=64, index=True)  # its bytes are at <files dir>/<sha256[:2]>/<sha256>
    version: int | None = None
    uploaded_by: str = Field(max_length=254)
    created_at: datetime = _ts(nullable=False)


class QuestionTold(SQLModel, table=True):
    """A question or its answer that the proposal's workflow has been told of (it may stop or restart
    a clock: workflows.question_signals). One row each, never changed; one without a row is told
    again by the minute sweep (workflows.webhook_sweep)."""

    __tablename__ = "question_told"
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("message.id"), primary_key=True,
                                             autoincrement=False))
    told_at: datetime = _ts(nullable=False)


class MessageFile(SQLModel, table=True):
    __tablename__ = "message_file"
    __table_args__ = (UniqueConstraint("file_id"),)
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    file_id: int = Field(foreign_key="stored_file.id")


class VersionFileRemoval(SQLModel, table=True):
    """A version's file left out of the versions from `version` on: a resubmission carries the
    previous version's files forward except those its lead removed (countersign.domain.version_files)."""

    __tablename__ = "version_file_removal"
    __table_args__ = (UniqueConstraint("file_id"),)  # a file leaves a proposal's versions once
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    file_id: int = Field(foreign_key="stored_file.id")
    version: int  # the first version without it
    removed_by: str = Field(max_length=254)
    removed_at: datetime = _ts(nullable=False)


class Redaction(SQLModel, table=True):
    """An admin's removal of a message's text or a file's content, with the reason."""

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    file_id: int | None = Field(default=None, foreign_key="stored_file.id", index=True)
    reason: str
    redacted_by: str = Field(max_length=254)
    redacted_at: datetime = _ts(nullable=False)


class ObligationFile(SQLModel, table=True):
    """A file the lead sent as evidence for an obligation: seen by the lead, the obligation's
    party's reps and compliance (a `label_lead` scope). Written by the workflow's step that
    records the evidence, with its `evidence_submitted` entry."""

    __tablename__ = "obligation_file"
    __table_args__ = (UniqueConstraint("file_id"),)
    id: int | None = Field(default=None, primary_key=True)
    file_id: int = Field(foreign_key="stored_file.id")
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    obligation: int  # its number within the proposal
    party: str = Field(max_length=40)  # the obligation's party
    step: int  # the workflow step that recorded it
