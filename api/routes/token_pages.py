"""API token pages: every signed-in user lists, creates and revokes their own
tokens; admins also see every account's and revoke any. The changes go through
countersign.storage.accounts, as the JSON API's and the CLI's do, so each is on the
audit log's access chain (with via="web").

A new token's secret is shown once, in the answer to the POST that creates it
(a page that is not cached); it is never stored, flashed or put in a URL.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse

from api.csrf import CsrfProtected
from api.deps import SessionDep, WriteSessionDep
from api.errors import status_for
from api.routes.pages import PageRoute, Viewer, sentence
from api.templating import flash, render
from countersign.domain.access import Action, can, require
from countersign.domain.dates import NotADay, parse_day
from countersign.domain.errors import DomainError
from countersign.storage.accounts import AccountError, create_token_row, revoke_token, tokens_of
from countersign.storage.tables import ApiToken, User, utcnow

NAME_MAX = 100  # as the JSON API's TokenCreate
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _page(request: Request, session, user: User, error: str | None = None, status_code: int = 200,
          values: dict | None = None, created: tuple[ApiToken, str] | None = None):
    is_admin = can(user, Action.MANAGE_ACCOUNTS)
    return render(request, "tokens/list.html", {
        "page_title": "API tokens",
        "own": [row for row, _ in tokens_of(session, user.id)],
        "everyone": tokens_of(session) if is_admin else [],
        "is_admin": is_admin,
        "error": error,
        "values": values or {"name": "", "expires_on": ""},
        "now": utcnow(),
        "created": created,
    }, status_code=status_code, user=user)


def _name(name: str) -> str | None:
    name = name.strip()
    if len(name) > NAME_MAX:
        raise AccountError(f"give the token a name of at most {NAME_MAX} characters (this one has {len(name)})")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise AccountError("give the token a name without control characters")
    return name or None


def _end_of(day: str) -> datetime | None:
    """The end (UTC) of the day the form names, or None when left empty."""
    if not day.strip():
        return None
    try:
        return datetime.combine(parse_day(day), time(23, 59, 59), UTC)
    except NotADay as error:
        raise AccountError(f"the expiry: {error}, or leave it empty") from None


@router.get("/tokens", name="tokens")
def token_list(request: Request, user: Viewer, session: SessionDep) -> object:
    return _page(request, session, user)


@router.post("/tokens")
def create(request: Request, user: Viewer, _: CsrfProtected, session: WriteSessionDep,
           name: Annotated[str, Form(max_length=1000)] = "",
           expires_on: Annotated[str, Form(max_length=20)] = "",
           scopes: Annotated[list[str], Form()] = []) -> object:  # noqa: B006 (FastAPI copies it)
    try:
        row, secret = create_token_row(session, user.email, _name(name), actor=user.email, via="web",
                                       expires_at=_end_of(expires_on), scopes=scopes)
    except DomainError as error:
        session.rollback()
        return _page(request, session, user, sentence(str(error)), status_for(error),
                     {"name": name, "expires_on": expires_on, "scopes": scopes})
    session.commit()
    # No redirect: the secret is in this answer only (render() marks it no-store).
    return _page(request, session, user, created=(row, secret))


@router.post("/tokens/{token_id}/revoke", name="revoke_token")
def revoke(request: Request, token_id: TokenId, user: Viewer, _: CsrfProtected, session: WriteSessionDep) -> object:
    row = revoke_token(session, token_id, user, via="web")  # another's token is NotFound: a 404 page
    session.commit()
    flash(request, f"{_label(row)} is revoked: programs that use it are now refused.")
    return RedirectResponse("/tokens", status_code=303)


@router.post("/admin/tokens/{token_id}/revoke", name="revoke_any_token")
def revoke_any(request: Request, token_id: TokenId, user: Viewer, _: CsrfProtected, session: WriteSessionDep) -> object:
    require(user, Action.MANAGE_ACCOUNTS)
    row = revoke_token(session, token_id, user, via="web", any_owner=True)
    session.commit()
    owner = session.get(User, row.user_id)
    flash(request, f"{_label(row)} of {owner.email if owner else 'a deleted account'} is revoked: "
                   "programs that use it are now refused.")
    return RedirectResponse("/tokens", status_code=303)


def _label(row: ApiToken) -> str:
    return f"The token “{row.name}”" if row.name else f"Token {row.id}"
