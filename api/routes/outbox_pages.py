"""The mail outbox, for admins: what Countersign has sent or still holds.

Without SMTP configured, mail stays here; with it, failed sends show their
last error and when they will be tried again, and parked mail (no more
tries: refused for good, or out of attempts) shows why.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from sqlmodel import col, func, select

from api.deps import SessionDep
from api.routes.pages import PAGE_SIZE, Page, PageRoute, Viewer, pager
from api.templating import render
from countersign.domain.access import Action, require
from countersign.storage.tables import OutboxMail

router = APIRouter(prefix="/admin", route_class=PageRoute, include_in_schema=False)


@router.get("/outbox")
def outbox(request: Request, user: Viewer, session: SessionDep, page: Page = 1,
           state: str = Query("all", pattern="^(all|waiting|sent|parked)$")):
    require(user, Action.READ_OUTBOX)
    query = select(OutboxMail)
    if state == "waiting":
        query = query.where(col(OutboxMail.sent_at).is_(None), col(OutboxMail.parked_at).is_(None))
    elif state == "parked":
        query = query.where(col(OutboxMail.parked_at).is_not(None))
    elif state == "sent":
        query = query.where(col(OutboxMail.sent_at).is_not(None))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    paging = pager(page, total)
    mails = session.exec(
        query.order_by(col(OutboxMail.created_at).desc(), col(OutboxMail.id).desc())
        .offset((paging["page"] - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    smtp = request.app.state.settings.smtp_url
    parked = session.exec(select(func.count()).where(col(OutboxMail.parked_at).is_not(None))).one()
    return render(request, "admin/outbox.html", {
        "page_title": "Mail outbox", "mails": mails, "state": state, "paging": paging, "smtp_configured": bool(smtp),
        "parked": parked,
    })
