"""WebhookDeliveryWorkflow: sends one endpoint's queued deliveries, in order.

One workflow per endpoint, id `webhook-<endpoint id>`, woken by
signal-with-start whenever deliveries are queued for it (`WebhookWaker`, from
the step's activity after its transaction commits, and from the web app on
redeliver, test and resume). It sends the endpoint's pending deliveries one
at a time in id order, so a receiver gets each proposal's events in audit
sequence order, and ends when the queue is empty. The proposal workflow is
not involved: its history is unchanged.

Each delivery is one activity with bounded exponential retries (the
worker's `DeliveryPolicy`: by default 8 attempts over about a day, 10 s per
attempt). A `410 Gone`, or the last attempt failing, disables the endpoint
and mails its organisation's admins; a disabled or paused endpoint gets no
attempt at all until resumed. Every attempt is logged
(countersign.storage.webhooks).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import httpx2
    from sqlalchemy import Engine
    from sqlmodel import Session
    from standardwebhooks import Webhook

    from countersign.storage import webhooks
    from countersign.storage.db import transaction
    from countersign.storage.webhook_tables import WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

GONE = "Gone"  # the receiver answered 410: disable at once
INACTIVE = "EndpointInactive"  # paused, disabled or deleted meanwhile: stop, disable nothing
BATCH = 100
HISTORY_LIMIT = 5000  # events in one run before it continues as new


def workflow_id(endpoint_id: int) -> str:
    return f"webhook-{endpoint_id}"


@dataclass
class DeliveryPolicy:
    """Retries and timeouts of each delivery; the worker's (Settings), so tests use seconds."""

    attempts: int = 8
    first_retry_seconds: float = 90.0
    max_retry_seconds: float = 8 * 3600.0  # 90 s, 6 min, 24 min, 1.6 h, 6.4 h, 8 h, 8 h: about a day
    backoff: float = 4.0
    timeout_seconds: float = 10.0


@dataclass
class EndpointInput:
    endpoint_id: int


@dataclass
class Wake:
    pass


@dataclass
class PendingRequest:
    endpoint_id: int
    limit: int = BATCH


@dataclass
class PendingBatch:
    delivery_ids: list[int]
    policy: DeliveryPolicy


@dataclass
class DeliverRequest:
    endpoint_id: int
    delivery_id: int


@dataclass
class DisableRequest:
    endpoint_id: int
    delivery_id: int | None
    reason: str


class WebhookActivities:
    def __init__(self, engine: Engine, policy: DeliveryPolicy | None = None,
                 base_url: str = "http://127.0.0.1:8000") -> None:
        self._engine = engine
        self._policy = policy or DeliveryPolicy()
        self._base_url = base_url  # for the link in the admins' mail

    @activity.defn(name="webhook_pending")
    def pending(self, request: PendingRequest) -> PendingBatch:
        with Session(self._engine) as session:
            ids = webhooks.pending(session, request.endpoint_id, request.limit)
        return PendingBatch(ids, self._policy)

    @activity.defn(name="webhook_deliver")
    async def deliver(self, request: DeliverRequest) -> None:
        endpoint, delivery = await asyncio.to_thread(self._load, request)
        if delivery.state != "pending":
            return  # sent by an attempt whose outcome was lost, or failed with its endpoint
        if endpoint.state != "active" or endpoint.deleted_at is not None:
            raise ApplicationError(f"the endpoint is {endpoint.state}", type=INACTIVE, non_retryable=True)
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
        now = datetime.now(UTC)  # the receiver checks it against its own clock: the wall clock, not the workflow's
        headers = {
            "content-type": "application/json",
            "user-agent": "Countersign-Webhooks/1",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(Webhook(secret).sign(delivery.message_id, now, body)
                                          for secret in webhooks.signing_secrets(endpoint, now)),
        }
        started = time.monotonic()
        status = error = excerpt = None
        try:
            # The client's timeout bounds each read and write; this, the whole exchange.
            async with asyncio.timeout(self._policy.timeout_seconds), httpx2.AsyncClient(
                    timeout=self._policy.timeout_seconds, follow_redirects=False) as client:
                response = await client.post(endpoint.url, content=body.encode(), headers=headers)
            status, excerpt = response.status_code, response.text[:webhooks.RESPONSE_EXCERPT]
        except (TimeoutError, httpx2.TimeoutException):
            error = f"no answer within {self._policy.timeout_seconds:g} s"
        except httpx2.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
        duration_ms = int((time.monotonic() - started) * 1000)
        delivered = status is not None and 200 <= status < 300
        await asyncio.to_thread(self._record, delivery, now, status, duration_ms, excerpt, error, delivered)
        if delivered:
            return
        if status == 410:
            raise ApplicationError("the receiver answered 410 Gone", type=GONE, non_retryable=True)
        raise ApplicationError(error or f"the receiver answered {status}", type="DeliveryFailed")

    @activity.defn(name="webhook_disable")
    def disable(self, request: DisableRequest) -> bool:
        with transaction(self._engine) as session:
            return webhooks.disable(session, request.endpoint_id, request.delivery_id, request.reason,
                                    self._base_url)

    def _load(self, request: DeliverRequest) -> tuple[WebhookEndpoint, WebhookDelivery]:
        with Session(self._engine, expire_on_commit=False) as session:
            endpoint = session.get(WebhookEndpoint, request.endpoint_id)
            delivery = session.get(WebhookDelivery, request.delivery_id)
            if endpoint is None or delivery is None:
                raise ApplicationError("no such delivery", type=INACTIVE, non_retryable=True)
            return endpoint, delivery

    def _record(self, delivery, at, status, duration_ms, excerpt, error, delivered) -> None:
        with transaction(self._engine) as session:
            webhooks.record_attempt(session, delivery, at, status, duration_ms, excerpt, error, delivered)


