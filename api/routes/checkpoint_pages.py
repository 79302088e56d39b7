"""The checkpoints page: every signed-in user sees the log's newest signed
checkpoints, which organisations witnessed (co-signed) each size, and the
witness keys; admins (any organisation's) and party admins (their party's)
revoke a witness key there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse

from api.csrf import CsrfProtected
from api.deps import PolicyDep, SessionDep, WriteSessionDep
from api.routes.pages import PageRoute, Viewer, sentence
from api.templating import flash, render
from countersign.domain.checkpoint import REASON_MAX, CheckpointError
from countersign.domain.errors import Forbidden, NotFound
from countersign.storage import checkpoints
from countersign.storage.tables import User

KeyId = Annotated[str, Path(pattern="^[0-9a-f]{16}$")]

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _page(request: Request, session, user: User, policy, errors: dict[str, str] | None = None,
          reasons: dict[str, str] | None = None, status_code: int = 200):
    signer = request.app.state.settings.checkpoint_signer
    return render(request, "checkpoints/list.html", {
        "page_title": "Checkpoints",
        "checkpoints": checkpoints.witnessed(session),
        # A party's name from the policy; "platform" for the streaming service's own key.
        "names": {key: party.name for key, party in policy.parties.items()} | {checkpoints.PLATFORM: "Platform"},
        "witness_keys": [(key, revoked, not revoked and checkpoints.may_revoke(user, key.party))
                         for key, revoked in checkpoints.witness_keys(session)],
        "key_id": signer.key_id,
        "public_key": signer.public_pem(),
        "errors": errors or {},  # by key id: the revoke form's error
        "reasons": reasons or {},
        "reason_max": REASON_MAX,
    }, status_code=status_code, user=user)


@router.get("/checkpoints")
def checkpoint_list(request: Request, user: Viewer, session: SessionDep, policy: PolicyDep):
    return _page(request, session, user, policy)


@router.post("/checkpoints/witnesses/{key_id}/revoke")
def revoke(request: Request, key_id: KeyId, user: Viewer, _: CsrfProtected, session: WriteSessionDep,
           policy: PolicyDep, reason: Annotated[str, Form(max_length=2000)] = "") -> object:
    if user.role not in checkpoints.REVOKERS:
        raise Forbidden("only admins, and a party's admins, revoke witness keys")
    try:
        checkpoints.revoke_key(session, user, key_id, reason, datetime.now(UTC))
    except checkpoints.NotFound as error:
        raise NotFound(str(error)) from None
    except CheckpointError as error:
        session.rollback()
        return _page(request, session, user, policy, {key_id: sentence(str(error))}, {key_id: reason}, 422)
    session.commit()
    flash(request, f"Witness key {key_id} is revoked: its cosignatures from now on do not count.")
    return RedirectResponse("/checkpoints", status_code=303)
