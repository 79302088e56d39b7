"""The routing rules: how a proposal moves through the policy's stages.

`Review` is the whole state of one proposal's sign-off process. Its methods
are deterministic (time comes in as an argument, nothing is read from the
outside world), mutate the review, and return the `Event`s that happened, so
that the workflow can stay a thin durable shell: it feeds in decisions and
the clock, and records what comes out. Every `check_*` method raises the
domain error a caller would get, without changing anything; validators use
them to refuse bad calls before they enter the history.
"""

# No `from __future__ import annotations`: its dataclasses cross the workflow
# boundary, and the SDK's converter reads their types for every payload (workflows/messages.py).

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from countersign.domain import calendar, tiers
from countersign.domain.changes import Change, diff
from countersign.domain.errors import (
    InvalidDecision,
    NotAwaitingChanges,
    NothingChanged,
    NothingToAcknowledge,
    NotPendingParty,
    PolicyError,
    ProposalClosed,
    StaleVersion,
)
from countersign.domain.policy import Policy, StagePolicy


class Verdict(StrEnum):
    APPROVE = "approve"
    APPROVE_WITH_CONDITIONS = "approve_with_conditions"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"


class SlotState(StrEnum):
    WAITING = "waiting"  # the party's stage has not opened yet, or is on hold while changes are made
    PENDING = "pending"
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    CHANGES_REQUESTED = "changes_requested"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DROPPED = "dropped"  # out of this stage: rejected or expired earlier
    NOT_NEEDED = "not_needed"  # the stage passed (any/quorum) or the proposal ended before this party decided


class Status(StrEnum):
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    APPROVED_PARTIAL = "approved_partial"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


FINAL_STATUSES = frozenset(
    {Status.APPROVED, Status.APPROVED_PARTIAL, Status.REJECTED, Status.WITHDRAWN, Status.EXPIRED}
)
APPROVING = frozenset({SlotState.APPROVED, SlotState.APPROVED_WITH_CONDITIONS})
_VERDICT_STATE = {
    Verdict.APPROVE: SlotState.APPROVED,
    Verdict.APPROVE_WITH_CONDITIONS: SlotState.APPROVED_WITH_CONDITIONS,
    Verdict.REQUEST_CHANGES: SlotState.CHANGES_REQUESTED,
    Verdict.REJECT: SlotState.REJECTED,
}
_NEEDS_COMMENT = {
    Verdict.APPROVE_WITH_CONDITIONS: "the conditions",
    Verdict.REQUEST_CHANGES: "the changes you need",
    Verdict.REJECT: "the reason for rejecting",
}


@dataclass
class Event:
    """Something that happened, for the audit log (and, for some kinds, mail)."""

    kind: str  # routed, decided, changes_requested, resubmitted, conditions_acknowledged,
    # reminded, escalated, expired, withdrawn, concluded, clock_paused, clock_resumed
    at: datetime
    party: str | None = None
    actor: str | None = None
    detail: dict[str, str] = field(default_factory=dict)


@dataclass
class Slot:
    """One party's place in one stage."""

    party: str
    state: SlotState = SlotState.PENDING
    due_at: datetime | None = None
    grace_ends_at: datetime | None = None
    reminders_at: list[datetime] = field(default_factory=list)  # not yet sent, soonest first
    overdue_noticed: bool = False  # the due moment has been handled (escalated, if the policy says so)
    lapsed: bool = False  # past its grace (under "escalate"); still pending while others can carry the stage
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    version: int | None = None
    # Stopped while questions from the party are open, under a stage that pauses for them:
    # since when, and the questions (message ids) holding it.
    paused_at: datetime | None = None
    held_by: list[int] = field(default_factory=list)


@dataclass
class Stage:
    name: str
    slots: dict[str, Slot]
    opened_at: datetime
    index: int  # in policy.stages; differs from the position in Review.stages once a stage was skipped


@dataclass
class Condition:
    party: str
    text: str
    version: int
    acknowledged: bool = False


