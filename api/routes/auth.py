"""Signing in and out of the pages (sessions; the JSON API uses tokens).

Every sign-in, failed sign-in and sign-out is recorded on the audit log's
access chain in the transaction that makes it. Failed sign-ins are
throttled per account and per client address (countersign.storage.throttle); a
sign-out ends every session of the account (a per-user session epoch).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api import csrf, known_device
from api.csrf import CsrfProtected
from api.deps import SessionDep, WriteSessionDep
from api.oidc import sign_in_choices
from api.routes.pages import PageRoute
from api.templating import flash, render
from countersign.domain import addresses
from countersign.storage import audit, throttle
from countersign.storage.accounts import authenticate, end_sessions, session_epoch
from countersign.storage.db import transaction
from countersign.storage.tables import User, utcnow

router = APIRouter(route_class=PageRoute, include_in_schema=False)
NOT_AN_ADDRESS = "(not an e-mail address)"  # stored for a failed sign-in whose e-mail did not parse


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else the dashboard: no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/"  # browsers read "/\evil" as "//evil"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


@router.get("/login", name="login")
def login_form(request: Request, next: Annotated[str, Query(max_length=2000)] = "") -> object:
    return render(request, "login.html", {"page_title": "Sign in", "next": safe_next(next) if next else "",
                                          "email": "", "error": None,
                                          "providers": sign_in_choices(request.app.state.policy)})


@router.post("/login")
def login(request: Request, session: SessionDep, _: CsrfProtected,
          email: Annotated[str, Form(max_length=254)] = "",
          password: Annotated[str, Form(max_length=1000)] = "",
          next: Annotated[str, Form(max_length=2000)] = "") -> object:
    def again(error: str, status_code: int, headers: dict | None = None):
        response = render(request, "login.html", {"page_title": "Sign in", "next": safe_next(next) if next else "",
                                                  "email": email, "error": error,
                                                  "providers": sign_in_choices(request.app.state.policy)},
                      status_code=status_code)
        response.headers.update(headers or {})
        return response

    if not (email.strip() and password):
        return again("Enter your e-mail address and password.", 401)
    address = client_address(request)
    # What an anonymous visitor typed is stored (throttle, audit) only as a
    # valid address, or as a fixed placeholder: bounded and never free text.
    valid = addresses.is_valid(email)
    normalized = addresses.normalize(email) if valid else NOT_AN_ADDRESS
    now = utcnow()
    # Reads (and the password's hashing) with `session`; what a sign-in records, in a write
    # transaction after them, which holds SQLite's write lock only as long as it writes.
    engine = session.get_bind()
    try:
        throttle.check(session, normalized, address, now, known_device=known_device.knows(request, normalized))
    except throttle.Throttled as refused:
        with transaction(engine) as write:
            audit.append(write, None, "sign_in_failed", now, actor=normalized,
                         detail={"address": address, "reason": "throttled"})
        return again(f"Too many failed sign-ins. Try again after {refused.retry_at:%H:%M} UTC "
                     f"(in {throttle.minutes_until(refused.retry_at, now)} minutes).", 429,
                     {"Retry-After": str(refused.seconds(now))})
    user = authenticate(session, normalized, password) if valid else None
    if user is None:
        with transaction(engine) as write:
            throttle.record_failure(write, normalized, address, now)
            audit.append(write, None, "sign_in_failed", now, actor=normalized,
                         detail={"address": address, "reason": "bad_credentials"})
        return again("That e-mail address and password do not match an active account.", 401)
    with transaction(engine) as write:
        write.merge(user)  # with its password hash, if authenticate upgraded it
        throttle.clear(write, normalized)
        audit.append(write, None, "signed_in", now, actor=user.email, party=user.party,
                     detail={"address": address})
    request.session.clear()  # a new session: nothing of the anonymous one carries over
    request.session["user_id"] = user.id
    request.session["epoch"] = session_epoch(user)
    csrf.rotate(request)
    response = RedirectResponse(safe_next(next), status_code=303)
    known_device.remember(request, response, user.email)
    return response


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/logout", name="logout")
async def logout(request: Request, session: WriteSessionDep) -> object:
    user_id = request.session.get("user_id")
    if user_id is not None:  # signed out already (e.g. expired): nothing to protect
        await csrf.verify(request)  # async: it reads the form
        await run_in_threadpool(_sign_out, request, session, user_id)  # the database in a thread (api.commands)
    request.session.clear()
    flash(request, "You have signed out.")
    return RedirectResponse("/login", status_code=303)


def _sign_out(request: Request, session: Session, user_id: int) -> None:
    user = session.get(User, user_id)
    if user is not None and request.session.get("epoch") == session_epoch(user):
        end_sessions(user)  # a copy of this session's cookie is of no use any more
        audit.append(session, None, "signed_out", utcnow(), actor=user.email, party=user.party,
                     detail={"address": client_address(request)})
        session.commit()
