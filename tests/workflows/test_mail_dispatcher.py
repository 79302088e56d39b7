"""The outbox dispatcher against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from sqlmodel import Session, select

from countersign.storage.tables import OutboxMail, utcnow
from tests.ports import free_port
from tests.smtp import Inbox, running_smtp
from workflows.mail_dispatcher import MailDispatcher, SmtpTarget


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    with running_smtp(inbox) as controller:
        yield controller, inbox


HTML = "<!DOCTYPE html>\n<html><body><p>Due <em>soon</em>.</p></body></html>"


def queue(engine, n=2, html: str | None = HTML):
    with Session(engine) as session:
        for i in range(n):
            session.add(OutboxMail(kind="reminded", recipient=f"rep{i}@example.com", subject=f"Reminder {i}",
                                   body="Due soon.", html_body=html, created_at=utcnow(), next_attempt_at=utcnow()))
        session.commit()


def received(envelope) -> EmailMessage:
    """A message as the SMTP server got it, with the wire's CRLF line ends made plain."""
    return message_from_bytes(envelope.content.replace(b"\r\n", b"\n"), policy=policy.default)


def outbox(engine) -> list[OutboxMail]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMail).order_by(OutboxMail.id)))


async def test_sends_due_mail_once(engine, smtp_server):
    controller, inbox = smtp_server
    queue(engine)
    dispatcher = MailDispatcher(engine, f"smtp://127.0.0.1:{controller.port}", "countersign@example.com")
    assert await dispatcher.send_due() == 2
    assert await dispatcher.send_due() == 0
    assert sorted(m.rcpt_tos[0] for m in inbox.messages) == ["rep0@example.com", "rep1@example.com"]
    assert b"Subject: Reminder 0" in inbox.messages[0].content or b"Subject: Reminder 1" in inbox.messages[0].content
    assert all(m.sent_at is not None and m.attempts == 1 for m in outbox(engine))


async def test_a_mail_goes_out_as_plain_text_and_html_alternatives(engine, smtp_server):
    controller, inbox = smtp_server
    queue(engine, 1)
    dispatcher = MailDispatcher(engine, f"smtp://127.0.0.1:{controller.port}", "countersign@example.com")
    assert await dispatcher.send_due() == 1
    [envelope] = inbox.messages
    message = received(envelope)
    assert message["Subject"] == "Reminder 0" and message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()  # plainest first: a client shows the last part it can
    assert (text.get_content_type(), text.get_content()) == ("text/plain", "Due soon.\n")
    assert (html.get_content_type(), html.get_content()) == ("text/html", HTML + "\n")


async def test_a_server_that_is_down_is_retried_later(engine, smtp_server):
    controller, inbox = smtp_server
    queue(engine, 1, html=None)
    down = MailDispatcher(engine, f"smtp://127.0.0.1:{free_port()}", "countersign@example.com")
    assert await down.send_due() == 0
    [mail] = outbox(engine)
    assert mail.sent_at is None and mail.attempts == 1 and mail.last_error
    assert mail.next_attempt_at > utcnow() + timedelta(seconds=3)  # backed off, not hammering

    up = MailDispatcher(engine, f"smtp://127.0.0.1:{controller.port}", "countersign@example.com")
    assert await up.send_due() == 0  # not due yet
    with Session(engine) as session:
        row = session.get(OutboxMail, mail.id)
        row.next_attempt_at = utcnow()
        session.commit()
    assert await up.send_due() == 1
    [envelope] = inbox.messages
    assert received(envelope).get_content_type() == "text/plain"  # a row without an HTML part
    assert outbox(engine)[0].attempts == 2


def test_smtp_url_parsing():
    target = SmtpTarget("smtps://user%40x:p%3Ass@mail.example:2465")
    assert (target.hostname, target.port, target.use_tls) == ("mail.example", 2465, True)
    assert (target.username, target.password) == ("user@x", "p:ss")
    assert SmtpTarget("smtp://mail.example?starttls=1").start_tls
    with pytest.raises(ValueError, match="smtp://"):
        SmtpTarget("http://mail.example")
