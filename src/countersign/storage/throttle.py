"""Sign-in throttling: after repeated failures, an account or a client
address must wait before trying again.

Failures are rows in the database (`LoginFailure`), so the limit holds
across web processes and restarts. A success clears the account's failures;
an address keeps its own count (one address guessing many accounts).

An anonymous visitor must not be able to lock a rep out before a deadline
by failing on purpose, so the per-account limit counts one address's
failures only: the guesser waits, the rep at their own desk does not. A
guesser spread over many addresses meets the account's overall limit, and
then only a browser the account signed in from before (a known device,
api.known_device) may still try its password.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from countersign.domain.errors import DomainError
from countersign.storage.tables import LoginFailure, utcnow

WINDOW = timedelta(minutes=15)
MAX_PER_ACCOUNT = 5  # failures for one account from one address
MAX_PER_ADDRESS = 20  # an office behind one NAT address signs in more often than one person
MAX_PER_ACCOUNT_ANYWHERE = 50  # failures for one account from all addresses: then known devices only


class Throttled(DomainError):
    """Too many failed sign-ins; `retry_at` says when to try again."""

    def __init__(self, retry_at: datetime) -> None:
        self.retry_at = retry_at
        super().__init__(
            f"too many failed sign-ins; try again after {retry_at:%H:%M} UTC "
            f"(in {minutes_until(retry_at)} minutes)"
        )

    def seconds(self, now: datetime) -> int:
        return max(1, int((self.retry_at - now).total_seconds()) + 1)


def minutes_until(moment: datetime, now: datetime | None = None) -> int:
    return max(1, -(-int((moment - (now or utcnow())).total_seconds()) // 60))


def _retry_at(session: Session, condition, limit: int, now: datetime) -> datetime | None:
    """When the `limit`-th most recent failure in the window leaves it, if `limit` are in it."""
    recent = session.exec(
        select(LoginFailure.at)
        .where(condition, LoginFailure.at > now - WINDOW)
        .order_by(col(LoginFailure.at).desc())
        .limit(limit)
    ).all()
    if len(recent) < limit:
        return None
    return recent[-1] + WINDOW


def check(session: Session, email: str, address: str, now: datetime, known_device: bool = False) -> None:
    """Raise Throttled if the account (from this address, or from anywhere
    unless on a known device) or the address must wait."""
    waits = [
        _retry_at(session, (col(LoginFailure.email) == email) & (col(LoginFailure.address) == address),
                  MAX_PER_ACCOUNT, now),
        _retry_at(session, col(LoginFailure.address) == address, MAX_PER_ADDRESS, now),
    ]
    if not known_device:
        waits.append(_retry_at(session, col(LoginFailure.email) == email, MAX_PER_ACCOUNT_ANYWHERE, now))
    waits = [w for w in waits if w is not None]
    if waits:
        raise Throttled(max(waits))


def record_failure(session: Session, email: str, address: str, now: datetime) -> None:
    session.add(LoginFailure(at=now, email=email[:254], address=address[:100]))
    # Old rows are of no use to anyone: keep the table small as it goes.
    session.exec(delete(LoginFailure).where(col(LoginFailure.at) < now - 2 * WINDOW))
    session.flush()


def clear(session: Session, email: str) -> None:
    session.exec(delete(LoginFailure).where(col(LoginFailure.email) == email))


def failures(session: Session, email: str, now: datetime) -> int:
    return session.exec(
        select(func.count()).select_from(LoginFailure).where(LoginFailure.email == email,
                                                              LoginFailure.at > now - WINDOW)
    ).one()
