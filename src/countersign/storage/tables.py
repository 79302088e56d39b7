"""The stored tables: the read model and the append-only records (decisions,
audit entries). The process itself lives in the workflow; activities alone
write proposal state, decisions and audit entries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, String, TypeDecorator, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from countersign.domain.routing import Verdict


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = True, **kwargs) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, **kwargs))


def _json(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=254)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    party: str | None = Field(default=None, max_length=40)
    password_hash: str
    active: bool = True
    created_at: datetime = _ts(nullable=False)
    # Bumped at sign-out: every session signed with an older epoch ends (countersign.storage.accounts.session_epoch).
    session_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)  # SHA-256 hex of the token
    name: str | None = Field(default=None, max_length=100)  # what it is for, as its owner named it
    # countersign.storage.accounts.SCOPES: "decide" (it may also decide), or "grants:check" (it may
    # call the grants check and nothing else). None or empty: everything its account may, but decide.
    scopes: list[str] | None = _json()
    created_at: datetime = _ts(nullable=False)
    last_used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    expires_at: datetime | None = _ts()  # none: until revoked


class ProposalNumber(SQLModel, table=True):
    """Hands out proposal ids before the workflow that stores the proposal starts."""

    __tablename__ = "proposal_number"
    id: int | None = Field(default=None, primary_key=True)
    allocated_at: datetime = _ts(nullable=False)


# Indexes that exist on SQLite only (see Proposal); alembic's comparison skips them elsewhere.
SQLITE_ONLY_INDEXES = {"ix_proposal_parties": ("parties",)}


def compared_by_alembic(dialect: str):
    """Alembic's `include_object` hook: what `dialect`'s schema is meant to hold."""

    def include(object, name, type_, reflected, compare_to) -> bool:  # noqa: A002 (alembic's names)
        return not (type_ == "index" and name in SQLITE_ONLY_INDEXES and dialect != "sqlite")

    return include


class Proposal(SQLModel, table=True):
    # The lists (queries.list_visible, awaiting_lead) read newest change first: everyone's, a lead's,
    # or those of one status, each in index order up to the page. They also serve owner_id and
    # status lookups alone.
    __table_args__ = (
        Index("ix_proposal_updated_at_id", "updated_at", "id"),
        Index("ix_proposal_owner_id_updated_at", "owner_id", "updated_at"),
        Index("ix_proposal_status_updated_at", "status", "updated_at"),
        # A rep's dashboard count (queries.count_visible) matches `parties` as text: this index
        # holds that text, so SQLite counts from it without reading the rows.
        # (PostgreSQL's json has no b-tree order; its planner reads the rows.)
        *(Index(name, *columns).ddl_if(dialect="sqlite") for name, columns in SQLITE_ONLY_INDEXES.items()),
    )
    id: int = Field(primary_key=True)
    owner_id: int = Field(foreign_key="user.id")
    title: str
    capability: str
    parties: list[str] = _json(nullable=False)
    status: str = Field(max_length=30)
    version: int
    stage: str
    pending: list[str] = _json(nullable=False)
    outcome_scope: list[str] | None = _json()
    next_due_at: datetime | None = _ts()
    tier: str | None = Field(default=None, max_length=20)  # its risk tier (countersign.domain.tiers)
    route: dict | None = _json()  # {"rules": [risk rules matched], "stages": [{name, rule, added_by, ...}]}
    # The workflow step last recorded: a step's activity run again is recorded once (workflows.activities).
    last_step: int = 0
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class ProposalVersion(SQLModel, table=True):
    __tablename__ = "proposal_version"
    __table_args__ = (UniqueConstraint("proposal_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    number: int
    content: dict = _json(nullable=False)  # the ProposalSubmit body, as submitted
    submitted_by: str
    submitted_at: datetime = _ts(nullable=False)
    step: int | None = None  # the workflow step that wrote it


class VersionView(SQLModel, table=True):
    """UI state, not a record: each version of a proposal a person has opened (its page or the decision
    form), so the decision form shows what changed since the version they last saw. Written once per
    person and version, never changed (countersign.storage.version_views)."""

    __tablename__ = "version_view"
    __table_args__ = (UniqueConstraint("user_id", "proposal_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    proposal_id: int = Field(foreign_key="proposal.id")
    version: int
    seen_at: datetime = _ts(nullable=False)


# In byte order on PostgreSQL too (SQLite's own): the words beginning with a search term are then the
# range [term, term + search.END) of the index, whatever collation the database has.
WORD = String(40).with_variant(String(40, collation="C"), "postgresql")


class ProposalWord(SQLModel, table=True):
    """Read model: the words of a proposal's current title and summary (countersign.domain.search),
    rewritten with each version; a text search reads them in word order."""

    __tablename__ = "proposal_word"
    __table_args__ = (Index("ix_proposal_word_word_proposal_id", "word", "proposal_id"),)
    proposal_id: int = Field(foreign_key="proposal.id", primary_key=True)
    word: str = Field(sa_column=Column(WORD, primary_key=True))


class PartyReview(SQLModel, table=True):
    """Read model: one party's state in one stage (rewritten at every step)."""

    __tablename__ = "party_review"
    __table_args__ = (
        UniqueConstraint("proposal_id", "stage_index", "party"),
        # a label's inbox and its count (queries.inbox_rows, inbox_count): its waiting rows, soonest due first
        Index("ix_party_review_party_waiting_due_at", "party", "waiting", "due_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    stage_index: int
    stage: str
    party: str
    state: str
    current: bool  # True for the proposal's current per-party view
    # in the party's inbox (queries.waits_on): the inbox and its count read one index
    waiting: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    due_at: datetime | None = _ts()
    decided_by: str | None = None
    decided_at: datetime | None = _ts()
    comment: str | None = None
    version: int | None = None
    paused_since: datetime | None = _ts()  # its clock stands still while a question from it is open


class Decision(SQLModel, table=True):
    """Every accepted decision, append-only; `decision_id` makes a retry count once."""

    id: int | None = Field(default=None, primary_key=True)
    decision_id: str = Field(unique=True, max_length=100)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    version: int
    stage: str
    party: str
    decision: Verdict
    comment: str | None = None
    actor: str
    on_behalf_of: str | None = None  # the delegating rep, when `actor` decided as their delegate
    decided_at: datetime = _ts(nullable=False)
    step: int | None = None  # the workflow step that wrote it
    # The signature's manifestation, computed once as the decision is stored (countersign.domain.signature).
    signature: dict | None = _json()
    reauthenticated: str | None = Field(default=None, max_length=20)  # how the signer proved it was them


class ConditionRecord(SQLModel, table=True):
    __tablename__ = "condition"
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    party: str
    text: str
    version: int
    acknowledged: bool = False


class AuditEntry(SQLModel, table=True):
    """Append-only, hash chained per proposal (see countersign.storage.audit)."""

    __tablename__ = "audit_entry"
    __table_args__ = (UniqueConstraint("proposal_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int | None = Field(default=None, index=True)
    seq: int
    kind: str = Field(index=True)
    at: datetime = _ts(nullable=False)
    actor: str | None = None
    party: str | None = None
    detail: dict = _json(nullable=False)
    prev_hash: str
    hash: str
    step: int | None = None  # the workflow step that wrote it (bookkeeping, outside the hash)


class LoginFailure(SQLModel, table=True):
    """A failed sign-in, kept for the throttle (countersign.storage.throttle) so it holds across processes."""

    __tablename__ = "login_failure"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(nullable=False, index=True)
    email: str = Field(index=True, max_length=254)
    address: str = Field(index=True, max_length=100)


class Delegation(SQLModel, table=True):
    """A rep's party decisions handed to a colleague of the same party for a period."""

    id: int | None = Field(default=None, primary_key=True)
    party: str = Field(max_length=40)
    delegator_id: int = Field(foreign_key="user.id", index=True)
    delegate_id: int = Field(foreign_key="user.id", index=True)
    starts_at: datetime = _ts(nullable=False)
    ends_at: datetime = _ts(nullable=False)
    created_by: str = Field(max_length=254)
    created_at: datetime = _ts(nullable=False)
    revoked_at: datetime | None = _ts()
    revoked_by: str | None = Field(default=None, max_length=254)


class OutboxMail(SQLModel, table=True):
    """E-mail waiting to go out, written in the same transaction as its cause.

    The mail dispatcher sends and marks it; without SMTP configured it stays
    here for admins to read.
    """

    __tablename__ = "outbox_mail"
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int | None = Field(default=None, index=True)
    kind: str  # the audit event kind that caused it: routed, reminded, escalated, ...
    recipient: str
    subject: str
    body: str  # the plain text part
    html_body: str | None = None  # the HTML part; without one the mail goes out as plain text
    created_at: datetime = _ts(nullable=False)
    next_attempt_at: datetime = _ts(nullable=False, index=True)
    attempts: int = 0
    sent_at: datetime | None = _ts()
    last_error: str | None = None
    parked_at: datetime | None = _ts()  # set after the last try: no more sends; the admins were told
    step: int | None = None  # the workflow step that wrote it


# -- checkpoints of the audit log (countersign.storage.checkpoints); all append-only --


class LogLeaf(SQLModel, table=True):
    """The audit log's one global order: leaf `idx` of its Merkle tree is audit entry `entry_id`."""

    __tablename__ = "log_leaf"
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})  # from 0
    entry_id: int = Field(unique=True)
    leaf_hash: str = Field(max_length=64)  # as computed when sequenced; verifiers recompute it


class CheckpointRow(SQLModel, table=True):
    """A signed tree head of the audit log (countersign.domain.checkpoint)."""

    __tablename__ = "checkpoint"
    size: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    root: str = Field(max_length=64)
    time: datetime = _ts(nullable=False)
    signature: str = Field(max_length=200)
    key_id: str = Field(max_length=64)


class WitnessKey(SQLModel, table=True):
    """An organisation's public key for co-signing checkpoints, as it registered it."""

    __tablename__ = "witness_key"
    id: int | None = Field(default=None, primary_key=True)
    party: str = Field(max_length=40, index=True)  # a party, or "platform"
    key_id: str = Field(max_length=64, unique=True)
    public_key: str  # PEM
    registered_by: str = Field(max_length=254)
    registered_at: datetime = _ts(nullable=False)


class WitnessRevocation(SQLModel, table=True):
    """A witness key revoked: its cosignatures from then on do not count; earlier ones stand."""

    __tablename__ = "witness_key_revocation"
    id: int | None = Field(default=None, primary_key=True)
    key_id: str = Field(max_length=64, unique=True)
    party: str = Field(max_length=40)  # the key's organisation
    reason: str = Field(max_length=500)
    revoked_by: str = Field(max_length=254)
    revoked_at: datetime = _ts(nullable=False)


class CheckpointCosignature(SQLModel, table=True):
    """An organisation's signature over a checkpoint, verified with its registered key when received."""

    __tablename__ = "checkpoint_cosignature"
    __table_args__ = (UniqueConstraint("size", "key_id"),)
    id: int | None = Field(default=None, primary_key=True)
    size: int = Field(index=True)
    party: str = Field(max_length=40)
    key_id: str = Field(max_length=64)
    signature: str = Field(max_length=200)
    time: datetime = _ts(nullable=False)
    submitted_by: str = Field(max_length=254)
class ScimToken(SQLModel, table=True):
    """An organisation's SCIM bearer token (its SHA-256 only), scoped to that organisation's accounts."""

    __tablename__ = "scim_token"
    id: int | None = Field(default=None, primary_key=True)
    organisation: str = Field(max_length=40, index=True)  # a party key, or "platform"
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = _ts(nullable=False)
    revoked_at: datetime | None = _ts()


class ExternalIdentity(SQLModel, table=True):
    """How an organisation knows one of its accounts: its provider's subject, its SCIM externalId."""

    __tablename__ = "external_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", unique=True)
    organisation: str = Field(max_length=40, index=True)
    issuer: str | None = Field(default=None, max_length=500)
    subject: str | None = Field(default=None, max_length=255)
    external_id: str | None = Field(default=None, max_length=255)
    # SCIM DELETE: the account stays (decisions and the audit log name it), inactive and gone from SCIM.
    deleted_at: datetime | None = _ts()
import countersign.storage.grant_tables  # noqa: E402,F401  (its tables join the one metadata)
import countersign.storage.webhook_tables  # noqa: E402,F401  (its tables join the one metadata)
import countersign.storage.message_tables  # noqa: E402,F401  (its tables join the one metadata)
