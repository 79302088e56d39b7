"""Countersign's data converter reads what the SDK's default writes and the
other way round: recorded histories and other clients are unaffected."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from tests.db.test_record_step import Run
from workflows.converter import DATA_CONVERTER
from workflows.messages import DecisionRequest, ProposalInput, StepRecord, UpdateResult

OURS, DEFAULT = DATA_CONVERTER.payload_converter, DataConverter.default.payload_converter


def samples() -> list[tuple[object, type]]:
    run = Run()
    decided = run.decide(2, "sony", "sony-1", run.review.next_deadline())
    return [
        (run.opening, StepRecord),
        (decided, StepRecord),
        (ProposalInput(7, "lead@example.com", run.opening.new_version.content, run.policy), ProposalInput),
        (DecisionRequest("sony", "approve", "fine, ünïcode", 1, "rep.sony@example.com", None), DecisionRequest),
        (UpdateResult("in_review", 1), UpdateResult),
    ]


def test_each_reads_what_the_other_writes():
    for value, kind in samples():
        ours, default = OURS.to_payload(value), DEFAULT.to_payload(value)
        assert OURS.from_payload(ours, kind) == value
        assert OURS.from_payload(default, kind) == value  # histories recorded before
        assert DEFAULT.from_payload(ours, kind) == value  # the SDK's default, as another client has it


def test_same_json_document_with_keys_sorted():
    for value, _kind in samples():
        ours = json.loads(OURS.to_payload(value).data)
        default = json.loads(DEFAULT.to_payload(value).data)
        assert _offsets_alike(ours) == _offsets_alike(default)
        assert OURS.to_payload(value).metadata == DEFAULT.to_payload(value).metadata


def _offsets_alike(document):
    """msgspec spells a UTC offset "Z", the SDK "+00:00"."""
    if isinstance(document, dict):
        return {key: _offsets_alike(item) for key, item in document.items()}
    if isinstance(document, list):
        return [_offsets_alike(item) for item in document]
    if isinstance(document, str) and len(document) > 19 and document[10] == "T" and document.endswith("Z"):
        return document[:-1] + "+00:00"
    return document


@dataclass
class Loose:
    count: int
    tags: list[str] = field(default_factory=list)


class DictLike:
    def dict(self) -> dict:
        return {"count": 2}


def test_what_msgspec_refuses_goes_to_the_sdk_converter():
    # A float where an int is declared: the SDK lets it through, as it did before.
    lax = Payload(metadata={"encoding": b"json/plain"}, data=b'{"count":1.0}')
    assert OURS.from_payload(lax, Loose) == DEFAULT.from_payload(lax, Loose) == Loose(1.0)
    # An object msgspec cannot write, written the SDK's way.
    assert OURS.to_payload(DictLike()).data == DEFAULT.to_payload(DictLike()).data == b'{"count":2}'


def test_bad_payloads_fail_as_with_the_sdk():
    for data, error in ((b"not json", RuntimeError), (b'{"tags":[]}', TypeError)):
        payload = Payload(metadata={"encoding": b"json/plain"}, data=data)
        for converter in (OURS, DEFAULT):
            try:
                converter.from_payload(payload, Loose)
            except error:
                continue
            raise AssertionError(f"{data!r} was accepted")
