"""Compliance charts, drawn on the server as SVG (no script, no plotting library):
time to decision per label, share of decisions made by their due time per
label, and proposals by status week by week.

The figures are computed here from the read model and the audit log; the
template only places the shapes this module measured out.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlmodel import Session, col

from api.deps import SessionDep
from api.routes.pages import PageRoute, Viewer
from api.templating import render
from countersign.access import Action, require
from countersign.models import AuditEntry, PartyReview, Proposal
from countersign.routing import FINAL_STATUSES

router = APIRouter(prefix="/compliance", route_class=PageRoute, include_in_schema=False)

STATUS_ORDER = ["in_review", "changes_requested", "approved", "approved_partial", "rejected", "withdrawn",
                "expired"]
OPENED_KINDS = ("routed", "resubmitted")


@dataclass
class Bar:
    label: str
    value: float
    text: str
    width: float  # in the chart's units (0..100)
    note: str = ""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def decision_figures(session: Session, since: datetime, parties: list[str]) -> tuple[list[Bar], list[Bar]]:
    """Per label: the median days from a stage opening (or reopening) to the label's decision, and the
    share of its decisions made by their due time; decisions made since `since`."""
    rows = session.execute(
        select(PartyReview.proposal_id, PartyReview.party, PartyReview.due_at, PartyReview.decided_at)
        .where(col(PartyReview.decided_at).is_not(None), PartyReview.decided_at >= since)
    ).all()
    opened: dict[int, list[datetime]] = {}
    ids = {row.proposal_id for row in rows}
    if ids:
        for pid, at in session.execute(
            select(AuditEntry.proposal_id, AuditEntry.at)
            .where(col(AuditEntry.kind).in_(OPENED_KINDS), col(AuditEntry.proposal_id).in_(ids))
            .order_by(AuditEntry.at)
        ):
            opened.setdefault(pid, []).append(_aware(at))
    days: dict[str, list[float]] = {p: [] for p in parties}
    on_time: dict[str, list[bool]] = {p: [] for p in parties}
    for row in rows:
        if row.party not in days:
            continue
        decided = _aware(row.decided_at)
        if row.due_at is not None:
            on_time[row.party].append(decided <= _aware(row.due_at))
        starts = [at for at in opened.get(row.proposal_id, []) if at <= decided]
        if starts:
            days[row.party].append((decided - starts[-1]).total_seconds() / 86400)
    medians = {p: statistics.median(v) if v else 0.0 for p, v in days.items()}
    top = max(medians.values(), default=0) or 1
    speed = [Bar(p, medians[p], f"{medians[p]:.1f} days" if days[p] else "no decisions",
                 medians[p] / top * 100, f"{len(days[p])} decisions") for p in parties]
    shares = {p: (sum(v) / len(v) * 100 if v else 0.0) for p, v in on_time.items()}
    punctual = [Bar(p, shares[p], f"{shares[p]:.0f}%" if on_time[p] else "no decisions", shares[p],
                    f"{sum(on_time[p])} of {len(on_time[p])}") for p in parties]
    return speed, punctual


def status_weeks(session: Session, weeks: int, now: datetime) -> tuple[list[dict], int]:
    """For each of the last `weeks` weeks, how many proposals stood in each status at its end.
    A concluded proposal counts in its final status from its last update on, and as in review before."""
    rows = session.execute(select(Proposal.created_at, Proposal.updated_at, Proposal.status)).all()
    ends = [now - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    columns = []
    for end in ends:
        counts = dict.fromkeys(STATUS_ORDER, 0)
        for created, updated, status in rows:
            if _aware(created) > end:
                continue
            if status in {s.value for s in FINAL_STATUSES} and _aware(updated) > end:
                status = "in_review"
            counts[status if status in counts else "in_review"] += 1
        columns.append({"end": end, "counts": counts, "total": sum(counts.values())})
    return columns, max((c["total"] for c in columns), default=0)


def stacked(columns: list[dict], top: int, height: float = 200.0, width: float = 640.0) -> list[dict]:
    """Each week's bar, as rectangles stacked from the bottom (SVG units)."""
    step = width / max(len(columns), 1)
    bars = []
    for index, column in enumerate(columns):
        y = height
        rects = []
        for status in STATUS_ORDER:
            count = column["counts"][status]
            if not count:
                continue
            h = count / (top or 1) * height
            y -= h
            rects.append({"status": status, "count": count, "y": round(y, 2), "h": round(h, 2)})
        bars.append({"x": round(index * step + step * 0.15, 2), "w": round(step * 0.7, 2), "rects": rects,
                     "end": column["end"], "total": column["total"], "counts": column["counts"]})
    return bars


@router.get("/charts", name="charts")
def charts(request: Request, user: Viewer, session: SessionDep,
           weeks: Annotated[int, Query(ge=2, le=104)] = 12) -> object:
    require(user, Action.AUDIT)
    now = datetime.now(UTC)
    parties = list(request.app.state.policy.parties)
    speed, punctual = decision_figures(session, now - timedelta(weeks=weeks), parties)
    columns, top = status_weeks(session, weeks, now)
    return render(request, "charts.html", {
        "page_title": "Charts",
        "weeks": weeks,
        "speed": speed,
        "punctual": punctual,
        "status_bars": stacked(columns, top),
        "status_top": top,
        "statuses": [s for s in STATUS_ORDER if any(c["counts"][s] for c in columns)],
    })
