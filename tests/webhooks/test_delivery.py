"""Webhooks end to end: proposals decided through the API, their events
delivered by the delivery workflow to real HTTP receivers, signed and
verified with the `standardwebhooks` package."""

from __future__ import annotations

import asyncio

from sqlmodel import Session, col, select
from standardwebhooks import Webhook
from temporalio.worker import Replayer

from countersign.domain.webhooks import EVENT_TYPES, SUBSCRIBABLE
from countersign.storage.tables import AuditEntry, OutboxMail
from countersign.storage.webhook_tables import WebhookAttempt, WebhookEndpoint
from tests import factories
from tests.webhooks.conftest import FAST, eventually
from workflows import sandbox
from workflows.webhook_delivery import WebhookDeliveryWorkflow, workflow_id

ALL = sorted(SUBSCRIBABLE)


async def register(client, url: str, party: str | None = None, events=ALL) -> dict:
    body = {"url": url, "events": events} | ({"party": party} if party else {})
    response = await client.post("/api/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def decide_all(api, parties: list[str], comment: str = "fine by {party}") -> int:
    submitted = await api("lead").post("/api/v1/proposals", json=factories.submission(parties=parties))
    assert submitted.status_code == 201, submitted.text
    proposal_id = submitted.json()["id"]
    for party in parties:
        decided = await api(party).post(f"/api/v1/proposals/{proposal_id}/decisions",
                                        json={"decision": "approve", "comment": comment.format(party=party)})
        assert decided.status_code == 201, decided.text
    return proposal_id


def event_seqs(engine, proposal_id: int) -> list[int]:
    """The seqs of the proposal's audit entries that are webhook events."""
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry.seq).where(
            AuditEntry.proposal_id == proposal_id, col(AuditEntry.kind).in_(list(EVENT_TYPES)))
            .order_by(AuditEntry.seq)).all())


def attempts(engine, endpoint_id: int) -> list[WebhookAttempt]:
    with Session(engine) as session:
        return list(session.exec(select(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint_id)
                                 .order_by(WebhookAttempt.id)))


def endpoint(engine, endpoint_id: int) -> WebhookEndpoint:
    with Session(engine) as session:
        return session.get(WebhookEndpoint, endpoint_id)


async def test_a_label_gets_signed_events_of_its_proposals_only_and_the_platform_gets_all(
        api, engine, users, receivers):
    sony_receiver, platform_receiver = await receivers(), await receivers()
    admin = api("admin")
    sony = await register(admin, sony_receiver.url, party="sony")
    platform = await register(admin, platform_receiver.url)
    touching = await decide_all(api, ["sony", "warner"])
    elsewhere = await decide_all(api, ["warner"])
    expected = {touching: event_seqs(engine, touching), elsewhere: event_seqs(engine, elsewhere)}
    assert len(expected[touching]) >= 5  # submitted, stage opened, two decisions, concluded, grants

    await eventually(lambda: len(platform_receiver.delivered()) == sum(map(len, expected.values())),
                     what="the platform's events")
    await eventually(lambda: len(sony_receiver.delivered()) == len(expected[touching]), what="sony's events")
    await asyncio.sleep(0.3)  # nothing more comes

    for receiver, secret in ((sony_receiver, sony["secret"]), (platform_receiver, platform["secret"])):
        for request in receiver.requests:  # every request verifies, with the package a receiver uses
            assert Webhook(secret).verify(request.body, request.headers) == request.payload
    got = [(p["data"]["proposal_id"], p["data"]["seq"]) for p in sony_receiver.delivered()]
    assert got == [(touching, seq) for seq in expected[touching]]  # its proposals only, in seq order
    with Session(engine) as session:
        hashes = dict(session.exec(select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.proposal_id == touching)).all())
    assert all(p["data"]["hash"] == hashes[p["data"]["seq"]] for p in sony_receiver.delivered())
    first = sony_receiver.delivered()[0]
    assert first["type"] == "proposal.submitted" and first["id"] == f"evt_{touching}_1"
    assert sony_receiver.requests[0].headers["webhook-id"] == first["id"]

    # Another label's decision comment is withheld from sony; its own and the platform's have them.
    decided = {p["data"]["party"]: p["data"] for p in sony_receiver.delivered() if p["type"] == "proposal.decided"}
    assert decided["sony"]["detail"]["comment"] == "fine by sony"
    assert "comment" not in decided["warner"]["detail"] and decided["warner"]["withheld"] == ["comment"]
    platform_comments = {p["data"]["detail"].get("comment") for p in platform_receiver.delivered()
                         if p["type"] == "proposal.decided"}
    assert {"fine by sony", "fine by warner"} <= platform_comments


