"""SCIM 2.0 Groups (RFC 7643 §4.2): an organisation's role mapping
(countersign.domain.identity.groups), fixed by the policy. Membership gives
the group's role; an account taken out of every group loses its access
(deactivated, as through `/Users`). Authentication and errors as in
api.routes.scim.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from scim2_models import Context, Group, GroupMember, ListResponse, Meta, PatchOp, SCIMException, ScimFilter
from sqlmodel import Session

from api.deps import SessionDep
from api.routes.scim import Organisation, ScimProblem, account_or_404, answer, json_body, parsed, write
from countersign.domain.identity import group_of, groups
from countersign.storage import identity

router = APIRouter(prefix="/scim/v2", include_in_schema=False)
GroupId = Annotated[str, Path(max_length=200)]


def _group(request: Request, organisation: str, name: str, session: Session) -> Group:
    policy = request.app.state.policy
    members = [
        GroupMember(value=str(user.id), display=user.email, type="User")
        for user, _ in identity.accounts_of(session, organisation)
        if user.active and group_of(policy, organisation, user.role) == name  # deactivated: in no group
    ]
    return Group(
        id=name,
        display_name=name,
        members=members or None,
        meta=Meta(resource_type="Group", location=str(request.url_for("scim_group", group_id=name))),
    )


def _group_name(request: Request, organisation: str, group_id: str) -> str:
    if group_id not in groups(request.app.state.policy, organisation):
        raise ScimProblem(404, f"no Group {group_id}")
    return group_id


@router.get("/Groups")
def list_groups(
    request: Request,
    organisation: Organisation,
    session: SessionDep,
    filter: Annotated[str | None, Query(max_length=1000)] = None,
) -> JSONResponse:
    try:
        wanted = ScimFilter[Group](filter) if filter else None
    except (SCIMException, ValueError) as error:
        raise ScimProblem(400, f"filter: {error}", "invalidFilter") from None
    found = [
        _group(request, organisation, name, session)
        for name in groups(request.app.state.policy, organisation)
    ]
    matching = [g for g in found if wanted is None or wanted.match(g)]
    listing = ListResponse[Group](
        total_results=len(matching), start_index=1, items_per_page=len(matching), resources=matching or None
    )
    return answer(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE))


@router.get("/Groups/{group_id}", name="scim_group")
def get_group(
    request: Request, organisation: Organisation, session: SessionDep, group_id: GroupId
) -> JSONResponse:
    name = _group_name(request, organisation, group_id)
    return answer(
        _group(request, organisation, name, session).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    )


async def _set_members(request: Request, organisation: str, group_id: str, members_of) -> JSONResponse:
    """Give the group's role to its new members; an account taken out of it is in no group any more."""
    name = _group_name(request, organisation, group_id)
    role = groups(request.app.state.policy, organisation)[name]

    def change(session: Session) -> dict:
        current = _group(request, organisation, name, session)
        before = {m.value for m in current.members or []}
        after = {m.value for m in members_of(current) or [] if m.value}
        for user_id in sorted(after - before):
            user, _ = account_or_404(session, organisation, user_id)
            identity.change_role(session, organisation, user, role)
        for user_id in sorted(before - after):
            user, _ = account_or_404(session, organisation, user_id)
            identity.change_role(session, organisation, user, None)
        return _group(request, organisation, name, session).model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE
        )

    return answer(await write(request, change))


@router.patch("/Groups/{group_id}")
async def patch_group(request: Request, organisation: Organisation, group_id: GroupId) -> JSONResponse:
    patch = parsed(PatchOp[Group], await json_body(request), Context.RESOURCE_PATCH_REQUEST)

    def members(current: Group) -> list[GroupMember] | None:
        try:
            patch.patch(current)
        except SCIMException as error:
            raise ScimProblem(400, str(error.detail), error.to_error().scim_type) from None
        if current.display_name != group_id:
            raise ScimProblem(400, "a group's name is the policy's; change its members only", "mutability")
        return current.members

    return await _set_members(request, organisation, group_id, members)


@router.put("/Groups/{group_id}")
async def replace_group(request: Request, organisation: Organisation, group_id: GroupId) -> JSONResponse:
    resource = parsed(Group, await json_body(request), Context.RESOURCE_REPLACEMENT_REQUEST)
    if resource.display_name not in (None, group_id):
        raise ScimProblem(400, "a group's name is the policy's; change its members only", "mutability")
    return await _set_members(request, organisation, group_id, lambda _current: resource.members)
