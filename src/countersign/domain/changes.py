"""What a new version changes, and which of those changes are material.

Pure: compares two proposal contents field by field (the checklist answer
by answer) against the policy's material fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from countersign.domain.policy import PROPOSAL_FIELDS
from countersign.domain.tiers import field_value


@dataclass(frozen=True)
class Change:
    field: str
    before: object
    after: object
    material: bool


def diff(before: dict, after: dict, material_fields: list[str]) -> list[Change]:
    """The fields that differ, in a stable order (material first)."""
    found = []
    for name in sorted(PROPOSAL_FIELDS):
        old, new = _norm(field_value(before, name)), _norm(field_value(after, name))
        if old != new:
            found.append(Change(name, old, new, name in material_fields))
    return sorted(found, key=lambda c: not c.material)


def _norm(value: object) -> object:
    """Absent and empty are the same; text compares without surrounding blanks."""
    if value in (None, "", [], False):
        return None
    return value.strip() if isinstance(value, str) else value
