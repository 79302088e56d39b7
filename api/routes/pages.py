"""Server-rendered pages: what every page shares, and the dashboard.

Page routes use `PageRoute`, which answers the errors a page can meet (a
domain error, a forged form, a malformed URL) with an HTML page of the right
status instead of the JSON API's `{"detail": ...}`.
"""

from __future__ import annotations

from typing import Annotated, NamedTuple
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from api import answers, risk_form
from api.csrf import CsrfError
from api.deps import PageUser, SessionDep
from api.errors import status_for
from api.templating import render
from countersign.domain import search
from countersign.domain.access import Action, Role, can, require
from countersign.domain.errors import DomainError
from countersign.domain.routing import Status
from countersign.storage import messages as message_store
from countersign.storage import queries
from countersign.storage.tables import Proposal, User

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


def viewer(request: Request, user: PageUser, session: SessionDep) -> User:
    """The signed-in user, also kept on the request for error pages' navigation bar
    (with a rep's inbox count, shown in it)."""
    request.state.user = user
    if user.role == Role.REP and user.party:
        request.state.inbox_count = queries.inbox_count(session, user.party)
    return user


Viewer = Annotated[User, Depends(viewer)]

router = APIRouter(route_class=PageRoute, include_in_schema=False)


STATUS_FILTERS = [s.value for s in Status]
PAGE_SIZE = 50
SEARCH_COUNTS_TO = 1000
Page = Annotated[int, Query(ge=1, le=1_000_000)]


def temporal_link(request: Request, user: User, proposal: Proposal) -> str | None:
    """The proposal's workflow in Temporal's Web UI (COUNTERSIGN_TEMPORAL_UI_URL),
    for compliance and admins only: the UI has no sign-in of its own and shows
    every label's proposals."""
    base = request.app.state.settings.temporal_ui_url
    if not base or not can(user, Action.AUDIT, proposal):
        return None
    namespace = request.app.state.temporal.namespace  # the one the app talks to
    return f"{base.rstrip('/')}/namespaces/{namespace}/workflows/{queries.workflow_id(proposal.id)}"


def live(request: Request, response):
    """A fragment for live.js, with the rep's inbox count for the navigation (render it with flash=None)."""
    count = getattr(request.state, "inbox_count", None)
    if count is not None:
        response.headers["X-Inbox-Count"] = str(count)
    return response


