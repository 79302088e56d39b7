"""JSON API and downloads: a proposal's messages, questions and files (API.md, "Added in 0.2").

Thin: who may see and write what is countersign.domain.messages; storing,
recording and mailing countersign.storage.messages.
"""

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Path, Request, UploadFile, status
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.deps import ApiUser, SessionDep, SettingsDep, WriteSessionDep
from api.errors import ERROR_RESPONSES
from api.message_schemas import FileOut, MessageIn, MessageOut, RedactIn, file_out, message_out
from api.routes.pages import PageRoute, Viewer
from countersign.settings import Settings
from countersign.storage import messages as store
from countersign.storage import queries
from countersign.storage.tables import User
from workflows import question_signals

ProposalId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The proposal's id")]
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]

router = APIRouter(prefix="/proposals", tags=["messages"], responses=ERROR_RESPONSES)
pages = APIRouter(prefix="/proposals", route_class=PageRoute, include_in_schema=False)


def files_dir(settings: Settings):
    return settings.data_dir / "files"


def _message(session: Session, user: User, proposal_id: int, message_id: int) -> MessageOut:
    proposal = queries.get_visible(session, user, proposal_id)
    return next(message_out(t) for t in store.thread(session, user, proposal) if t.message.id == message_id)


@router.post("/{proposal_id}/messages", status_code=status.HTTP_201_CREATED, response_model=MessageOut)
async def post_message(proposal_id: ProposalId, body: MessageIn, user: ApiUser, session: WriteSessionDep,
                       settings: SettingsDep, request: Request) -> MessageOut:
    """The lead and the reps of the parties it touches write; a reply keeps its thread's visibility."""
    message, out = await run_in_threadpool(_post, session, user, proposal_id, body, settings)
    await question_signals.tell(request.app.state.temporal, request.app.state.engine, message)  # may stop a clock
    return out


def _post(session: Session, user: User, proposal_id: int, body: MessageIn, settings: Settings):
    queries.get_visible(session, user, proposal_id)
    message = store.post_message(session, user, proposal_id, body.text, body.visibility, body.party, body.reply_to,
                                 body.question, settings.base_url, body.version, body.checklist_item)
    out = _message(session, user, proposal_id, message.id)
    session.commit()  # and no transaction left open (nor SQLite's write lock held) while Temporal is told
    return message, out


@router.get("/{proposal_id}/messages", response_model=list[MessageOut])
def list_messages(proposal_id: ProposalId, user: ApiUser, session: SessionDep) -> list[MessageOut]:
    """The messages the caller may see, oldest first; the others are absent, not redacted."""
    proposal = queries.get_visible(session, user, proposal_id)
    return [message_out(t) for t in store.thread(session, user, proposal)]


@router.post("/{proposal_id}/messages/{message_id}/redact", response_model=MessageOut)
def redact_message(proposal_id: ProposalId, message_id: ItemId, body: RedactIn, user: ApiUser,
                   session: WriteSessionDep, settings: SettingsDep) -> MessageOut:
    """Admins: remove a message's text, with the reason (an audit entry of its own)."""
    queries.get_visible(session, user, proposal_id)
    store.redact(session, user, proposal_id, body.reason, files_dir(settings), message_id=message_id)
    session.commit()
    return _message(session, user, proposal_id, message_id)


async def read_upload(upload: UploadFile, settings: Settings) -> bytes:
    """The upload's bytes, or 413 past the limit (read no further than one byte past it)."""
    limit = settings.max_upload_bytes
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"the file is larger than {limit} bytes (COUNTERSIGN_MAX_UPLOAD_BYTES); nothing was stored")
    return content


def _store(session: Session, user: User, proposal_id: int, name: str, content: bytes, settings: Settings,
           message_id: int | None) -> FileOut:
    queries.get_visible(session, user, proposal_id)
    try:
        stored = store.store_file(session, user, proposal_id, name, content, files_dir(settings), message_id,
                                  base_url=settings.base_url)
        session.commit()
    except BaseException:
        session.rollback()
        store.cleanup(session)  # nothing half-stored: bytes written for a file whose row never was
        raise
    store.forget_written(session)
    return file_out(stored, message_id)


@router.post("/{proposal_id}/files", status_code=status.HTTP_201_CREATED, response_model=FileOut,
             responses={413: {"description": "The file is too large"}})
async def upload_file(proposal_id: ProposalId, user: ApiUser, session: WriteSessionDep, settings: SettingsDep,
                      file: Annotated[UploadFile, File(description="the file")],
                      message_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None) -> FileOut:
    """The lead attaches to the current version; the lead and reps to a message they can see (`message_id`).
    Typed by content: PDF, images, text, CSV, JSON, Office documents, audio (else 422)."""
    content = await read_upload(file, settings)
    return await run_in_threadpool(_store, session, user, proposal_id, file.filename or "file", content, settings,
                                   message_id)


@router.get("/{proposal_id}/files", response_model=list[FileOut])
def list_files(proposal_id: ProposalId, user: ApiUser, session: SessionDep) -> list[FileOut]:
    proposal = queries.get_visible(session, user, proposal_id)
    return [file_out(f, mid, obligation=obligation) for f, mid, obligation in store.files_of(session, user, proposal)]


@router.post("/{proposal_id}/files/{file_id}/redact", response_model=FileOut)
def redact_file(proposal_id: ProposalId, file_id: ItemId, body: RedactIn, user: ApiUser, session: WriteSessionDep,
                settings: SettingsDep) -> FileOut:
    """Admins: remove a file's content, with the reason; its name, size and SHA-256 stay on the record."""
    proposal = queries.get_visible(session, user, proposal_id)
    store.redact(session, user, proposal_id, body.reason, files_dir(settings), file_id=file_id)
    session.commit()
    stored, redaction = store.file_for(session, user, proposal, file_id)
    return file_out(stored, None, redaction)


def download(session: Session, user: User, proposal_id: int, file_id: int, settings: Settings) -> Response:
    """The bytes, never rendered by the browser: an attachment, not sniffed, sandboxed."""
    proposal = queries.get_visible(session, user, proposal_id)
    stored, redaction = store.file_for(session, user, proposal, file_id)
    path = store.blob_path(files_dir(settings), stored.sha256)
    if redaction is not None or not path.exists():
        raise HTTPException(status.HTTP_410_GONE, f"file {file_id} was redacted: its content is no longer kept"
                            if redaction else f"file {file_id}'s content is missing from the file store")
    return Response(path.read_bytes(), media_type=stored.content_type, headers={
        "Content-Disposition": f'attachment; filename="{stored.name}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, no-store",
    })


@router.get("/{proposal_id}/files/{file_id}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}, 410: {"description": "Redacted"}})
def get_file(proposal_id: ProposalId, file_id: ItemId, user: ApiUser, session: SessionDep,
             settings: SettingsDep) -> Response:
    return download(session, user, proposal_id, file_id, settings)


@pages.get("/{proposal_id}/files/{file_id}")
def page_file(proposal_id: ProposalId, file_id: ItemId, user: Viewer, session: SessionDep,
              settings: SettingsDep) -> Response:
    """The download link in pages and mail (signed in)."""
    return download(session, user, proposal_id, file_id, settings)
