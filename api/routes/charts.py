"""Compliance charts, drawn on the server as SVG (no script, no plotting library):
time to decision per label, share of decisions made by their due time per
label, and proposals by status week by week.

The figures are computed here from the read model and the audit log; the
template only places the shapes this module measured out.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import case, func, select
from sqlmodel import Session, col

from api.deps import Now, SessionDep
from api.routes.pages import PageRoute, Viewer
from api.templating import render
from countersign.domain.access import Action, require
from countersign.domain.routing import FINAL_STATUSES
from countersign.storage.tables import AuditEntry, PartyReview, Proposal

router = APIRouter(prefix="/compliance", route_class=PageRoute, include_in_schema=False)

STATUS_ORDER = ["in_review", "changes_requested", "approved", "approved_partial", "rejected", "withdrawn",
                "expired"]
OPENED_KINDS = ("routed", "resubmitted")
CACHE_FOR = timedelta(minutes=1)


@dataclass
class Bar:
    label: str
    value: float
    text: str
    width: float  # in the chart's units (0..100)
    note: str = ""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def duration(days: float) -> str:
    """'3.5 days', '5 hours', '12 minutes': a span in the unit that reads best."""
    if days >= 1:
        return f"{days:.1f} days"
    if days * 24 >= 1:
        return f"{days * 24:.1f} hours"
    minutes = round(max(days * 1440, 0))
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


def _days_between(dialect: str, later, earlier):
    """`later - earlier` in days, computed by the database (25,000 rows need not cross into Python as dates)."""
    if dialect == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return func.extract("epoch", later - earlier) / 86400.0


def decision_figures(session: Session, since: datetime, parties: list[str]) -> tuple[list[Bar], list[Bar]]:
    """Per label: the median days from a stage opening (or reopening) to the label's decision, and the
    share of its decisions made by their due time; decisions made since `since`."""
    dialect = session.get_bind().dialect.name
    on_time: dict[str, tuple[int, int]] = {}
    for party, made, in_time in session.execute(
        select(PartyReview.party, func.count(),
               func.sum(case((PartyReview.decided_at <= PartyReview.due_at, 1), else_=0)))
        .where(col(PartyReview.decided_at).is_not(None), col(PartyReview.due_at).is_not(None),
               PartyReview.decided_at >= since)
        .group_by(PartyReview.party)
    ):
        on_time[party] = (int(in_time or 0), int(made))
    opened = (
        select(func.max(AuditEntry.at))
        .where(AuditEntry.proposal_id == PartyReview.proposal_id, col(AuditEntry.kind).in_(OPENED_KINDS),
               AuditEntry.at <= PartyReview.decided_at)
        .scalar_subquery()
    )
    days: dict[str, list[float]] = {p: [] for p in parties}
    for party, value in session.execute(
        select(PartyReview.party, _days_between(dialect, PartyReview.decided_at, opened))
        .where(col(PartyReview.decided_at).is_not(None), PartyReview.decided_at >= since)
    ):
        if value is not None and party in days:
            days[party].append(float(value))
    medians = {p: statistics.median(v) if v else 0.0 for p, v in days.items()}
    top = max(medians.values(), default=0) or 1
    speed = [Bar(p, medians[p], duration(medians[p]) if days[p] else "no decisions",
                 medians[p] / top * 100, f"{len(days[p])} decisions") for p in parties]
    punctual = []
    for p in parties:
        in_time, made = on_time.get(p, (0, 0))
        share = in_time / made * 100 if made else 0.0
        punctual.append(Bar(p, share, f"{share:.0f}%" if made else "no decisions", share, f"{in_time} of {made}"))
    return speed, punctual


def status_weeks(session: Session, weeks: int, now: datetime) -> tuple[list[dict], int]:
    """For each of the last `weeks` weeks, how many proposals stood in each status at its end.
    A concluded proposal counts in its final status from its last update on, and as in review before."""
    final = {s.value for s in FINAL_STATUSES}
    created: dict[str, list[datetime]] = {s: [] for s in STATUS_ORDER}
    concluded: dict[str, list[datetime]] = {s: [] for s in STATUS_ORDER}
    for made, updated, status in session.execute(select(Proposal.created_at, Proposal.updated_at, Proposal.status)):
        status = status if status in created else "in_review"
        created[status].append(_aware(made))
        if status in final:
            concluded[status].append(_aware(updated))
    for times in (*created.values(), *concluded.values()):
        times.sort()
    columns = []
    for i in range(weeks):
        end = now - timedelta(weeks=weeks - 1 - i)
        counts = {}
        for status in STATUS_ORDER:
            submitted = bisect_right(created[status], end)
            if status in final:
                done = bisect_right(concluded[status], end)
                counts[status] = done
                counts["in_review"] = counts.get("in_review", 0) + submitted - done
            else:
                counts[status] = counts.get(status, 0) + submitted
        counts = {s: counts.get(s, 0) for s in STATUS_ORDER}
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
def charts(request: Request, user: Viewer, session: SessionDep, now: Now,
           weeks: Annotated[int, Query(ge=2, le=104)] = 12) -> object:
    require(user, Action.AUDIT)
    cache: dict[int, tuple[datetime, dict]] = request.app.state.__dict__.setdefault("chart_cache", {})
    kept = cache.get(weeks)
    if kept is None or now - kept[0] > CACHE_FOR:  # a scan of every decision: at most once a minute
        parties = list(request.app.state.policy.parties)
        speed, punctual = decision_figures(session, now - timedelta(weeks=weeks), parties)
        columns, top = status_weeks(session, weeks, now)
        kept = cache[weeks] = (now, {
            "speed": speed,
            "punctual": punctual,
            "status_bars": stacked(columns, top),
            "status_top": top,
            "statuses": [s for s in STATUS_ORDER if any(c["counts"][s] for c in columns)],
        })
    return render(request, "charts.html", {"page_title": "Charts", "weeks": weeks, "as_of": kept[0], **kept[1]})
