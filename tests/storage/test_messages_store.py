"""Messages, files and redactions stored, recorded and read back on SQLite and PostgreSQL
(countersign.storage.messages): one transaction each, append-only, the chain verifying."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlmodel import Session, select

from countersign.domain.errors import Refused
from countersign.domain.messages import Visibility
from countersign.storage import audit, messages as store
from countersign.storage.db import transaction
from countersign.storage.message_tables import Message, StoredFile
from countersign.storage.tables import OutboxMail, Proposal
from tests import factories

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PROPOSAL = 4_343_521


def test_a_thread_stored_read_back_and_redacted(any_engine, tmp_path):
    lead = factories.user(any_engine, "lead")
    sony = factories.user(any_engine, "rep", "sony")
    universal = factories.user(any_engine, "rep", "universal")
    compliance = factories.user(any_engine, "compliance")
    admin = factories.user(any_engine, "admin")
    files = tmp_path / "files"
    with transaction(any_engine) as session:
        session.add(Proposal(id=PROPOSAL, owner_id=lead.id, title="t", capability="c", parties=["sony", "universal"],
                             status="in_review", version=1, stage="Rights", pending=["sony"], created_at=AT,
                             updated_at=AT))
        session.flush()
        audit.append(session, PROPOSAL, "submitted", AT, actor=lead.email)
    with transaction(any_engine) as session:
        asked = store.post_message(session, sony, PROPOSAL, "Renewed?", None, None, None, True, "http://x", now=AT)
    with transaction(any_engine) as session:
        answer = store.post_message(session, lead, PROPOSAL, "Yes", None, None, asked.id, False, "http://x",
                                    attachments=[("r.pdf", b"%PDF-1.4 one")], files_dir=files, now=AT)
        store.store_file(session, lead, PROPOSAL, "same.pdf", b"%PDF-1.4 one", files, now=AT)  # on the version
    with pytest.raises(Refused), transaction(any_engine) as session:  # refused: nothing of it stays
        store.store_file(session, lead, PROPOSAL, "x.html", b"<html><script></script></html>", files, now=AT)

    with Session(any_engine) as session:
        proposal = session.get(Proposal, PROPOSAL)
        seen = store.thread(session, compliance, proposal)
        assert [(t.text, t.open_question, t.message.answers) for t in seen] == [("Renewed?", False, False),
                                                                                ("Yes", None, True)]
        assert [f.name for f in seen[1].files] == ["r.pdf"]
        assert store.thread(session, universal, proposal) == []
        assert [f.name for f, *_ in store.files_of(session, universal, proposal)] == ["same.pdf"]
        stored = session.exec(select(StoredFile).order_by(StoredFile.id)).all()
        assert len({f.sha256 for f in stored}) == 1 and len(stored) == 2  # the same bytes, kept once on disk
        assert sorted(p.name for p in files.rglob("*") if p.is_file()) == [hashlib.sha256(b"%PDF-1.4 one").hexdigest()]
        kinds = [e.kind for e in audit.chain(session, PROPOSAL)]
        assert kinds == ["submitted", "message", "message", "file", "file"]
        mail = {m.recipient for m in session.exec(select(OutboxMail))}
        assert mail == {"lead@example.com", "rep.sony@example.com"}
        assert session.get(Message, answer.id).visibility == Visibility.LABEL_LEAD

    with transaction(any_engine) as session:
        store.redact(session, admin, PROPOSAL, "personal data", files, message_id=asked.id, now=AT)
        store.redact(session, admin, PROPOSAL, "wrong file", files, file_id=stored[0].id, now=AT)
    with Session(any_engine) as session:
        proposal = session.get(Proposal, PROPOSAL)
        first = store.thread(session, sony, proposal)[0]
        assert first.text is None and first.redaction.reason == "personal data"
        assert audit.verify(session, PROPOSAL).ok
        assert audit.chain(session, PROPOSAL)[-1].detail["sha256"] == stored[0].sha256
        # the other attachment of the same bytes keeps them
        assert store.blob_path(files, stored[0].sha256).exists()
    with pytest.raises(sqlalchemy.exc.DatabaseError), any_engine.begin() as conn:
        conn.execute(text("UPDATE message SET author = 'someone else'"))
