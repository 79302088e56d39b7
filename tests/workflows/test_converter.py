"""Countersign's data converter writes and reads what the SDK's default does."""

from __future__ import annotations

from temporalio.converter import DataConverter

from tests.db.test_record_step import Run
from workflows.converter import DATA_CONVERTER
from workflows.messages import DecisionRequest, ProposalInput, StepRecord, UpdateResult


def samples() -> list[tuple[object, type]]:
    run = Run()
    decided = run.decide(2, "sony", "sony-1", run.review.next_deadline())
    return [
        (run.opening, StepRecord),
        (decided, StepRecord),
        (ProposalInput(7, "lead@example.com", run.opening.new_version.content, run.policy), ProposalInput),
        (DecisionRequest("sony", "approve", "fine", 1, "rep.sony@example.com", None), DecisionRequest),
        (UpdateResult("in_review", 1), UpdateResult),
    ]


def test_same_json_as_the_sdk_default_and_back():
    ours, default = DATA_CONVERTER.payload_converter, DataConverter.default.payload_converter
    for value, kind in samples():
        payload = ours.to_payload(value)
        assert payload == default.to_payload(value)
        decoded = ours.from_payload(payload, kind)
        assert decoded == default.from_payload(payload, kind) == value
