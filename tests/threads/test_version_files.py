"""Files on the submit and resubmit forms (multipart, no JavaScript): stored with their version in its
step's transaction, a refused one re-rendering the form with the field's error and leaving nothing;
a resubmission carrying the files forward less those unticked, and the diff's added and removed files;
the mail for a file added later to a message."""

from __future__ import annotations

import html
import re

from sqlmodel import Session, func, select

from countersign.domain.reconcile import reconcile
from countersign.storage import audit
from countersign.storage.message_tables import StoredFile, VersionFileRemoval
from countersign.storage.tables import AuditEntry, OutboxMail, Proposal
from tests import factories
from tests.api.test_pages import form_body
from tests.web_client import csrf_of
from workflows import history

PDF = b"%PDF-1.4 the licence"
CSV = b"stem,artist\n1,A\n"
HTML = b"<html><script>alert(1)</script></html>"


def _count(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _blobs(settings) -> int:
    return sum(1 for p in (settings.data_dir / "files").rglob("*") if p.is_file())


async def test_files_go_with_their_version_and_the_diff_names_added_and_removed(api, browser, engine, settings,
                                                                                temporal_env):
    lead = await browser("lead")
    page = (await lead.get("/proposals/new")).text
    assert 'enctype="multipart/form-data"' in page and 'name="files"' in page
    fields = form_body(title="Stem remixer") | {"csrf_token": csrf_of(page)}
    refused = await lead.client.post("/proposals/new", data=fields, files=[
        ("files", ("licence.pdf", PDF, "application/pdf")), ("files", ("page.pdf", HTML, "application/pdf"))])
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "HTML, SVG and XML files are not accepted" in text and 'id="f-files-error"' in text
    assert 'value="Stem remixer"' in text  # what was typed, kept
    assert (_count(engine, Proposal), _count(engine, StoredFile), _blobs(settings)) == (0, 0, 0)

    sent = await lead.client.post("/proposals/new", data=fields, files=[
        ("files", ("licence.pdf", PDF, "application/pdf")), ("files", ("stems.csv", CSV, "text/csv"))])
    assert sent.status_code == 303, sent.text
    pid = int(sent.headers["location"].rsplit("/", 1)[1])
    first = (await api("sony").get(f"/api/v1/proposals/{pid}/versions/1")).json()
    assert len(first["files"]) == 2 and first["files_added"] == first["files"] and first["files_removed"] == []
    licence, stems = first["files"]
    await api("sony").post(f"/api/v1/proposals/{pid}/decisions",
                           json={"decision": "request_changes", "comment": "Name the stems' owners."})

    form = (await lead.get(f"/proposals/{pid}/resubmit")).text
    assert f'name="keep_files" value="{stems}" checked' in form
    again = form_body(title="Stem remixer", summary="Owners named.") | {
        "csrf_token": csrf_of(form), "listed_files": [str(licence), str(stems)], "keep_files": [str(licence)]}
    # refused by the workflow (nothing changed): the new file's bytes written for it go again
    unchanged = form_body(title="Stem remixer") | {"csrf_token": csrf_of(form)}
    same = await lead.client.post(f"/proposals/{pid}/resubmit", data=unchanged,
                                  files=[("files", ("owners.txt", b"Owners: A, B", "text/plain"))])
    assert same.status_code == 422 and "would be the same as version 1" in html.unescape(same.text)
    assert (_count(engine, StoredFile), _blobs(settings)) == (2, 2)
    bad = await lead.client.post(f"/proposals/{pid}/resubmit", data=again,
                                 files=[("files", ("owners.txt", b"\x00\x01binary", "text/plain"))])
    assert bad.status_code == 422 and 'id="f-files-error"' in bad.text
    assert f'name="keep_files" value="{stems}">' in bad.text  # the unticked box stays unticked
    done = await lead.client.post(f"/proposals/{pid}/resubmit", data=again,
                                  files=[("files", ("owners.txt", b"Owners: A, B", "text/plain"))])
    assert done.status_code == 303, done.text

    second = (await api("universal").get(f"/api/v1/proposals/{pid}/versions/2")).json()
    owners = max(second["files"])
    assert second["files"] == [licence, owners] and second["files_added"] == [owners]
    assert second["files_removed"] == [stems]
    detail = html.unescape((await (await browser("universal")).get(f"/proposals/{pid}")).text)
    assert re.search(r"Files added: <a href=\"/proposals/\d+/files/\d+\">owners.txt</a>", detail)
    assert re.search(r"Files removed: <a href=\"/proposals/\d+/files/\d+\">stems.csv</a>", detail)
    with Session(engine) as session:
        kinds = [e.kind for e in session.exec(select(AuditEntry).where(AuditEntry.proposal_id == pid)
                                              .order_by(AuditEntry.seq))]
        assert kinds.count("file") == 3 and kinds.count("file_removed") == 1
        assert session.exec(select(VersionFileRemoval)).one().version == 2
        stored, decisions, entries = audit.stored_state(session, pid)
    # the files' entries, written by the version's step, stay out of reconciliation with the history
    assert reconcile(pid, stored, decisions, entries, (await history.load(temporal_env.client, pid)).facts) == []
    unknown = await api("lead").post(f"/api/v1/proposals/{pid}/resubmit",
                                     json=factories.submission(summary="x") | {"remove_files": [stems]})
    assert unknown.status_code == 422 and f"{stems} is not a file of version 2" in unknown.text


async def test_a_file_added_later_to_a_message_is_mailed_to_those_who_see_it(api, engine):
    pid = (await api("lead").post("/api/v1/proposals", json=factories.submission())).json()["id"]
    asked = (await api("sony").post(f"/api/v1/proposals/{pid}/messages", json={"text": "Which stems?"})).json()
    with Session(engine) as session:
        before = session.exec(select(func.count()).select_from(OutboxMail)).one()
    added = await api("lead").post(f"/api/v1/proposals/{pid}/files", data={"message_id": str(asked["id"])},
                                   files={"file": ("stems list.pdf", PDF, "application/pdf")})
    assert added.status_code == 201, added.text
    with Session(engine) as session:
        mails = session.exec(select(OutboxMail).order_by(OutboxMail.id).offset(before)).all()
    assert [m.recipient for m in mails] == ["rep.sony@example.com"]  # label_lead: sony and the lead (the sender)
    mail = mails[0]
    assert "stems list.pdf" in mail.subject and f"/proposals/{pid}/files/{added.json()['id']}" in mail.body
    assert PDF.decode() not in mail.body and "not attached" in mail.body
