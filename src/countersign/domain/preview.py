"""The route a proposal would get if submitted now: its tier, stages, parties
and the first stage's due dates. Built by opening the same `Review` the
workflow opens, so the preview is what submitting does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from countersign.domain import tiers
from countersign.domain.policy import Policy
from countersign.domain.routing import Review


@dataclass(frozen=True)
class PreviewStage:
    name: str
    rule: str
    parties: list[str]
    added_by: str
    rule_set_by: str
    due: str  # the stage's allowance, e.g. "10 business days"
    due_at: dict[str, datetime] | None  # per party, for the stage that opens at submission


@dataclass(frozen=True)
class Preview:
    tier: str
    matches: list[tiers.Match]
    stages: list[PreviewStage]
    submittable: bool
    reason: str | None


def preview(policy: Policy, content: dict, now: datetime) -> Preview:
    route = tiers.route(policy, content)
    touched = content["parties"]
    first: dict[str, dict[str, datetime]] = {}
    if route.submittable:
        review, _ = Review.open(policy, touched, now, content=content)
        first = {review.stage.name: {p: s.due_at for p, s in review.stage.slots.items()}}
    stages = [PreviewStage(s.name, s.rule, route.policy.stage_parties(i, touched), s.added_by, s.rule_set_by,
                           s.due, first.get(s.name))
              for i, s in enumerate(route.stages)]
    return Preview(route.tier, route.matches, stages, route.submittable, route.reason)
