"""A decision's signature manifestation (countersign.domain.signature)."""

from __future__ import annotations

from datetime import UTC, datetime

from countersign.domain.signature import export_problem, from_stored, manifest


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


def test_an_exported_signature_must_say_what_its_hashed_decision_says():
    at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    detail = {"decision": "approve_with_conditions", "stage": "Rights & licensing review", "version": "2",
              "comment": "credit us"}
    signed = manifest(verdict="approve_with_conditions", party_name="Sony Music Group", zone="America/New_York",
                      stage="Rights & licensing review", version=2, signer_name="=Ana", signer_role="rep",
                      decided_at=at).as_dict()
    assert export_problem(signed, "decided", at.isoformat(), detail) is None
    assert export_problem(None, "decided", at.isoformat(), detail) is None  # a decision from before signatures
    problems = {
        "meaning": export_problem(signed | {"meaning": signed["meaning"].replace("Approved with conditions",
                                                                                  "Approved")},
                                  "decided", at.isoformat(), detail),
        "version": export_problem(signed, "decided", at.isoformat(), detail | {"version": "3"}),
        "time": export_problem(signed | {"at": "2026-11-25T05:01:00-05:00"}, "decided", at.isoformat(), detail),
        "not a decision": export_problem(signed, "submitted", at.isoformat(), {}),
        "missing": export_problem(signed | {"name": ""}, "decided", at.isoformat(), detail),
        "delegate": export_problem(signed, "decided", at.isoformat(), detail | {"on_behalf_of": "a@sony.example"}),
        "not a delegate": export_problem(signed | {"role": "Label representative, as delegate of x@y.example"},
                                         "decided", at.isoformat(), detail),
    }
    assert "meaning" in problems["meaning"] and "version 3" in problems["version"]
    assert "time" in problems["time"] and "only decisions" in problems["not a decision"]
    assert problems["missing"] == "its signature lacks name"
    assert "role" in problems["delegate"] and "role" in problems["not a delegate"]
