"""JSON API: signed checkpoints of the audit log, the proofs that check them,
and organisations' witness keys and cosignatures (docs/checkpoints.md).

Any signed-in user may read them: a label verifies the log with these and
the checkpoints it kept, without trusting whoever runs the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ApiUser, SessionDep, SettingsDep, WriteSessionDep
from api.errors import ERROR_RESPONSES
from api.text_types import NO_NUL
from countersign.domain.checkpoint import CheckpointError
from countersign.domain.merkle import ProofError
from countersign.storage import checkpoints
from countersign.storage.tables import WitnessKey, WitnessRevocation

MAX_SIZE = 2**31 - 1
Size = Annotated[int, Path(ge=1, le=MAX_SIZE, description="The checkpoint's tree size")]


class CosignatureOut(BaseModel):
    party: str
    key_id: str
    signature: str
    time: str
    key_revoked_at: str | None = Field(None, description="When its key was revoked, after this cosignature "
                                                         "(one made after does not count and is not listed)")


class CheckpointOut(BaseModel):
    size: int
    root: str
    time: str
    signature: str
    key_id: str
    cosignatures: list[CosignatureOut]


class KeyOut(BaseModel):
    key_id: str
    public_key: str  # PEM


class ConsistencyOut(BaseModel):
    from_size: int = Field(serialization_alias="from")
    to_size: int = Field(serialization_alias="to")
    proof: list[str]  # hex hashes, RFC 9162 §2.1.4


class InclusionOut(BaseModel):
    index: int
    size: int
    proof: list[str]  # hex hashes, RFC 9162 §2.1.3


class WitnessKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    public_key: Annotated[str, Field(max_length=2000, description="The organisation's Ed25519 public key, PEM")]


class WitnessKeyOut(BaseModel):
    party: str
    key_id: str
    public_key: str
    registered_by: str
    registered_at: datetime
    revoked_at: datetime | None = None  # its cosignatures from then on do not count
    revoked_by: str | None = None
    revocation_reason: str | None = None

    @classmethod
    def of(cls, key: WitnessKey, revoked: WitnessRevocation | None) -> WitnessKeyOut:
        return cls(party=key.party, key_id=key.key_id, public_key=key.public_key, registered_by=key.registered_by,
                   registered_at=key.registered_at, revoked_at=revoked.revoked_at if revoked else None,
                   revoked_by=revoked.revoked_by if revoked else None,
                   revocation_reason=revoked.reason if revoked else None)


class RevocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(max_length=2000, pattern=NO_NUL,
                                 description="Why, in one line (at most 500 characters)")]


class CosignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key_id: Annotated[str, Field(pattern="^[0-9a-f]{16}$")]
    signature: Annotated[str, Field(max_length=200)]


router = APIRouter(prefix="/checkpoints", tags=["checkpoints"], responses=ERROR_RESPONSES)


def _not_found(message: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, message)


@router.get("/latest", response_model=CheckpointOut)
def latest(user: ApiUser, session: SessionDep) -> dict[str, Any]:
    """The newest signed checkpoint, with the cosignatures it has."""
    signed = checkpoints.latest(session)
    if signed is None:
        raise _not_found("no checkpoint has been signed yet: one is signed when a proposal concludes, and on a schedule")
    return signed.as_json()


@router.get("/key", response_model=KeyOut)
def key(user: ApiUser, settings: SettingsDep) -> KeyOut:
    """The public key checkpoints are signed with (as `countersign audit key` prints it)."""
    signer = settings.checkpoint_signer
    return KeyOut(key_id=signer.key_id, public_key=signer.public_pem())


@router.get("/proof/consistency", response_model=ConsistencyOut, response_model_by_alias=True)
def consistency_proof(
    user: ApiUser, session: SessionDep,
    from_size: Annotated[int, Query(alias="from", ge=1, le=MAX_SIZE, description="The older tree size")],
    to_size: Annotated[int, Query(alias="to", ge=1, le=MAX_SIZE, description="The newer tree size")],
) -> ConsistencyOut:
    """RFC 9162 consistency proof between two tree sizes, from the entries as stored now."""
    leaves = checkpoints.log_leaves(session)
    if to_size > len(leaves.hashes):
        raise _not_found(f"the log's tree has {len(leaves.hashes)} leaves, fewer than {to_size}")
    try:
        proof = checkpoints.consistency(leaves, from_size, to_size)
    except ProofError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return ConsistencyOut(from_size=from_size, to_size=to_size, proof=[p.hex() for p in proof])


@router.get("/proof/inclusion", response_model=InclusionOut)
def inclusion_proof(
    user: ApiUser, session: SessionDep,
    leaf: Annotated[str, Query(alias="hash", pattern="^[0-9a-fA-F]{64}$",
                               description="The leaf hash: SHA-256(0x00 || the entry's canonical record), hex")],
    size: Annotated[int, Query(ge=1, le=MAX_SIZE, description="The tree size to prove inclusion in")],
) -> InclusionOut:
    """RFC 9162 inclusion proof of one leaf in the tree of `size` leaves."""
    leaves = checkpoints.log_leaves(session)
    if size > len(leaves.hashes):
        raise _not_found(f"the log's tree has {len(leaves.hashes)} leaves, fewer than {size}")
    try:
        index, proof = checkpoints.inclusion(leaves, bytes.fromhex(leaf), size)
    except checkpoints.NotFound as exc:
        raise _not_found(str(exc)) from None
    return InclusionOut(index=index, size=size, proof=[p.hex() for p in proof])


@router.get("/witnesses", response_model=list[WitnessKeyOut])
def witness_keys(user: ApiUser, session: SessionDep) -> list[WitnessKeyOut]:
    """Every organisation's registered witness keys."""
    return [WitnessKeyOut.of(key, revoked) for key, revoked in checkpoints.witness_keys(session)]


