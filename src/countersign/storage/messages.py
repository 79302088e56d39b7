"""Messages, questions, attached files and redactions on a proposal: stored, recorded, mailed.

Every write here runs in one write transaction (`countersign.storage.db.transaction`
or a write session): the row, its entry on the proposal's audit chain and its
mail in the outbox are stored together or not at all. The chain entry commits
to the words or bytes by SHA-256, never holds them, so a redaction leaves the
chain verifying. Appends lock the proposal's row, as the workflow's steps do,
so the two writers of a proposal's chain take turns.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from countersign.domain import file_types
from countersign.domain import messages as rules
from countersign.domain.access import Role
from countersign.domain.errors import Forbidden, NotFound, ProposalClosed, Refused
from countersign.domain.grants import EvidenceFile
from countersign.domain.message_mail import file_added_mail, message_mail
from countersign.domain.messages import Scope, Visibility
from countersign.domain.routing import FINAL_STATUSES, Event, Status
from countersign.domain.version_files import Placed, VersionFiles, by_version
from countersign.storage import audit, webhooks
from countersign.storage.message_tables import (
    Message,
    MessageFile,
    MessageText,
    ObligationFile,
    Redaction,
    StoredFile,
    VersionFileRemoval,
)
from countersign.storage.tables import OutboxMail, Proposal, User, utcnow


@dataclass
class ThreadMessage:
    """A message as a viewer who may see it reads it."""

    message: Message
    text: str | None  # None: redacted
    files: list[StoredFile] = field(default_factory=list)
    open_question: bool | None = None  # None: not a question
    redaction: Redaction | None = None


def scope_of(message: Message) -> Scope:
    return Scope(Visibility(message.visibility), message.party)


def _locked(session: Session, proposal_id: int) -> Proposal:
    """The proposal, its row locked until the transaction ends (PostgreSQL; SQLite's write
    transaction holds the whole database): the chain's tail is ours to extend."""
    proposal = session.exec(select(Proposal).where(Proposal.id == proposal_id).with_for_update()).first()
    if proposal is None:
        raise NotFound(f"no proposal {proposal_id}")
    return proposal


def _record(session: Session, proposal: Proposal, kind: str, at: datetime, actor: str, party: str | None,
            detail: dict, seen_by: Scope | None) -> None:
    """The audit entry, and its webhook event for the organisations that may see it: a message's
    (or its file's) scope says which label; `seen_by` None: no event (a redaction)."""
    entries = audit.append_events(session, proposal.id, [Event(kind=kind, at=at, actor=actor, party=party,
                                                                detail=detail)], row_locked=True)
    if seen_by is not None:
        labels = list(proposal.parties) if seen_by.visibility == Visibility.ALL else [seen_by.party]
        # the platform's endpoints get every event; the sweep Schedule wakes the endpoints (within a minute)
        webhooks.queue_for_entries(session.connection(), proposal.id, labels, proposal.title, entries, at)


# -- messages -------------------------------------------------------------------------


