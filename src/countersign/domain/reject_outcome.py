"""What a rejection does under the policy in force: the decision form's hint
for "reject" says it before the rep signs (api/templates/proposals/decide.html).

It follows the routing rules (countersign.domain.routing.Review): without
`allow_partial` any rejection rejects the proposal; with it, the rejecting
label drops out, and the proposal is rejected only when the current stage
can no longer pass under its rule without that label.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from countersign.domain.policy import quorum
from countersign.domain.routing import APPROVING, SlotState


class RejectOutcome(StrEnum):
    REJECTED = "rejected"  # the policy allows no partial approval: the whole proposal is rejected
    STAGE_FAILS = "stage_fails"  # partial approval allowed, but the stage cannot pass without this label
    PARTIAL = "partial"  # the label drops out; the others go on and may approve for themselves


# The states a slot of an open stage can hold. The other parties' current rows read
# waiting, dropped or not needed: they are outside the stage.
IN_STAGE = APPROVING | {SlotState.PENDING, SlotState.REJECTED, SlotState.EXPIRED}


def reject_outcome(allow_partial: bool, rule: str, others: Iterable[str]) -> RejectOutcome:
    """`rule`: the current stage's ("all", "any", "quorum:N"); `others`: the states of the
    other parties' current rows (those outside the stage are ignored)."""
    if not allow_partial:
        return RejectOutcome.REJECTED
    in_stage = [SlotState(s) for s in others if SlotState(s) in IN_STAGE]
    approvals = sum(1 for s in in_stage if s in APPROVING)
    pending = sum(1 for s in in_stage if s == SlotState.PENDING)
    # As Review._stage_outcome: "all" needs whoever is left; a quorum counts the rejecting slot too.
    needed = approvals + pending if rule == "all" else quorum(rule, len(in_stage) + 1)
    return RejectOutcome.STAGE_FAILS if approvals + pending < max(needed, 1) else RejectOutcome.PARTIAL
