"""Server-rendered pages: what every page shares, and the dashboard.

Page routes use `PageRoute`, which answers the errors a page can meet (a
domain error, a forged form, a malformed URL) with an HTML page of the right
status instead of the JSON API's `{"detail": ...}`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from api.csrf import CsrfError
from api.deps import PageUser, SessionDep
from api.errors import status_for
from api.templating import render
from countersign import queries
from countersign.access import Action, can
from countersign.errors import DomainError
from countersign.models import Proposal, Role, User
from countersign.routing import Status

ERROR_TITLES = {403: "Not allowed", 404: "Not found", 409: "Not possible right now", 422: "Not accepted",
                503: "Service unavailable"}


def error_page(request: Request, status: int, message: str, title: str | None = None):
    return render(request, "error.html", {
        "page_title": title or ERROR_TITLES.get(status, "Something went wrong"),
        "message": message,
        "status": status,
    }, status_code=status)


class PageRoute(APIRoute):
    """An APIRoute whose errors are pages."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def page_handler(request: Request):
            try:
                return await handler(request)
            except CsrfError:
                return error_page(
                    request, 403,
                    "This form has expired or did not come from Countersign, so nothing was changed. "
                    "Go back, reload the page and send the form again.",
                    title="Form expired",
                )
            except DomainError as error:
                return error_page(request, status_for(error), sentence(str(error)))
            except RequestValidationError as error:
                if any(e.get("loc", ("",))[0] == "path" for e in error.errors()):
                    return error_page(request, 404, "There is no such page.")
                return error_page(request, 422, "The form could not be read; go back and try again.")

        return page_handler


def sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text


def viewer(request: Request, user: PageUser) -> User:
    """The signed-in user, also kept on the request for error pages' navigation bar."""
    request.state.user = user
    return user


Viewer = Annotated[User, Depends(viewer)]

router = APIRouter(route_class=PageRoute, include_in_schema=False)


STATUS_FILTERS = [s.value for s in Status]


@router.get("/", name="dashboard")
def dashboard(request: Request, user: Viewer, session: SessionDep,
              status: Annotated[str, Query(max_length=40)] = "") -> object:
    status = status if status in STATUS_FILTERS else ""
    proposals = queries.list_visible(session, user, status or None)
    waiting = queries.inbox(session, user.party) if user.role == Role.REP else []
    public = {p.id: p for p in queries.to_public_many(session, list({p.id: p for p in proposals + waiting}.values()))}
    needs_action: list[tuple[Proposal, str]] = []
    if user.role == Role.LEAD:
        for proposal in proposals:
            if can(user, Action.RESUBMIT, proposal):
                needs_action.append((proposal, "changes"))
            elif can(user, Action.ACKNOWLEDGE, proposal) and any(
                    not c.acknowledged for c in public[proposal.id].conditions):
                needs_action.append((proposal, "conditions"))
    return render(request, "dashboard.html", {
        "page_title": "Dashboard",
        "proposals": proposals,
        "waiting": waiting,
        "public": public,
        "needs_action": needs_action,
        "status_filter": status,
        "status_filters": STATUS_FILTERS,
        "can_submit": can(user, Action.SUBMIT),
    }, user=user)
