"""A decision's signature manifestation (countersign.domain.signature)."""

from __future__ import annotations

from datetime import UTC, datetime

from countersign.domain.signature import from_stored, manifest


def test_the_meaning_names_the_decision_party_stage_and_version_and_the_time_its_zone():
    signature = manifest(verdict="approve_with_conditions", party_name="Sony Music Group", zone="America/New_York",
                         stage="Rights & licensing review", version=2, signer_name="Ana Ruiz", signer_role="rep",
                         decided_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    assert signature.as_dict() == {
        "name": "Ana Ruiz", "role": "Label representative", "party": "Sony Music Group",
        "at": "2026-11-25T05:00:00-05:00",
        "meaning": "Approved with conditions, for Sony Music Group, Rights & licensing review, version 2",
    }
    assert signature.printed_at == "2026-11-25 05:00 EST (America/New_York)"
    assert from_stored(signature.stored()) == signature  # as kept with the decision, and read back


def test_a_delegate_signs_as_the_delegate_of_the_rep_who_delegated():
    signature = manifest(verdict="reject", party_name="Merlin", zone="Europe/London", stage="Legal sign-off",
                         version=1, signer_name="Bo", signer_role="rep", decided_at=datetime(2026, 7, 1, 9, tzinfo=UTC),
                         on_behalf_of="alice@merlin.example")
    assert signature.role == "Label representative, as delegate of alice@merlin.example"
    assert signature.meaning == "Rejected, for Merlin, Legal sign-off, version 1"
    assert signature.at == "2026-07-01T10:00:00+01:00"
