"""What must hold after a fault: every decision that got a 2xx is recorded
exactly once in the database, in the audit trail and in the Temporal
history, and nothing else is; no proposal is stuck; timers still fire; the
audit CLI agrees."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from countersign.storage.queries import workflow_id
from countersign.storage.tables import AuditEntry, Decision, OutboxMail, Proposal
from tests.faults.burst import Burst
from tests.faults.cluster import PARTIES, REPS, Cluster
from workflows import search_attributes as sa

SETTLE_TIMEOUT = 60  # seconds for the service to catch up once the fault has passed
ACCEPTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
COMPLETED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED


async def eventually(what: str, check: Callable[[], Awaitable[str | None]], timeout: float = SETTLE_TIMEOUT) -> None:
    """Poll `check` (None when satisfied, else what is still wrong) until it passes."""
    deadline = time.monotonic() + timeout
    while True:
        problem = await check()
        if problem is None:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still not so after {timeout}s: {problem}")
        await asyncio.sleep(0.25)


class Report:
    """The stores, read after the fault, and the assertions over them."""

    def __init__(self, cluster: Cluster, engine: Engine, temporal: Client, burst: Burst, proposals: list[int],
                 silent: int, silent_party: str) -> None:
        self.cluster = cluster
        self.engine = engine
        self.temporal = temporal
        self.burst = burst
        self.proposals = proposals
        self.silent = silent  # one label never decides it: its timers must fire
        self.silent_party = silent_party
        self.timings: dict[str, float] = {}  # seconds each check took, waiting included

    def _statuses(self) -> dict[int, Proposal]:
        with Session(self.engine) as session:
            rows = session.exec(select(Proposal).where(col(Proposal.id).in_(self.proposals))).all()
            return {row.id: row for row in rows}

    async def all_concluded(self) -> None:
        """Every proposal whose five labels all got a 2xx ends approved, its workflow closed."""
        decided = Counter(o.planned.proposal_id for o in self.burst.outcomes.values() if o.ok)
        expected = [pid for pid in self.proposals if decided[pid] == len(PARTIES)]
        assert len(expected) == len(self.proposals) - 1, f"decided in full: {expected} of {self.proposals}"

        async def check() -> str | None:
            rows = self._statuses()
            open_ = {pid: rows[pid].status if pid in rows else "missing" for pid in expected
                     if pid not in rows or rows[pid].status != "approved"}
            return f"proposals not approved in the database: {open_}" if open_ else None

        await eventually("every fully decided proposal approved", check)

    async def timers_fired(self) -> None:
        """The silent proposal's reminder to its silent label, due after the
        fault, is recorded, with its mail queued."""
        async def check() -> str | None:
            with Session(self.engine) as session:
                kinds = [e.kind for e in session.exec(select(AuditEntry).where(
                    AuditEntry.proposal_id == self.silent, AuditEntry.party == self.silent_party))]
                mails = session.exec(select(OutboxMail).where(OutboxMail.proposal_id == self.silent,
                                                              OutboxMail.kind == "reminded")).all()
            if kinds.count("reminded") != 1:
                return f"proposal {self.silent} has {kinds.count('reminded')} 'reminded' entries for " \
                       f"{self.silent_party}, not 1 (entries: {kinds})"
            # (the other labels may have been reminded too, if the fault held up their decisions)
            to_silent = [mail for mail in mails if mail.recipient == REPS[self.silent_party]]
            if len(to_silent) != 1:
                return f"{len(to_silent)} reminder mails queued for {REPS[self.silent_party]}, not 1"
            return None

        await eventually("timers fire after the fault", check)

    async def nothing_stuck(self) -> None:
        """Each workflow is closed with the database's status as its result, or
        open and idle (waiting on a timer or a decision) with the database
        showing what its search attributes say."""
        async def check() -> str | None:
            rows = self._statuses()
            problems = []
            for pid in self.proposals:
                handle = self.temporal.get_workflow_handle(workflow_id(pid))
                described = await handle.describe()
                row = rows.get(pid)
                if row is None:
                    problems.append(f"proposal {pid} is not in the database")
                    continue
                if described.status == WorkflowExecutionStatus.COMPLETED:
                    result = await handle.result()
                    if result != row.status:
                        problems.append(f"proposal {pid}: workflow ended {result!r}, database says {row.status!r}")
                elif described.status == WorkflowExecutionStatus.RUNNING:
                    raw = described.raw_description
                    if raw.pending_activities or raw.HasField("pending_workflow_task"):
                        problems.append(f"proposal {pid} still busy: {len(raw.pending_activities)} activities "
                                        f"pending {[a.last_failure.message for a in raw.pending_activities]}, "
                                        f"workflow task pending {raw.HasField('pending_workflow_task')}")
                        continue
                    attributes = described.typed_search_attributes
                    status, pending = attributes.get(sa.STATUS), sorted(attributes.get(sa.PENDING) or [])
                    if (status, pending) != (row.status, sorted(row.pending)):
                        problems.append(f"proposal {pid}: workflow says {status} pending {pending}, "
                                        f"database {row.status} pending {sorted(row.pending)}")
                else:
                    problems.append(f"proposal {pid}: workflow {described.status.name}")
            return "; ".join(problems) or None

        await eventually("no proposal stuck", check)
        silent = self._statuses()[self.silent]
        assert (silent.status, silent.pending) == ("in_review", [self.silent_party]), (
            f"the silent proposal {self.silent} should wait on {self.silent_party} alone: "
            f"{silent.status} pending {silent.pending}")

    async def recorded_exactly_once(self) -> None:
        ok = {o.planned.decision_id: o.planned for o in self.burst.outcomes.values() if o.ok}
        problems: list[str] = []

        with Session(self.engine) as session:
            rows = session.exec(select(Decision).where(col(Decision.proposal_id).in_(self.proposals))).all()
            entries = session.exec(select(AuditEntry).where(col(AuditEntry.proposal_id).in_(self.proposals),
                                                            AuditEntry.kind == "decided")).all()
        in_db = Counter(row.decision_id for row in rows)
        for row in rows:
            planned = ok.get(row.decision_id)
            if planned is None:
                problems.append(f"database: decision {row.decision_id} ({row.party} on {row.proposal_id}) "
                                "was never answered 2xx")
            elif (row.proposal_id, row.party) != (planned.proposal_id, planned.party):
                problems.append(f"database: decision {row.decision_id} stored for {row.party} on "
                                f"{row.proposal_id}, sent for {planned.party} on {planned.proposal_id}")

        in_trail: Counter = Counter()
        for entry in entries:
            ids = [did for did in ok if did in (entry.detail.get("comment") or "")]
            if not ids:
                problems.append(f"audit trail: 'decided' entry {entry.seq} of proposal {entry.proposal_id} "
                                f"({entry.party}) matches no decision answered 2xx: {entry.detail}")
            for did in ids:
                in_trail[did] += 1

        accepted: Counter = Counter()
        completed: Counter = Counter()
        where: dict[str, set[int]] = defaultdict(set)
        for pid in self.proposals:
            history = await self.temporal.get_workflow_handle(workflow_id(pid)).fetch_history()
            for event in history.events:
                if event.event_type == ACCEPTED:
                    request = event.workflow_execution_update_accepted_event_attributes.accepted_request
                    if request.input.name == "decide":
                        accepted[request.meta.update_id] += 1
                        where[request.meta.update_id].add(pid)
                elif event.event_type == COMPLETED:
                    attributes = event.workflow_execution_update_completed_event_attributes
                    if attributes.meta.update_id in accepted or attributes.meta.update_id in ok:
                        if attributes.outcome.HasField("failure"):
                            problems.append(f"history of proposal {pid}: update {attributes.meta.update_id} "
                                            f"failed: {attributes.outcome.failure.message}")
                        else:
                            completed[attributes.meta.update_id] += 1
        for did in accepted:
            if did not in ok:
                problems.append(f"Temporal history: decision {did} accepted in {sorted(where[did])} "
                                "but never answered 2xx")

        for did, planned in ok.items():
            counts = {"database": in_db[did], "audit trail": in_trail[did],
                      "history (accepted)": accepted[did], "history (completed)": completed[did]}
            wrong = {store: count for store, count in counts.items() if count != 1}
            if wrong:
                problems.append(f"decision {did} ({planned.party} on proposal {planned.proposal_id}) answered 2xx "
                                f"but recorded {wrong} times (should be once each)")
            elif where[did] != {planned.proposal_id}:
                problems.append(f"decision {did} accepted by {sorted(where[did])}, sent to {planned.proposal_id}")
        assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)

    async def audit_cli_agrees(self) -> None:
        commands = (("audit", "verify"), ("audit", "reconcile"))
        results = await asyncio.gather(*(self.cluster.cli(*command, check=False) for command in commands))
        for command, (code, out, err) in zip(commands, results):
            assert code == 0, f"countersign {' '.join(command)} exited {code}:\n{out}{err}"

    async def check_all(self) -> None:
        failures = self.burst.failures()
        assert not failures, (f"{len(failures)} of {len(self.burst.outcomes)} decisions never got a 2xx:\n"
                              + "\n".join(failures))
        # A fault may be answered 503 (try again), never 500: that is an error nobody handled.
        unhandled = [f"{o.planned.decision_id}: {o.attempts}" for o in self.burst.outcomes.values()
                     if "500" in o.attempts]
        assert not unhandled, f"{len(unhandled)} decisions were answered 500 on the way:\n" + "\n".join(unhandled)
        for check in (self.all_concluded, self.timers_fired, self.nothing_stuck, self.recorded_exactly_once,
                      self.audit_cli_agrees):
            began = time.monotonic()
            await check()
            self.timings[check.__name__] = round(time.monotonic() - began, 1)
