"""Risk tiers, the route preview and material changes, without Temporal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from countersign.domain.changes import diff
from countersign.domain.errors import NothingChanged, PolicyError
from countersign.domain.policy import TIERS, load_policy, parse_policy
from countersign.domain.preview import preview
from countersign.domain.routing import Review, SlotState
from countersign.domain.tiers import Unacceptable, route
from tests import factories

POLICY = load_policy(factories.POLICIES / "tiers_seconds.toml")
DEFAULT = load_policy()
T0 = datetime(2026, 12, 1, 15, tzinfo=UTC)
LABELS = ["sony", "universal", "warner"]
FIRST, COUNCIL, EXECUTIVE = "Rights & licensing review", "Artist council", "Executive approval"


def content(**overrides) -> dict:
    return factories.submission(POLICY, **overrides)


contents = st.builds(
    lambda synthesises, scope, uploads, parties: content(
        synthesises=synthesises, launch_scope=scope, user_uploads=uploads, parties=parties),
    st.lists(st.sampled_from(["voice", "likeness"]), unique=True),
    st.sampled_from(["internal_sandbox", "pilot", "broad_rollout"]),
    st.booleans(),
    st.lists(st.sampled_from(LABELS), min_size=1, unique=True),
)


def test_no_rule_matched_is_minimal_on_the_policys_own_stages():
    found = route(POLICY, content(launch_scope="pilot"))
    assert found.tier == "minimal" and found.matches == [] and found.submittable
    assert [(s.name, s.rule, s.added_by) for s in found.stages] == [(FIRST, "all", "policy"), (EXECUTIVE, "any", "policy")]


def test_a_high_tier_adds_its_stage_and_sets_a_rule_naming_the_rule_that_did():
    found = route(POLICY, content(synthesises=["voice"], launch_scope="broad_rollout"))
    assert found.tier == "high" and [m.rule for m in found.matches] == ["synthetic-voice-beyond-sandbox", "broad-rollout"]
    assert [(s.name, s.rule, s.added_by, s.rule_set_by) for s in found.stages] == [
        (FIRST, "all", "policy", "policy"),
        (COUNCIL, "all", "synthetic-voice-beyond-sandbox", "synthetic-voice-beyond-sandbox"),
        (EXECUTIVE, "all", "policy", "synthetic-voice-beyond-sandbox")]


def test_an_unacceptable_proposal_cannot_open():
    body = content(synthesises=["likeness"], user_uploads=True)
    assert route(POLICY, body).reason.startswith("risk rule 'voice-from-user-uploads' makes this proposal unacceptable")
    with pytest.raises(Unacceptable, match="voice-from-user-uploads"):
        Review.open(POLICY, LABELS, T0, content=body)


@settings(max_examples=60, deadline=None)
@given(contents)
def test_the_preview_is_what_opening_the_review_does(body):
    shown = preview(POLICY, body, T0)
    found = route(POLICY, body)
    assert shown.tier == found.tier == max((m.tier for m in found.matches), key=TIERS.index, default="minimal")
    if not shown.submittable:
        with pytest.raises(Unacceptable):
            Review.open(POLICY, body["parties"], T0, content=body)
        return
    review, _ = Review.open(POLICY, body["parties"], T0, content=body)
    assert [s.name for s in shown.stages] == [s.name for s in review.policy.stages]
    assert [s.rule for s in shown.stages] == [s.rule for s in review.policy.stages]
    assert shown.stages[0].due_at == {p: s.due_at for p, s in review.stage.slots.items()}
    assert review.snapshot().tier == shown.tier


def test_diff_marks_material_fields():
    before = content()
    after = content(summary="New words.", checklist={**before["checklist"], "compensation": "More."})
    assert [(c.field, c.material) for c in diff(before, after, POLICY.material_fields)] == [
        ("checklist.compensation", True), ("summary", False)]
    assert diff(before, dict(before), POLICY.material_fields) == []


def approve_stage(review: Review, at: datetime) -> None:
    for party in review.pending_parties():
        review.decide(party, "approve", "", review.version, f"rep.{party}", at)


def test_a_material_change_reopens_the_first_stage_for_every_party_and_a_cosmetic_one_nothing_approved():
    body = content(synthesises=["voice"], launch_scope="pilot")
    review, _ = Review.open(POLICY, LABELS, T0, content=body)
    approve_stage(review, T0)
    assert review.stage.name == COUNCIL
    review.decide("universal", "approve", "", 1, "rep.universal", T0)
    review.decide("sony", "request_changes", "why", 1, "rep.sony", T0)
    with pytest.raises(NothingChanged):
        review.resubmit("lead", T0, dict(body))

    [event] = review.resubmit("lead", T0 + timedelta(seconds=5), content(synthesises=["voice"], launch_scope="pilot",
                                                                         summary="Clearer."))
    assert event.detail["material"] == "" and review.stage.name == COUNCIL
    assert review.party_state("universal") == SlotState.APPROVED and review.party_state("sony") == SlotState.PENDING

    review.decide("sony", "request_changes", "pay them", 2, "rep.sony", T0)
    # Widening the launch scope is material: a new approval round from stage one.
    events = review.resubmit("lead", T0 + timedelta(seconds=9),
                             content(synthesises=["voice"], launch_scope="broad_rollout", summary="Clearer."))
    assert events[0].detail["material"] == "launch_scope" and events[1].kind == "routed"
    assert review.stage.name == FIRST and review.pending_parties() == LABELS
    earlier = [slot for stage in review.stages[:-1] for slot in stage.slots.values() if slot.state == SlotState.APPROVED]
    assert earlier and {slot.version for slot in earlier} == {1}  # approvals stay with the version they approved


def test_the_shipped_policy_routes_a_voice_launch_through_the_artist_council():
    body = factories.submission(DEFAULT, synthesises=["voice"], launch_scope="broad_rollout")
    assert [s.name for s in route(DEFAULT, body).stages] == [
        "Rights & licensing review", "Legal sign-off", "Artist council", "Executive approval"]
    assert route(DEFAULT, factories.submission(DEFAULT)).tier == "minimal"


@pytest.mark.parametrize(("extra", "message"), [
    ({"tiers": {"high": {"add_stage": []}}}, "unknown field 'add_stage'"),
    ({"tiers": {"severe": {}}}, "tiers"),
    ({"risk_rules": [{"name": "x", "tier": "high", "when": {"colour": ["red"]}}]}, "unknown proposal field 'colour'"),
    ({"risk_rules": [{"name": "x", "tier": "high", "when": {"title": ["a"]}}]}, "not in material_fields"),
    ({"tiers": {"high": {"add_stages": [{"name": "C", "due": "1s", "after": "Nope"}]}}}, "no stage is named 'Nope'"),
    ({"grants": {"expires_after": "soon"}}, "is not a duration"),
    ({"grants": {"continue_as_new_after": 10}}, "continue_as_new_after"),  # a run would continue at once
])
def test_a_risk_or_grant_table_with_a_mistake_is_refused_saying_where(extra, message):
    raw = {"parties": {"sony": {"name": "Sony", "timezone": "America/New_York", "holidays": "US"}},
           "stages": [{"name": "A", "due": "1s"}]} | extra
    with pytest.raises(PolicyError, match=message):
        parse_policy(raw)


@pytest.mark.parametrize("tier", TIERS)
def test_the_examples_proposal_of_each_tier_gets_that_tier_under_the_example_policy(tier):
    import json
    from pathlib import Path

    from api.schemas import proposal_submit

    folder = Path(__file__).parents[2] / "examples" / "risk"
    policy = load_policy(folder / "policy.toml")
    body = proposal_submit(policy).model_validate(json.loads((folder / f"{tier}.json").read_text()))
    assert route(policy, body.model_dump(mode="json")).tier == tier