async def test_a_receiver_failing_with_500s_then_recovering_gets_every_event_in_order(api, engine, users,
                                                                                      receivers, temporal_env):
    async def fail_twice(n: int) -> int:
        return 500 if n <= 2 else 200

    receiver = await receivers(fail_twice)
    hook = await register(api("admin"), receiver.url, party="merlin")
    proposal_id = await decide_all(api, ["merlin"])
    seqs = event_seqs(engine, proposal_id)
    await eventually(lambda: len(receiver.delivered()) == len(seqs), what="every event")
    assert [p["data"]["seq"] for p in receiver.delivered()] == seqs
    assert [r.status for r in receiver.requests][:3] == [500, 500, 200]
    assert {r.payload["id"] for r in receiver.requests[:3]} == {f"evt_{proposal_id}_1"}  # the first, retried

    log = (await api("admin").get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()
    assert [d["seq"] for d in log] == list(reversed(seqs))  # newest first
    first = log[-1]
    assert first["state"] == "delivered" and first["attempt_count"] == 3
    assert [a["status"] for a in first["attempts"]] == [200, 500, 500]  # newest first
    assert first["attempts"][-1]["response"] == "answer 500 to request 1"
    assert all(a["duration_ms"] >= 0 and a["at"] for a in first["attempts"])
    assert endpoint(engine, hook["id"]).state == "active"

    # The delivery workflow's history replays under the sandbox (its code is deterministic).
    handle = temporal_env.client.get_workflow_handle(workflow_id(hook["id"]))
    history = await handle.fetch_history()
    await Replayer(workflows=[WebhookDeliveryWorkflow], workflow_runner=sandbox.runner()).replay_workflow(history)


async def test_an_attempt_past_the_timeout_is_logged_and_retried(api, engine, users, receivers):
    async def hang_first(n: int) -> int:
        if n == 1:
            await asyncio.sleep(FAST.timeout_seconds + 0.3)
        return 200

    receiver = await receivers(hang_first)
    hook = await register(api("admin"), receiver.url, events=["proposal.submitted"])
    sent = await api("admin").post(f"/api/v1/webhooks/{hook['id']}/test")
    assert sent.status_code == 202, sent.text
    # The receiver answers before the attempt is logged: wait for the log's second attempt.
    await eventually(lambda: len(attempts(engine, hook["id"])) == 2, what="the second attempt logged")
    tries = attempts(engine, hook["id"])
    assert tries[0].status is None and tries[0].error == f"no answer within {FAST.timeout_seconds:g} s"
    assert tries[0].duration_ms >= FAST.timeout_seconds * 1000 - 50
    assert tries[1].status == 200
    assert receiver.delivered()[0]["type"] == "webhook.test"


async def test_410_disables_the_endpoint_mails_its_admin_and_nothing_more_is_attempted(
        api, engine, users, receivers):
    factories.user(engine, "party_admin", "believe", email="admin.believe@example.com")

    async def gone(_: int) -> int:
        return 410

    receiver = await receivers(gone)
    hook = await register(api("admin"), receiver.url, party="believe")
    proposal_id = await decide_all(api, ["believe"])
    await eventually(lambda: endpoint(engine, hook["id"]).state == "disabled", what="the endpoint disabled")
    assert "410" in endpoint(engine, hook["id"]).disabled_reason
    await api("admin").post(f"/api/v1/webhooks/{hook['id']}/test")  # queued; never attempted while disabled
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 1 and len(attempts(engine, hook["id"])) == 1
    with Session(engine) as session:
        mail = session.exec(select(OutboxMail).where(OutboxMail.kind == "webhook_disabled")).all()
    assert [m.recipient for m in mail] == ["admin.believe@example.com"] and receiver.url in mail[0].body

    # Re-enabled (the receiver fixed): the queue goes out in order, the failed event to be redelivered.
    async def fixed(_: int) -> int:
        return 200

    receiver.answer = fixed
    resumed = await api("admin").post(f"/api/v1/webhooks/{hook['id']}/resume")
    assert resumed.json()["state"] == "active"
    seqs = event_seqs(engine, proposal_id)
    await eventually(lambda: len(receiver.delivered()) == len(seqs), what="the queue after re-enabling")
    assert [p["data"]["seq"] for p in receiver.delivered()][:len(seqs) - 1] == seqs[1:]
    log = (await api("admin").get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()
    failed = next(d for d in log if d["seq"] == seqs[0])
    assert failed["state"] == "failed"
    again = await api("admin").post(f"/api/v1/webhooks/{hook['id']}/deliveries/{failed['id']}/redeliver")
    assert again.status_code == 202 and again.json()["redelivery_of"] == failed["id"]
    await eventually(lambda: receiver.delivered()[-1]["id"] == f"evt_{proposal_id}_{seqs[0]}",
                     what="the redelivery")


async def test_too_many_failures_disable_the_endpoint(api, engine, users, receivers):
    async def down(_: int) -> int:
        return 503

    receiver = await receivers(down)
    hook = await register(api("admin"), receiver.url)
    await api("admin").post(f"/api/v1/webhooks/{hook['id']}/test")
    await eventually(lambda: endpoint(engine, hook["id"]).state == "disabled", what="the endpoint disabled")
    assert len(receiver.requests) == FAST.attempts == len(attempts(engine, hook["id"]))
    assert f"after {FAST.attempts} attempts" in endpoint(engine, hook["id"]).disabled_reason
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == FAST.attempts  # no retry storm: nothing after


async def test_a_worker_stopped_mid_delivery_and_a_new_one_deliver_everything_in_order(
        api, engine, users, workers, receivers):
    stop_now = asyncio.Event()

    async def slow(n: int) -> int:
        if n == 3:
            stop_now.set()
        await asyncio.sleep(0.3)
        return 200

    receiver = await receivers(slow)
    hook = await register(api("admin"), receiver.url, party="universal")
    proposal_id = await decide_all(api, ["universal", "sony"])
    seqs = event_seqs(engine, proposal_id)
    await asyncio.wait_for(stop_now.wait(), 10)
    await workers.stop()  # the third delivery is in flight
    stopped_at = len(receiver.requests)
    assert stopped_at < len(seqs)
    await workers.start()  # a new Worker on the same task queue
    await eventually(lambda: {p["data"]["seq"] for p in receiver.delivered()} == set(seqs), timeout=20,
                     what="every event after the restart")
    order = [p["data"]["seq"] for p in receiver.delivered()]
    assert order == sorted(order)  # at least once, in seq order (a repeat only of the one in flight)
    assert len(order) - len(seqs) <= 1
    assert endpoint(engine, hook["id"]).state == "active"


async def test_the_sweep_wakes_an_endpoint_whose_wake_was_lost(engine, temporal_env, task_queue, workers,
                                                                 receivers):
    from countersign.storage import webhooks
    from countersign.storage.db import transaction
    from workflows.webhook_sweep import SweepInput, WebhookSweepWorkflow

    receiver = await receivers()
    with transaction(engine) as session:  # queued, and nobody told the delivery workflow
        hook = webhooks.create_endpoint(session, "admin@example.com", "sony", receiver.url, ["proposal.submitted"])
        webhooks.queue_test(session, hook)
        hook_id = hook.id
    await asyncio.sleep(0.3)
    assert receiver.requests == []
    result = await temporal_env.client.execute_workflow(WebhookSweepWorkflow.run, SweepInput(),
                                                        id=f"sweep-{task_queue}", task_queue=task_queue)
    assert result.woken == 1
    await eventually(lambda: attempts(engine, hook_id), what="the swept delivery logged")
    assert receiver.delivered() and [a.status for a in attempts(engine, hook_id)] == [200]
