"""Hostile input never reaches the database as a 500: bodies Python's JSON
reader takes but no database or client should (NaN, unpaired surrogates,
NUL, deep nesting, huge numbers, huge bodies), ids beyond the database's
integer range, NUL in paths, queries and forms; error answers quote the
input only in short excerpts. On SQLite and PostgreSQL (api.input_guard)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from api.app import create_app
from tests import factories

BEYOND_INT32 = 2**31
BEYOND_INT64 = 2**63


@pytest.fixture
def engine(any_engine):
    return any_engine


def _short_refusal(response, status: int = 422) -> str:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    assert len(response.content) < 600, "an error answer quotes at most a short excerpt"
    detail = response.json()["detail"]
    assert detail
    return json.dumps(detail)


HOSTILE_BODIES = {
    "NaN": (b'{"decision": "approve", "comment": NaN}', "NaN"),
    "Infinity": (b'{"decision": "approve", "version": -Infinity}', "-Infinity"),
    "huge integer": (b'{"decision": "approve", "version": 123456789012345678901234567890}', "out of range"),
    "lone surrogate": (b'{"decision": "approve", "comment": "ok \\udc00"}', "surrogate"),
    "NUL": (b'{"decision": "approve", "comment": "a\\u0000b"}', "NUL"),
    "NUL in a key": (b'{"decision": "approve", "x\\u0000": 1}', "NUL"),
    "deep arrays": (b"[" * 50_000 + b"]" * 50_000, "nests deeper"),
    "deep objects": (b'{"a":' * 40 + b"1" + b"}" * 40, "nests deeper"),
}


async def test_hostile_json_bodies_get_a_short_4xx_and_store_nothing(api, engine):
    proposal = (await api("lead").post("/api/v1/proposals", json=factories.submission())).json()
    rep = api("sony")
    for name, (body, expect) in HOSTILE_BODIES.items():
        response = await rep.post(f"/api/v1/proposals/{proposal['id']}/decisions", content=body,
                                  headers={"content-type": "application/json"})
        assert expect in _short_refusal(response), name
    # A submit with the same faults in its text fields is refused too, and nothing is stored.
    for text in ("a\x00b", "\ud800"):
        raw = json.dumps(factories.submission() | {"title": f"ok{text}"}).encode()
        response = await api("lead").post("/api/v1/proposals", content=raw, headers={"content-type": "application/json"})
        _short_refusal(response)
    listed = (await api("compliance").get("/api/v1/proposals")).json()
    assert [p["id"] for p in listed] == [proposal["id"]]
    assert all(state["state"] == "pending" for state in listed[0]["parties"].values())


async def test_a_body_above_the_limit_is_refused_before_it_is_read(api, settings):
    limit = settings.max_body_bytes
    rep = api("sony")
    # Declared too large: refused on the header alone.
    response = await rep.post("/api/v1/proposals/1/decisions", content=b'{"comment": "' + b"x" * limit + b'"}',
                              headers={"content-type": "application/json"})
    assert "larger than" in _short_refusal(response, 413)

    # Streamed without a length: refused once it passes the limit.
    async def chunks():
        for _ in range(limit // 1000 + 2):
            yield b" " * 1000

    response = await rep.post("/api/v1/proposals/1/decisions", content=chunks(),
                              headers={"content-type": "application/json"})
    assert "larger than" in _short_refusal(response, 413)


async def test_validation_errors_quote_only_an_excerpt(api):
    secretish = "s" * 20_000
    response = await api("lead").post("/api/v1/proposals", json=factories.submission() | {"title": secretish})
    detail = _short_refusal(response)
    assert secretish[:200] not in detail
    assert "title" in detail


API_GETS = ["/api/v1/proposals/{big}", "/api/v1/proposals/{big}/versions/1", "/api/v1/proposals/1/versions/{big}",
            "/api/v1/proposals/{big}/audit"]
PAGE_GETS = ["/proposals/{big}", "/proposals/{big}/live", "/proposals/1/versions/{big}", "/proposals/{big}/decide",
             "/proposals/{big}/resubmit", "/compliance/proposals/{big}", "/compliance/proposals/{big}/certificate"]
PAGE_POSTS = ["/proposals/{big}/withdraw", "/proposals/{big}/acknowledge", "/proposals/{big}/decide",
              "/tokens/{big}/revoke", "/admin/tokens/{big}/revoke", "/delegations/{big}/end"]


async def test_ids_beyond_the_integer_columns_are_not_found(api, browser):
    pages = await browser("admin@example.com")
    for big in (BEYOND_INT32, BEYOND_INT64, 10**40):
        for path in API_GETS:
            response = await api("compliance").get(path.format(big=big))
            assert response.status_code in (404, 422), (path, response.text)
            assert response.headers["content-type"].startswith("application/json")
        for path in ("/api/v1/tokens/{big}", "/api/v1/delegations/{big}"):
            response = await api("sony").delete(path.format(big=big))
            assert response.status_code in (404, 422), (path, response.text)
        for path in PAGE_GETS:
            response = await pages.get(path.format(big=big))
            assert response.status_code == 404, (path, response.status_code)
        token = await pages.token()
        for path in PAGE_POSTS:
            response = await pages.post(path.format(big=big), {}, token=token)
            assert response.status_code == 404, (path, response.status_code)


async def test_nul_in_path_query_and_forms_is_refused_with_a_message(api, browser):
    assert "NUL" in _short_refusal(await api("lead").get("/api/v1/proposals", params={"stage": "a\x00"}))
    assert "NUL" in _short_refusal(await api("lead").get("/api/v1/proposals/1%00"))
    lead = await browser("lead@example.com")
    response = await lead.post("/new", {"title": "a\x00b", "summary": "x"})
    assert response.status_code == 422 and "NUL" in response.text
    anonymous = await browser()
    response = await anonymous.post("/login", {"email": "x\x00@example.com", "password": "p"})
    assert response.status_code == 422 and "NUL" in response.text


async def test_a_decision_id_reused_for_another_decision_is_a_conflict(api):
    proposal = (await api("lead").post("/api/v1/proposals", json=factories.submission())).json()
    url = f"/api/v1/proposals/{proposal['id']}/decisions"
    decision_id = str(uuid.uuid4())
    body = {"decision": "approve", "comment": "Fine by us.", "decision_id": decision_id}
    first = await api("sony").post(url, json=body)
    assert first.status_code == 201, first.text
    again = await api("sony").post(url, json=body)
    assert again.status_code == 201 and again.json()["parties"] == first.json()["parties"]
    other = await api("sony").post(url, json=body | {"decision": "reject"})
    assert other.status_code == 409 and "another decision" in other.json()["detail"]
    other_party = await api("universal").post(url, json=body)
    assert other_party.status_code == 409


async def test_uploads_have_a_limit_of_their_own(settings):
    """multipart/form-data (file uploads) may be larger than other bodies, up to their own limit."""
    app = create_app(settings.model_copy(update={"max_body_bytes": 2048, "max_upload_bytes": 8192}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        files = {"file": ("a.bin", b"x" * 4096)}
        # (/healthz takes no POST: past the guard, the answer is 405, with no database needed)
        assert (await client.post("/healthz", files=files)).status_code == 405
        assert (await client.post("/api/v1/proposals", content=b"{" + b" " * 4096 + b"}",
                                  headers={"content-type": "application/json"})).status_code == 413
        files = {"file": ("a.bin", b"x" * 10_000)}
        assert "8192 bytes" in _short_refusal(await client.post("/api/v1/proposals", files=files), 413)


async def test_refusals_carry_the_security_headers_and_name_the_json_fault(api):
    refused = await api("lead").get("/proposals/99999999999")
    assert refused.status_code == 404 and refused.headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in refused.headers
    broken = await api("lead").post("/api/v1/proposals", content=b'{"title": ', headers={"content-type": "application/json"})
    assert broken.status_code == 422 and "Expecting value" in broken.json()["detail"][0]["msg"]


async def test_the_first_and_last_days_there_are_filter_the_audit_log(api, browser):
    compliance = api("compliance")
    for query in ("until=9999-12-31", "since=0001-01-01", "since=9999-12-31&until=9999-12-31"):
        assert (await compliance.get(f"/api/v1/audit/export?{query}")).status_code == 200, query
    page = await browser("compliance@example.com")
    assert (await page.get("/compliance/export.csv?until=9999-12-31")).status_code == 200
