"""The checkpoints page: every signed-in user sees the log's newest signed
checkpoints and which organisations witnessed (co-signed) each size."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import PolicyDep, SessionDep
from api.routes.pages import PageRoute, Viewer
from api.templating import render
from countersign.storage import checkpoints

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/checkpoints")
def checkpoint_list(request: Request, user: Viewer, session: SessionDep, policy: PolicyDep):
    signer = request.app.state.settings.checkpoint_signer
    keys = checkpoints.witness_keys(session)
    return render(request, "checkpoints/list.html", {
        "page_title": "Checkpoints",
        "checkpoints": checkpoints.witnessed(session),
        # A party's name from the policy; "platform" for the streaming service's own key.
        "names": {key: party.name for key, party in policy.parties.items()} | {checkpoints.PLATFORM: "Platform"},
        "witness_keys": keys,
        "key_id": signer.key_id,
        "public_key": signer.public_pem(),
    })
