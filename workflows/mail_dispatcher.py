"""Sends the outbox's e-mail over SMTP, beside the worker.

Mail is claimed with a lease (its next attempt moved into the future) before
it is sent, so several dispatchers can share one outbox, and a dispatcher
that dies mid-send only delays its mail until the lease runs out. A server
that is down costs retries with growing back-off, never a decision: the
workflow wrote the outbox and moved on long before.

Each mail is sent on its own, over one connection per round: a mail that
cannot be built or is refused fails alone, with its error recorded in the
outbox (`last_error`). A refusal the server calls permanent (5xx), or a mail
that cannot be built, is parked at once; a temporary failure is tried again
with back-off until `max_attempts`, then parked. Parking tells the admins by
mail (never about their own parked notice), and the outbox page lists it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlparse

import aiosmtplib
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from countersign.domain.mail_text import one_line
from countersign.storage.db import transaction
from countersign.storage.tables import OutboxMail, User, utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(minutes=30)
MAX_ATTEMPTS = 16  # with the back-off below: about six hours of trying before a mail is parked
PARKED_KIND = "mail_parked"  # the admins' notice; never itself the subject of another notice


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

    async def connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(hostname=self.hostname, port=self.port, use_tls=self.use_tls,
                                 start_tls=self.start_tls or None, timeout=20)
        await client.connect()
        if self.username:
            await client.login(self.username, self.password or "")
        return client


@dataclass
class Outcome:
    mail: OutboxMail
    error: str | None = None  # None: sent
    permanent: bool = False


def _is_permanent(error: Exception) -> bool:
    """RFC 5321: a 5xx reply will fail again; 4xx and a lost connection may not."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code >= 500 for r in error.recipients)
    return isinstance(error, aiosmtplib.SMTPResponseException) and error.code >= 500


class MailDispatcher:
    def __init__(self, engine: Engine, smtp_url: str, sender: str, poll_seconds: float = 1.0, batch: int = 50,
                 max_attempts: int = MAX_ATTEMPTS, first_backoff: timedelta = timedelta(seconds=5),
                 base_url: str = "") -> None:
        self._engine = engine
        self._smtp = SmtpTarget(smtp_url)
        self._sender = sender
        self._poll = poll_seconds
        self._batch = batch
        self._max_attempts = max_attempts
        self._first_backoff = first_backoff
        self._base_url = base_url.rstrip("/")

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
        """Send what is due now, each mail on its own; the number of messages sent."""
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return 0
        outcomes: list[Outcome] = []
        client: aiosmtplib.SMTP | None = None
        try:
            for n, mail in enumerate(claimed):
                try:
                    message = self._message(mail)
                except (ValueError, TypeError, IndexError) as error:  # a value the mail library refuses
                    outcomes.append(Outcome(mail, f"cannot be built: {error}", permanent=True))
                    continue
                if client is None or not client.is_connected:
                    try:
                        client = await self._smtp.connect()
                    except (aiosmtplib.SMTPException, OSError) as error:
                        # The server is away: the rest of the round waits for the next try too,
                        # rather than each mail waiting out a connection timeout of its own.
                        reason = f"cannot reach the SMTP server: {error or type(error).__name__}"
                        outcomes += [Outcome(m, reason) for m in claimed[n:]]
                        break
                try:
                    await client.send_message(message)
                except (aiosmtplib.SMTPException, OSError, ValueError) as error:
                    outcomes.append(Outcome(mail, str(error) or type(error).__name__, _is_permanent(error)))
                else:
                    outcomes.append(Outcome(mail))
        finally:
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
            await asyncio.to_thread(self._record, outcomes)
        for outcome in outcomes:
            if outcome.error:
                log.warning("mail %s to %s failed (attempt %s): %s", outcome.mail.id, outcome.mail.recipient,
                            outcome.mail.attempts, outcome.error)
        return sum(1 for o in outcomes if o.error is None)

    def _message(self, mail: OutboxMail) -> EmailMessage:
        """The mail as the stdlib builds it; the recipient must parse as one address
        and every header is one line (countersign.domain.mail_text)."""
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = Address(addr_spec=mail.recipient)
        message["Subject"] = one_line(mail.subject)
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
                .where(OutboxMail.sent_at.is_(None), OutboxMail.parked_at.is_(None), OutboxMail.next_attempt_at <= now)
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

    def _backoff(self, attempts: int) -> timedelta:
        return min(self._first_backoff * 2 ** min(attempts - 1, 16), MAX_BACKOFF)

    def _record(self, outcomes: list[Outcome]) -> None:
        """A round's results in one transaction; parked mail tells the admins."""
        now = utcnow()
        with transaction(self._engine) as session:
            sent = [o.mail.id for o in outcomes if o.error is None]
            if sent:
                session.exec(update(OutboxMail).where(col(OutboxMail.id).in_(sent)).values(sent_at=now, last_error=None))
            for outcome in outcomes:
                if outcome.error is None:
                    continue
                mail = outcome.mail
                park = outcome.permanent or mail.attempts >= self._max_attempts
                values = {"last_error": outcome.error[:500]}
                if park:
                    values["parked_at"] = now
                else:
                    values["next_attempt_at"] = now + self._backoff(mail.attempts)
                session.exec(update(OutboxMail).where(OutboxMail.id == mail.id).values(**values))
                if park:
                    log.error("mail %s to %s parked after %s attempt(s): %s", mail.id, mail.recipient,
                              mail.attempts, outcome.error)
                    if mail.kind != PARKED_KIND:
                        self._tell_admins(session, mail, outcome.error, now)

    def _tell_admins(self, session: Session, mail: OutboxMail, error: str, now) -> None:
        admins = session.exec(select(User.email).where(User.role == "admin", col(User.active).is_(True))).all()
        link = f"{self._base_url}/admin/outbox?state=parked"
        for admin in admins:
            session.add(OutboxMail(
                kind=PARKED_KIND, recipient=admin, proposal_id=mail.proposal_id,
                subject=one_line(f"Mail not delivered: {mail.subject}"),
                body=(f"Countersign stopped trying to send a mail after {mail.attempts} attempt(s).\n\n"
                      f"To: {mail.recipient}\nSubject: {one_line(mail.subject)}\nWhy: {error[:500]}\n\n"
                      f"The outbox lists it: {link}\n"),
                created_at=now, next_attempt_at=now,
            ))
