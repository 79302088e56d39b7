"""Organisations' own people: sign-in through their provider (just-in-time
accounts), SCIM tokens, and deactivation.

Everything here is recorded on the audit log's access chain in the caller's
transaction. The organisation is always the caller's to say (which
provider, which SCIM token), never read from a claim or a request body
(countersign.domain.identity).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from countersign.domain.addresses import InvalidAddress, normalize
from countersign.domain.identity import AlreadyExists, IdentityRefused, organisation_of, party_of
from countersign.domain.mail_text import display_name_problem
from countersign.storage import audit
from countersign.storage.accounts import create_user, end_sessions, revoke_token
from countersign.storage.tables import ApiToken, Delegation, ExternalIdentity, ScimToken, User, utcnow


def checked_email(address: Any) -> str:
    """A syntactically valid e-mail address, lower-cased; IdentityRefused otherwise."""
    if not isinstance(address, str) or not address.strip():
        raise IdentityRefused("an e-mail address is required")
    try:
        return normalize(address)
    except InvalidAddress as error:
        raise IdentityRefused(str(error)) from None


def checked_name(name: str | None) -> str | None:
    """A display name fit for mail and pages (one line, no markup); IdentityRefused otherwise."""
    if name is None:
        return None
    problem = display_name_problem(name)
    if problem:
        raise IdentityRefused(f"name: {problem}")
    return name.strip()


def _by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email)).first()


def identity_of(session: Session, user: User) -> ExternalIdentity | None:
    return session.exec(select(ExternalIdentity).where(ExternalIdentity.user_id == user.id)).first()


def _ensure_identity(session: Session, user: User, organisation: str) -> ExternalIdentity:
    found = identity_of(session, user)
    if found is None:
        found = ExternalIdentity(user_id=user.id, organisation=organisation)
        session.add(found)
    return found


def _new_account(
    session: Session, organisation: str, email: str, role: str, name: str | None, parties: Collection[str]
) -> User:
    # No password anyone knows: the account signs in through its organisation's provider.
    return create_user(
        session,
        email,
        role,
        secrets.token_urlsafe(32),
        name=name,
        party=party_of(organisation),
        parties=parties,
    )


# -- sign-in through a provider ----------------------------------------------------------------------


def provider_sign_in(
    session: Session,
    organisation: str,
    issuer: str,
    claims: Mapping[str, Any],
    role: str,
    parties: Collection[str],
    address: str,
) -> User:
    """The account of the person `issuer` (`organisation`'s provider) vouches for, created on first
    sign-in with `role`. Refused: an address of another organisation's account, a deactivated one."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise IdentityRefused("the provider sent no subject ('sub')")
    now = utcnow()
    link = session.exec(
        select(ExternalIdentity).where(ExternalIdentity.issuer == issuer, ExternalIdentity.subject == subject)
    ).first()
    user = session.get(User, link.user_id) if link else None
    created = False
    if user is None:
        email = checked_email(claims.get("email"))
        user = _by_email(session, email)
        if user is not None and organisation_of(user) != organisation:
            raise IdentityRefused(
                f"{email} is an account of another organisation; sign in through its own provider"
            )
        if user is None:
            name = claims.get("name") if isinstance(claims.get("name"), str) else None
            if name is not None and display_name_problem(name):
                name = None  # the provider's own value; the account then shows its address
            user = _new_account(session, organisation, email, role, name, parties)
            created = True
        link = _ensure_identity(session, user, organisation)
        if link.subject and (link.issuer, link.subject) != (issuer, subject):
            raise IdentityRefused(f"{email} is linked to another identity at your organisation's provider")
        link.issuer, link.subject = issuer, subject
    if link.deleted_at is not None or not user.active:
        raise IdentityRefused("this account has been deactivated by your organisation")
    if created:
        _log(session, "account_created", now, f"oidc:{organisation}", user,
             {"role": user.role, "via": "oidc", "issuer": issuer})
    elif user.role != role:  # the provider is the organisation's word on its people's roles
        _log(session, "role_changed", now, f"oidc:{organisation}", user,
             {"from": user.role, "to": role, "via": "oidc"})
        user.role = role
    audit.append(
        session,
        None,
        "signed_in",
        now,
        actor=user.email,
        party=user.party,
        detail={"address": address, "via": "oidc", "issuer": issuer},
    )
    session.flush()
    return user


# -- SCIM tokens -------------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_scim_token(session: Session, organisation: str, actor: str = "cli") -> str:
    """A new SCIM bearer token for `organisation`; only its hash is kept, so show it once."""
    token = "cs_scim_" + secrets.token_urlsafe(32)
    row = ScimToken(organisation=organisation, token_hash=_hash(token), created_at=utcnow())
    session.add(row)
    session.flush()
    audit.append(
        session,
        None,
        "scim_token_created",
        row.created_at,
        actor=actor,
        party=party_of(organisation),
        detail={"token_id": str(row.id), "organisation": organisation},
    )
    return token


def scim_tokens(session: Session) -> list[ScimToken]:
    return list(session.exec(select(ScimToken).order_by(col(ScimToken.id))))


def revoke_scim_token(session: Session, token_id: int, actor: str = "cli") -> ScimToken:
    """Revoke a SCIM token now; revoking a revoked one changes and records nothing."""
    row = session.get(ScimToken, token_id)
    if row is None:
        raise IdentityRefused(f"no SCIM token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.append(session, None, "scim_token_revoked", row.revoked_at, actor=actor,
                     party=party_of(row.organisation),
                     detail={"token_id": str(row.id), "organisation": row.organisation})
        session.flush()
    return row


def scim_organisation(session: Session, token: str) -> str | None:
    """The organisation a live SCIM token speaks for."""
    row = session.exec(
        select(ScimToken).where(ScimToken.token_hash == _hash(token), col(ScimToken.revoked_at).is_(None))
    ).first()
    return row.organisation if row else None


# -- provisioning (SCIM) -----------------------------------------------------------------------------


def accounts_of(session: Session, organisation: str) -> list[tuple[User, ExternalIdentity | None]]:
    """The organisation's accounts (but those it deleted), oldest first."""
    party = party_of(organisation)
    query = (
        select(User, ExternalIdentity)
        .join(ExternalIdentity, col(ExternalIdentity.user_id) == User.id, isouter=True)
        .where(
            col(User.party).is_(None) if party is None else User.party == party,
            col(ExternalIdentity.deleted_at).is_(None),
        )
        .order_by(col(User.id))
    )
    return list(session.exec(query))


def account_of(
    session: Session, organisation: str, user_id: int
) -> tuple[User, ExternalIdentity | None] | None:
    """One of the organisation's accounts; None for another's (as if it did not exist)."""
    user = session.get(User, user_id)
    if user is None or organisation_of(user) != organisation:
        return None
    link = identity_of(session, user)
    if link is not None and link.deleted_at is not None:
        return None
    return user, link


def provision(
    session: Session,
    organisation: str,
    email: str,
    role: str,
    name: str | None,
    active: bool,
    external_id: str | None,
    parties: Collection[str],
) -> User:
    email, name = checked_email(email), checked_name(name)
    if _by_email(session, email) is not None:
        raise AlreadyExists(f"an account for {email} exists already")
    user = _new_account(session, organisation, email, role, name, parties)
    link = _ensure_identity(session, user, organisation)
    link.external_id = external_id
    _log(session, "account_created", utcnow(), f"scim:{organisation}", user, {"role": user.role, "via": "scim"})
    if not active:
        deactivate(session, user, f"scim:{organisation}", "scim")
    session.flush()
    return user


def update(
    session: Session,
    organisation: str,
    user: User,
    email: str,
    role: str,
    name: str | None,
    active: bool,
    external_id: str | None,
) -> User:
    """Replace what SCIM manages of an account; a change to `active` is a (re)activation."""
    email, name = checked_email(email), checked_name(name)
    actor = f"scim:{organisation}"
    if email != user.email:
        if _by_email(session, email) is not None:
            raise AlreadyExists(f"an account for {email} exists already")
        _log(session, "account_renamed", utcnow(), actor, user, {"to": email, "via": "scim"})
        user.email = email
    change_role(session, organisation, user, role)
    user.name = name or user.name
    _ensure_identity(session, user, organisation).external_id = external_id
    if user.active and not active:
        deactivate(session, user, actor, "scim")
    elif active and not user.active:
        user.active = True
        _log(session, "account_reactivated", utcnow(), actor, user, {"via": "scim"})
    session.flush()
    return user


def change_role(session: Session, organisation: str, user: User, role: str | None) -> None:
    """A SCIM group membership change: the role of the group the account is now in, or, out of
    every group of its organisation, no role and so no access (deactivated)."""
    actor = f"scim:{organisation}"
    if role is None:
        if user.active:
            deactivate(session, user, actor, "scim")
    elif role != user.role:
        _log(session, "role_changed", utcnow(), actor, user, {"from": user.role, "to": role, "via": "scim"})
        user.role = role
    session.flush()


def delete(session: Session, organisation: str, user: User) -> None:
    """SCIM DELETE: deactivated and gone from SCIM; kept, since decisions and the log name it."""
    actor = f"scim:{organisation}"
    if user.active:
        deactivate(session, user, actor, "scim")
    _ensure_identity(session, user, organisation).deleted_at = utcnow()
    _log(session, "account_deleted", utcnow(), actor, user, {"via": "scim"})
    session.flush()


def deactivate(session: Session, user: User, actor: str, via: str) -> None:
    """End at once everything `user` could act with: their sessions, API tokens and delegations
    (given or held: work a leaver held for a colleague goes back to the label), on the access chain."""
    now = utcnow()
    user.active = False
    end_sessions(user)
    tokens = session.exec(
        select(ApiToken).where(ApiToken.user_id == user.id, col(ApiToken.revoked_at).is_(None))
    ).all()
    for token in tokens:
        revoke_token(session, token.id, None, via=via, any_owner=True)
    delegations = session.exec(
        select(Delegation).where(
            or_(Delegation.delegator_id == user.id, Delegation.delegate_id == user.id),
            col(Delegation.revoked_at).is_(None),
            Delegation.ends_at > now,
        )
    ).all()
    for delegation in delegations:
        delegation.revoked_at, delegation.revoked_by = now, actor
        delegator, delegate = (
            session.get(User, delegation.delegator_id),
            session.get(User, delegation.delegate_id),
        )
        audit.append(
            session,
            None,
            "delegation_ended",
            now,
            actor=actor,
            party=delegation.party,
            detail={
                "delegation_id": str(delegation.id),
                "delegator": delegator.email,
                "delegate": delegate.email,
                "starts_at": delegation.starts_at.isoformat(),
                "ends_at": delegation.ends_at.isoformat(),
                "reason": "account_deactivated",
                "returned_to": delegation.party,
            },
        )
    _log(session, "account_deactivated", now, actor, user,
         {"via": via, "tokens_revoked": len(tokens), "delegations_ended": len(delegations)})
    session.flush()


def _log(session: Session, kind: str, at: datetime, actor: str, user: User, detail: dict[str, Any]) -> None:
    """An entry about `user`'s account on the access chain, naming the account first."""
    audit.append(session, None, kind, at, actor=actor, party=user.party, detail={"account": user.email, **detail})
