"""Risk tiers: which tier a proposal's content falls in, and the route that tier gives.

Pure: `route(policy, content)` reads the policy's risk rules against the
proposal's fields and returns the tier, the rules that gave it, and the
policy the review runs on (the base stages, those the tier adds, and the
stage rules the tier changes), with each stage's provenance. The preview,
the submission and a material resubmission all call it, so what the lead
previews is what the workflow routes.
"""

# No `from __future__ import annotations`: its dataclasses cross the workflow
# boundary, and the SDK's converter reads their types for every payload (workflows/messages.py).

from dataclasses import dataclass, field, fields, replace
from typing import Any

from countersign.domain.errors import Unacceptable
from countersign.domain.policy import TIERS, Policy, StagePolicy

BASE = "policy"  # `added_by` / `rule_set_by` of what the base policy says


@dataclass(frozen=True)
class Match:
    rule: str
    tier: str
    why: str = ""


@dataclass(frozen=True)
class RouteStage:
    name: str
    rule: str  # "all", "any" or "quorum:N"
    added_by: str  # BASE, or the risk rule whose tier added the stage
    rule_set_by: str  # BASE, or the risk rule whose tier set the stage's rule
    due: str  # as the policy writes it, e.g. "10 business days"


@dataclass(frozen=True)
class Route:
    tier: str
    matches: list[Match]  # the rules that matched, highest tier first
    policy: Policy  # what the review runs on
    stages: list[RouteStage] = field(default_factory=list)  # parallel to policy.stages

    @property
    def deciding(self) -> Match | None:
        """The rule that set the tier (None: no rule matched, the tier is minimal)."""
        return self.matches[0] if self.matches else None

    @property
    def submittable(self) -> bool:
        return self.tier != "unacceptable"

    @property
    def reason(self) -> str | None:
        """Why it cannot be submitted, naming the rule; None when it can."""
        if self.submittable:
            return None
        match = self.deciding
        return f"risk rule '{match.rule}' makes this proposal unacceptable" + (f": {match.why}" if match.why else "")

    def check_submittable(self) -> None:
        if not self.submittable:
            raise Unacceptable(self.reason)


def field_value(content: dict, name: str) -> Any:
    """A proposal field by policy name ("checklist.safeguards" reads into the checklist)."""
    if name.startswith("checklist."):
        return (content.get("checklist") or {}).get(name.split(".", 1)[1])
    return content.get(name)


def matches(when: dict[str, list], content: dict) -> bool:
    for name, accepted in when.items():
        value = field_value(content, name)
        values = value if isinstance(value, list) else [value]
        if not any(v in accepted for v in values):
            return False
    return True


def assess(policy: Policy, content: dict) -> tuple[str, list[Match]]:
    """The tier (highest of the matched rules'; "minimal" when none matched) and the matches."""
    found = [Match(r.name, r.tier, r.why) for r in policy.risk_rules if matches(r.when, content)]
    found.sort(key=lambda m: -TIERS.index(m.tier))
    return (found[0].tier if found else "minimal"), found


def route(policy: Policy, content: dict) -> Route:
    tier, found = assess(policy, content)
    by = found[0].rule if found else BASE
    shape = policy.tiers.get(tier)
    stages = [(s, BASE, BASE) for s in policy.stages]
    if shape is not None:
        for added in shape.add_stages:
            stage = StagePolicy(**{f.name: getattr(added, f.name) for f in fields(StagePolicy)})
            at = len(stages) if added.after is None else 1 + next(
                i for i, (s, _, _) in enumerate(stages) if s.name == added.after)
            stages.insert(at, (stage, by, by))
        stages = [(replace(s, rule=shape.rules[s.name]), added, by) if s.name in shape.rules else (s, added, set_by)
                  for s, added, set_by in stages]
    effective = replace(policy, stages=[s for s, _, _ in stages])
    return Route(tier, found, effective,
                 [RouteStage(s.name, s.rule, added, set_by, str(s.due)) for s, added, set_by in stages])