@dataclass
class Review:
    policy: Policy
    touched: list[str]
    version: int = 1
    status: Status = Status.IN_REVIEW
    stages: list[Stage] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    outcome_scope: list[str] | None = None
    # Set when opened with the proposal's content: the route its tier gives
    # (`policy` is then the route's policy) and the content, for the next version's diff.
    route: tiers.Route | None = None
    content: dict | None = None
    base_policy: Policy | None = None
    # A material change re-routed the review at this version: conditions given
    # to earlier versions lapse with the approvals they came with.
    rerouted_at: int = 0

    # -- starting ----------------------------------------------------------

    @classmethod
    def open(cls, policy: Policy, touched: list[str], now: datetime,
             content: dict | None = None) -> tuple["Review", list[Event]]:
        """`content`: the proposal, whose risk tier shapes the route (tiers.route);
        without it the policy's stages are the route."""
        base = policy
        route = None
        if content is not None:
            route = tiers.route(policy, content)
            route.check_submittable()
            policy = route.policy
        if not touched:
            raise ValueError("a proposal must touch at least one party's catalog")
        unknown = [p for p in touched if p not in policy.parties]
        if unknown:
            raise PolicyError(
                f"the routing policy has no [parties.{unknown[0]}] table; add one to route this proposal"
            )
        if not any(policy.stage_parties(i, touched) for i in range(len(policy.stages))):
            raise PolicyError(f"no stage of the routing policy asks any of {', '.join(touched)}")
        review = cls(policy=policy, touched=list(touched), route=route, content=content, base_policy=base)
        return review, review._open_stage(0, now)

    # -- reading -----------------------------------------------------------

    @property
    def concluded(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def stage(self) -> Stage:
        return self.stages[-1]

    @property
    def awaiting_acknowledgement(self) -> bool:
        """Every stage has passed; only the lead's acknowledgement of conditions is missing."""
        return (
            self.status == Status.IN_REVIEW and self._all_stages_passed and bool(self._blocking_conditions())
        )

    @property
    def open_conditions(self) -> list[Condition]:
        return [c for c in self.conditions if not c.acknowledged and c.version >= self.rerouted_at]

    @property
    def standing_conditions(self) -> list[Condition]:
        """The conditions of the approvals that count: those of the route's current round."""
        return [c for c in self.conditions if c.version >= self.rerouted_at]

    def pending_parties(self) -> list[str]:
        if self.status != Status.IN_REVIEW:
            return []
        return [p for p, s in self.stage.slots.items() if s.state == SlotState.PENDING]

    def party_state(self, party: str) -> SlotState:
        slot = self.stage.slots.get(party)
        if slot is not None:
            return slot.state
        if party in self.dropped:
            return SlotState.DROPPED
        return SlotState.NOT_NEEDED if self.concluded else SlotState.WAITING

    def snapshot(self) -> "Snapshot":
        """What the read model stores: the current state of every party and stage."""
        stages = [
            StageView(index, stage.name, stage.opened_at, [_party_view(s) for s in stage.slots.values()])
            for index, stage in enumerate(self.stages)
        ]
        current = []
        for party in self.touched:
            slot = self.stage.slots.get(party)
            current.append(_party_view(slot) if slot else PartyView(party, self.party_state(party)))
        return Snapshot(
            status=self.status,
            version=self.version,
            stage=self.stage.name,
            stage_index=len(self.stages) - 1,
            parties=current,
            stages=stages,
            # Lapsed conditions (of versions before a material change) stay in the decisions and the trail.
            conditions=[Condition(c.party, c.text, c.version, c.acknowledged) for c in self.standing_conditions],
            outcome_scope=self.outcome_scope,
            pending=self.pending_parties(),
            next_due_at=min((s.due_at for s in self._pending_slots()), default=None),
            tier=self.route.tier if self.route else None,
            tier_rules=[m.rule for m in self.route.matches] if self.route else [],
            route=list(self.route.stages) if self.route else [],
        )

    def next_deadline(self) -> datetime | None:
        """The next moment at which `advance_clock` has something to do."""
        moments = [m for slot in self._running_slots() for m in _slot_moments(slot)]
        return min(moments, default=None)

    # -- checks (raise, never mutate) --------------------------------------

    def check_open(self) -> None:
        if self.concluded:
            raise ProposalClosed(f"this proposal is {self.status.value.replace('_', ' ')}; it can no longer change")

    def check_decision(self, party: str, verdict: str, comment: str, version: int) -> None:
        self.check_open()
        try:
            verdict = Verdict(verdict)
        except ValueError:
            raise InvalidDecision(
                f"{verdict!r} is not a decision; use one of {', '.join(v.value for v in Verdict)}"
            ) from None
        if verdict in _NEEDS_COMMENT and not (comment or "").strip():
            raise InvalidDecision(f"a comment is required: write {_NEEDS_COMMENT[verdict]}")
        if self.status == Status.CHANGES_REQUESTED:
            raise NotPendingParty(
                f"changes were requested; decisions resume when the lead submits version {self.version + 1}"
            )
        if version != self.version:
            if version > self.version:
                raise StaleVersion(
                    f"there is no version {version}; the proposal is at version {self.version}"
                )
            raise StaleVersion(
                f"version {version} is no longer current; the proposal is at version {self.version}: "
                "reload it and decide on what is current"
            )
        if party not in self.touched:
            raise NotPendingParty(f"this proposal does not touch {party}'s catalog")
        state = self.party_state(party)
        if state != SlotState.PENDING:
            raise NotPendingParty(self._why_not_pending(party, state))

    def check_resubmit(self, content: dict | None = None) -> None:
        if content is not None and self.status in (Status.APPROVED, Status.APPROVED_PARTIAL):
            return self.check_widen(content)
        self.check_open()
        if self.status != Status.CHANGES_REQUESTED:
            raise NotAwaitingChanges("no changes were requested; only a proposal returned for changes can be resubmitted")
        if content is not None and self.content is not None:
            if not self.changes(content):
                raise NothingChanged(f"version {self.version + 1} would be the same as version {self.version}; "
                                     "change what the reviewers asked for before resubmitting")
            tiers.route(self.base_policy, content).check_submittable()

    def check_widen(self, content: dict) -> None:
        """An approved proposal takes a new version only to widen its launch
        scope: a new approval round, from the first stage."""
        if self.content is None or self.status not in (Status.APPROVED, Status.APPROVED_PARTIAL):
            raise NotAwaitingChanges("only an approved proposal's launch scope can be widened")
        if not _widens(self.content.get("launch_scope"), content.get("launch_scope")):
            raise NotAwaitingChanges(
                "an approved proposal changes only by widening its launch scope (sandbox, then pilot, then broad "
                "rollout), which starts a new approval round; for other changes submit a new proposal")
        tiers.route(self.base_policy, content).check_submittable()

    def changes(self, content: dict) -> list[Change]:
        """What `content` changes against the current version, material or not."""
        return diff(self.content or {}, content, self.base_policy.material_fields if self.base_policy else [])

    def check_acknowledge(self) -> None:
        self.check_open()
        if not self.open_conditions:
            raise NothingToAcknowledge("there are no open conditions to acknowledge")

    # -- changes -----------------------------------------------------------

    def decide(
        self, party: str, verdict: str, comment: str, version: int, actor: str, now: datetime,
        on_behalf_of: str | None = None,
    ) -> list[Event]:
        """`on_behalf_of`: the rep who delegated to `actor`, recorded with the decision."""
        self.check_decision(party, verdict, comment, version)
        verdict = Verdict(verdict)
        slot = self.stage.slots[party]
        slot.state = _VERDICT_STATE[verdict]
        slot.decided_by, slot.decided_at, slot.version = actor, now, version
        slot.comment = (comment or "").strip() or None
        detail = {"decision": verdict.value, "version": str(version), "stage": self.stage.name,
                  "comment": slot.comment or ""}
        if on_behalf_of:
            detail["on_behalf_of"] = on_behalf_of
        events = [Event("decided", now, party, actor, detail)]
        if verdict == Verdict.APPROVE_WITH_CONDITIONS:
            self.conditions.append(Condition(party, slot.comment or "", version))
        elif verdict == Verdict.REJECT:
            self.dropped.append(party)
        elif verdict == Verdict.REQUEST_CHANGES:
            self.status = Status.CHANGES_REQUESTED
            for other in self.stage.slots.values():
                if other.state == SlotState.PENDING:  # on hold, without timers, until the new version
                    self.stage.slots[other.party] = Slot(other.party, SlotState.WAITING)
            events.append(Event("changes_requested", now, party, actor, {"version": str(version)}))
            return events
        return events + self._settle(now)

    def resubmit(self, actor: str, now: datetime, content: dict | None = None) -> list[Event]:
        """A new version: the current stage reopens for everyone who had not
        approved it. With `content` (the new version), a change to a material
        field re-routes instead: the route its tier gives opens again from the
        first stage for every party, earlier approvals staying with the earlier
        version; an unchanged version is refused."""
        self.check_resubmit(content)
        if content is not None and self.status in (Status.APPROVED, Status.APPROVED_PARTIAL):
            changes = self.changes(content)
            self.content = content
            self.outcome_scope = None  # the new round decides it again
            events = self._reroute(actor, now, changes)
            events[0].detail["widened"] = "launch_scope"
            return events
        if content is not None and self.content is not None:
            changes = self.changes(content)
            self.content = content
            if any(c.material for c in changes):
                return self._reroute(actor, now, changes)
            self.version += 1
            self.status = Status.IN_REVIEW
            events = self._reopen_current(actor, now)
            events[0].detail["changed"] = ",".join(c.field for c in changes)
            events[0].detail["material"] = ""
            return events
        self.version += 1
        self.status = Status.IN_REVIEW
        return self._reopen_current(actor, now)

    def _reroute(self, actor: str, now: datetime, changes: list[Change]) -> list[Event]:
        self.route = tiers.route(self.base_policy, self.content)
        self.version += 1
        self.rerouted_at = self.version
        self.status = Status.IN_REVIEW
        self._close_open_slots()  # the old route's slots stay as the earlier version's record
        self.policy = self.route.policy
        resubmitted = Event("resubmitted", now, actor=actor, detail={
            "version": str(self.version), "stage": self.policy.stages[0].name,
            "reopened": ",".join(self._active(self.touched)), "tier": self.route.tier,
            "changed": ",".join(c.field for c in changes),
            "material": ",".join(c.field for c in changes if c.material)})
        return [resubmitted, *self._open_stage(0, now)]

    def _reopen_current(self, actor: str, now: datetime) -> list[Event]:
        reopened = []
        for party, slot in self.stage.slots.items():
            if slot.state in (SlotState.PENDING, SlotState.WAITING, SlotState.CHANGES_REQUESTED):
                self.stage.slots[party] = self._new_slot(party, self.stage.index, now)
                reopened.append(party)
        return [
            Event("resubmitted", now, actor=actor,
                  detail={"version": str(self.version), "stage": self.stage.name,
                          "reopened": ",".join(reopened)})
        ]

    def acknowledge(self, actor: str, now: datetime) -> list[Event]:
        self.check_acknowledge()
        texts = []
        for condition in self.open_conditions:
            condition.acknowledged = True
            texts.append(f"{condition.party}: {condition.text}")
        events = [Event("conditions_acknowledged", now, actor=actor, detail={"conditions": "\n".join(texts)})]
        return events + self._settle(now)

    def withdraw(self, actor: str, reason: str, now: datetime) -> list[Event]:
        self.check_open()
        self.status = Status.WITHDRAWN
        self._close_open_slots()
        return [
            Event("withdrawn", now, actor=actor, detail={"reason": (reason or "").strip()}),
            self._concluded_event(now),
        ]

    def advance_clock(self, now: datetime) -> list[Event]:
        """Send due reminders, escalate, and expire what is past its grace."""
        events: list[Event] = []
        if not self._pending_slots():
            return events
        stage_policy = self._stage_policy
        for slot in self._running_slots():
            sent = [m for m in slot.reminders_at if m <= now]
            if sent:
                slot.reminders_at = [m for m in slot.reminders_at if m > now]
                if slot.due_at > now:  # a reminder overtaken by the due time is not sent late
                    events.append(Event("reminded", now, slot.party,
                                        detail={"stage": self.stage.name, "due_at": slot.due_at.isoformat()}))
            if not slot.overdue_noticed and slot.due_at <= now:
                slot.overdue_noticed = True
                if stage_policy.on_overdue == "escalate":
                    events.append(Event("escalated", now, slot.party,
                                        detail={"stage": self.stage.name, "due_at": slot.due_at.isoformat(),
                                                "grace_ends_at": slot.grace_ends_at.isoformat()}))
        overdue = [s for s in self._running_slots() if s.grace_ends_at <= now]
        if not overdue:
            return events
        if stage_policy.on_overdue == "escalate":
            for slot in overdue:
                slot.lapsed = True
            return events + self._settle(now)
        for slot in overdue:
            slot.state = SlotState.EXPIRED
            self.dropped.append(slot.party)
            events.append(Event("expired", now, slot.party, detail={"stage": self.stage.name}))
        return events + self._settle(now)

    def question_opened(self, party: str, question: int, now: datetime) -> list[Event]:
        """A question from `party` to the lead is open: under a stage that pauses for questions,
        the party's clock in it stops (no reminder, escalation or expiry) until the last of its
        open questions is answered."""
        slot = self.stage.slots.get(party)
        if (slot is None or slot.state != SlotState.PENDING or self.status != Status.IN_REVIEW
                or question in slot.held_by or not self.policy.pauses_for_questions(self.stage.index)):
            return []
        slot.held_by.append(question)
        if slot.paused_at is not None:
            return []  # stopped already, by an earlier question
        slot.paused_at = now
        return [Event("clock_paused", now, party, detail={"stage": self.stage.name, "question": str(question),
                                                          "due_at": slot.due_at.isoformat()})]

    def question_closed(self, question: int, now: datetime) -> list[Event]:
        """A question was answered: the last one holding a party's clock restarts it, its due time,
        reminders and grace moved on by the time it stood still (calendar.held)."""
        for slot in self._pending_slots():
            if question not in slot.held_by:
                continue
            slot.held_by.remove(question)
            if slot.held_by:
                return []
            config, due = self.policy.parties[slot.party], self._stage_policy.due
            paused_at, slot.paused_at = slot.paused_at, None
            slot.due_at, slot.grace_ends_at = (calendar.held(m, paused_at, now, due, config)
                                               for m in (slot.due_at, slot.grace_ends_at))
            slot.reminders_at = [calendar.held(m, paused_at, now, due, config) for m in slot.reminders_at]
            return [Event("clock_resumed", now, slot.party, detail={
                "stage": self.stage.name, "question": str(question), "paused_at": paused_at.isoformat(),
                "due_at": slot.due_at.isoformat()})]
        return []

    # -- internals ---------------------------------------------------------

    @property
    def _all_stages_passed(self) -> bool:
        """The current stage passed and no later stage has anyone left to ask."""
        return self._stage_outcome() == "passed" and not any(
            self._active(self.policy.stage_parties(i, self.touched)) for i in self._later_stages
        )

    @property
    def _stage_policy(self) -> StagePolicy:
        return self.policy.stages[self.stage.index]

    @property
    def _later_stages(self) -> range:
        """Indexes in policy.stages of the stages after the current one."""
        return range(self.stage.index + 1, len(self.policy.stages))

    def _blocking_conditions(self) -> list[Condition]:
        """Open conditions the lead must acknowledge: a dropped party's conditions are moot."""
        return [c for c in self.open_conditions if c.party not in self.dropped]

    def _close_open_slots(self) -> None:
        """The proposal ended: no slot of the current stage stays open."""
        for slot in self.stage.slots.values():
            if slot.state in (SlotState.PENDING, SlotState.WAITING):
                slot.state = SlotState.NOT_NEEDED

    def _anyone_rejected(self) -> bool:
        return any(s.state == SlotState.REJECTED for stage in self.stages for s in stage.slots.values())

    def _needed(self) -> int:
        """Approvals the current stage needs under its rule."""
        slots = self.stage.slots.values()
        stage_policy = self._stage_policy
        if stage_policy.rule == "all":
            return sum(1 for s in slots if s.state in APPROVING or s.state == SlotState.PENDING)
        return stage_policy.quorum(len(slots))

    def _can_pass_with(self, live: list[Slot]) -> bool:
        """Whether the current stage can still pass if only the `live` pending slots decide."""
        if self._stage_policy.rule == "all":
            return len(live) == self._pending_count()
        approvals = sum(1 for s in self.stage.slots.values() if s.state in APPROVING)
        return approvals + len(live) >= self._needed()

    def _pending_count(self) -> int:
        return sum(1 for s in self.stage.slots.values() if s.state == SlotState.PENDING)

    def _pending_slots(self) -> list[Slot]:
        if self.status != Status.IN_REVIEW or not self.stages:
            return []
        return [s for s in self.stage.slots.values() if s.state == SlotState.PENDING]

    def _running_slots(self) -> list[Slot]:
        """The pending slots whose clock runs: not stopped by an open question."""
        return [s for s in self._pending_slots() if s.paused_at is None]

    def _active(self, parties: list[str]) -> list[str]:
        return [p for p in parties if p not in self.dropped]

    def _new_slot(self, party: str, index: int, now: datetime) -> Slot:
        stage_policy = self.policy.stages[index]
        config = self.policy.parties[party]
        due = calendar.deadline(now, stage_policy.due, config)
        reminders = sorted(
            {t for r in stage_policy.reminders if now < (t := calendar.before(due, r, config)) < due}
        )
        return Slot(party, SlotState.PENDING, due, calendar.after(due, stage_policy.grace, config), reminders)

    def _open_stage(self, index: int, now: datetime) -> list[Event]:
        """Open stage `index`, skipping stages left with no active party."""
        while index < len(self.policy.stages):
            parties = self._active(self.policy.stage_parties(index, self.touched))
            if parties:
                slots = {p: self._new_slot(p, index, now) for p in parties}
                self.stages.append(Stage(self.policy.stages[index].name, slots, now, index))
                detail = {"stage": self.stages[-1].name, "parties": ",".join(parties),
                          "due": ",".join(f"{p}={s.due_at.isoformat()}" for p, s in slots.items())}
                origin = self.route.stages[index] if self.route else None
                for key in ("added_by", "rule_set_by"):  # the risk rule that put the stage on the route, or set its rule
                    if origin and getattr(origin, key) != tiers.BASE:
                        detail[key] = getattr(origin, key)
                return [Event("routed", now, detail=detail)]
            index += 1
        return self._conclude(now)

    def _stage_outcome(self) -> str:
        """"passed", "failed" or "open" for the current stage under its rule."""
        slots = self.stage.slots.values()
        stage_policy = self._stage_policy
        approvals = sum(1 for s in slots if s.state in APPROVING)
        pending = self._pending_count()
        needed = self._needed()
        if needed and approvals >= needed and (stage_policy.rule != "all" or not pending):
            return "passed"
        if approvals + pending < max(needed, 1):
            return "failed"
        return "open"

    def _settle(self, now: datetime) -> list[Event]:
        """After any change: conclude, move to the next stage, or keep waiting."""
        if self.status != Status.IN_REVIEW:
            return []
        if self.dropped and not self.policy.allow_partial:
            return self._conclude(now)  # full approval is no longer possible
        outcome = self._stage_outcome()
        if outcome == "failed":
            return self._conclude(now, failed=True)
        if outcome == "open":
            return self._expire_if_lapsed(now)
        for slot in self.stage.slots.values():
            if slot.state == SlotState.PENDING:
                slot.state = SlotState.NOT_NEEDED
        if self._later_stages:
            return self._open_stage(self.stage.index + 1, now)
        return self._conclude(now)

    def _expire_if_lapsed(self, now: datetime) -> list[Event]:
        """Under "escalate", the proposal expires once the parties past their grace
        are needed: when the stage cannot pass with the others alone."""
        pending = self._pending_slots()
        lapsed = [s for s in pending if s.lapsed]
        if not lapsed or self._can_pass_with([s for s in pending if not s.lapsed]):
            return []
        self.status = Status.EXPIRED
        for slot in lapsed:
            slot.state = SlotState.EXPIRED
        self._close_open_slots()
        parties = ",".join(s.party for s in lapsed)
        return [Event("expired", now, detail={"stage": self.stage.name, "parties": parties}),
                self._concluded_event(now)]

    def _conclude(self, now: datetime, failed: bool = False) -> list[Event]:
        scope = [p for p in self.touched if p not in self.dropped]
        if failed or not scope or (len(scope) < len(self.touched) and not self.policy.allow_partial):
            # Out only through expiry, nobody having rejected: the proposal expired.
            self.status = Status.REJECTED if self._anyone_rejected() else Status.EXPIRED
            self._close_open_slots()
            return [self._concluded_event(now)]
        if self._blocking_conditions():
            return []  # approved in substance; waits for the lead to acknowledge the conditions
        if len(scope) == len(self.touched):
            self.status = Status.APPROVED
        else:
            self.status = Status.APPROVED_PARTIAL
            self.outcome_scope = scope
        self._close_open_slots()
        return [self._concluded_event(now)]

    def _why_not_pending(self, party: str, state: SlotState) -> str:
        stage = self.stage.name
        if state == SlotState.WAITING:
            if not any(party in self.policy.stage_parties(i, self.touched) for i in self._later_stages):
                return f"{party} takes no part in '{stage}' and has no later stage to decide in"
            return f"{party} has no decision to make in '{stage}'; its next stage has not opened yet"
        if state == SlotState.DROPPED:
            return f"{party} is out of this review after rejecting or expiring earlier"
        if state == SlotState.NOT_NEEDED:
            return f"'{stage}' has passed; {party}'s decision is no longer needed"
        return f"{party} has already decided in '{stage}' ({state.value.replace('_', ' ')}); a decision is final"

    def _concluded_event(self, now: datetime) -> Event:
        detail = {"status": self.status.value}
        if self.outcome_scope:
            detail["scope"] = ",".join(self.outcome_scope)
        return Event("concluded", now, detail=detail)


@dataclass
class PartyView:
    party: str
    state: SlotState
    due_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    version: int | None = None
    paused_since: datetime | None = None  # the clock stands still while a question is open


@dataclass
class StageView:
    index: int
    name: str
    opened_at: datetime
    parties: list[PartyView]


@dataclass
class Snapshot:
    status: Status
    version: int
    stage: str
    stage_index: int
    parties: list[PartyView]
    stages: list[StageView]
    conditions: list[Condition]
    outcome_scope: list[str] | None
    pending: list[str]
    next_due_at: datetime | None
    tier: str | None = None
    tier_rules: list[str] = field(default_factory=list)  # the risk rules that matched, highest tier first
    route: list[tiers.RouteStage] = field(default_factory=list)


def current_parties(snapshot: Snapshot) -> list[PartyView]:
    """What a proposal shows of each touched party now, in the proposal's
    party order: its place in the current stage, or, outside that stage,
    where it stands (waiting, dropped, not needed). The read model's
    `current` rows and the workflow's answers both come from here."""
    in_stage = {view.party: view for view in snapshot.stages[snapshot.stage_index].parties}
    return [in_stage.get(view.party, view) for view in snapshot.parties]


# Launch scopes, narrowest first (the submit body's values).
SCOPES = ("internal_sandbox", "pilot", "broad_rollout")


def _widens(before: str | None, after: str | None) -> bool:
    return before in SCOPES and after in SCOPES and SCOPES.index(after) > SCOPES.index(before)


def _party_view(slot: Slot) -> PartyView:
    return PartyView(slot.party, slot.state, slot.due_at, slot.decided_by, slot.decided_at, slot.comment, slot.version,
                     slot.paused_at if slot.state == SlotState.PENDING else None)


def _slot_moments(slot: Slot) -> list[datetime]:
    moments = list(slot.reminders_at[:1])
    if not slot.overdue_noticed:
        moments.append(slot.due_at)
    if not slot.lapsed:
        moments.append(slot.grace_ends_at)
    return moments
