"""Dates and times as the OpenAPI document says they come: strings.

pydantic's lax mode also takes a number as a Unix timestamp (`0` is
1970-01-01) where the schema says `format: date` or `date-time`; a client
that sent one by mistake would get a date it never meant. These types take
RFC 3339 strings only (`2027-01-31`; `2027-01-31T17:00:00Z`), so the server accepts exactly what its schema does.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

# Text without NUL, which PostgreSQL refuses (api.input_guard answers it with a 422): said in
# the schema too, so that clients and schemathesis know it. (Unpaired surrogates are refused as
# well; a schema pattern cannot name them, and JSON Schema's string is Unicode text without them.)
NO_NUL = r"^[^\x00]*$"

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso(pattern: re.Pattern, example: str):
    def check(value: Any) -> Any:
        if isinstance(value, date):  # from Python callers
            return value
        if not isinstance(value, str) or not pattern.match(value):
            raise ValueError(f"enter {example}")
        return value

    return BeforeValidator(check)


IsoDate = Annotated[date, _iso(_DAY, "a date such as 2026-12-31")]
IsoAwareDatetime = Annotated[AwareDatetime, _iso(_MOMENT, "a date and time such as 2026-12-31T17:00:00Z")]
