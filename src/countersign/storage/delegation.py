"""Delegation: a rep hands their party's decisions to a colleague of the
same party for a period (out of office). It ends by itself at its end time;
the delegator or an admin may end it sooner, and an admin may reassign it
to another colleague. A decision taken under a delegation records both the
acting rep and the delegating one (`Decision.on_behalf_of`).

Every change is recorded on the audit log's access chain in the caller's
transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, col, or_, select

from countersign.domain import addresses
from countersign.domain.access import Role
from countersign.domain.errors import Forbidden, InvalidDecision, NotFound
from countersign.storage import audit
from countersign.storage.tables import Delegation, User, utcnow

MAX_LENGTH = timedelta(days=365)


def _user(session: Session, email: str) -> User:
    email = addresses.normalize(email)  # a typed address: refused with email-validator's reason
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None or not user.active:
        raise InvalidDecision(f"no active account for {email}")
    return user


def _record(session: Session, kind: str, actor: User, delegation: Delegation, **extra: str) -> None:
    delegator, delegate = session.get(User, delegation.delegator_id), session.get(User, delegation.delegate_id)
    audit.append(session, None, kind, utcnow(), actor=actor.email, party=delegation.party, detail={
        "delegation_id": str(delegation.id), "delegator": delegator.email, "delegate": delegate.email,
        "starts_at": delegation.starts_at.isoformat(), "ends_at": delegation.ends_at.isoformat(), **extra,
    })


def create(session: Session, actor: User, delegate_email: str, ends_at: datetime,
           starts_at: datetime | None = None, delegator_email: str | None = None) -> Delegation:
    """`actor` delegates to `delegate_email` (an admin may name the delegator)."""
    now = utcnow()
    if delegator_email and actor.role != Role.ADMIN:
        raise Forbidden("only an admin can delegate for someone else")
    delegator = _user(session, delegator_email) if delegator_email else actor
    if delegator.role != Role.REP:
        raise Forbidden("only label reps delegate their decisions")
    delegate = _user(session, delegate_email)
    if delegate.id == delegator.id:
        raise InvalidDecision("choose a colleague: you cannot delegate to yourself")
    if delegate.role != Role.REP or delegate.party != delegator.party:
        raise InvalidDecision(f"{delegate.email} is not a rep of {delegator.party}: delegate within your label only")
    starts_at = starts_at or now
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidDecision("give times with a time zone (e.g. 2026-12-01T09:00:00Z)")
    if ends_at <= max(starts_at, now):
        raise InvalidDecision("the end must be after the start and in the future")
    if ends_at - starts_at > MAX_LENGTH:
        raise InvalidDecision("a delegation can last a year at most")
    delegation = Delegation(party=delegator.party, delegator_id=delegator.id, delegate_id=delegate.id,
                            starts_at=starts_at, ends_at=ends_at, created_by=actor.email, created_at=now)
    session.add(delegation)
    session.flush()
    _record(session, "delegation_created", actor, delegation)
    return delegation


def _get(session: Session, delegation_id: int, actor: User) -> Delegation:
    delegation = session.get(Delegation, delegation_id)
    if delegation is None or not (actor.role == Role.ADMIN or actor.id in (delegation.delegator_id,
                                                                            delegation.delegate_id)):
        raise NotFound(f"no delegation {delegation_id}")
    return delegation


def end(session: Session, delegation_id: int, actor: User) -> Delegation:
    """End a delegation now (its delegator, its delegate or an admin)."""
    delegation = _get(session, delegation_id, actor)
    now = utcnow()
    if delegation.revoked_at is None and delegation.ends_at > now:
        delegation.revoked_at, delegation.revoked_by = now, actor.email
        session.flush()
        _record(session, "delegation_ended", actor, delegation)
    return delegation


def reassign(session: Session, delegation_id: int, actor: User, delegate_email: str) -> Delegation:
    """Admins: end a delegation and give the rest of its period to another colleague."""
    if actor.role != Role.ADMIN:
        raise Forbidden("only an admin can reassign a delegation")
    old = _get(session, delegation_id, actor)
    now = utcnow()
    if old.revoked_at is not None or old.ends_at <= now:
        raise InvalidDecision("this delegation has ended; create a new one")
    delegator = session.get(User, old.delegator_id)
    old.revoked_at, old.revoked_by = now, actor.email
    session.flush()
    new = create(session, actor, delegate_email, old.ends_at, max(old.starts_at, now), delegator.email)
    _record(session, "delegation_reassigned", actor, old, reassigned_to=str(new.id))
    return new


def visible_to(session: Session, user: User) -> list[Delegation]:
    query = select(Delegation)
    if user.role != Role.ADMIN:
        query = query.where(or_(Delegation.delegator_id == user.id, Delegation.delegate_id == user.id))
    return list(session.exec(query.order_by(col(Delegation.id))))


def is_active(delegation: Delegation, now: datetime) -> bool:
    return delegation.revoked_at is None and delegation.starts_at <= now < delegation.ends_at


def acting_for(session: Session, delegate: User, delegator_email: str, now: datetime | None = None) -> User:
    """The delegator `delegate` may decide for now, or Forbidden."""
    now = now or utcnow()
    delegator = session.exec(select(User).where(User.email == delegator_email.strip().lower())).first()
    if delegator is not None:
        for delegation in session.exec(select(Delegation).where(Delegation.delegator_id == delegator.id,
                                                                Delegation.delegate_id == delegate.id)):
            if is_active(delegation, now) and delegation.party == delegate.party:
                return delegator
    raise Forbidden(f"you hold no delegation from {delegator_email} now")


def active_delegators(session: Session, delegate: User, now: datetime | None = None) -> list[User]:
    now = now or utcnow()
    rows = session.exec(select(Delegation).where(Delegation.delegate_id == delegate.id))
    return [session.get(User, d.delegator_id) for d in rows if is_active(d, now)]


# Built once: the worker reads it at every step that sends mail.
_OF_PARTIES = (select(Delegation).where(col(Delegation.party).in_(bindparam("parties", expanding=True)))
               .order_by(col(Delegation.id)))


def in_force(session: Session, parties: list[str],
             now: datetime | None = None) -> list[tuple[Delegation, User, User]]:
    """The delegations of `parties` in force at `now` (as `is_active` says), each with its delegator
    and delegate: for the mail that asks delegates to act (countersign.domain.notifications)."""
    now = now or utcnow()
    rows = session.exec(_OF_PARTIES, params={"parties": parties})
    return [(d, session.get(User, d.delegator_id), session.get(User, d.delegate_id))
            for d in rows if is_active(d, now)]
