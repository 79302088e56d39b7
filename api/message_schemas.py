"""Request and answer shapes of messages and files (API.md, "Messages and questions", "Files")."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.schemas import CHECKLIST_QUESTIONS
from api.text_types import NO_NUL
from countersign.domain.messages import Visibility
from countersign.storage.messages import ThreadMessage
from countersign.storage.message_tables import Redaction, StoredFile

MessageText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000, pattern=NO_NUL)]
Party = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=NO_NUL)]


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: MessageText
    visibility: Visibility | None = Field(None, description="default: label_lead for a rep, all for the lead; "
                                                            "a reply keeps its thread's")
    party: Party | None = Field(None, description="the label a lead's label_lead message is for")
    reply_to: int | None = Field(None, ge=1, le=2**31 - 1)
    question: bool = False
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="a version it refers to")
    checklist_item: Literal[tuple(CHECKLIST_QUESTIONS)] | None = Field(None, description="a checklist item it refers to")


class RedactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NO_NUL)]


class QuestionOut(BaseModel):
    open: bool


class RedactionOut(BaseModel):
    reason: str
    by: str
    at: datetime


class FileOut(BaseModel):
    id: int
    name: str
    size: int
    content_type: str
    sha256: str
    version: int | None
    message_id: int | None
    obligation: int | None = None  # the obligation it is evidence for
    redacted: RedactionOut | None = None


class MessageOut(BaseModel):
    id: int
    author: str
    party: str | None
    visibility: Visibility
    text: str  # empty once redacted (see `redacted`)
    created_at: datetime
    reply_to: int | None
    thread_id: int
    question: QuestionOut | None
    answers: bool
    version: int | None
    checklist_item: str | None
    text_sha256: str
    files: list[FileOut]
    redacted: RedactionOut | None = None


def redaction_out(r: Redaction | None) -> RedactionOut | None:
    return RedactionOut(reason=r.reason, by=r.redacted_by, at=r.redacted_at) if r else None


def file_out(f: StoredFile, message_id: int | None, redaction: Redaction | None = None,
             obligation: int | None = None) -> FileOut:
    return FileOut(id=f.id, name=f.name, size=f.size, content_type=f.content_type, sha256=f.sha256, version=f.version,
                   message_id=message_id, obligation=obligation, redacted=redaction_out(redaction))


def message_out(t: ThreadMessage) -> MessageOut:
    m = t.message
    return MessageOut(
        id=m.id, author=m.author, party=m.party, visibility=Visibility(m.visibility), text=t.text or "",
        created_at=m.created_at, reply_to=m.reply_to, thread_id=m.thread_id or m.id,
        question=QuestionOut(open=t.open_question) if m.question else None, answers=m.answers, version=m.version,
        checklist_item=m.checklist_item, text_sha256=m.text_sha256,
        files=[file_out(f, m.id) for f in t.files], redacted=redaction_out(t.redaction))
