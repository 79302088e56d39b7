"""The SDK's payload passes over workflow activations, skipped when they can do nothing.

For every workflow activation and completion the pinned SDK walks each message
three times: external-storage references, external storage, payload codec.
For each payload it asks the workflow, inside the sandbox, which
serialization context applies. With no payload codec and no external storage,
and Countersign configures neither, every pass hands its payloads back
unchanged, yet the passes took about a tenth of the worker's CPU in
`bench.decisions --profile` (py-spy). The SDK tells that case apart with
`DataConverter._decode_payload_has_effect`, its "temporary shortcircuit",
but does not use it here yet.

`install` wraps the SDK's two functions: a data converter with a codec or
external storage still gets every pass. The wrapped functions are the pinned
SDK version's; on any other version nothing is installed, and
tests/workflows/test_payload_passes.py fails so the upgrade gets a look.
"""

from __future__ import annotations

import functools
import logging

import temporalio
import temporalio.bridge.worker as bridge
from temporalio.converter import DataConverter
from temporalio.converter._extstore import StorageOperationMetrics

PINNED_SDK = "1.35.0"

log = logging.getLogger(__name__)


def _skip_when_idle(walk):
    @functools.wraps(walk)
    async def skipping(message, data_converter: DataConverter, *args, **kwargs) -> StorageOperationMetrics:
        if data_converter._decode_payload_has_effect:  # a codec or external storage
            return await walk(message, data_converter, *args, **kwargs)
        return StorageOperationMetrics()  # nothing stored or fetched

    skipping.skips_idle_passes = True
    return skipping


def install() -> bool:
    """Install once per process; True when the skip is in place."""
    if temporalio.__version__ != PINNED_SDK:
        log.warning("temporalio %s is not %s: payload passes run as the SDK has them",
                    temporalio.__version__, PINNED_SDK)
        return False
    for name in ("decode_activation", "encode_completion"):
        walk = getattr(bridge, name)
        if not getattr(walk, "skips_idle_passes", False):
            setattr(bridge, name, _skip_when_idle(walk))
    return True
