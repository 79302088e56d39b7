"""The webhooks' JSON API and pages: who manages which organisation's
endpoints, the checks on a new one, the secret shown once, rotation (both
secrets sign), pause and resume, delete."""

from __future__ import annotations

import asyncio
import html

from sqlmodel import Session, select
from standardwebhooks import Webhook

from countersign.storage.webhook_tables import WebhookDelivery
from tests.webhooks.conftest import eventually
from tests.webhooks.test_delivery import decide_all, register

EVENTS = ["proposal.submitted", "proposal.concluded"]


async def test_a_party_admin_manages_its_own_partys_webhooks_only(api):
    sony_admin, warner_admin, admin = api("sony_admin"), api("warner_admin"), api("admin")
    own = await sony_admin.post("/api/v1/webhooks", json={"url": "https://hooks.sony.example/cs", "events": EVENTS})
    assert own.status_code == 201, own.text
    assert own.json()["party"] == "sony" and own.json()["secret"].startswith("whsec_")
    other = await sony_admin.post("/api/v1/webhooks", json={"url": "https://x.example/", "events": EVENTS,
                                                             "party": "warner"})
    assert other.status_code == 403 and "own party" in other.json()["detail"]
    warner = await register(warner_admin, "https://hooks.warner.example/cs", events=EVENTS)
    platform = await register(admin, "https://ops.example/cs", events=EVENTS)
    assert platform["party"] is None

    listed = (await sony_admin.get("/api/v1/webhooks")).json()
    assert [w["id"] for w in listed] == [own.json()["id"]] and "secret" not in listed[0]
    assert {w["id"] for w in (await admin.get("/api/v1/webhooks")).json()} == {
        own.json()["id"], warner["id"], platform["id"]}
    for path in ("", "/deliveries"):  # another organisation's endpoint is not there for a party admin
        assert (await sony_admin.get(f"/api/v1/webhooks/{warner['id']}{path}")).status_code == 404
        assert (await sony_admin.get(f"/api/v1/webhooks/{platform['id']}{path}")).status_code == 404
    assert (await sony_admin.delete(f"/api/v1/webhooks/{warner['id']}")).status_code == 404
    assert (await sony_admin.post(f"/api/v1/webhooks/{warner['id']}/rotate-secret")).status_code == 404
    for role in ("lead", "sony", "compliance"):
        assert (await api(role).get("/api/v1/webhooks")).status_code == 403
        assert (await api(role).post("/api/v1/webhooks", json={"url": "https://x.example/",
                                                               "events": EVENTS})).status_code == 403
    deleted = await warner_admin.delete(f"/api/v1/webhooks/{warner['id']}")
    assert deleted.status_code == 200
    assert (await warner_admin.get(f"/api/v1/webhooks/{warner['id']}")).status_code == 404


REFUSED = [
    ({"url": "ftp://x.example/", "events": EVENTS}, "http"),
    ({"url": "https://user:pw@x.example/", "events": EVENTS}, "password"),
    ({"url": "https://x.example/", "events": ["proposal.eaten"]}, "events"),
    ({"url": "https://x.example/", "events": []}, "events"),
    ({"url": "https://x.example/\x00", "events": EVENTS}, "url"),
    ({"url": "https://x.example/", "events": EVENTS, "party": "emi"}, "party"),
]


async def test_a_webhook_that_cannot_work_is_refused_with_a_reason(api):
    admin = api("admin")
    for body, says in REFUSED:
        response = await admin.post("/api/v1/webhooks", json=body)
        assert response.status_code == 422, (body, response.text)
        assert says in response.text, (body, response.text)
    assert (await admin.get("/api/v1/webhooks")).json() == []


