"""Sends the outbox's e-mail over SMTP, beside the worker.

Mail is claimed with a lease (its next attempt moved into the future) before
it is sent, so several dispatchers can share one outbox, and a dispatcher
that dies mid-send only delays its mail until the lease runs out. A server
that is down costs retries with growing back-off, never a decision: the
workflow wrote the outbox and moved on long before.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlparse

import aiosmtplib
from sqlalchemy import Engine, update
from sqlmodel import col, select

from countersign.storage.db import transaction
from countersign.storage.tables import OutboxMail, utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(minutes=30)


class SmtpTarget:
    """`smtp://user:pass@host:port`, `smtps://…` (TLS), `?starttls=1`."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
            raise ValueError(f"COUNTERSIGN_SMTP_URL {url!r} must look like smtp://user:password@host:port")
        self.hostname = parsed.hostname
        self.use_tls = parsed.scheme == "smtps"
        self.port = parsed.port or (465 if self.use_tls else 25)
        self.username = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.start_tls = parse_qs(parsed.query).get("starttls", ["0"])[0] in ("1", "true", "yes")

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message, hostname=self.hostname, port=self.port, username=self.username, password=self.password,
            use_tls=self.use_tls, start_tls=self.start_tls or None, timeout=20,
        )


class MailDispatcher:
    def __init__(self, engine: Engine, smtp_url: str, sender: str, poll_seconds: float = 1.0, batch: int = 50):
        self._engine = engine
        self._smtp = SmtpTarget(smtp_url)
        self._sender = sender
        self._poll = poll_seconds
        self._batch = batch

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = await self.send_due()
            except Exception:  # the database may be briefly away; try again next round
                log.exception("mail dispatch round failed")
                sent = 0
            if not sent:
                try:
                    await asyncio.wait_for(stop.wait(), self._poll)
                except TimeoutError:
                    pass

    async def send_due(self) -> int:
        """Send what is due now; the number of messages sent."""
        claimed = await asyncio.to_thread(self._claim)
        sent = 0
        for mail in claimed:
            try:
                await self._smtp.send(self._message(mail))
            except (aiosmtplib.SMTPException, OSError) as error:
                await asyncio.to_thread(self._failed, mail, error)
                log.warning("mail %s to %s failed (attempt %s): %s", mail.id, mail.recipient, mail.attempts, error)
            else:
                await asyncio.to_thread(self._sent, mail.id)
                sent += 1
        return sent

    def _message(self, mail: OutboxMail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mail.recipient
        message["Subject"] = mail.subject
        message["Message-ID"] = f"<countersign-outbox-{mail.id}@{self._sender.split('@')[-1]}>"
        message.set_content(mail.body)
        if mail.html_body is not None:  # multipart/alternative: the reader's client shows the part it prefers
            message.add_alternative(mail.html_body, subtype="html")
        return message

    def _claim(self) -> list[OutboxMail]:
        now = utcnow()
        with transaction(self._engine) as session:
            due = session.exec(
                select(OutboxMail)
                .where(OutboxMail.sent_at.is_(None), OutboxMail.next_attempt_at <= now)
                .order_by(col(OutboxMail.next_attempt_at), col(OutboxMail.id))
                .limit(self._batch)
            ).all()
            claimed = []
            for mail in due:
                # Compare-and-set on the old lease: only one dispatcher wins a row.
                result = session.exec(
                    update(OutboxMail)
                    .where(OutboxMail.id == mail.id, OutboxMail.next_attempt_at == mail.next_attempt_at)
                    .values(next_attempt_at=now + LEASE, attempts=OutboxMail.attempts + 1)
                )
                if result.rowcount == 1:  # the session object now shows the new lease and attempt count
                    claimed.append(mail)
            return claimed

    def _sent(self, mail_id: int) -> None:
        with transaction(self._engine) as session:
            session.exec(update(OutboxMail).where(OutboxMail.id == mail_id).values(sent_at=utcnow(), last_error=None))

    def _failed(self, mail: OutboxMail, error: Exception) -> None:
        backoff = min(timedelta(seconds=5 * 2 ** min(mail.attempts - 1, 10)), MAX_BACKOFF)
        with transaction(self._engine) as session:
            session.exec(
                update(OutboxMail)
                .where(OutboxMail.id == mail.id)
                .values(next_attempt_at=utcnow() + backoff, last_error=str(error)[:500])
            )
