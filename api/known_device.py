"""Known devices: browsers an account has signed in from before.

A signed, HTTP-only cookie lists (hashes of) the accounts that signed in
from this browser. When failures from many addresses hold an account
(countersign.storage.throttle.MAX_PER_ACCOUNT_ANYWHERE), a known device may
still try its password, so the rep at their own desk is not locked out by
someone else's guessing.
"""

from __future__ import annotations

import hashlib

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "countersign_device"
MAX_AGE = 180 * 24 * 3600
MAX_ACCOUNTS = 5  # a shared browser remembers its last few accounts


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.session_secret, salt="countersign-known-device")


def _mark(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:16]


def _known(request: Request) -> list[str]:
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 1000:
        return []
    try:
        marks = _serializer(request).loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return []
    return [m for m in marks if isinstance(m, str)] if isinstance(marks, list) else []


def knows(request: Request, email: str) -> bool:
    return _mark(email) in _known(request)


def remember(request: Request, response: Response, email: str) -> None:
    marks = [m for m in _known(request) if m != _mark(email)]
    marks = [_mark(email), *marks][:MAX_ACCOUNTS]
    response.set_cookie(COOKIE, _serializer(request).dumps(marks), max_age=MAX_AGE, httponly=True, samesite="lax",
                        secure=request.app.state.settings.base_url.startswith("https://"))
