"""The reject hint's case (countersign.domain.reject_outcome), per policy variant, checked
against what the routing rules then do with the rejection."""

from __future__ import annotations

import pytest

from countersign.domain.reject_outcome import RejectOutcome, reject_outcome
from countersign.domain.routing import Review, Status, current_parties
from tests.domain.test_routing import T0, decide, policy, stage

THREE = ["sony", "universal", "merlin"]
OUT, FAILS, PARTIAL = RejectOutcome.REJECTED, RejectOutcome.STAGE_FAILS, RejectOutcome.PARTIAL


@pytest.mark.parametrize(("rule", "allow_partial", "before", "expected"), [
    ("all", False, [], OUT),  # no partial approval: rejected outright, whatever the rule
    ("quorum:2", False, [("sony", "approve")], OUT),
    ("all", True, [], PARTIAL),  # the label drops out, the others go on
    ("all", True, [("sony", "approve"), ("universal", "approve")], PARTIAL),  # the others approved: partial now
    ("all", True, [("sony", "reject"), ("universal", "reject")], FAILS),  # nobody would be left
    ("any", True, [("sony", "reject")], PARTIAL),
    ("quorum:2", True, [], PARTIAL),
    ("quorum:2", True, [("sony", "reject")], FAILS),  # 2 approvals needed, 1 label left
    ("quorum:3", True, [], FAILS),  # every label's approval is needed
])
def test_the_outcome_named_is_what_the_rules_do(rule, allow_partial, before, expected):
    review, _ = Review.open(policy(stage(rule=rule), stage("Legal"), allow_partial=allow_partial), THREE, T0)
    for party, verdict in before:
        decide(review, party, verdict)
    others = [view.state.value for view in current_parties(review.snapshot()) if view.party != "merlin"]
    outcome = reject_outcome(allow_partial, rule, others)
    assert outcome == expected
    decide(review, "merlin", "reject")
    assert (review.status == Status.REJECTED) == (outcome != PARTIAL)


def test_parties_outside_the_stage_do_not_count():
    # Sony and Universal rejected in an earlier stage: their rows read "dropped".
    assert reject_outcome(True, "all", ["dropped", "dropped"]) == FAILS
    assert reject_outcome(True, "any", ["dropped", "pending", "waiting", "not_needed"]) == PARTIAL
