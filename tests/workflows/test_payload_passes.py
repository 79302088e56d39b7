"""The worker skips the SDK's payload passes only when they can do nothing:
a client with a payload codec still has every payload encoded and decoded."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from types import SimpleNamespace

import pytest
import temporalio
import temporalio.bridge.worker as bridge
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.converter import PayloadCodec
from temporalio.worker._command_aware_visitor import CommandAwarePayloadVisitor

from tests import factories
from tests.workflows.test_proposal_workflow import decision, start
from workflows import client as wf
from workflows import payload_passes
from workflows.converter import DATA_CONVERTER
from workflows.worker import build_worker

WRAPPED = b"binary/countersign-test-wrapped"


class WrappingCodec(PayloadCodec):
    """Wraps each payload in another, as an encrypting codec would: a payload
    that skipped decoding cannot be read as JSON."""

    def __init__(self) -> None:
        self.encoded = self.decoded = 0

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.encoded += len(payloads)
        return [Payload(metadata={"encoding": WRAPPED}, data=p.SerializeToString()) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.decoded += len(payloads)
        assert all(p.metadata["encoding"] == WRAPPED for p in payloads), "a payload was never encoded"
        return [Payload.FromString(p.data) for p in payloads]


@pytest.fixture
def visits(monkeypatch) -> list[str]:
    """The run ids of the activations and completions the SDK's passes walk."""
    seen: list[str] = []
    visit = CommandAwarePayloadVisitor.visit

    async def counting(self, f, root):
        seen.append(root.run_id)
        return await visit(self, f, root)

    monkeypatch.setattr(CommandAwarePayloadVisitor, "visit", counting)
    return seen


async def run_to_approval(client: Client, engine, parties: list[str]) -> tuple[str, list[HistoryEvent]]:
    """The run's id and its history's events."""
    task_queue = f"passes-{uuid.uuid4().hex[:8]}"
    async with build_worker(client, engine, task_queue, factories.policy()):
        pid = await start(SimpleNamespace(client=client), engine, task_queue, parties=parties)
        for party in parties:
            result = await wf.decide(client, pid, decision(party), str(uuid.uuid4()))
        assert result.status == "approved"
        handle = client.get_workflow_handle(f"proposal-{pid}")
        assert await handle.result() == "approved"
        events = list((await handle.fetch_history()).events)
        return events[0].workflow_execution_started_event_attributes.original_execution_run_id, events


def test_installed_on_the_pinned_sdk():
    """Fails on an SDK upgrade: check that bridge.worker's decode_activation and
    encode_completion still only walk payloads, then move PINNED_SDK."""
    assert temporalio.__version__ == payload_passes.PINNED_SDK
    assert payload_passes.install()
    assert bridge.decode_activation.skips_idle_passes and bridge.encode_completion.skips_idle_passes


async def test_without_codec_or_storage_no_pass_runs(temporal_env, engine, visits):
    run_id, _ = await run_to_approval(temporal_env.client, engine, ["sony", "merlin"])
    assert run_id not in visits


async def test_a_codec_still_encodes_and_decodes_every_payload(temporal_env, engine, visits):
    codec = WrappingCodec()
    config = temporal_env.client.config()
    config["data_converter"] = dataclasses.replace(DATA_CONVERTER, payload_codec=codec)
    client = Client(**config)

    run_id, events = await run_to_approval(client, engine, ["sony", "merlin"])
    assert visits.count(run_id) >= 6  # three passes over each activation and completion, at least once
    # What the worker wrote, its answers to the two decisions, reached the server encoded.
    answers = [e.workflow_execution_update_completed_event_attributes.outcome.success.payloads[0]
               for e in events if e.HasField("workflow_execution_update_completed_event_attributes")]
    assert len(answers) >= 2
    assert all(answer.metadata["encoding"] == WRAPPED for answer in answers)
    assert codec.decoded >= 4  # at least the workflow's input and the two decisions
