"""JSON API: the caller's own API tokens, and every token for admins.

A token's secret is returned once, by the call that creates it; only its
SHA-256 is stored. Creation and revocation are recorded on the audit log's
access chain (countersign.storage.accounts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlmodel import select

from api.deps import ApiUser, SessionDep, WriteSessionDep
from api.errors import ERROR_RESPONSES
from api.text_types import NO_NUL, IsoAwareDatetime
from countersign.domain.access import Action, require
from countersign.storage.accounts import create_token_row, revoke_token, tokens_of
from countersign.storage.tables import ApiToken, User

TokenId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The token's id")]


class TokenOut(BaseModel):
    id: int
    owner: str
    name: str | None
    scope: str | None = None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    scopes: list[str]  # "decide": may decide (docs/signatures.md); "grants:check": that call alone
    expires_at: datetime | None = None  # none: until revoked


class TokenCreated(TokenOut):
    token: str  # the secret: shown this once, never again


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=r"^[^\x00]*$")] | None = None
    expires_at: IsoAwareDatetime | None = None  # when it stops working; none: when revoked
    # "decide": the token may decide for its owner's party; "grants:check": that call and nothing else.
    scopes: Annotated[list[Literal["decide", "grants:check"]], Field(max_length=1)] = []  # noqa: RUF012


def token_out(row: ApiToken, owner: User) -> TokenOut:
    return TokenOut(id=row.id, owner=owner.email, name=row.name, created_at=row.created_at,
                    last_used_at=row.last_used_at, revoked_at=row.revoked_at, expires_at=row.expires_at,
                    scopes=list(row.scopes or []))


router = APIRouter(prefix="/tokens", tags=["tokens"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[TokenOut])
def list_own_tokens(user: ApiUser, session: SessionDep) -> list[TokenOut]:
    """The caller's tokens, revoked ones included (never their secrets)."""
    return [token_out(row, owner) for row, owner in tokens_of(session, user.id)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
def create_own_token(user: ApiUser, session: WriteSessionDep, body: TokenCreate | None = None) -> TokenCreated:
    """A new token for the caller; the answer carries its secret, once."""
    row, secret = create_token_row(session, user.email, body.name if body else None, actor=user.email, via="api",
                                   expires_at=body.expires_at if body else None,
                                   scopes=body.scopes if body else ())
    session.commit()
    return TokenCreated(**token_out(row, user).model_dump(), token=secret)


@router.delete("/{token_id}", response_model=TokenOut)
def revoke_own_token(token_id: TokenId, user: ApiUser, session: WriteSessionDep) -> TokenOut:
    """Revoke one of the caller's tokens (another's is 404). Revoking twice changes nothing."""
    row = revoke_token(session, token_id, user, via="api")
    session.commit()
    return token_out(row, user)


admin_router = APIRouter(prefix="/admin/tokens", tags=["admin"], responses=ERROR_RESPONSES)


@admin_router.get("", response_model=list[TokenOut])
def list_all_tokens(user: ApiUser, session: SessionDep,
                    email: Annotated[str | None, Query(max_length=254, pattern=NO_NUL)] = None) -> list[TokenOut]:
    """Every account's tokens (admins), or one account's with `email`."""
    require(user, Action.MANAGE_ACCOUNTS)
    owner_id = None
    if email:
        owner = session.exec(select(User).where(User.email == email.strip().lower())).first()
        if owner is None:
            return []
        owner_id = owner.id
    return [token_out(row, owner) for row, owner in tokens_of(session, owner_id)]


@admin_router.delete("/{token_id}", response_model=TokenOut)
def revoke_any_token(token_id: TokenId, user: ApiUser, session: WriteSessionDep) -> TokenOut:
    """Revoke anyone's token (admins)."""
    require(user, Action.MANAGE_ACCOUNTS)
    row = revoke_token(session, token_id, user, via="api", any_owner=True)
    session.commit()
    return token_out(row, session.get(User, row.user_id))
