"""Every route of the app, for every role, against one proposal in a known
state: the answer is the one this table says (allowed, a sign-in demand,
403, or 404 where the proposal's existence is private).

The table must name every route the app serves (JSON API, pages, docs,
static files): a route added without a row fails `test_every_route_has_a_row`,
so the table stays complete. Rows run in order, so that the calls which
change things (a decision, a withdrawal, signing out) come after the ones
that need the proposal as it was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from countersign.domain.links import LinkSigner
from tests import factories
from tests.web_client import Browser

ROLES = ("owner", "other_lead", "touched_rep", "untouched_rep", "compliance", "admin", "anonymous")
# Within a row, roles that should be refused go first, so that an allowed call
# that changes the proposal (the owner withdrawing it) comes after them.
RUN_ORDER = ("anonymous", "untouched_rep", "other_lead", "compliance", "admin", "touched_rep", "owner")
IN_A_MONTH = (datetime.now(UTC) + timedelta(days=30)).isoformat()
LOGIN = "login"  # a page's answer to someone not signed in: 303 to /login
P = "{proposal_id}"


def row(*answers) -> dict[str, Any]:
    assert len(answers) == len(ROLES)
    return dict(zip(ROLES, answers))


def everyone(answer) -> dict[str, Any]:
    return row(*[answer] * len(ROLES))


@dataclass
class Case:
    method: str
    path: str  # as the app declares it
    expect: dict[str, Any]
    url: str | None = None  # what to request, when it differs from the path
    json: Any = None
    form: dict[str, Any] | None = None
    listed: bool = False  # the answer lists proposals: check the proposal is listed iff it is visible
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


# owner, other lead, rep of a touched party, rep of an untouched party, compliance, admin, anonymous
READ = row(200, 404, 200, 404, 200, 200, LOGIN)
API_READ = row(200, 404, 200, 404, 200, 200, 401)
OWNER_ONLY_PAGE = row(409, 404, 403, 404, 403, 403, LOGIN)  # the owner may, but not in this state
OWNER_ONLY_API = row(409, 404, 403, 404, 403, 403, 401)


def proposal_form() -> dict[str, Any]:
    body = factories.submission(parties=["sony", "warner"])
    fields = {key: body[key] for key in ("title", "summary", "capability", "data_sources", "launch_scope")}
    fields["parties"] = body["parties"]
    fields["requested_decision_date"] = ""
    fields.update({f"checklist.{key}": value for key, value in body["checklist"].items()})
    return fields


CASES = [
    # -- public: docs, static files, the login form
    Case("GET", "/openapi.json", everyone(200)),
    Case("GET", "/docs", everyone(200)),
    Case("GET", "/docs/oauth2-redirect", everyone(200)),
    Case("GET", "/redoc", everyone(200)),
    Case("GET", "/static", everyone(200), url="/static/style.css"),
    Case("GET", "/login", everyone(200)),
    # Signing in with a wrong password fails the same for everyone, signed in or not.
    Case("POST", "/login", everyone(401), form={"email": "nobody.{who}@example.com", "password": "not the password"}),
    # -- pages
    Case("GET", "/", row(200, 200, 200, 200, 200, 200, LOGIN), listed=True),
    Case("GET", "/live/dashboard", row(200, 200, 200, 200, 200, 200, LOGIN)),
    Case("GET", "/inbox", row(403, 403, 200, 200, 403, 403, LOGIN)),
    Case("GET", "/live/inbox", row(403, 403, 200, 200, 403, 403, LOGIN)),
    Case("GET", "/compliance/charts", row(403, 403, 403, 403, 200, 200, LOGIN)),
    Case("GET", "/admin/outbox", row(403, 403, 403, 403, 403, 200, LOGIN)),
    Case("GET", "/admin/health", row(403, 403, 403, 403, 403, 200, LOGIN)),
    # Probes, for load balancers: no sign-in. /readyz is 503 here: the time-skipping test
    # server cannot say whether a worker polls (tests/api/test_health.py checks it on the dev server).
    Case("GET", "/healthz", everyone(200)),
    Case("GET", "/readyz", everyone(503)),
    Case("GET", "/proposals/new", row(200, 200, 403, 403, 403, 403, LOGIN)),
    # An empty form: a lead gets past the role check to the form's own errors.
    Case("POST", "/proposals/new", row(422, 422, 403, 403, 403, 403, LOGIN), form={}),
    Case("POST", "/proposals/new/preview", row(422, 422, 403, 403, 403, 403, LOGIN), form={}),
    # The proposal is in review: no grants or obligations yet (409 where the caller could act on them).
    Case("POST", f"/proposals/{P}/grants/{{party}}/{{action}}", row(403, 404, 409, 404, 403, 403, LOGIN),
         url=f"/proposals/{P}/grants/sony/suspend", form={"reason": "matrix"}),
    Case("POST", f"/proposals/{P}/obligations/{{number}}/evidence", row(409, 404, 403, 404, 403, 403, LOGIN),
         url=f"/proposals/{P}/obligations/1/evidence", form={"text": "matrix"}),
    Case("POST", f"/proposals/{P}/obligations/{{number}}/{{verdict}}", row(404, 404, 404, 404, 404, 404, LOGIN),
         url=f"/proposals/{P}/obligations/1/accept", form={}),
    Case("GET", f"/proposals/{P}", READ),
    Case("GET", f"/proposals/{P}/live", READ),
    Case("GET", f"/proposals/{P}/versions/{{number}}", READ, url=f"/proposals/{P}/versions/1"),
    Case("GET", f"/proposals/{P}/decide", row(403, 404, 200, 404, 403, 403, LOGIN)),
    Case("GET", f"/proposals/{P}/resubmit", OWNER_ONLY_PAGE),
    Case("POST", f"/proposals/{P}/resubmit", OWNER_ONLY_PAGE, form=proposal_form()),
    Case("POST", f"/proposals/{P}/acknowledge", OWNER_ONLY_PAGE, form={}),
    # A decision link naming the proposal and the touched rep's party
    Case("GET", "/links/{token}", row(403, 403, 200, 403, 403, 403, LOGIN)),
    # -- JSON API
    Case("POST", "/api/v1/proposals", row(201, 201, 403, 403, 403, 403, 401),
         json=factories.submission(parties=["merlin"])),
    Case("GET", "/api/v1/proposals", row(200, 200, 200, 200, 200, 200, 401), listed=True),
    Case("GET", "/api/v1/proposals/{proposal_id:int}", API_READ, url=f"/api/v1/proposals/{P}"),
    # -- risk and grants (the proposal is in review: no grants yet)
    Case("POST", "/api/v1/proposals/preview", row(200, 200, 403, 403, 403, 403, 401),
         json=factories.submission(parties=["sony", "warner"])),
    Case("GET", "/api/v1/grants/check", row(200, 200, 200, 200, 200, 200, 401),
         url=f"/api/v1/grants/check?proposal={P}&party=sony&scope=pilot"),
    *[Case("POST", f"/api/v1/proposals/{P}/grants/{{party}}/{action}", row(403, 404, 409, 404, 403, 403, 401),
           url=f"/api/v1/proposals/{P}/grants/sony/{action}", json={"reason": "matrix"})
      for action in ("suspend", "resume", "revoke")],
    Case("POST", f"/api/v1/proposals/{P}/obligations/{{number}}/evidence", row(409, 404, 403, 404, 403, 403, 401),
         url=f"/api/v1/proposals/{P}/obligations/1/evidence", json={"text": "matrix"}),
    Case("POST", f"/api/v1/proposals/{P}/obligations/{{number}}/evidence/file",
         row(409, 404, 403, 404, 403, 403, 401), url=f"/api/v1/proposals/{P}/obligations/1/evidence/file",
         extra={"files": {"file": ("evidence.txt", b"matrix\n", "text/plain")}}),
    Case("POST", f"/api/v1/proposals/{P}/obligations/{{number}}/{{verdict}}", row(404, 404, 404, 404, 404, 404, 401),
         url=f"/api/v1/proposals/{P}/obligations/1/accept", json={}),
    Case("GET", f"/api/v1/proposals/{P}/versions/{{number}}", API_READ,
         url=f"/api/v1/proposals/{P}/versions/1"),
    Case("GET", "/api/v1/inbox", row(403, 403, 200, 200, 403, 403, 401)),
    Case("POST", f"/api/v1/proposals/{P}/resubmit", OWNER_ONLY_API,
         json=factories.submission(parties=["sony", "warner"])),
    Case("POST", f"/api/v1/proposals/{P}/acknowledge", OWNER_ONLY_API),
    # -- messages and files (issue 21): the proposal's writers post; admins alone redact
    Case("POST", f"/api/v1/proposals/{P}/messages", row(201, 404, 201, 404, 403, 403, 401), json={"text": "matrix"}),
    Case("GET", f"/api/v1/proposals/{P}/messages", API_READ),
    Case("POST", f"/proposals/{P}/messages", row(303, 404, 303, 404, 403, 403, LOGIN), form={"text": "matrix page"}),
    Case("GET", f"/proposals/{P}/thread", READ),
    Case("POST", f"/proposals/{P}/files", row(422, 404, 403, 404, 403, 403, LOGIN), form={}),  # no file chosen
    Case("POST", f"/api/v1/proposals/{P}/messages/{{message_id}}/redact", row(403, 404, 403, 404, 403, 200, 401),
         json={"reason": "matrix"}),
    Case("POST", f"/api/v1/proposals/{P}/files", row(201, 404, 403, 404, 403, 403, 401),
         extra={"files": {"file": ("matrix.txt", b"matrix\n", "text/plain")}}),
    Case("GET", f"/api/v1/proposals/{P}/files", API_READ),
    Case("GET", f"/api/v1/proposals/{P}/files/{{file_id}}", API_READ),
    Case("GET", f"/proposals/{P}/files/{{file_id}}", READ),
    Case("POST", f"/api/v1/proposals/{P}/files/{{file_id}}/redact", row(403, 404, 403, 404, 403, 200, 401),
         json={"reason": "matrix"}),
    # -- compliance (audit trail, exports, timeline): compliance and admins only
    Case("GET", f"/api/v1/proposals/{P}/audit", row(403, 404, 403, 404, 200, 200, 401)),
    Case("GET", "/api/v1/audit/export", row(403, 403, 403, 403, 200, 200, 401)),
    Case("GET", "/compliance", row(403, 403, 403, 403, 200, 200, LOGIN)),
    Case("GET", "/compliance/export.{fmt}", row(403, 403, 403, 403, 200, 200, LOGIN), url="/compliance/export.csv"),
    Case("GET", f"/compliance/proposals/{P}", row(403, 404, 403, 404, 200, 200, LOGIN)),
    # -- API tokens: everyone manages their own; `{token_id}` is a spare token of the owner's
    Case("GET", "/api/v1/tokens", row(200, 200, 200, 200, 200, 200, 401)),
    Case("POST", "/api/v1/tokens", row(201, 201, 201, 201, 201, 201, 401), json={"name": "matrix"}),
    Case("DELETE", "/api/v1/tokens/{token_id}", row(200, 404, 404, 404, 404, 404, 401)),
    Case("GET", "/api/v1/admin/tokens", row(403, 403, 403, 403, 403, 200, 401)),
    Case("DELETE", "/api/v1/admin/tokens/{token_id}", row(403, 403, 403, 403, 403, 200, 401)),
    # The pages: `{page_token_id}` and `{admin_page_token_id}` are more spare tokens of the owner's
    Case("GET", "/tokens", row(200, 200, 200, 200, 200, 200, LOGIN)),
    Case("POST", "/tokens", row(200, 200, 200, 200, 200, 200, LOGIN), form={"name": "matrix"}),
    Case("POST", "/tokens/{token_id}/revoke", row(303, 404, 404, 404, 404, 404, LOGIN), form={},
         url="/tokens/{page_token_id}/revoke"),
    Case("POST", "/admin/tokens/{token_id}/revoke", row(403, 403, 403, 403, 403, 303, LOGIN), form={},
         url="/admin/tokens/{admin_page_token_id}/revoke"),
    # -- delegations: `{delegation_id}` is the touched rep's, to a colleague of the same label
    Case("GET", "/api/v1/delegations", row(200, 200, 200, 200, 200, 200, 401)),
    Case("POST", "/api/v1/delegations", row(403, 403, 201, 422, 403, 403, 401),
         json={"delegate": "colleague.sony@example.com", "ends_at": IN_A_MONTH}),
    Case("POST", "/api/v1/delegations/{delegation_id}/reassign", row(403, 403, 403, 403, 403, 200, 401),
         json={"delegate": "colleague.sony@example.com"}),
    Case("DELETE", "/api/v1/delegations/{delegation_id}", row(404, 404, 200, 404, 404, 200, 401)),
    Case("GET", "/delegations", row(200, 200, 200, 200, 200, 200, LOGIN)),
    Case("POST", "/delegations", row(403, 403, 303, 422, 403, 403, LOGIN),
         form={"delegate": "colleague.sony@example.com", "ends_on": IN_A_MONTH[:10]}),
    Case("POST", "/delegations/{delegation_id}/reassign", row(403, 403, 403, 403, 403, 303, LOGIN),
         url="/delegations/{page_delegation_id}/reassign", form={"delegate": "colleague.sony@example.com"}),
    Case("POST", "/delegations/{delegation_id}/end", row(404, 404, 303, 404, 404, 303, LOGIN), form={},
         url="/delegations/{page_delegation_id}/end"),
    # -- checkpoints of the audit log: any signed-in user reads (none is signed here: 404, and
    # proofs over an empty tree: 422); a party's reps and the platform's admins witness
    Case("GET", "/api/v1/checkpoints/latest", row(404, 404, 404, 404, 404, 404, 401)),
    Case("GET", "/api/v1/checkpoints/{size}", row(404, 404, 404, 404, 404, 404, 401), url="/api/v1/checkpoints/1"),
    Case("GET", "/api/v1/checkpoints/key", row(200, 200, 200, 200, 200, 200, 401)),
    Case("GET", "/api/v1/checkpoints/proof/consistency", row(404, 404, 404, 404, 404, 404, 401),
         url="/api/v1/checkpoints/proof/consistency?from=1&to=2"),
    Case("GET", "/api/v1/checkpoints/proof/inclusion", row(404, 404, 404, 404, 404, 404, 401),
         url="/api/v1/checkpoints/proof/inclusion?size=1&hash=" + "0" * 64),
    Case("GET", "/api/v1/checkpoints/witnesses", row(200, 200, 200, 200, 200, 200, 401)),
    Case("POST", "/api/v1/checkpoints/witnesses", row(403, 403, 422, 422, 403, 422, 401),
         json={"public_key": "not a key"}),
    Case("POST", "/api/v1/checkpoints/{size}/cosignatures", row(403, 403, 404, 404, 403, 404, 401),
         url="/api/v1/checkpoints/1/cosignatures", json={"key_id": "0" * 16, "signature": "AA=="}),
    Case("GET", "/checkpoints", row(200, 200, 200, 200, 200, 200, LOGIN)),
    # The touched rep decides through the API; the same form posted next finds it decided (409).
    Case("POST", f"/api/v1/proposals/{P}/decisions", row(403, 404, 201, 404, 403, 403, 401),
         json={"decision": "approve", "comment": "fine"}),
    Case("POST", f"/proposals/{P}/decide", row(403, 404, 409, 404, 403, 403, LOGIN),
         form={"decision": "approve", "comment": "fine", "version": "1", "password": factories.PASSWORD}),
    # The owner withdraws through the API; the page's button then finds it withdrawn (409).
    Case("POST", f"/api/v1/proposals/{P}/withdraw", row(200, 404, 403, 404, 403, 403, 401),
         json={"reason": "no longer needed"}),
    Case("POST", f"/proposals/{P}/withdraw", OWNER_ONLY_PAGE, form={"reason": "again"}),
    # A certificate of completion, once the proposal has concluded (withdrawn, above)
    Case("GET", f"/compliance/proposals/{P}/certificate", row(403, 404, 403, 404, 200, 200, LOGIN)),
    Case("GET", f"/proposals/{P}/certificate.pdf", row(403, 404, 403, 404, 200, 200, LOGIN)),
    # -- organisations' identity (docs/identity.md): this policy configures no provider, and a
    # person's session or API token is no organisation's SCIM token
    Case("GET", "/login/oidc/{organisation}", everyone(404), url="/login/oidc/sony"),
    Case("GET", "/login/oidc/{organisation}/callback", everyone(404),
         url="/login/oidc/sony/callback?code=c&state=s"),
    Case("GET", "/login/oidc/reauth", row(404, 404, 404, 404, 404, 404, LOGIN)),
    Case("GET", "/scim/v2/ServiceProviderConfig", everyone(401)),
    Case("GET", "/scim/v2/Users", everyone(401)),
    Case("POST", "/scim/v2/Users", everyone(401), json={"userName": "new.{who}@example.com"}),
    Case("GET", "/scim/v2/Users/{user_id}", everyone(401), url="/scim/v2/Users/1"),
    Case("PUT", "/scim/v2/Users/{user_id}", everyone(401), url="/scim/v2/Users/1",
         json={"userName": "x@example.com"}),
    Case("PATCH", "/scim/v2/Users/{user_id}", everyone(401), url="/scim/v2/Users/1", json={"Operations": []}),
    Case("DELETE", "/scim/v2/Users/{user_id}", everyone(401), url="/scim/v2/Users/1"),
    Case("GET", "/scim/v2/Groups", everyone(401)),
    Case("GET", "/scim/v2/Groups/{group_id}", everyone(401), url="/scim/v2/Groups/rep"),
    Case("PATCH", "/scim/v2/Groups/{group_id}", everyone(401), url="/scim/v2/Groups/rep", json={"Operations": []}),
    Case("PUT", "/scim/v2/Groups/{group_id}", everyone(401), url="/scim/v2/Groups/rep", json={"displayName": "rep"}),
    # -- webhooks (docs/webhooks.md): admins, and a party's admins for their own party
    # (tests/webhooks/test_webhooks_api.py); `{webhook_id}` and `{page_webhook_id}` are the admin's, for an
    # event this proposal never sends, so nothing is delivered; `{delivery_id}` is no delivery.
    Case("POST", "/api/v1/webhooks", row(403, 403, 403, 403, 403, 201, 401),
         json={"url": "https://hooks.example/matrix", "events": ["grant.revoked"]}),
    Case("GET", "/api/v1/webhooks", row(403, 403, 403, 403, 403, 200, 401)),
    Case("GET", "/api/v1/webhooks/{webhook_id}", row(403, 403, 403, 403, 403, 200, 401)),
    Case("GET", "/api/v1/webhooks/{webhook_id}/deliveries", row(403, 403, 403, 403, 403, 200, 401)),
    Case("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
         row(403, 403, 403, 403, 403, 404, 401)),
    Case("POST", "/api/v1/webhooks/{webhook_id}/resume", row(403, 403, 403, 403, 403, 200, 401)),
    Case("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret", row(403, 403, 403, 403, 403, 200, 401)),
    Case("POST", "/api/v1/webhooks/{webhook_id}/pause", row(403, 403, 403, 403, 403, 200, 401)),
    Case("POST", "/api/v1/webhooks/{webhook_id}/test", row(403, 403, 403, 403, 403, 202, 401)),
    Case("DELETE", "/api/v1/webhooks/{webhook_id}", row(403, 403, 403, 403, 403, 200, 401)),
    Case("GET", "/webhooks", row(403, 403, 403, 403, 403, 200, LOGIN)),
    Case("POST", "/webhooks", row(403, 403, 403, 403, 403, 422, LOGIN), form={}),
    Case("GET", "/webhooks/{webhook_id}", row(403, 403, 403, 403, 403, 200, LOGIN), url="/webhooks/{page_webhook_id}"),
    Case("POST", "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", row(403, 403, 403, 403, 403, 404, LOGIN),
         form={}, url="/webhooks/{page_webhook_id}/deliveries/{delivery_id}/redeliver"),
    Case("POST", "/webhooks/{webhook_id}/resume", row(403, 403, 403, 403, 403, 303, LOGIN), form={},
         url="/webhooks/{page_webhook_id}/resume"),
    Case("POST", "/webhooks/{webhook_id}/rotate-secret", row(403, 403, 403, 403, 403, 200, LOGIN), form={},
         url="/webhooks/{page_webhook_id}/rotate-secret"),
    Case("POST", "/webhooks/{webhook_id}/pause", row(403, 403, 403, 403, 403, 303, LOGIN), form={},
         url="/webhooks/{page_webhook_id}/pause"),
    Case("POST", "/webhooks/{webhook_id}/test", row(403, 403, 403, 403, 403, 303, LOGIN), form={},
         url="/webhooks/{page_webhook_id}/test"),
    Case("POST", "/webhooks/{webhook_id}/delete", row(403, 403, 403, 403, 403, 303, LOGIN), form={},
         url="/webhooks/{page_webhook_id}/delete"),
    # Last: signing out ends every session.
    Case("POST", "/logout", everyone(LOGIN), form={}),
]


def app_routes(app) -> set[str]:
    """'METHOD path' for every route the app serves (HEAD goes with GET)."""
    found = set()
    routes = []
    for route in app.routes:  # FastAPI keeps an included router as one entry: open it up
        routes.extend(route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route])
    for route in routes:
        if isinstance(route, Mount):
            found.add(f"GET {route.path}")
        elif isinstance(route, APIRoute | Route) or hasattr(route, "original_route"):
            for method in route.methods or ():
                if method != "HEAD":
                    found.add(f"{method} {route.path}")
        else:
            raise AssertionError(f"a route of a kind the matrix does not know: {route!r}")
    return found


def test_every_route_has_a_row(app):
    served = app_routes(app)
    table = {case.key for case in CASES}
    assert len(table) == len(CASES), "a route has two rows"
    missing = sorted(served - table)
    assert not missing, f"routes without a row in the role matrix (add what each role gets): {missing}"
    # A row for a route the app does not serve is skipped rather than failed: work on
    # other issues adds routes and rows in either order.


def test_the_matrix_sees_a_new_route(app):
    """The completeness check above is not vacuous: a route added to the app is noticed."""

    @app.get("/api/v1/brand-new")
    def brand_new() -> dict:
        return {}

    try:
        assert "GET /api/v1/brand-new" in app_routes(app) - {case.key for case in CASES}
    finally:
        app.router.routes.pop()


@pytest.fixture
def accounts(engine, users):
    other = factories.user(engine, "lead", email="other.lead@example.com")
    factories.user(engine, "rep", "sony", email="colleague.sony@example.com")
    return {
        "owner": users["lead"], "other_lead": other, "touched_rep": users["sony"],
        "untouched_rep": users["merlin"], "compliance": users["compliance"], "admin": users["admin"],
    }


async def answer(case: Case, who: str, browser: Browser, api: httpx.AsyncClient, ids: dict[str, int],
                 ) -> httpx.Response:
    url = case.url or case.path
    for name, value in ids.items():
        url = url.replace(f"{{{name}}}", str(value))
    if url.startswith(("/api/", "/scim/")):
        json = case.json
        if isinstance(json, dict) and "decision" in json:
            json = {**json, "decision_id": f"matrix-{who}-{uuid.uuid4().hex[:8]}"}
        if "files" in case.extra:  # a multipart upload
            return await api.request(case.method, url, files=case.extra["files"])
        return await api.request(case.method, url, json=json)
    if case.method == "POST":
        form = {key: value.replace("{who}", who) if isinstance(value, str) else value
                for key, value in (case.form or {}).items()}
        return await browser.post(url, form)
    return await browser.get(url)


def verdict(response: httpx.Response) -> Any:
    if response.status_code == 303 and response.headers["location"].startswith("/login"):
        return LOGIN
    return response.status_code


async def test_every_role_gets_the_answer_of_the_matrix(app, accounts, browser, open_client, token_for):
    owner_api = open_client(token_for(accounts["owner"].email))
    submitted = await owner_api.post("/api/v1/proposals", json=factories.submission(parties=["sony", "warner"]))
    assert submitted.status_code == 201, submitted.text
    proposal_id = submitted.json()["id"]
    sees_it = {"owner", "touched_rep", "compliance", "admin"}
    spare, page_spare, admin_page_spare = [await owner_api.post("/api/v1/tokens", json={"name": "spare"})
                                           for _ in range(3)]
    touched_api = open_client(token_for(accounts["touched_rep"].email))
    delegated, for_pages = [await touched_api.post("/api/v1/delegations", json={
        "delegate": "colleague.sony@example.com", "ends_at": IN_A_MONTH}) for _ in range(2)]
    assert delegated.status_code == for_pages.status_code == 201, delegated.text
    admin_api = open_client(token_for(accounts["admin"].email))
    webhook_ids = []
    for _ in range(2):
        created = await admin_api.post("/api/v1/webhooks", json={"url": "https://hooks.example/matrix",
                                                                  "events": ["grant.revoked"]})
        assert created.status_code == 201, created.text
        webhook_ids.append(created.json()["id"])
    message = await owner_api.post(f"/api/v1/proposals/{proposal_id}/messages", json={"text": "for the matrix"})
    attached = await owner_api.post(f"/api/v1/proposals/{proposal_id}/files",
                                    files={"file": ("matrix.csv", b"a,b\n1,2\n", "text/csv")})
    assert message.status_code == attached.status_code == 201, attached.text
    ids = {"webhook_id": webhook_ids[0], "page_webhook_id": webhook_ids[1], "delivery_id": 2**31 - 1,
           "message_id": message.json()["id"], "file_id": attached.json()["id"],
           "proposal_id": proposal_id, "token_id": spare.json()["id"], "page_token_id": page_spare.json()["id"],
           "admin_page_token_id": admin_page_spare.json()["id"], "delegation_id": delegated.json()["id"],
           "page_delegation_id": for_pages.json()["id"],
           "token": LinkSigner(app.state.settings.session_secret).token(proposal_id, "sony")}

    browsers = {who: await browser(user.email) for who, user in accounts.items()}
    browsers["anonymous"] = await browser()
    apis = {who: open_client(token_for(user.email)) for who, user in accounts.items()}
    apis["anonymous"] = open_client()

    served = app_routes(app)
    wrong = []
    for case in (case for case in CASES if case.key in served):
        for who in RUN_ORDER:
            response = await answer(case, who, browsers[who], apis[who], ids)
            got, expected = verdict(response), case.expect[who]
            if got != expected:
                wrong.append(f"{case.key} as {who}: {got}, expected {expected} ({response.text[:160]!r})")
            elif case.listed and got == 200:
                listed = (f'"id":{proposal_id},' in response.text.replace(" ", "")
                          or f'href="/proposals/{proposal_id}"' in response.text)
                if listed != (who in sees_it):
                    wrong.append(f"{case.key} as {who}: proposal {'listed' if listed else 'not listed'}")
    assert not wrong, "\n".join(wrong)
    final = await owner_api.get(f"/api/v1/proposals/{proposal_id}")
    assert final.json()["status"] == "withdrawn"
    assert final.json()["parties"]["sony"]["state"] == "approved"