def pager(page: int, total: int, size: int = PAGE_SIZE, most: int | None = None) -> dict[str, int]:
    """`most`: the total was counted up to there; reaching it, there are `more` than `total - 1`."""
    pages = max(1, -(-total // size))
    return {"page": min(page, pages), "pages": pages, "total": total, "size": size,
            "more": most is not None and total >= most}


def lead_actions(user: User, proposals: list[Proposal], public: dict) -> list[tuple[Proposal, str]]:
    """A lead's proposals that wait on them: changes to make, conditions to acknowledge."""
    found: list[tuple[Proposal, str]] = []
    for proposal in proposals:
        if can(user, Action.RESUBMIT, proposal):
            found.append((proposal, "changes"))
        elif can(user, Action.ACKNOWLEDGE, proposal) and any(
                not c.acknowledged for c in public[proposal.id].conditions):
            found.append((proposal, "conditions"))
    return found


class ListFilter(NamedTuple):
    """The dashboard's filters, each usable or left out (`errors` says which and why)."""

    status: str
    label: str
    text: str
    terms: tuple[str, ...]
    errors: list[str]

    def query(self) -> str:
        """The filters for a link (the pager, the live fragment), with a trailing "&" when there are any."""
        kept = {"q": self.text if self.terms else "", "label": self.label, "status": self.status}
        return "".join(f"{urlencode({k: v})}&" for k, v in kept.items() if v)


def list_filter(policy, status: str, label: str, text: str) -> ListFilter:
    # A value that cannot be used is said, not silently read as "all".
    errors = []
    if status and status not in STATUS_FILTERS:
        errors.append(f"There is no status “{status}” to show; here are all proposals.")
        status = ""
    if label and label not in policy.parties:
        errors.append(f"There is no label “{label}” in the policy; here are proposals of every label.")
        label = ""
    terms: tuple[str, ...] = ()
    if text.strip():
        try:
            terms = search.terms(text)
        except DomainError as error:
            errors.append(f"{sentence(str(error)).rstrip('.')}; here are proposals with any title.")
    return ListFilter(status, label, text.strip(), terms, errors)


def dashboard_context(request: Request, user: User, session, filters: ListFilter, page: int) -> dict:
    status, label, terms = filters.status or None, filters.label or None, filters.terms
    # A search counts what it finds up to a bound past the page asked for, not every match of a common word.
    most = max(SEARCH_COUNTS_TO, page * PAGE_SIZE) + 1 if terms else None
    paging = pager(page, queries.count_visible(session, user, status, label, terms, most), most=most)
    proposals = queries.list_visible(session, user, status, label, limit=PAGE_SIZE,
                                     offset=(paging["page"] - 1) * PAGE_SIZE, terms=terms)
    waiting = queries.inbox_rows(session, user.party, limit=5) if user.role == Role.REP else []
    needing = queries.awaiting_lead(session, user) if user.role == Role.LEAD else []  # from any page of the list
    every = list({p.id: p for p in proposals + [p for p, _ in waiting] + needing}.values())
    public = {p.id: p for p in answers.to_public_many(session, every, user)}
    needs_action = lead_actions(user, needing, public) if user.role == Role.LEAD else []
    policy = request.app.state.policy
    matrices = queries.stage_matrices(session, [p.id for p in proposals]) if user.role != Role.REP else {}
    return {
        "page_title": "Dashboard",
        "proposals": proposals,
        "waiting": waiting,
        "public": public,
        "needs_action": needs_action,
        "matrices": matrices,
        "stage_names": [stage.name for stage in policy.stages],
        "filters": filters,
        "status_filters": STATUS_FILTERS,
        "labels": list(policy.parties),
        "paging": paging,
        "can_submit": can(user, Action.SUBMIT),
        "inbox_count": getattr(request.state, "inbox_count", None),
        "consent": risk_form.dashboard(session, user),
        # a lead's open questions (issue 21): rep questions their reply has not yet closed
        "open_questions": message_store.open_questions(session, user) if user.role == Role.LEAD else [],
    }


Status = Annotated[str, Query(max_length=40)]
Label = Annotated[str, Query(max_length=40)]
Text = Annotated[str, Query(max_length=200)]


@router.get("/", name="dashboard")
def dashboard(request: Request, user: Viewer, session: SessionDep, status: Status = "", label: Label = "",
              q: Text = "", page: Page = 1) -> object:
    filters = list_filter(request.app.state.policy, status, label, q)
    return render(request, "dashboard.html", dashboard_context(request, user, session, filters, page), user=user)


@router.get("/live/dashboard", name="dashboard_live")
def dashboard_live(request: Request, user: Viewer, session: SessionDep, status: Status = "", label: Label = "",
                   q: Text = "", page: Page = 1) -> object:
    """The dashboard's changing parts, for the page's poller (live.js)."""
    filters = list_filter(request.app.state.policy, status, label, q)
    return live(request, render(request, "partials/dashboard_live.html",
                                {**dashboard_context(request, user, session, filters, page), "flash": None},
                                user=user))


def inbox_context(request: Request, user: User, session, page: int) -> dict:
    require(user, Action.INBOX)
    paging = pager(page, getattr(request.state, "inbox_count", 0) or 0)
    rows = queries.inbox_rows(session, user.party, limit=PAGE_SIZE, offset=(paging["page"] - 1) * PAGE_SIZE)
    return {"page_title": "Inbox", "rows": rows, "paging": paging,
            "inbox_count": getattr(request.state, "inbox_count", 0)}


@router.get("/inbox", name="inbox")
def inbox(request: Request, user: Viewer, session: SessionDep, page: Page = 1) -> object:
    return render(request, "inbox.html", inbox_context(request, user, session, page), user=user)


@router.get("/live/inbox", name="inbox_live")
def inbox_live(request: Request, user: Viewer, session: SessionDep, page: Page = 1) -> object:
    return live(request, render(request, "partials/inbox_live.html",
                                {**inbox_context(request, user, session, page), "flash": None}, user=user))
