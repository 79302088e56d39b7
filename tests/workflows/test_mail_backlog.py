"""A backlog with poisoned mail in it: every other mail still goes out, the
poisoned ones fail alone, each with its error, and are parked (the admins
told) after a permanent refusal or their last try. Against a real SMTP
server (aiosmtpd)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlmodel import Session, col, select

from countersign.storage.tables import OutboxMail, utcnow
from tests import factories
from tests.ports import free_port
from tests.smtp import Inbox, running_smtp
from tests.workflows.test_mail_dispatcher import received
from workflows.mail_dispatcher import PARKED_KIND, MailDispatcher

BACKLOG = 2_000


class PickyServer(Inbox):
    """Refuses `poison-*` recipients for good (550), `flaky-*` once (451), `busy-*` always (451)."""

    def __init__(self):
        super().__init__()
        self.tries = Counter()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.tries[address] += 1
        if address.startswith("poison-"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("busy-") or (address.startswith("flaky-") and self.tries[address] == 1):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def picky():
    handler = PickyServer()
    with running_smtp(handler) as controller:
        yield controller, handler


def _queue(engine, recipients_and_subjects: list[tuple[str, str]]) -> None:
    now = utcnow()
    rows = [{"kind": "reminded", "recipient": r, "subject": s, "body": "Due soon.", "created_at": now,
             "next_attempt_at": now, "attempts": 0} for r, s in recipients_and_subjects]
    with Session(engine) as session:
        session.execute(insert(OutboxMail), rows)
        session.commit()


async def _drain(engine, dispatcher: MailDispatcher, rounds: int = 200) -> None:
    for _ in range(rounds):
        if not await dispatcher.send_due():
            with Session(engine) as session:
                left = session.exec(select(OutboxMail.id).where(col(OutboxMail.sent_at).is_(None),
                                                                col(OutboxMail.parked_at).is_(None))).first()
            if left is None:
                return


async def test_a_backlog_with_poisoned_mail_is_delivered_apart_from_the_poisoned(engine, picky):
    controller, server = picky
    admin = factories.user(engine, "admin")
    poisoned = {100: "poison-1@example.com", 900: "poison-2@example.com", 1999: "poison-3@example.com"}
    mails = [(poisoned.get(i, f"rep{i}@example.com"), f"Reminder {i}") for i in range(BACKLOG)]
    mails[500] = ("rep500@example.com", "Injected\r\nBcc: victim@example.com")  # a header injection attempt
    mails[600] = ("not an address\r\nBcc: victim@example.com", "Reminder 600")  # cannot be built: fails alone
    mails[700] = ("flaky-1@example.com", "Reminder 700")  # refused once, then taken
    _queue(engine, mails)

    dispatcher = MailDispatcher(engine, f"smtp://127.0.0.1:{controller.port}", "countersign@example.com",
                                batch=500, first_backoff=timedelta(0), base_url="https://countersign.example")
    started = time.monotonic()
    await _drain(engine, dispatcher)
    took = time.monotonic() - started

    delivered = Counter(to for envelope in server.messages for to in envelope.rcpt_tos)
    expected = {to for i, (to, _) in enumerate(mails) if i not in poisoned and i != 600}
    assert set(delivered) >= expected
    assert all(delivered[to] == 1 for to in expected), "each mail once"
    assert delivered[admin.email] == 4, "the admin hears of each parked mail"
    assert not any("victim" in " ".join(e.rcpt_tos) for e in server.messages)
    injected = next(received(e) for e in server.messages if "rep500@example.com" in e.rcpt_tos)
    assert injected["Bcc"] is None and injected["Subject"] == "Injected Bcc: victim@example.com"

    with Session(engine) as session:
        parked = session.exec(select(OutboxMail).where(col(OutboxMail.parked_at).is_not(None))).all()
    assert sorted(m.recipient for m in parked) == sorted([*poisoned.values(), mails[600][0]])
    assert all(m.last_error for m in parked)
    assert {m.recipient: m.attempts for m in parked}["poison-1@example.com"] == 1  # 550 is permanent
    assert any("cannot be built" in m.last_error for m in parked)
    assert took < 15, f"2,000 mails took {took:.1f} s"


async def test_a_temporary_refusal_is_retried_then_parked_after_the_last_try(engine, picky):
    controller, server = picky
    factories.user(engine, "admin")
    _queue(engine, [("busy-1@example.com", "Busy"), ("rep@example.com", "Fine")])
    dispatcher = MailDispatcher(engine, f"smtp://127.0.0.1:{controller.port}", "countersign@example.com",
                                max_attempts=3, first_backoff=timedelta(0))
    await _drain(engine, dispatcher, rounds=10)
    assert server.tries["busy-1@example.com"] == 3
    with Session(engine) as session:
        busy = session.exec(select(OutboxMail).where(OutboxMail.recipient == "busy-1@example.com")).one()
        notices = session.exec(select(OutboxMail).where(OutboxMail.kind == PARKED_KIND)).all()
    assert busy.parked_at is not None and busy.attempts == 3 and "451" in busy.last_error
    assert len(notices) == 1 and "busy-1@example.com" in notices[0].body and notices[0].sent_at is not None


async def test_the_outbox_page_shows_parked_mail_and_why(engine, browser, users):
    _queue(engine, [("poison-9@example.com", "Reminder 9")])
    with Session(engine) as session:
        mail = session.exec(select(OutboxMail)).one()
        mail.parked_at, mail.attempts, mail.last_error = utcnow(), 1, "(550, '5.1.1 no such mailbox')"
        session.add(mail)
        session.commit()
    admin = await browser("admin")
    page = await admin.get("/admin/outbox", params={"state": "parked"})
    assert page.status_code == 200
    assert "Not delivered" in page.text and "no such mailbox" in page.text and "poison-9@example.com" in page.text
    assert "1 mail could not be delivered" in (await admin.get("/admin/outbox")).text
    assert "1 mail could not be delivered" in (await admin.get("/admin/health")).text


async def test_a_server_that_is_away_fails_the_round_at_once_and_parks_nothing(engine):
    _queue(engine, [(f"rep{i}@example.com", f"Reminder {i}") for i in range(3)])
    down = MailDispatcher(engine, f"smtp://127.0.0.1:{free_port()}", "countersign@example.com")
    assert await down.send_due() == 0
    with Session(engine) as session:
        mails = session.exec(select(OutboxMail)).all()
    assert all("cannot reach the SMTP server" in m.last_error and m.attempts == 1 for m in mails)
    assert all(m.parked_at is None and m.next_attempt_at > utcnow() for m in mails)  # tried again later
