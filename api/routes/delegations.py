"""JSON API: delegations (countersign.storage.delegation).

A rep delegates their party's decisions to a colleague of the same party
for a period; the delegate then decides with `on_behalf_of` set to the
delegator's e-mail, and the decision records both. Admins see every
delegation, may create one for any rep and reassign one to another
colleague.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from api.deps import ApiUser, SessionDep, WriteSessionDep
from api.errors import ERROR_RESPONSES
from api.text_types import IsoAwareDatetime
from countersign.domain import addresses
from countersign.storage import delegation as delegations
from countersign.storage.tables import Delegation, User, utcnow

DelegationId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The delegation's id")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254,
                                         pattern=r"^[^@\s\x00]+@[^@\s\x00]+$"), AfterValidator(addresses.checked)]


class DelegationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delegate: Email
    ends_at: IsoAwareDatetime
    starts_at: IsoAwareDatetime | None = None  # default: now
    delegator: Email | None = None  # admins only: whose decisions


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delegate: Email


class DelegationOut(BaseModel):
    id: int
    party: str
    delegator: str
    delegate: str
    starts_at: datetime
    ends_at: datetime
    active: bool
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None


def delegation_out(session, row: Delegation) -> DelegationOut:
    return DelegationOut(
        id=row.id, party=row.party, delegator=session.get(User, row.delegator_id).email,
        delegate=session.get(User, row.delegate_id).email, starts_at=row.starts_at, ends_at=row.ends_at,
        active=delegations.is_active(row, utcnow()), created_by=row.created_by, revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )


router = APIRouter(prefix="/delegations", tags=["delegations"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[DelegationOut])
def list_delegations(user: ApiUser, session: SessionDep) -> list[DelegationOut]:
    """Delegations the caller gave or holds (admins: all), ended ones included."""
    return [delegation_out(session, row) for row in delegations.visible_to(session, user)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DelegationOut)
def create_delegation(body: DelegationIn, user: ApiUser, session: WriteSessionDep) -> DelegationOut:
    """Delegate the caller's party decisions to a colleague of the same party until `ends_at`."""
    row = delegations.create(session, user, body.delegate, body.ends_at, body.starts_at, body.delegator)
    session.commit()
    return delegation_out(session, row)


@router.delete("/{delegation_id}", response_model=DelegationOut)
def end_delegation(delegation_id: DelegationId, user: ApiUser, session: WriteSessionDep) -> DelegationOut:
    """End a delegation now (its delegator, its delegate, or an admin)."""
    row = delegations.end(session, delegation_id, user)
    session.commit()
    return delegation_out(session, row)


@router.post("/{delegation_id}/reassign", response_model=DelegationOut)
def reassign_delegation(delegation_id: DelegationId, body: ReassignIn, user: ApiUser,
                        session: WriteSessionDep) -> DelegationOut:
    """Admins: give the rest of a delegation's period to another colleague of the same party."""
    row = delegations.reassign(session, delegation_id, user, body.delegate)
    session.commit()
    return delegation_out(session, row)