def post_message(session: Session, author: User, proposal_id: int, text: str, visibility: Visibility | None,
                 party: str | None, reply_to: int | None, question: bool, base_url: str,
                 version: int | None = None, checklist_item: str | None = None,
                 attachments: Iterable[tuple[str, bytes]] = (), files_dir: Path | None = None,
                 now: datetime | None = None) -> Message:
    """Store `author`'s message, its audit entry and its mail; Forbidden/Refused/NotFound saying why not."""
    now = now or utcnow()
    proposal = _locked(session, proposal_id)
    if not rules.may_write(author, proposal) and not rules.can_see(author, Scope(Visibility.ALL, None), proposal):
        raise NotFound(f"no proposal {proposal_id}")
    parent = None
    if reply_to is not None:
        parent = session.get(Message, reply_to)
        if parent is None or parent.proposal_id != proposal_id or not rules.can_see(author, scope_of(parent), proposal):
            raise NotFound(f"no message {reply_to} on proposal {proposal_id}")
    scope = rules.scope_of_new(author, proposal, visibility, party, parent and scope_of(parent), question)
    if version is not None and not 1 <= version <= proposal.version:
        raise Refused(f"version {version} does not exist: this proposal is at version {proposal.version}")
    people = _people(session, rules.mentions(text))
    mentioned = rules.check_mentions(rules.mentions(text), people, scope, proposal)
    thread_id = (parent.thread_id or parent.id) if parent else None
    root = session.get(Message, thread_id) if thread_id else None
    answers = bool(root and root.question and rules.closes_question(author, proposal))
    message = Message(proposal_id=proposal_id, thread_id=thread_id, reply_to=reply_to, author=author.email,
                      author_role=author.role, visibility=scope.visibility.value, party=scope.party,
                      question=question, answers=answers, version=version, checklist_item=checklist_item,
                      text_sha256=rules.sha256_text(text), created_at=now)
    session.add(message)
    session.flush()
    session.add(MessageText(message_id=message.id, text=text))
    _record(session, proposal, rules.MESSAGE, now, author.email, scope.party, seen_by=scope, detail={
        "message_id": message.id, "thread_id": thread_id or message.id, "reply_to": reply_to,
        "visibility": scope.visibility.value, "question": question, "answers": answers,
        "text_sha256": message.text_sha256, "version": version, "checklist_item": checklist_item,
        "mentions": mentioned,
    })
    files = [store_file(session, author, proposal_id, name, content, files_dir, message.id, now)
             for name, content in attachments]
    _queue_mail(session, proposal, message, text, files, mentioned, people, base_url)
    session.flush()
    return message


def _people(session: Session, emails: Iterable[str]) -> dict[str, User]:
    emails = list(emails)
    if not emails:
        return {}
    return {u.email.lower(): u for u in session.exec(select(User).where(col(User.email).in_(emails), User.active))}


def audience(session: Session, proposal: Proposal, message: Message, mentioned: Iterable[str] = (),
             sender: str | None = None) -> list[str]:
    """Who is mailed of a new message (or a file added to it): its party's reps (every party's, for
    `all`), the lead where it may see it, and anyone mentioned; each of them one who can see it;
    never its sender (by default its author)."""
    scope = scope_of(message)
    candidates = session.exec(select(User).where(User.active).order_by(User.email)).all()
    mentioned = set(mentioned)
    sender = sender or message.author
    chosen = []
    for user in candidates:
        if user.email == sender or not rules.can_see(user, scope, proposal):
            continue
        usual = user.role == Role.REP or (user.role == Role.LEAD and user.id == proposal.owner_id)
        if usual or user.email.lower() in mentioned:
            chosen.append(user.email)
    return chosen


def _queue_mail(session: Session, proposal: Proposal, message: Message, text: str, files: list[StoredFile],
                mentioned: list[str], people: dict[str, User], base_url: str) -> None:
    for recipient in audience(session, proposal, message, mentioned):
        mail = message_mail(recipient, proposal.id, proposal.title, message.author, message.question,
                            message.answers, text, [(f.name, f.size, file_link(base_url, f)) for f in files],
                            base_url, recipient.lower() in mentioned)
        session.add(OutboxMail(proposal_id=proposal.id, kind=rules.MESSAGE, recipient=recipient, subject=mail.subject,
                               body=mail.body, html_body=mail.html_body, created_at=message.created_at,
                               next_attempt_at=message.created_at))


def _queue_file_mail(session: Session, proposal: Proposal, message: Message, stored: StoredFile,
                     base_url: str) -> None:
    """A file added later to a message: those who can see the message are told, the file named and
    linked (the link follows the message's access rules), never attached."""
    for recipient in audience(session, proposal, message, sender=stored.uploaded_by):
        mail = file_added_mail(recipient, proposal.id, proposal.title, stored.uploaded_by, message.question,
                               (stored.name, stored.size, file_link(base_url, stored)), base_url)
        session.add(OutboxMail(proposal_id=proposal.id, kind=rules.FILE, recipient=recipient, subject=mail.subject,
                               body=mail.body, html_body=mail.html_body, created_at=stored.created_at,
                               next_attempt_at=stored.created_at))


def file_link(base_url: str, f: StoredFile) -> str:
    return f"{base_url.rstrip('/')}/proposals/{f.proposal_id}/files/{f.id}"


