"""What the payloads of one decision cost to write and read: the SDK's
default JSON converter against Countersign's (workflows/converter.py).

    .venv/bin/python -m bench.converter [--rounds 2000]

For each message that crosses Temporal per decision (the update's request
and result, the step record into the local activity, its receipt back),
prints microseconds per write-and-read with each converter and the ratio,
then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time

from temporalio.converter import DataConverter

from tests.workflows.test_converter import samples
from workflows.converter import DATA_CONVERTER


def round_trip_us(converter, value, kind, rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        converter.from_payload(converter.to_payload(value), kind)
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    default, ours = DataConverter.default.payload_converter, DATA_CONVERTER.payload_converter
    figures = {}
    print(f"{'message':<16}{'bytes':>7}{'SDK us':>10}{'ours us':>10}{'ratio':>8}")
    for value, kind in samples():
        before = round_trip_us(default, value, kind, args.rounds)
        after = round_trip_us(ours, value, kind, args.rounds)
        size = len(ours.to_payload(value).data)
        name = kind.__name__ if kind.__name__ not in figures else f"{kind.__name__} (2)"
        figures[name] = {"bytes": size, "sdk_us": round(before, 1), "ours_us": round(after, 1)}
        print(f"{name:<16}{size:>7}{before:>10.1f}{after:>10.1f}{after / before:>8.3f}")
    print(json.dumps({"benchmark": "converter", "rounds": args.rounds, "messages": figures}))


if __name__ == "__main__":
    main()
