"""E-mailed decision links (countersign.domain.links): `/links/{token}` opens a
confirmation page that leads the signed-in rep of the link's party to the
decision form. A GET here changes nothing, so a mail scanner that follows
the link decides nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from api import answers
from api.deps import SessionDep, page_user
from api.routes.pages import PageRoute, error_page
from api.templating import render
from countersign.domain.access import Action, Role, can
from countersign.domain.links import LinkExpired, LinkInvalid, LinkSigner
from countersign.storage import queries

router = APIRouter(prefix="/links", route_class=PageRoute, include_in_schema=False)


def signer(request: Request) -> LinkSigner:
    settings = request.app.state.settings
    return LinkSigner(settings.session_secret, settings.base_url)


@router.get("/{token}", name="decision_link")
def open_link(request: Request, session: SessionDep,
              token: Annotated[str, Path(max_length=500)]) -> object:
    # The link is checked before anyone signs in: an expired or altered one says so at once.
    try:
        link = signer(request).read(token)
    except LinkExpired:
        return error_page(request, 410, "This decision link has expired. Sign in and open the proposal from "
                                        "your dashboard or inbox instead.", title="Link expired")
    except LinkInvalid:
        return error_page(request, 400, "This decision link is not valid: it may have been altered or cut "
                                        "short. Open the proposal from your dashboard instead.",
                          title="Link not valid")
    user = page_user(request, session)  # not signed in: to the login page, and back here
    request.state.user = user
    party_name = request.app.state.policy.parties.get(link.party)
    party_name = party_name.name if party_name else link.party
    if user.role != Role.REP or user.party != link.party:
        return error_page(request, 403, f"This link is for {party_name}'s reps, and you are signed in as "
                                        f"{user.email}. Sign in with your {party_name} account to decide.")
    proposal = queries.get_visible(session, user, link.proposal_id)
    public = answers.to_public(session, proposal, user)
    return render(request, "links/confirm.html", {
        "page_title": f"Decide: {proposal.title}",
        "proposal": proposal,
        "party_name": party_name,
        "slot": public.parties.get(link.party),
        "open": can(user, Action.DECIDE, proposal),
    })
