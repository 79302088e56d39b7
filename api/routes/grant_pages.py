"""Pages: the route preview of the new-proposal form, and the forms on the
proposal page that act on grants and obligations (through api.grant_commands,
as the JSON API does)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from starlette.datastructures import UploadFile

from api import grant_commands
from api.csrf import CsrfProtected
from api.deps import Now, PolicyDep, SessionDep, SettingsDep, TemporalClientDep
from api.routes.messages import files_dir, read_upload
from api.routes.pages import PageRoute, Viewer
from api.routes.proposal_pages import _act, _proposal_form, read_proposal_form, validate_proposal
from countersign.domain.access import Action, require
from countersign.domain.preview import preview

router = APIRouter(prefix="/proposals", route_class=PageRoute, include_in_schema=False)
Reason = Annotated[str, Form(max_length=5000)]


@router.post("/new/preview", name="preview_proposal")
async def preview_page(request: Request, user: Viewer, _: CsrfProtected, policy: PolicyDep, now: Now) -> object:
    """The new-proposal form again, with the route it would get (nothing is stored)."""
    require(user, Action.SUBMIT)
    values = read_proposal_form(await request.form())
    body, errors = validate_proposal(policy, values)
    if body is None:
        return _proposal_form(request, "proposals/new.html", values, errors, 422, page_title="New proposal")
    return _proposal_form(request, "proposals/new.html", values, {}, page_title="New proposal",
                          preview=preview(policy, body.model_dump(mode="json"), now))


@router.post("/{proposal_id}/grants/{party}/{action}", name="grant_action")
async def grant_action(request: Request, proposal_id: int, party: str, action: Literal["suspend", "resume", "revoke"],
                       user: Viewer, _: CsrfProtected, session: SessionDep, temporal: TemporalClientDep,
                       policy: PolicyDep, reason: Reason = "") -> object:
    done = {"suspend": "suspended", "resume": "resumed", "revoke": "revoked"}[action]
    return await _act(request, session, policy, user, proposal_id,
                      grant_commands.grant_action(session, temporal, user, proposal_id, party, action, reason.strip()),
                      f"Your label's grant was {done}.")


@router.post("/{proposal_id}/obligations/{number}/evidence", name="submit_evidence")
async def submit_evidence(request: Request, proposal_id: int, number: int, user: Viewer, _: CsrfProtected,
                          session: SessionDep, temporal: TemporalClientDep, policy: PolicyDep, settings: SettingsDep,
                          text: Annotated[str, Form(max_length=20000)] = "") -> object:
    """Text, a file, or both (a multipart form: an empty file field when none is chosen)."""
    file = (await request.form()).get("file")
    upload = (file.filename, await read_upload(file, settings)) if isinstance(file, UploadFile) and file.filename \
        else None
    return await _act(request, session, policy, user, proposal_id,
                      grant_commands.submit_evidence(session, temporal, user, proposal_id, number, text, upload,
                                                     files_dir(settings)),
                      "Your evidence was sent to the label.")


@router.post("/{proposal_id}/obligations/{number}/{verdict}", name="review_evidence")
async def review_evidence(request: Request, proposal_id: int, number: int, verdict: Literal["accept", "return"],
                          user: Viewer, _: CsrfProtected, session: SessionDep, temporal: TemporalClientDep,
                          policy: PolicyDep, comment: Reason = "") -> object:
    return await _act(request, session, policy, user, proposal_id,
                      grant_commands.review_evidence(session, temporal, user, proposal_id, number,
                                                     verdict == "accept", comment),
                      "The evidence was accepted." if verdict == "accept" else "The evidence was returned to the lead.")