def thread(session: Session, viewer: User, proposal: Proposal) -> list[ThreadMessage]:
    """The messages `viewer` may see on `proposal`, oldest first, with their files and questions' state."""
    rows = session.exec(select(Message).where(Message.proposal_id == proposal.id).order_by(col(Message.id))).all()
    seen = [m for m in rows if rules.can_see(viewer, scope_of(m), proposal)]
    if not seen:
        return []
    ids = [m.id for m in seen]
    texts = dict(session.exec(select(MessageText.message_id, MessageText.text)
                              .where(col(MessageText.message_id).in_(ids))).all())
    files: dict[int, list[StoredFile]] = {}
    for link, f in session.exec(select(MessageFile, StoredFile).where(MessageFile.file_id == StoredFile.id,
                                                                       col(MessageFile.message_id).in_(ids))
                                .order_by(col(StoredFile.id))):
        files.setdefault(link.message_id, []).append(f)
    redactions = {r.message_id: r for r in session.exec(
        select(Redaction).where(col(Redaction.message_id).in_(ids)))}
    answered = {m.thread_id for m in rows if m.answers}
    return [ThreadMessage(m, texts.get(m.id), files.get(m.id, []),
                          (m.id not in answered) if m.question else None, redactions.get(m.id))
            for m in seen]


def open_questions(session: Session, lead: User) -> list[tuple[Proposal, Message]]:
    """The questions to `lead` on their proposals that their reply has not yet closed, oldest first."""
    asked = session.exec(select(Proposal, Message).where(Message.proposal_id == Proposal.id,
                                                         Proposal.owner_id == lead.id, Message.question)
                         .order_by(col(Message.id))).all()
    if not asked:
        return []
    answered = set(session.exec(select(Message.thread_id).where(
        col(Message.thread_id).in_([m.id for _, m in asked]), Message.answers)).all())
    return [(p, m) for p, m in asked if m.id not in answered]


# -- files --------------------------------------------------------------------------------


def blob_path(files_dir: Path, sha256: str) -> Path:
    return files_dir / sha256[:2] / sha256


def store_file(session: Session, uploader: User, proposal_id: int, name: str, content: bytes, files_dir: Path,
               message_id: int | None = None, now: datetime | None = None, base_url: str | None = None) -> StoredFile:
    """Check, store and record one file: to `message_id`, or else to the proposal's current version.
    The bytes go to the data dir under their SHA-256 (once, however often attached); if the
    transaction then fails, bytes this call wrote are removed again (`cleanup`). With `base_url`,
    a file added to an existing message is mailed to those who can see the message."""
    now = now or utcnow()
    proposal = _locked(session, proposal_id)
    message = None
    if message_id is not None:
        message = session.get(Message, message_id)
        if message is None or message.proposal_id != proposal_id or not rules.can_see(uploader, scope_of(message), proposal):
            raise NotFound(f"no message {message_id} on proposal {proposal_id}")
    scope = scope_of(message) if message else None
    if not rules.may_write(uploader, proposal) and scope is None and not rules.can_see(
            uploader, Scope(Visibility.ALL, None), proposal):
        raise NotFound(f"no proposal {proposal_id}")
    rules.check_file_upload(uploader, proposal, scope)
    if scope is None and Status(proposal.status) in FINAL_STATUSES:
        raise ProposalClosed(f"proposal {proposal_id} has concluded ({proposal.status}): its versions and their "
                             "files are final; attach the file to a message instead")
    checked = file_types.facts(name, content)
    name, content_type, sha256 = checked.name, checked.content_type, checked.sha256
    stored = StoredFile(proposal_id=proposal_id, name=name, size=len(content), content_type=content_type,
                        sha256=sha256, version=None if message else proposal.version, uploaded_by=uploader.email,
                        created_at=now)
    session.add(stored)
    session.flush()
    if message:
        session.add(MessageFile(message_id=message.id, file_id=stored.id))
    _record(session, proposal, rules.FILE, now, uploader.email, scope.party if scope else None,
            seen_by=scope or Scope(Visibility.ALL, None), detail={
        "file_id": stored.id, "name": name, "size": len(content), "content_type": content_type, "sha256": sha256,
        "version": stored.version, "message_id": message_id,
        "visibility": scope.visibility.value if scope else None,
    })
    if message and base_url:
        _queue_file_mail(session, proposal, message, stored, base_url)
    session.flush()
    session.info.setdefault("written_blobs", []).extend(_write_blob(files_dir, sha256, content))
    return stored