def _organisation(user) -> str:
    party = checkpoints.organisation(user)
    if party is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "only a party's reps, or the platform's admins, witness checkpoints for their organisation")
    return party


@router.post("/witnesses", status_code=status.HTTP_201_CREATED, response_model=WitnessKeyOut)
def register_witness_key(user: ApiUser, session: WriteSessionDep, body: WitnessKeyIn) -> WitnessKeyOut:
    """Register the caller's organisation's witness key (its reps' party, or the platform for admins)."""
    party = _organisation(user)
    try:
        row = checkpoints.register_key(session, party, body.public_key, user.email, datetime.now(UTC))
    except CheckpointError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    session.commit()
    return WitnessKeyOut.of(row, None)


KeyId = Annotated[str, Path(pattern="^[0-9a-f]{16}$", description="The witness key's id")]


@router.post("/witnesses/{key_id}/revoke", response_model=WitnessKeyOut)
def revoke_witness_key(key_id: KeyId, user: ApiUser, session: WriteSessionDep, body: RevocationIn) -> WitnessKeyOut:
    """Revoke a witness key (an admin: any organisation's; a party admin: their party's): its
    cosignatures from now on do not count; earlier ones stand."""
    if user.role not in checkpoints.REVOKERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins, and a party's admins, revoke witness keys")
    try:
        key, revoked = checkpoints.revoke_key(session, user, key_id, body.reason, datetime.now(UTC))
    except checkpoints.NotFound as exc:
        raise _not_found(str(exc)) from None
    except CheckpointError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    session.commit()
    return WitnessKeyOut.of(key, revoked)


@router.get("/{size}", response_model=CheckpointOut)
def at_size(size: Size, user: ApiUser, session: SessionDep) -> dict[str, Any]:
    """An earlier checkpoint, by its tree size."""
    signed = checkpoints.at_size(session, size)
    if signed is None:
        raise _not_found(f"no checkpoint of size {size}")
    return signed.as_json()


@router.post("/{size}/cosignatures", status_code=status.HTTP_201_CREATED, response_model=CheckpointOut)
def cosign(size: Size, user: ApiUser, session: WriteSessionDep, body: CosignatureIn) -> dict[str, Any]:
    """Add the caller's organisation's cosignature; it must verify with a key the organisation registered."""
    party = _organisation(user)
    try:
        signed = checkpoints.add_cosignature(session, size, party, body.key_id, body.signature, user.email,
                                             datetime.now(UTC))
    except checkpoints.NotFound as exc:
        raise _not_found(str(exc)) from None
    except CheckpointError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    session.commit()
    return signed.as_json()
