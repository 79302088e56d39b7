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
from countersign.domain.calendar import WorkingTime
from countersign.domain.policy import PartyConfig
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
    text: str  # the figure shown, beside the bar and in the table
    width: float  # in the chart's units (0..100), from the figure as shown
    note: str = ""


@dataclass(frozen=True)
class Scale:
    """A chart's one unit: every figure in it is given in this unit."""

    unit: str
    per_day: float


# The time to decision counts the label's working days only (countersign.domain.calendar.working_days).
SCALES = (Scale("working days", 1.0), Scale("hours", 24.0), Scale("minutes", 1440.0))


def scale_for(days: float) -> Scale:
    """The largest unit in which `days` (the chart's largest figure) is at least one."""
    return next((scale for scale in SCALES if days * scale.per_day >= 1), SCALES[-1])


def bars(figures: dict[str, float | None], notes: dict[str, str], scale: Scale | None = None) -> list[Bar]:
    """A bar per label, its length worked out from the figure as shown, so that a bar and its number
    agree: in `scale`'s unit to one decimal, or, without a scale, a whole percentage."""
    shown = {label: None if value is None else round(value * scale.per_day, 1) if scale else float(round(value))
             for label, value in figures.items()}
    top = max((value for value in shown.values() if value is not None), default=0) or 1
    found = []
    for label, value in shown.items():
        if value is None:
            found.append(Bar(label, "no decisions", 0.0, notes[label]))
        elif scale:
            found.append(Bar(label, f"{value:.1f} {scale.unit}", value / top * 100, notes[label]))
        else:
            found.append(Bar(label, f"{value:.0f}%", value, notes[label]))
    return found


def _epoch(dialect: str, moment):
    """`moment` as Unix time, computed by the database: a year's decisions need not cross into Python as dates."""
    if dialect == "sqlite":
        return (func.julianday(moment) - 2440587.5) * 86400.0
    return func.extract("epoch", moment)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def decision_figures(session: Session, since: datetime,
                     parties: dict[str, PartyConfig]) -> tuple[list[Bar], list[Bar], Scale]:
    """Per label: the median time from a stage opening (or reopening) to the label's decision, in its
    working days, and the share of its decisions made by their due time; decisions made since `since`."""
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
    dialect = session.get_bind().dialect.name
    clocks = {p: WorkingTime(config) for p, config in parties.items()}
    days: dict[str, list[float]] = {p: [] for p in parties}
    for party, started, decided in session.execute(
        select(PartyReview.party, _epoch(dialect, opened), _epoch(dialect, PartyReview.decided_at))
        .where(col(PartyReview.decided_at).is_not(None), PartyReview.decided_at >= since)
    ):
        if started is not None and party in days:
            days[party].append(clocks[party].days(float(started), float(decided)))
    medians = {p: statistics.median(v) if v else None for p, v in days.items()}
    scale = scale_for(max((m for m in medians.values() if m is not None), default=0))
    speed = bars(medians, {p: f"{len(days[p])} decisions" for p in parties}, scale)
    shares = {p: on_time[p][0] / on_time[p][1] * 100 if p in on_time else None for p in parties}
    punctual = bars(shares, {p: "{} of {}".format(*on_time.get(p, (0, 0))) for p in parties})
    return speed, punctual, scale


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
        speed, punctual, scale = decision_figures(session, now - timedelta(weeks=weeks),
                                                  request.app.state.policy.parties)
        columns, top = status_weeks(session, weeks, now)
        kept = cache[weeks] = (now, {
            "speed": speed,
            "speed_unit": scale.unit,
            "punctual": punctual,
            "status_bars": stacked(columns, top),
            "status_top": top,
            "statuses": [s for s in STATUS_ORDER if any(c["counts"][s] for c in columns)],
        })
    return render(request, "charts.html", {"page_title": "Charts", "weeks": weeks, "as_of": kept[0], **kept[1]})