@workflow.defn
class WebhookDeliveryWorkflow:
    def __init__(self) -> None:
        self._woken = False

    @workflow.signal
    def wake(self, _: Wake) -> None:
        self._woken = True

    @workflow.run
    async def run(self, input: EndpointInput) -> None:
        while True:
            self._woken = False
            batch = await workflow.execute_activity(
                "webhook_pending", PendingRequest(input.endpoint_id), result_type=PendingBatch,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)))
            for delivery_id in batch.delivery_ids:
                if not await self._deliver(input.endpoint_id, delivery_id, batch.policy):
                    break  # disabled or paused: what is left waits for a resume, which wakes a new run
            if not batch.delivery_ids and not self._woken:
                return  # nothing queued: the next delivery queued starts a new run
            info = workflow.info()
            if info.is_continue_as_new_suggested() or info.get_current_history_length() > HISTORY_LIMIT:
                workflow.continue_as_new(input)

    async def _deliver(self, endpoint_id: int, delivery_id: int, policy: DeliveryPolicy) -> bool:
        """Deliver one, with retries; False when the endpoint takes no more now."""
        try:
            await workflow.execute_activity(
                "webhook_deliver", DeliverRequest(endpoint_id, delivery_id),
                # the HTTP client gives up at timeout_seconds and logs it; this bounds a lost worker
                start_to_close_timeout=timedelta(seconds=policy.timeout_seconds + 10),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=policy.first_retry_seconds),
                    backoff_coefficient=policy.backoff,
                    maximum_interval=timedelta(seconds=policy.max_retry_seconds),
                    maximum_attempts=policy.attempts,
                    non_retryable_error_types=[GONE, INACTIVE]))
            return True
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == INACTIVE:
                return False
            if isinstance(cause, ApplicationError) and cause.type == GONE:
                reason = "the receiver answered 410 Gone"
            else:
                reason = f"no success after {policy.attempts} attempts; the last: {cause}"
            await workflow.execute_activity(
                "webhook_disable", DisableRequest(endpoint_id, delivery_id, reason), result_type=bool,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)))
            return False


class WebhookWaker:
    """Wakes endpoints' delivery workflows (signal-with-start) once their deliveries are committed."""

    def __init__(self, client: Client, task_queue: str, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._client = client
        self._task_queue = task_queue
        self._loop = loop  # the worker's, for `wake_from_thread`

    async def wake(self, endpoint_ids: Iterable[int]) -> None:
        for endpoint_id in endpoint_ids:
            await self._client.start_workflow(
                WebhookDeliveryWorkflow.run, EndpointInput(endpoint_id), id=workflow_id(endpoint_id),
                task_queue=self._task_queue, start_signal="wake", start_signal_args=[Wake()])

    def wake_from_thread(self, endpoint_ids: list[int]) -> None:
        """From a sync activity's thread. A wake that fails is logged, not raised: the
        deliveries are stored, and the next wake of the endpoint sends them in order."""
        if not endpoint_ids or self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.wake(endpoint_ids), self._loop).result(timeout=30)
        except Exception:
            log.exception("could not wake the webhook deliveries of endpoints %s", endpoint_ids)