def write_blobs(files_dir: Path, contents: Iterable[bytes]) -> list[Path]:
    """The bytes of a new version's files, written before the workflow stores the version that
    names them; the paths this call wrote, to `drop_unrecorded` if the version is refused."""
    return [path for content in contents
            for path in _write_blob(files_dir, hashlib.sha256(content).hexdigest(), content)]


def store_evidence_blob(files_dir: Path, name: str, content: bytes) -> tuple[EvidenceFile, list[Path]]:
    """Check and store a file sent as evidence, before the workflow records it (its row is written with
    the step, workflows.activities): what the record commits to, and the bytes this call wrote, for
    `drop_unrecorded` if the workflow refuses the evidence."""
    if not content:
        raise Refused("the file is empty")
    name = file_types.safe_name(name)
    sha256 = hashlib.sha256(content).hexdigest()
    evidence = EvidenceFile(name, len(content), file_types.detect(content, name), sha256)
    return evidence, _write_blob(files_dir, sha256, content)


def drop_unrecorded(session: Session, written: Iterable[Path]) -> None:
    """Remove bytes written for a file whose record was refused or rolled back (a version's, a
    message's, evidence), unless a stored file has them meanwhile."""
    for path in written:
        if session.exec(select(StoredFile.id).where(StoredFile.sha256 == path.name)).first() is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _write_blob(files_dir: Path, sha256: str, content: bytes) -> list[Path]:
    """Write the bytes once (a temporary file renamed into place: never a half-written blob)."""
    path = blob_path(files_dir, sha256)
    if path.exists():
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        handle.write(content)
    os.replace(handle.name, path)
    return [path]


def cleanup(session: Session) -> None:
    """After a failed transaction: remove the blobs it wrote (no row refers to them). No query: the
    failure may be the database's."""
    for path in session.info.pop("written_blobs", []):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def forget_written(session: Session) -> None:
    session.info.pop("written_blobs", None)


def evidence_scope(party: str) -> Scope:
    """An obligation's evidence files: the lead, the obligation's party's reps and compliance."""
    return Scope(Visibility.LABEL_LEAD, party)


def files_of(session: Session, viewer: User, proposal: Proposal) -> list[tuple[StoredFile, int | None, int | None]]:
    """The files on `proposal` that `viewer` may see, with the message each is on and the obligation
    it is evidence for (both None: a version's)."""
    rows = session.exec(select(StoredFile, MessageFile.message_id, ObligationFile.obligation, ObligationFile.party)
                        .join(MessageFile, col(MessageFile.file_id) == StoredFile.id, isouter=True)
                        .join(ObligationFile, col(ObligationFile.file_id) == StoredFile.id, isouter=True)
                        .where(StoredFile.proposal_id == proposal.id).order_by(col(StoredFile.id))).all()
    scopes = {m.id: scope_of(m) for m in session.exec(select(Message).where(Message.proposal_id == proposal.id))}
    everyone = Scope(Visibility.ALL, None)  # a version's files: whoever sees the proposal
    return [(f, mid, obligation) for f, mid, obligation, party in rows if rules.can_see(
        viewer, scopes[mid] if mid else evidence_scope(party) if obligation else everyone, proposal)]


def evidence_files(session: Session, viewer: User, proposal: Proposal) -> dict[int, list[StoredFile]]:
    """The files sent as evidence that `viewer` may see, by obligation number, oldest first."""
    found: dict[int, list[StoredFile]] = {}
    for stored, _, obligation in files_of(session, viewer, proposal):
        if obligation is not None:
            found.setdefault(obligation, []).append(stored)
    return found


def version_files(session: Session, proposal: Proposal) -> dict[int, VersionFiles[StoredFile]]:
    """Each version's files (not messages'), oldest first, with those added and removed since the
    version before (countersign.domain.version_files): everyone on the proposal sees them."""
    rows = session.exec(select(StoredFile, VersionFileRemoval.version).join(
        VersionFileRemoval, col(VersionFileRemoval.file_id) == StoredFile.id, isouter=True)
        .where(StoredFile.proposal_id == proposal.id, col(StoredFile.version).is_not(None))
        .order_by(col(StoredFile.id))).all()
    return by_version((Placed(f, f.id, f.version, removed) for f, removed in rows), proposal.version)


