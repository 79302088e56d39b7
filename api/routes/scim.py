"""SCIM 2.0 provisioning of an organisation's accounts (RFC 7643/7644): `/scim/v2/Users` and
`/scim/v2/Groups` (the organisation's role mapping: membership gives the role).

Each organisation's bearer token (`countersign scim-token create --party P`
or `--platform`) reaches that organisation's accounts alone; another's
answer 404, as if they did not exist. Resources are parsed, patched,
filtered and written with scim2-models; the storage does the rest
(countersign.storage.identity: deactivation ends sessions, tokens and
delegations at once, on the access chain).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Error,
    ETag,
    Filter,
    ListResponse,
    Meta,
    Patch,
    PatchOp,
    SCIMException,
    ScimFilter,
    ServiceProviderConfig,
    Sort,
)
from scim2_models import User as ScimUser
from scim2_models.resources.user import Email, Name, Role
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.deps import SessionDep
from countersign.domain.identity import AlreadyExists, IdentityRefused, party_of, provider
from countersign.domain.policy import PARTY_ROLES, PLATFORM_ROLES
from countersign.storage import identity
from countersign.storage.accounts import AccountError
from countersign.storage.db import transaction
from countersign.storage.tables import ExternalIdentity, User

MEDIA_TYPE = "application/scim+json"
MAX_RESULTS = 200

router = APIRouter(prefix="/scim/v2", include_in_schema=False)
UserId = Annotated[str, Path(max_length=20)]


class ScimProblem(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type


def install(app: FastAPI) -> None:
    from api.routes import scim_groups  # it builds on this module's helpers

    app.include_router(router)
    app.include_router(scim_groups.router)
    app.add_exception_handler(ScimProblem, lambda _request, problem: problem_response(problem))


def problem_response(problem: ScimProblem) -> JSONResponse:
    error = Error(status=problem.status, detail=problem.detail, scim_type=problem.scim_type)
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if problem.status == 401 else None
    return JSONResponse(
        error.model_dump(), status_code=problem.status, media_type=MEDIA_TYPE, headers=headers
    )


def answer(content: Any, status_code: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(content, status_code=status_code, media_type=MEDIA_TYPE, headers=headers or None)


def scim_organisation(request: Request, session: SessionDep) -> str:
    """The organisation whose SCIM token the request carries, or 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    organisation = identity.scim_organisation(session, token.strip()) if scheme.lower() == "bearer" else None
    if organisation is None:
        raise ScimProblem(
            401,
            "a valid SCIM token is required: send 'Authorization: Bearer <token>' with the "
            "token `countersign scim-token create` printed for your organisation",
        )
    return organisation


Organisation = Annotated[str, Depends(scim_organisation)]


def _resource(request: Request, user: User, link: ExternalIdentity | None) -> ScimUser:
    location = str(request.url_for("scim_user", user_id=str(user.id)))
    return ScimUser(
        id=str(user.id),
        external_id=link.external_id if link else None,
        user_name=user.email,
        display_name=user.name,
        name=Name(formatted=user.name),
        active=user.active,
        emails=[Email(value=user.email, primary=True, type="work")],
        roles=[Role(value=user.role, primary=True)],
        meta=Meta(
            resource_type="User", created=user.created_at, last_modified=user.created_at, location=location
        ),
    )


def _dump(resource: ScimUser, context: Context) -> dict:
    return resource.model_dump(scim_ctx=context)


async def json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise ScimProblem(400, "the body is not JSON", "invalidSyntax") from None


def parsed(model: Any, body: Any, context: Context) -> Any:
    try:
        return model.model_validate(body, scim_ctx=context)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ScimProblem(400, f"{where}: {first['msg']}", "invalidValue") from None


def _wanted(request: Request, organisation: str, resource: ScimUser) -> dict[str, Any]:
    """What a SCIM User asks of the account: e-mail, role, name, active, externalId."""
    primary = next((e.value for e in resource.emails or [] if e.primary), None)
    email = primary or resource.user_name
    if resource.user_name and email and resource.user_name.strip().lower() != str(email).strip().lower():
        raise ScimProblem(
            400, "userName is the account's e-mail address and must equal the primary e-mail", "invalidValue"
        )
    asked = [r.value for r in resource.roles or [] if r.value]
    if party_of(organisation) is not None:
        allowed, default = PARTY_ROLES, PARTY_ROLES[0]
    else:
        allowed, default = PLATFORM_ROLES, None
    oidc = provider(request.app.state.policy, organisation)
    mapped = [oidc.roles.get(value, value) if oidc else value for value in asked]  # a group name or a role
    role = mapped[0] if mapped else default
    if role not in allowed:
        raise ScimProblem(
            400,
            f"roles: give one of {', '.join(allowed)}" + (f" (not {role!r})" if role else ""),
            "invalidValue",
        )
    name = resource.display_name or (resource.name.formatted if resource.name else None)
    if not name and resource.name and (resource.name.given_name or resource.name.family_name):
        name = " ".join(p for p in (resource.name.given_name, resource.name.family_name) if p)
    return {
        "email": email or "",
        "role": role,
        "name": (name or "")[:200] or None,
        "active": resource.active is not False,
        "external_id": resource.external_id,
    }


