"""Delegation pages: a rep delegates their label's decisions to a colleague
for a period (out of office) and ends it; admins see all and reassign.
The changes go through countersign.storage.delegation, as the JSON API's do.
The form's last day is counted in the delegator's own time zone (their label's,
countersign.domain.delegation_days), and so is the period each row shows."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select

from api.csrf import CsrfProtected
from api.deps import PolicyDep, SessionDep, WriteSessionDep
from api.errors import status_for
from api.routes.pages import PageRoute, Viewer, sentence
from api.templating import flash, render
from countersign.domain import delegation_days
from countersign.domain.access import Role
from countersign.domain.errors import DomainError, InvalidDecision
from countersign.storage import delegation as delegations
from countersign.storage.tables import User, utcnow

router = APIRouter(prefix="/delegations", route_class=PageRoute, include_in_schema=False)


def _page(request: Request, session, user: User, error: str | None = None, status_code: int = 200,
          values: dict | None = None):
    zones = {key: party.timezone for key, party in request.app.state.policy.parties.items()}
    rows = delegations.visible_to(session, user)
    people = {u.id: u for u in session.exec(select(User))}
    colleagues = [u for u in people.values()
                  if u.role == Role.REP and u.active and (user.role == Role.ADMIN or
                                                          (u.party == user.party and u.id != user.id))]
    now = utcnow()
    return render(request, "delegations/list.html", {
        "page_title": "Delegations",
        "rows": [(d, people[d.delegator_id], people[d.delegate_id], delegations.is_active(d, now),
                  delegation_days.period(d.starts_at, d.ends_at, zones.get(d.party, "UTC"))) for d in rows],
        "colleagues": sorted(colleagues, key=lambda u: (u.party or "", u.email)),
        "can_delegate": user.role == Role.REP,
        "is_admin": user.role == Role.ADMIN,
        "now": now,
        "zone": zones.get(user.party),
        "error": error,
        "values": values or {"delegate": "", "ends_on": ""},
    }, status_code=status_code, user=user)


@router.get("", name="delegations")
def delegation_list(request: Request, user: Viewer, session: SessionDep) -> object:
    return _page(request, session, user)


@router.post("")
def delegate(request: Request, user: Viewer, _: CsrfProtected, session: WriteSessionDep, policy: PolicyDep,
             delegate: Annotated[str, Form(max_length=254)] = "",
             ends_on: Annotated[str, Form(max_length=20)] = "") -> object:
    values = {"delegate": delegate, "ends_on": ends_on}
    try:
        try:
            last_day = date.fromisoformat(ends_on)
        except ValueError:
            raise InvalidDecision("give the last day of the delegation, such as 2026-12-31") from None
        # The delegator's zone: the day ends at midnight where they are (storage refuses non-reps).
        zone = policy.parties[user.party].timezone if user.party in policy.parties else "UTC"
        delegation_days.check_last_day(last_day, zone, utcnow())
        delegations.create(session, user, delegate, delegation_days.end_of(last_day, zone))
    except DomainError as error:
        session.rollback()
        return _page(request, session, user, sentence(str(error)), status_for(error), values)
    session.commit()
    flash(request, f"Your decisions are delegated until the end of {last_day:%d %b %Y}, {zone} time.")
    return RedirectResponse("/delegations", status_code=303)


@router.post("/{delegation_id}/end", name="end_delegation")
def end(request: Request, delegation_id: int, user: Viewer, _: CsrfProtected, session: WriteSessionDep) -> object:
    delegations.end(session, delegation_id, user)
    session.commit()
    flash(request, "The delegation has ended.")
    return RedirectResponse("/delegations", status_code=303)


@router.post("/{delegation_id}/reassign", name="reassign_delegation")
def reassign(request: Request, delegation_id: int, user: Viewer, _: CsrfProtected, session: WriteSessionDep,
             delegate: Annotated[str, Form(max_length=254)] = "") -> object:
    row = delegations.reassign(session, delegation_id, user, delegate)
    session.commit()
    flash(request, f"The delegation now goes to {delegate} until {row.ends_at:%d %b %Y}.")
    return RedirectResponse("/delegations", status_code=303)
