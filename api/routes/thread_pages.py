"""The thread on the proposal page: its messages and files, and the form that writes one
(multipart, CSRF, no JavaScript needed). Post/Redirect/Get; a refused form shows the page again
with the reason beside the form and what was typed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.csrf import CsrfProtected
from api.deps import PolicyDep, SessionDep, SettingsDep, WriteSessionDep
from api.errors import status_for
from api.routes.messages import files_dir, read_upload
from api.routes.pages import PageRoute, Viewer, live, sentence
from api.templating import flash, render
from countersign.domain import messages as rules
from countersign.domain.access import Role
from countersign.domain.errors import DomainError, Refused
from countersign.domain.messages import Visibility
from countersign.domain.policy import Policy
from countersign.storage import messages as store
from countersign.storage import queries
from countersign.storage.message_tables import Message
from countersign.storage.tables import Proposal, User
from workflows import question_signals

router = APIRouter(prefix="/proposals", route_class=PageRoute, include_in_schema=False)

VISIBILITY_LABELS = {
    Visibility.LABEL: "My label only (and compliance)",
    Visibility.LABEL_LEAD: "My label and the lead (and compliance)",
    Visibility.ALL: "Everyone on the proposal",
}


def context(session: Session, user: User, proposal: Proposal, form: dict | None = None,
            error: str | None = None) -> dict[str, Any]:
    """What proposals/_thread.html reads: the messages `user` may see, their threads, and the form."""
    messages = store.thread(session, user, proposal)
    version_files = store.version_files(session, proposal)[proposal.version].files  # everyone on it sees them
    threads: dict[int, list] = {}
    for t in messages:
        threads.setdefault(t.message.thread_id or t.message.id, []).append(t)
    writer = rules.may_write(user, proposal)
    return {
        "threads": list(threads.values()),
        "version_files": version_files,
        "may_write": writer,
        "is_lead": user.role == Role.LEAD,
        "attach_to_version": user.role == Role.LEAD and proposal.owner_id == user.id,
        "visibilities": [(v.value, VISIBILITY_LABELS[v]) for v in Visibility
                         if not (user.role == Role.LEAD and v == Visibility.LABEL)],
        "parties": proposal.parties,
        "form": form or {"visibility": "label_lead" if user.role == Role.REP else "all"},
        "error": error,
    }


@router.get("/{proposal_id}/thread", name="proposal_thread")
def thread_live(request: Request, proposal_id: int, user: Viewer, session: SessionDep) -> object:
    """The thread's messages and files, for the page's poller (live.js)."""
    proposal = queries.get_visible(session, user, proposal_id)
    return live(request, render(request, "proposals/_thread_messages.html",
                                {"proposal": proposal, "thread": context(session, user, proposal), "flash": None}))


@router.post("/{proposal_id}/messages", name="post_message")
async def post_message(request: Request, proposal_id: int, user: Viewer, _: CsrfProtected, session: WriteSessionDep,
                       settings: SettingsDep, policy: PolicyDep) -> object:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    upload = form.get("file")
    attachments = []
    if isinstance(upload, UploadFile) and upload.filename:
        attachments.append((upload.filename, await read_upload(upload, settings)))
    response, message = await run_in_threadpool(_post, request, session, user, proposal_id, values, attachments,
                                                settings, policy)
    if message is not None:  # a question may stop a clock
        await question_signals.tell(request.app.state.temporal, request.app.state.engine, message)
    return response


@router.post("/{proposal_id}/files", name="attach_to_version")
async def attach_to_version(request: Request, proposal_id: int, user: Viewer, _: CsrfProtected,
                            session: WriteSessionDep, settings: SettingsDep, policy: PolicyDep) -> object:
    """The lead attaches a file to the proposal's current version."""
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        content, name = b"", ""
    else:
        content, name = await read_upload(upload, settings), upload.filename
    return await run_in_threadpool(_attach, request, session, user, proposal_id, name, content, settings, policy)


def _attach(request: Request, session: Session, user: User, proposal_id: int, name: str, content: bytes,
            settings, policy: Policy) -> object:
    rules.check_file_upload(user, queries.get_visible(session, user, proposal_id), None)  # 403 before 422
    try:
        if not name:
            raise Refused("choose a file to attach")
        store.store_file(session, user, proposal_id, name, content, files_dir(settings))
        session.commit()
    except DomainError as error:
        session.rollback()
        store.cleanup(session)
        return _again(request, session, policy, user, proposal_id, {}, error)
    store.forget_written(session)
    flash(request, f"{name} was attached to the current version.")
    return RedirectResponse(f"/proposals/{proposal_id}#thread", status_code=303)


def _again(request: Request, session: Session, policy: Policy, user: User, proposal_id: int, values: dict,
           error: DomainError) -> object:
    """The proposal page again, the reason beside the thread's form, what was typed kept."""
    from api.routes.proposal_pages import detail_context  # it includes this module's context
    proposal = queries.get_visible(session, user, proposal_id)
    page = detail_context(request, session, policy, user, proposal)
    page["thread"] = context(session, user, proposal, values, sentence(str(error)))
    return render(request, "proposals/detail.html", page, status_code=status_for(error))


def _int(value: str | None, name: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 2**31 - 1:
        raise Refused(f"{name} must be a number")
    return int(value)


def _post(request: Request, session: Session, user: User, proposal_id: int, values: dict, attachments: list,
          settings, policy: Policy) -> tuple[object, Message | None]:
    """The answer, and the message once stored (None: refused)."""
    queries.get_visible(session, user, proposal_id)
    text = (values.get("text") or "").strip()
    try:
        if not text or "\x00" in text or len(text) > 20000:
            raise Refused("write a message (up to 20,000 characters)")
        reply_to = _int(values.get("reply_to"), "reply_to")
        visibility = None if reply_to else values.get("visibility") or None
        if visibility not in (None, *Visibility):
            raise Refused("choose who sees the message")
        message = store.post_message(session, user, proposal_id, text,
                                     Visibility(visibility) if visibility else None,
                                     None if reply_to else values.get("party") or None, reply_to,
                                     values.get("question") == "on", settings.base_url,
                                     attachments=attachments, files_dir=files_dir(settings))
        session.commit()
    except DomainError as error:
        session.rollback()
        store.cleanup(session)
        return _again(request, session, policy, user, proposal_id, values, error), None
    store.forget_written(session)
    flash(request, "Your message was posted.")
    return RedirectResponse(f"/proposals/{proposal_id}#thread", status_code=303), message