async def test_during_a_rotation_both_secrets_sign(api, receivers):
    receiver = await receivers()
    admin = api("admin")
    hook = await register(admin, receiver.url, party="sony")
    rotated = await admin.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret")
    assert rotated.status_code == 200 and rotated.json()["secret"] != hook["secret"]
    assert rotated.json()["previous_secret_until"] is not None
    assert (await admin.post(f"/api/v1/webhooks/{hook['id']}/test")).status_code == 202
    [request] = await eventually(lambda: receiver.requests, what="the test event")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (hook["secret"], rotated.json()["secret"]):
        assert Webhook(secret).verify(request.body, request.headers)["type"] == "webhook.test"


async def test_a_paused_webhook_queues_and_sends_in_order_on_resume(api, engine, receivers):
    receiver = await receivers()
    admin = api("sony_admin")
    hook = await register(admin, receiver.url)
    assert (await admin.post(f"/api/v1/webhooks/{hook['id']}/pause")).json()["state"] == "paused"
    proposal_id = await decide_all(api, ["sony"])
    await asyncio.sleep(0.3)
    assert receiver.requests == []
    with Session(engine) as session:
        queued = session.exec(select(WebhookDelivery.seq).where(WebhookDelivery.endpoint_id == hook["id"])
                              .order_by(WebhookDelivery.id)).all()
    assert queued and queued == sorted(queued)
    assert (await admin.post(f"/api/v1/webhooks/{hook['id']}/resume")).json()["state"] == "active"
    await eventually(lambda: len(receiver.delivered()) == len(queued), what="the queue")
    assert [(p["data"]["proposal_id"], p["data"]["seq"]) for p in receiver.delivered()] == [
        (proposal_id, seq) for seq in queued]


async def test_the_pages_create_show_the_secret_once_and_log_deliveries(browser, api, receivers):
    receiver = await receivers()
    page = await browser("sony_admin")
    assert (await page.get("/webhooks")).status_code == 200
    refused = await page.client.post("/webhooks", data={"url": receiver.url, "events": "webhook.test"})
    assert refused.status_code == 403  # no CSRF token
    bad = await page.post("/webhooks", {"url": "not a url", "events": ["proposal.submitted"]})
    assert bad.status_code == 422 and "http" in html.unescape(bad.text)
    created = await page.post("/webhooks", {"url": receiver.url, "events": ["proposal.submitted"]})
    assert created.status_code == 200 and "whsec_" in created.text
    listing = await page.get("/webhooks")
    assert receiver.url in listing.text and "whsec_" not in listing.text
    [hook] = (await api("sony_admin").get("/api/v1/webhooks")).json()
    sent = await page.post(f"/webhooks/{hook['id']}/test", {})
    assert sent.status_code == 303
    await eventually(lambda: receiver.delivered(), what="the test event")
    for _ in range(200):  # the attempt is logged after the receiver answers
        detail = await page.get(f"/webhooks/{hook['id']}")
        if "webhook.test" in detail.text and "200" in detail.text:
            break
        await asyncio.sleep(0.05)
    assert "webhook.test" in detail.text and "answer 200 to request 1" in detail.text
    rotated = await page.post(f"/webhooks/{hook['id']}/rotate-secret", {})
    assert rotated.status_code == 200 and "whsec_" in rotated.text
    assert (await (await browser("sony")).get("/webhooks")).status_code == 403
    assert (await (await browser("warner_admin")).get(f"/webhooks/{hook['id']}")).status_code == 404


async def test_the_payload_is_documented_in_the_openapi_webhooks(api):
    document = (await api("admin").get("/openapi.json")).json()
    event = document["webhooks"]["countersign-event"]["post"]
    assert "webhook-signature" in event["description"]
    schema = document["components"]["schemas"]["EventData"]["properties"]
    assert {"proposal_id", "seq", "hash"} <= set(schema)
    checkpoint = document["components"]["schemas"]["CheckpointEventData"]["properties"]
    assert set(checkpoint) == {"size", "root", "time", "signature", "key_id"}  # nothing of a proposal
    assert "countersign-checkpoint" in document["webhooks"]
