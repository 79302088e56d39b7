"""Accounts and API tokens: argon2 password hashes, tokens stored as SHA-256.

Token creation and revocation are recorded on the audit log's access chain
(countersign.storage.audit, proposal_id None) in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from datetime import datetime, timedelta
from functools import cache

import argon2
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine, bindparam, update
from sqlmodel import Session, col, or_, select

from countersign.domain import addresses, passwords
from countersign.domain.access import Role
from countersign.domain.errors import DomainError, NotFound
from countersign.domain.mail_text import display_name_problem
from countersign.settings import Settings
from countersign.storage import audit
from countersign.storage.db import transaction
from countersign.storage.tables import ApiToken, User, utcnow

MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH
MAX_TOKEN_LIFE = timedelta(days=3 * 366)
# What a token may do besides what every token of its account may: decide (sign) for the account's
# party; or, alone, nothing but the grants check (a product's runtime holds such a token).
DECIDE = "decide"
GRANTS_CHECK = "grants:check"
SCOPES = (DECIDE, GRANTS_CHECK)
LAST_USED_RESOLUTION = 60  # seconds


class AccountError(DomainError):
    """An account cannot be created or used as asked."""


_cost = (argon2.DEFAULT_MEMORY_COST, argon2.DEFAULT_TIME_COST, argon2.DEFAULT_PARALLELISM)  # as Settings'


def use_password_cost(settings: Settings) -> None:
    """Hash passwords at the settings' argon2id cost from now on (the web app
    and the CLI call this when they start)."""
    global _cost
    _cost = (settings.password_memory_cost, settings.password_time_cost, settings.password_parallelism)


@cache
def _hashing(memory_cost: int, time_cost: int, parallelism: int) -> tuple[PasswordHash, str]:
    """argon2id at this cost, and a hash to verify against when the e-mail is
    unknown, so that sign-in takes as long either way."""
    hasher = PasswordHash((Argon2Hasher(memory_cost=memory_cost, time_cost=time_cost, parallelism=parallelism),))
    return hasher, hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hashing(*_cost)[0].hash(password)


def create_user(
    session: Session, email: str, role: str, password: str, name: str | None = None, party: str | None = None,
    parties: Collection[str] = (),
) -> User:
    """`parties`: the keys of the policy's parties, one of which a rep's `party` must be."""
    try:
        email = addresses.normalize(email)
    except addresses.InvalidAddress as error:
        raise AccountError(str(error)) from None
    if name is not None and (problem := display_name_problem(name)):
        raise AccountError(problem)
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(r.value for r in Role)}") from None
    if role in (Role.REP, Role.PARTY_ADMIN) and party not in parties:
        raise AccountError(f"a {role.value} needs --party, one of the policy's parties: {', '.join(parties)}")
    if role not in (Role.REP, Role.PARTY_ADMIN) and party:
        raise AccountError("only reps and party admins belong to a party")
    if weak := passwords.problem(password, email, name):
        raise AccountError(weak)
    if session.exec(select(User).where(User.email == email)).first():
        raise AccountError(f"an account for {email} exists already")
    user = User(email=email, name=name or email.split("@")[0], role=role.value, party=party,
                password_hash=hash_password(password), created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    hasher, dummy_hash = _hashing(*_cost)
    if user is None or not user.active:
        hasher.verify(password, dummy_hash)
        return None
    valid, new_hash = hasher.verify_and_update(password, user.password_hash)
    if not valid:
        return None
    if new_hash:
        user.password_hash = new_hash
    return user


def session_epoch(user: User) -> str:
    """What a session must carry to stay valid: changes with the password and at every sign-out."""
    return f"{user.password_hash[-16:]}.{user.session_epoch}"


def end_sessions(user: User) -> None:
    """End every session of `user` (each carries an older epoch from now on)."""
    user.session_epoch = (user.session_epoch or 0) + 1


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, email: str, name: str | None = None, actor: str | None = None,
                 via: str = "cli", expires_at: datetime | None = None, scopes: Collection[str] = ()) -> str:
    """A new API token for `email`; only its hash is stored, so show it once."""
    return create_token_row(session, email, name, actor, via, expires_at, scopes)[1]


def create_token_row(session: Session, email: str, name: str | None = None, actor: str | None = None,
                     via: str = "cli", expires_at: datetime | None = None,
                     scopes: Collection[str] = ()) -> tuple[ApiToken, str]:
    """`expires_at`: when the token stops working (None: when revoked); `scopes`: of SCOPES,
    "decide" only for an account that can decide (a rep), "grants:check" only alone."""
    scopes = [scope for scope in scopes if scope]  # a form's "no scope" choice is empty
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise AccountError(f"no account for {email}")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise AccountError(f"unknown token scope {unknown[0]!r}; the scopes are: {', '.join(SCOPES)}")
    if DECIDE in scopes and user.role != Role.REP.value:
        raise AccountError(f"only a label rep decides: a {user.role}'s token cannot have the decide scope")
    if GRANTS_CHECK in scopes and len(set(scopes)) > 1:
        raise AccountError(f"a token limited to {GRANTS_CHECK} can have no other scope")
    now = utcnow()
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise AccountError("give the expiry with a time zone, such as 2027-01-31T23:59:59Z")
        if expires_at <= now:
            raise AccountError("the expiry must be in the future")
        if expires_at > now + MAX_TOKEN_LIFE:
            raise AccountError(f"a token can last at most {MAX_TOKEN_LIFE.days} days")
    token = "cs_" + secrets.token_urlsafe(32)
    chosen = [scope for scope in SCOPES if scope in scopes]
    row = ApiToken(user_id=user.id, token_hash=_token_hash(token), created_at=now, name=name or None,
                   expires_at=expires_at, scopes=chosen)
    session.add(row)
    session.flush()
    audit.append(session, None, "token_created", now, actor=actor or user.email, party=user.party,
                 detail={"token_id": str(row.id), "owner": user.email, "via": via, "name": name or "",
                         **({"expires_at": expires_at.isoformat()} if expires_at else {}),
                         "scopes": " ".join(chosen)})
    return row, token


def tokens_of(session: Session, user_id: int | None = None) -> list[tuple[ApiToken, User]]:
    """Tokens (never their secrets) with their owners: one user's, or everyone's."""
    query = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(session.exec(query.order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int, actor: User | None, via: str = "api",
                 any_owner: bool = False) -> ApiToken:
    """Revoke a token: its owner's, or anyone's when `any_owner` (admins, the CLI).

    A token that is not the caller's to revoke is NotFound, as one that does
    not exist. Revoking a revoked token changes nothing and records nothing.
    """
    row = session.get(ApiToken, token_id)
    if row is None or not (any_owner or (actor is not None and row.user_id == actor.id)):
        raise NotFound(f"no token {token_id}")
    if row.revoked_at is None:
        now = utcnow()
        row.revoked_at = now
        owner = session.get(User, row.user_id)
        audit.append(session, None, "token_revoked", now, actor=actor.email if actor else None,
                     party=owner.party if owner else None,
                     detail={"token_id": str(row.id), "owner": owner.email if owner else "", "via": via})
        session.flush()
    return row


# Built once: every API request reads it (SQLAlchemy then finds the compiled
# form by a key kept on the statement, not one computed anew).
_BY_TOKEN = (
    select(ApiToken, User)
    .join(User, col(User.id) == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None), User.active,
           or_(col(ApiToken.expires_at).is_(None), col(ApiToken.expires_at) > bindparam("now")))
)


def token_user(session: Session, token: str) -> tuple[ApiToken, User] | None:
    """A live token (not revoked, not expired, of an active account) and its user."""
    return session.exec(_BY_TOKEN, params={"token_hash": _token_hash(token), "now": utcnow()}).first()


def user_for_token(session: Session, token: str) -> User | None:
    found = token_user(session, token)
    return found[1] if found else None


def keep_last_use(engine: Engine, token: ApiToken) -> None:
    """Keep when `token` was last used, to the minute (a write per request
    would cost more than it tells), in a write transaction of its own."""
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION:
        with transaction(engine) as session:
            session.exec(update(ApiToken).where(col(ApiToken.id) == token.id).values(last_used_at=now))


def names(session: Session, emails: Collection[str]) -> dict[str, str]:
    """People's names by e-mail address, for pages that show who acted."""
    if not emails:
        return {}
    return dict(session.execute(select(User.email, User.name).where(col(User.email).in_(set(emails)))).all())