def _file_scope(session: Session, file_id: int) -> Scope | None:
    """Who sees a file: its message's, or its obligation's, scope; None: a version's (everyone)."""
    link = session.exec(select(MessageFile).where(MessageFile.file_id == file_id)).first()
    if link is not None:
        return scope_of(session.get(Message, link.message_id))
    evidence = session.exec(select(ObligationFile).where(ObligationFile.file_id == file_id)).first()
    return evidence_scope(evidence.party) if evidence else None


def file_for(session: Session, viewer: User, proposal: Proposal, file_id: int) -> tuple[StoredFile, Redaction | None]:
    """One file `viewer` may see (NotFound otherwise), and its redaction if it was redacted."""
    stored = session.get(StoredFile, file_id)
    if stored is None or stored.proposal_id != proposal.id:
        raise NotFound(f"no file {file_id} on proposal {proposal.id}")
    rules.check_file_access(viewer, proposal, _file_scope(session, file_id))
    redaction = session.exec(select(Redaction).where(Redaction.file_id == file_id)).first()
    return stored, redaction


# -- redaction --------------------------------------------------------------------------------


def redact(session: Session, admin: User, proposal_id: int, reason: str, files_dir: Path,
           message_id: int | None = None, file_id: int | None = None, now: datetime | None = None) -> Redaction:
    """An admin removes a message's text or a file's bytes, with a reason: a redaction row and an
    audit entry; the earlier entry, which holds only the SHA-256, still verifies."""
    if admin.role != Role.ADMIN:
        raise Forbidden("only an admin redacts")
    if (message_id is None) == (file_id is None):
        raise Refused("redact one message (message_id) or one file (file_id)")
    if not reason.strip():
        raise Refused("give the reason for the redaction")
    now = now or utcnow()
    proposal = _locked(session, proposal_id)
    detail: dict = {"reason": reason}
    if message_id is not None:
        message = session.get(Message, message_id)
        if message is None or message.proposal_id != proposal_id:
            raise NotFound(f"no message {message_id} on proposal {proposal_id}")
        if session.exec(select(Redaction).where(Redaction.message_id == message_id)).first():
            raise Refused(f"message {message_id} is redacted already")
        text = session.get(MessageText, message_id)
        if text is not None:
            session.delete(text)
        detail |= {"message_id": message_id, "text_sha256": message.text_sha256, "visibility": message.visibility}
        party = message.party
    else:
        stored = session.get(StoredFile, file_id)
        if stored is None or stored.proposal_id != proposal_id:
            raise NotFound(f"no file {file_id} on proposal {proposal_id}")
        if session.exec(select(Redaction).where(Redaction.file_id == file_id)).first():
            raise Refused(f"file {file_id} is redacted already")
        scope = _file_scope(session, file_id)
        detail |= {"file_id": file_id, "sha256": stored.sha256,
                   "visibility": scope.visibility.value if scope else None}
        party = scope.party if scope else None
    row = Redaction(proposal_id=proposal_id, message_id=message_id, file_id=file_id, reason=reason,
                    redacted_by=admin.email, redacted_at=now)
    session.add(row)
    session.flush()
    _record(session, proposal, rules.REDACTED, now, admin.email, party, detail, seen_by=None)
    if file_id is not None:
        _drop_blob_if_unused(session, files_dir, stored.sha256)
    return row


def _drop_blob_if_unused(session: Session, files_dir: Path, sha256: str) -> None:
    """The bytes go once no unredacted file has them (the same file may be attached elsewhere)."""
    same = session.exec(select(StoredFile.id).where(StoredFile.sha256 == sha256)).all()
    redacted = set(session.exec(select(Redaction.file_id).where(col(Redaction.file_id).in_(same))).all())
    if set(same) <= redacted:
        with contextlib.suppress(FileNotFoundError):
            blob_path(files_dir, sha256).unlink()
