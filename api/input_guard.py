"""Refuses input no database or mail server can take, before any route sees it.

Python's `json` module accepts what JSON (RFC 8259) and I-JSON (RFC 7493)
do not: `NaN` and `Infinity`, unpaired UTF-16 surrogates (`"\\ud800"`), and
integers of any size; PostgreSQL refuses a NUL in text, and SQLite and
PostgreSQL both refuse integers beyond 64 bits. Each of those reached the
database as a 500. This middleware answers them with a short 4xx instead:
for JSON bodies, the query string, the path and urlencoded form bodies; and
a path segment that is an id beyond any row's (MAX_ID) is a 404 for every
route. It also enforces `COUNTERSIGN_MAX_BODY_BYTES` (multipart uploads:
`COUNTERSIGN_MAX_UPLOAD_BYTES`): a larger declared Content-Length is refused
unread, a larger streamed body as soon as it passes the limit. (FastAPI's
own `max_body_size` answers in plain text, overriding any JSON answer, so
the API's `{"detail"}` shape needs this.)
"""

from __future__ import annotations

import json
from email.message import Message as MimeHeader
from html import escape
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DEPTH = 32  # the API's bodies nest three deep; anything near this is not a request
MAX_SAFE_INTEGER = 2**53 - 1  # I-JSON: the integers every JSON reader agrees on
MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns in PostgreSQL; SQLite's are 64-bit


class BadInput(ValueError):
    """Input refused; the message says what, never echoing more than a short excerpt."""


def _no_constants(name: str) -> Any:
    raise BadInput(f"{name} is not a number JSON allows; send a finite number")


def check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise BadInput(f"{where}: text may not contain a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(f"{where}: text contains an unpaired UTF-16 surrogate (\\ud800-\\udfff)") from None


def check_json(raw: bytes) -> None:
    """Raise BadInput for JSON that parses in Python but must not be stored."""
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except BadInput:
        raise
    except RecursionError:  # nesting beyond the parser's stack
        raise BadInput(f"the JSON body nests deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        return  # not JSON at all: FastAPI answers that with its own 422
    stack: list[tuple[Any, str, int]] = [(value, "body", 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadInput(f"the JSON body nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            check_text(item, where)
        elif isinstance(item, bool):
            pass
        elif isinstance(item, int) and abs(item) > MAX_SAFE_INTEGER:
            raise BadInput(f"{where}: the number is out of range (at most {MAX_SAFE_INTEGER})")
        elif isinstance(item, dict):
            for key, child in item.items():
                check_text(key, where)
                stack.append((child, f"{where}.{key[:40]}", depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item))


def check_urlencoded(raw: bytes, where: str) -> None:
    """A query string or form body whose percent-decoded bytes carry a NUL (PostgreSQL refuses it)."""
    decoded = unquote_to_bytes(raw.replace(b"+", b" "))
    if b"\x00" in decoded:
        raise BadInput(f"the {where} may not contain a NUL character (%00)")


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    header = MimeHeader()
    header["content-type"] = content_type
    subtype = header.get_content_subtype()
    return header.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def refusal(scope: Scope, status: int, message: str, where: str | None = None) -> Response:
    """JSON for the API (a 422 in FastAPI's validation-error shape, as documented), a short page elsewhere."""
    if scope["path"].startswith("/api/"):
        if status == 422:
            return JSONResponse({"detail": [{"type": "value_error", "loc": [where or "body"], "msg": message}]},
                                status_code=status)
        return JSONResponse({"detail": message}, status_code=status)
    # Before the session exists (this runs outside it), so no page template: a short page in the site's style.
    title = "Too large" if status == 413 else "Not found" if status == 404 else "Not accepted"
    return HTMLResponse(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} · Countersign</title>'
        f'<link rel="stylesheet" href="/static/style.css"></head><body><main class="container">'
        f'<p class="eyebrow">Error {status}</p><h1>{title}</h1><p class="lede">{escape(message[:1].upper() + message[1:])}.</p>'
        f'<p><a class="button" href="/">Back to the dashboard</a></p>'
        f"</main></body></html>", status_code=status)


class InputGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes or max_body_bytes  # multipart/form-data bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        try:
            where = "query"
            check_urlencoded(scope.get("query_string", b""), "query string")
            where = "path"
            check_text(scope["path"], "the path")
        except BadInput as error:
            return await refusal(scope, 422, str(error), where)(scope, receive, send)
        if any(_number(part) > MAX_ID for part in scope["path"].split("/") if len(part) >= 10):
            # An id no row can have: for every route, this branch's and any added later.
            return await refusal(scope, 404, "there is no such page or record")(scope, receive, send)
        headers = Headers(scope=scope)
        content_type = headers.get("content-type")
        upload = (content_type or "").lower().startswith("multipart/form-data")
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        declared = headers.get("content-length", "")
        if _number(declared) > limit:
            return await refusal(scope, 413, _too_large(limit))(scope, receive, send)
        receive = _bounded(receive, limit)
        form = (content_type or "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded"
        if scope["method"] not in ("POST", "PUT", "PATCH") or not (form or _is_json(content_type)):
            return await self.app(scope, receive, send)
        # Read the whole body (at most `limit` bytes), check it, replay it to the app.
        chunks: list[bytes] = []
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return await self.app(scope, _replay([message]), send)
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except HTTPException as error:  # the body limit: refused before it is parsed
            if error.status_code != 413:
                raise
            return await refusal(scope, 413, _too_large(limit))(scope, receive, send)
        body = b"".join(chunks)
        try:
            if form:
                check_urlencoded(body, "form")
            else:
                check_json(body)
        except BadInput as error:
            return await refusal(scope, 422, str(error))(scope, receive, send)
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)


def _number(text: str) -> int:
    """`text` as a non-negative decimal integer (ASCII digits only), or -1."""
    return int(text) if text.isascii() and text.isdigit() else -1


def _too_large(limit: int) -> str:
    return f"the request body is larger than the {limit} bytes allowed"


def _bounded(receive: Receive, limit: int) -> Receive:
    """`receive`, raising 413 once the body passes `limit` (FastAPI answers it as JSON)."""
    seen = 0

    async def bounded() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, _too_large(limit))
        return message

    return bounded


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive
