"""CSRF protection for the forms: a synchronizer token kept in the session.

Every page's forms carry the session's token in a hidden `csrf_token` field;
`CsrfProtected` (a dependency of every form route, login included) refuses a
POST whose field does not match, with a 403 page. The session cookie itself
is signed, so a forged request can neither read nor set the token.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request

SESSION_KEY = "csrf_token"
FIELD = "csrf_token"


class CsrfError(Exception):
    """The form's CSRF token is missing or is not this session's."""


def token(request: Request) -> str:
    """This session's token, issued on first use (also for an anonymous session)."""
    value = request.session.get(SESSION_KEY)
    if not value:
        value = request.session[SESSION_KEY] = secrets.token_urlsafe(32)
    return value


def rotate(request: Request) -> str:
    """A fresh token, e.g. for the new session started at sign-in."""
    value = request.session[SESSION_KEY] = secrets.token_urlsafe(32)
    return value


async def verify(request: Request) -> None:
    expected = request.session.get(SESSION_KEY)
    form = await request.form()  # parsed once; FastAPI's Form parameters reuse it
    sent = form.get(FIELD)
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise CsrfError()


CsrfProtected = Annotated[None, Depends(verify)]
