"""The data converter of Countersign's Temporal clients: the SDK's JSON,
written and read with msgspec.

The SDK's JSON converter rebuilds typed values in Python, field by field
(`value_to_type`). On a 2-core machine a step record, with its snapshot, took
it about 4.5 ms to write and read back, and msgspec 0.05 ms
(`python -m bench.converter`). Every decision crosses it several times: the
update and its result, the step record into the local activity, and the
receipt back.

The payloads are the same JSON as the SDK's, keys sorted, so histories
recorded either way read the same with either converter and other clients
need nothing. Only the spelling of a UTC offset differs: msgspec writes "Z"
for "+00:00", and both converters read both. Values msgspec cannot write, and
types it cannot read, go to the SDK's converter.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
)

_ENCODING = "json/plain"
_ENCODER = msgspec.json.Encoder(order="sorted")  # the SDK sorts keys too


@functools.cache
def _decoder(type_hint: Any) -> msgspec.json.Decoder | None:
    """One decoder per type, built once; None for a type msgspec cannot read."""
    try:
        return msgspec.json.Decoder(type_hint)
    except TypeError:
        return None


class MsgspecJSONPayloadConverter(EncodingPayloadConverter):
    """'json/plain' payloads, as the SDK's `JSONPlainPayloadConverter` writes
    and reads them, falling back to it for what msgspec does not handle."""

    def __init__(self, fallback: JSONPlainPayloadConverter) -> None:
        super().__init__()
        self._fallback = fallback

    @property
    def encoding(self) -> str:
        return _ENCODING

    def to_payload(self, value: Any) -> Payload | None:
        try:
            data = _ENCODER.encode(value)
        except TypeError:  # a type msgspec does not write, e.g. an object with its own `dict()`
            return self._fallback.to_payload(value)
        return Payload(metadata={"encoding": _ENCODING.encode()}, data=data)

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        decoder = _decoder(Any if type_hint is None else type_hint)
        if decoder is not None:
            try:
                return decoder.decode(payload.data)
            except msgspec.DecodeError:
                pass  # the SDK's rules are laxer in places: it accepts the value or raises its own error
        return self._fallback.from_payload(payload, type_hint)


# Stateless, so shared: the SDK makes a payload converter for every workflow
# activation, as its default one does with its own shared converters.
_CONVERTERS = tuple(
    MsgspecJSONPayloadConverter(converter) if isinstance(converter, JSONPlainPayloadConverter) else converter
    for converter in DefaultPayloadConverter.default_encoding_payload_converters
)


class PayloadConverter(CompositePayloadConverter):
    def __init__(self) -> None:
        super().__init__(*_CONVERTERS)


DATA_CONVERTER = DataConverter(payload_converter_class=PayloadConverter)