def account_or_404(session: Session, organisation: str, user_id: str) -> tuple[User, ExternalIdentity | None]:
    found = (
        identity.account_of(session, organisation, int(user_id))
        if user_id.isdigit() and len(user_id) < 10
        else None
    )
    if found is None:
        raise ScimProblem(404, f"no User {user_id}")
    return found


async def write(request: Request, action) -> Any:
    return await run_in_threadpool(write_now, request, action)  # the database in a thread (api.commands)


def write_now(request: Request, action) -> Any:
    """`action(session)` in one write transaction; a refusal by the organisation's rules is a 409/400."""
    try:
        with transaction(request.app.state.engine) as session:
            return action(session)
    except AlreadyExists as refused:
        raise ScimProblem(409, str(refused), "uniqueness") from None
    except IntegrityError:  # the same address created at once by another request (PostgreSQL)
        raise ScimProblem(409, "an account with this e-mail address exists already", "uniqueness") from None
    except (IdentityRefused, AccountError) as refused:
        raise ScimProblem(400, str(refused), "invalidValue") from None


@router.post("/Users")
async def create_user(request: Request, organisation: Organisation) -> JSONResponse:
    resource = parsed(ScimUser, await json_body(request), Context.RESOURCE_CREATION_REQUEST)
    wanted = _wanted(request, organisation, resource)
    parties = tuple(request.app.state.policy.parties)

    def create(session: Session) -> dict:
        user = identity.provision(session, organisation, parties=parties, **wanted)
        return _dump(
            _resource(request, user, identity.identity_of(session, user)), Context.RESOURCE_CREATION_RESPONSE
        )

    created = await write(request, create)
    return answer(created, 201, Location=created["meta"]["location"])


@router.get("/Users")
def list_users(
    request: Request,
    organisation: Organisation,
    session: SessionDep,
    filter: Annotated[str | None, Query(max_length=1000)] = None,
    startIndex: Annotated[int, Query(ge=1)] = 1,
    count: Annotated[int, Query(ge=0)] = MAX_RESULTS,
) -> JSONResponse:
    try:
        wanted = ScimFilter[ScimUser](filter) if filter else None
    except (SCIMException, ValueError) as error:
        raise ScimProblem(400, f"filter: {error}", "invalidFilter") from None
    resources = [_resource(request, user, link) for user, link in identity.accounts_of(session, organisation)]
    matching = [r for r in resources if wanted is None or wanted.match(r)]
    page = matching[startIndex - 1 : startIndex - 1 + min(count, MAX_RESULTS)]
    listing = ListResponse[ScimUser](
        total_results=len(matching), start_index=startIndex, items_per_page=len(page), resources=page or None
    )
    return answer(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE))


@router.get("/Users/{user_id}", name="scim_user")
def get_user(
    request: Request, organisation: Organisation, session: SessionDep, user_id: UserId
) -> JSONResponse:
    user, link = account_or_404(session, organisation, user_id)
    return answer(_dump(_resource(request, user, link), Context.RESOURCE_QUERY_RESPONSE))


async def _replace(request: Request, organisation: str, user_id: str, wanted_of) -> JSONResponse:
    def replace(session: Session) -> dict:
        user, link = account_or_404(session, organisation, user_id)
        wanted = wanted_of(_resource(request, user, link))
        user = identity.update(session, organisation, user, **wanted)
        return _dump(
            _resource(request, user, identity.identity_of(session, user)),
            Context.RESOURCE_REPLACEMENT_RESPONSE,
        )

    return answer(await write(request, replace))


@router.put("/Users/{user_id}")
async def replace_user(request: Request, organisation: Organisation, user_id: UserId) -> JSONResponse:
    resource = parsed(ScimUser, await json_body(request), Context.RESOURCE_REPLACEMENT_REQUEST)
    return await _replace(
        request, organisation, user_id, lambda _current: _wanted(request, organisation, resource)
    )


@router.patch("/Users/{user_id}")
async def patch_user(request: Request, organisation: Organisation, user_id: UserId) -> JSONResponse:
    patch = parsed(PatchOp[ScimUser], await json_body(request), Context.RESOURCE_PATCH_REQUEST)

    def patched(current: ScimUser) -> dict[str, Any]:
        try:
            patch.patch(current)
        except SCIMException as error:
            raise ScimProblem(400, str(error.detail), error.to_error().scim_type) from None
        return _wanted(request, organisation, current)

    return await _replace(request, organisation, user_id, patched)


@router.delete("/Users/{user_id}")
async def delete_user(request: Request, organisation: Organisation, user_id: UserId) -> Response:
    def delete(session: Session) -> None:
        user, _ = account_or_404(session, organisation, user_id)
        identity.delete(session, organisation, user)

    await write(request, delete)
    return Response(status_code=204)


@router.get("/ServiceProviderConfig")
def service_provider_config(request: Request, organisation: Organisation) -> JSONResponse:
    """What this service provider supports (RFC 7643 §5), for the organisation's provisioning client."""
    config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token",
                description="The organisation's token from `countersign scim-token create`",
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=str(request.url)),
    )
    return answer(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
