"""A signed checkpoint goes to every organisation's endpoints that subscribe to
`checkpoint.signed`, queued with the checkpoint and sent by the delivery
workflow to real HTTP receivers: its signed fields only, nothing of a proposal."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlmodel import Session, select
from standardwebhooks import Webhook

from countersign.domain.checkpoint import SignedCheckpoint, Signer, check_signature, new_private_key_pem
from countersign.storage import audit
from countersign.storage.db import transaction
from countersign.storage.webhook_tables import WebhookDelivery
from tests.webhooks.conftest import eventually
from tests.webhooks.test_delivery import register
from workflows.checkpoint import CheckpointActivities
from workflows.webhook_delivery import WebhookWaker


async def test_every_organisations_endpoint_gets_each_signed_checkpoint(api, engine, users, receivers,
                                                                       temporal_env, task_queue):
    sony, warner, platform, unsubscribed = [await receivers() for _ in range(4)]
    hooks = {
        "sony": await register(api("sony_admin"), sony.url, party="sony", events=["checkpoint.signed"]),
        "warner": await register(api("admin"), warner.url, party="warner",
                                 events=["checkpoint.signed", "proposal.decided"]),
        "platform": await register(api("admin"), platform.url, events=["checkpoint.signed"]),
    }
    await register(api("admin"), unsubscribed.url, party="sony", events=["proposal.submitted"])
    signer = Signer(new_private_key_pem())
    signing = CheckpointActivities(engine, signer, ["sony", "warner"], "http://testserver",
                                   WebhookWaker(temporal_env.client, task_queue, asyncio.get_running_loop()))
    with transaction(engine) as session:
        audit.append(session, None, "note", datetime.now(UTC), actor="a@example.com", detail={"n": 1})
    first = (await asyncio.to_thread(signing.sign_now)).size
    with transaction(engine) as session:
        audit.append(session, None, "note", datetime.now(UTC), actor="a@example.com", detail={"n": 2})
    second = (await asyncio.to_thread(signing.sign_now)).size
    assert (await asyncio.to_thread(signing.sign_now)).size is None  # no growth: no checkpoint, no event

    for receiver in (sony, warner, platform):
        await eventually(lambda r=receiver: len(r.delivered()) == 2, what="both checkpoints")
    await asyncio.sleep(0.3)  # nothing more comes
    assert unsubscribed.requests == [] and all(len(r.requests) == 2 for r in (sony, warner, platform))
    for receiver, name in ((sony, "sony"), (warner, "warner"), (platform, "platform")):
        for request in receiver.requests:
            assert Webhook(hooks[name]["secret"]).verify(request.body, request.headers) == request.payload
        assert [p["id"] for p in receiver.delivered()] == [f"ckpt_{first}", f"ckpt_{second}"]  # in order
    event = sony.delivered()[1]
    assert event["type"] == "checkpoint.signed" and event["version"] == 1
    assert set(event["data"]) == {"size", "root", "time", "signature", "key_id"}  # no proposal data
    assert event == warner.delivered()[1] == platform.delivered()[1]  # the same for every organisation
    kept = SignedCheckpoint.from_json(event["data"])
    assert kept.checkpoint.size == second and check_signature(kept, signer.public_key) is None
    with Session(engine) as session:  # queued with the checkpoint it carries, for the subscribers only
        queued = session.exec(select(WebhookDelivery.endpoint_id).where(
            WebhookDelivery.event_type == "checkpoint.signed")).all()
    assert sorted(queued) == sorted([hook["id"] for hook in hooks.values()] * 2)

