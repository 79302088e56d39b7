"""The data converter of Countersign's Temporal clients: the SDK's JSON, made
cheaper for dataclasses.

The SDK looks up a dataclass's field types (`typing.get_type_hints`) on every
decode and deep-copies every dataclass (`dataclasses.asdict`) on every
encode. On step records, with their snapshots, that was a fifth of the
service's CPU (`bench.decisions --profile-gil`). This converter caches the
field types and encodes a dataclass field by field. The JSON is the same, so
histories recorded either way read the same and other clients need nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any

from temporalio.converter import (
    AdvancedJSONEncoder,
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
    value_to_type,
)


class FieldwiseJSONEncoder(AdvancedJSONEncoder):
    """A dataclass becomes a dict of its fields, without copying them: the
    encoder reaches nested dataclasses through `default` in turn."""

    def default(self, o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return {field.name: getattr(o, field.name) for field in dataclasses.fields(o)}
        return super().default(o)


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((field.name, hints[field.name], field.init) for field in dataclasses.fields(cls))


class CachedDataclassConverter(JSONTypeConverter):
    """Decodes dataclasses as the SDK does (unknown keys ignored, a missing
    required field left for the constructor to refuse), with their field
    types looked up once per class."""

    def to_typed_value(self, hint: type, value: Any) -> Any:
        if not (dataclasses.is_dataclass(hint) and isinstance(hint, type) and isinstance(value, dict)):
            return JSONTypeConverter.Unhandled
        arguments, later = {}, {}
        for name, field_hint, init in _fields(hint):
            if name in value:
                converted = value_to_type(field_hint, value[name], [self])
                (arguments if init else later)[name] = converted
        instance = hint(**arguments)
        for name, converted in later.items():
            object.__setattr__(instance, name, converted)
        return instance


# Stateless, so shared: the SDK makes a payload converter for every workflow
# activation, as its default one does with its own shared converters.
_JSON = JSONPlainPayloadConverter(encoder=FieldwiseJSONEncoder, custom_type_converters=[CachedDataclassConverter()])
_CONVERTERS = tuple(_JSON if isinstance(converter, JSONPlainPayloadConverter) else converter
                    for converter in DefaultPayloadConverter.default_encoding_payload_converters)


class PayloadConverter(CompositePayloadConverter):
    def __init__(self) -> None:
        super().__init__(*_CONVERTERS)


DATA_CONVERTER = DataConverter(payload_converter_class=PayloadConverter)
