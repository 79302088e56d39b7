"""Signing in and out of the pages (sessions; the JSON API uses tokens)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse

from api import csrf
from api.csrf import CsrfProtected
from api.deps import SessionDep
from api.routes.pages import PageRoute
from api.templating import flash, render
from countersign.accounts import authenticate

router = APIRouter(route_class=PageRoute, include_in_schema=False)


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
                                          "email": "", "error": None})


@router.post("/login")
def login(request: Request, session: SessionDep, _: CsrfProtected,
          email: Annotated[str, Form(max_length=254)] = "",
          password: Annotated[str, Form(max_length=1000)] = "",
          next: Annotated[str, Form(max_length=2000)] = "") -> object:
    user = authenticate(session, email, password) if email.strip() and password else None
    if user is None:
        error = ("Enter your e-mail address and password." if not (email.strip() and password)
                 else "That e-mail address and password do not match an active account.")
        return render(request, "login.html", {"page_title": "Sign in", "next": safe_next(next) if next else "",
                                              "email": email, "error": error}, status_code=401)
    session.commit()  # keeps a password hash upgraded by authenticate
    request.session.clear()  # a new session: nothing of the anonymous one carries over
    request.session["user_id"] = user.id
    request.session["epoch"] = user.password_hash[-16:]
    csrf.rotate(request)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", name="logout")
async def logout(request: Request) -> object:
    if "user_id" in request.session:  # signed out already (e.g. expired): nothing to protect
        await csrf.verify(request)
    request.session.clear()
    flash(request, "You have signed out.")
    return RedirectResponse("/login", status_code=303)
