"""The routing policy: parties, stages and their timing, loaded from TOML.

The policy is plain frozen dataclasses, so that a snapshot of it travels
inside the workflow's input through Temporal's JSON converter: a policy file
edited later never changes a proposal that is already in flight.

The same dataclasses are the file's schema. Pydantic validates a file into
them (`TypeAdapter`; stdlib dataclasses are one of its documented inputs),
unknown keys refused, with the checks riding on the fields as `Annotated`
metadata. Temporal's converter ignores that metadata and rebuilds a snapshot
as the plain data it is, without checking it again; pydantic dataclasses
would re-run every check (time zones, holiday calendars) at each decoding
inside the workflow, and a check added later could then stop a proposal
already running. One shape, checked once, where the file is read.
"""

# No `from __future__ import annotations`: its dataclasses cross the workflow
# boundary, and the SDK's converter reads their types for every payload (workflows/messages.py).

import re
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    with_config,
)
from pydantic_core import ErrorDetails

from countersign.domain.errors import PolicyError

DURATION_UNITS = {
    "business day": "business_days",
    "business days": "business_days",
    "day": "days",
    "days": "days",
    "h": "hours",
    "hour": "hours",
    "hours": "hours",
    "m": "minutes",
    "min": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "s": "seconds",
    "second": "seconds",
    "seconds": "seconds",
}
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([a-z ]+?)\s*$")
RULE_RE = re.compile(r"^(all|any|quorum:[1-9]\d*)$")
# Party keys appear in URLs, e-mail addresses of demo accounts and the API schema.
PARTY_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
# The platform's key among the organisations (countersign.domain.identity): no party may take it.
PLATFORM_KEY = "platform"
# The roles an organisation's provider may give: a party's people are its reps; the platform's, the rest.
PARTY_ROLES = ("rep",)
PLATFORM_ROLES = ("lead", "compliance", "admin")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
# The platform's key among the organisations (countersign.domain.identity): no party may take it.
PLATFORM_KEY = "platform"
# The roles an organisation's provider may give: a party's people are its reps; the platform's, the rest.
PARTY_ROLES = ("rep",)
PLATFORM_ROLES = ("lead", "compliance", "admin")
# A misspelt key would silently fall back to a default: refuse it.
FILE_TABLE = ConfigDict(extra="forbid")


@with_config(FILE_TABLE)
@dataclass(frozen=True)
class Duration:
    amount: Annotated[int, Field(ge=0)]
    unit: Literal["business_days", "days", "hours", "minutes", "seconds"]

    @classmethod
    def parse(cls, text: str) -> "Duration":
        match = _DURATION_RE.match(text.lower()) if isinstance(text, str) else None
        if not match or match.group(2) not in DURATION_UNITS:
            raise ValueError(
                f"{text!r} is not a duration; write e.g. '10 business days', "
                "'2 days', '4h', '30m' or '45s'"
            )
        return cls(int(match.group(1)), DURATION_UNITS[match.group(2)])

    def __str__(self) -> str:
        unit = self.unit.replace("_", " ")
        return f"{self.amount} {unit[:-1] if self.amount == 1 else unit}"


def _as_written(value: Any) -> Any:
    """A duration as a file writes it ("10 business days"); a snapshot's dict passes as it is."""
    return value if isinstance(value, dict | Duration) else Duration.parse(value)


# A duration field: written as text in the file, a dict in a snapshot's JSON.
DurationField = Annotated[Duration, BeforeValidator(_as_written)]
Text = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (write an IANA name such as Europe/London)") from None
    return name


def _holiday_calendar(code: str) -> str:
    import holidays

    supported = holidays.list_supported_countries()
    country, dash, subdivision = code.partition("-")
    if country not in supported:
        raise ValueError(f"unknown holiday calendar {code!r} (use a country code such as US, GB, FR)")
    if dash and subdivision not in supported[country]:
        raise ValueError(
            f"unknown holiday calendar {code!r}: {country} has no subdivision {subdivision!r} "
            f"(known: {', '.join(supported[country])})"
        )
    return code


def _email(address: str) -> str:
    if "@" not in address:
        raise ValueError("must be an e-mail address")
    return address


def _party_key(key: str) -> str:
    if not PARTY_KEY_RE.match(key):
        raise ValueError(
            "a party key is lower-case letters, digits, '-' or '_' (at most 40), e.g. [parties.kobalt]"
        )
    return key


def _stage_parties(value: Any) -> Any:
    if value == "touched" or (isinstance(value, list) and value and all(isinstance(p, str) for p in value)):
        return value
    raise ValueError('must be "touched" or a list of party keys')


def _rule(rule: str) -> str:
    if not RULE_RE.match(rule):
        raise ValueError('must be "all", "any" or "quorum:N" (N at least 1)')
    return rule


def _issuer(url: str) -> str:
    parts = urlsplit(url)
    loopback = parts.hostname in ("localhost", "::1") or (parts.hostname or "").startswith("127.")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("the issuer is an https:// URL (http:// only on this machine, for tests)")
    if parts.query or parts.fragment or not parts.hostname:
        raise ValueError("the issuer is a URL without query or fragment, e.g. https://login.sony.example")
    return url  # as the provider writes it: its ID tokens' `iss` must equal it exactly


def _env_name(name: str) -> str:
    if not ENV_NAME_RE.match(name):
        raise ValueError("the name of an environment variable, e.g. SONY_OIDC_CLIENT_SECRET")
    return name


@with_config(FILE_TABLE)
@dataclass(frozen=True)
class OidcConfig:
    """An organisation's OpenID provider (countersign.domain.identity). The secret itself
    never sits in the file: `client_secret_env` names the environment variable holding it."""

    issuer: Annotated[StrictStr, AfterValidator(_issuer)]
    client_id: Text
    client_secret_env: Annotated[StrictStr, AfterValidator(_env_name)]
    role_claim: Text  # e.g. "groups" or "roles"; a string or a list of strings in the ID token
    roles: Annotated[dict[Text, Text], Field(min_length=1)]  # claim value -> Countersign role
    scopes: list[Text] = field(default_factory=lambda: ["openid", "email", "profile"])


@with_config(FILE_TABLE)
@dataclass(frozen=True)
class PartyConfig:
    name: Text
    timezone: Annotated[Text, AfterValidator(_time_zone)]
    # A country code for the `holidays` package, e.g. "US", "GB", "FR", or with a subdivision, "GB-ENG".
    holidays: Annotated[Text, AfterValidator(_holiday_calendar)]
    escalation: Annotated[StrictStr, AfterValidator(_email)] | None = None
    oidc: OidcConfig | None = None  # the party's own single sign-on


@with_config(FILE_TABLE)
@dataclass(frozen=True)
class PlatformConfig:
    """The streaming service's own staff (leads, compliance, admins)."""

    name: Text = "Streaming service"
    oidc: OidcConfig | None = None


def quorum(rule: str, party_count: int) -> int:
    """How many approvals pass a stage with `rule` among `party_count` parties."""
    if rule == "all":
        return party_count
    if rule == "any":
        return min(1, party_count)
    return min(int(rule.split(":")[1]), party_count)


@with_config(FILE_TABLE)
@dataclass(frozen=True)
class StagePolicy:
    name: Text
    due: DurationField
    # "touched" (every party the proposal touches) or a list of party keys
    parties: Annotated[Literal["touched"] | list[str], BeforeValidator(_stage_parties)] = "touched"
    rule: Annotated[StrictStr, AfterValidator(_rule)] = "all"  # "all", "any" or "quorum:N"
    reminders: list[DurationField] = field(default_factory=list)  # offsets before `due`
    grace: DurationField = Duration(0, "seconds")
    # "escalate" (then expire the proposal) or "expire" (the party)
    on_overdue: Literal["escalate", "expire"] = "escalate"
    # A party's clock in this stage stands still while a question from it to the lead is open
    # (docs/threads.md); unset: the policy's top-level key says.
    pause_while_question_open: StrictBool | None = None

    def quorum(self, party_count: int) -> int:
        """How many approvals pass this stage among `party_count` parties."""
        return quorum(self.rule, party_count)


# The proposal fields a risk rule may read and a policy may call material:
# the submit body's fields, the checklist's answers as "checklist.<key>".
PROPOSAL_FIELDS = frozenset({
    "title", "summary", "capability", "parties", "data_sources", "launch_scope", "requested_decision_date",
    "synthesises", "user_uploads", "markets", "checklist.agreements", "checklist.artist_choice",
    "checklist.compensation", "checklist.attribution", "checklist.safeguards",
})
TIERS = ("minimal", "limited", "high", "unacceptable")  # lowest first, after the EU AI Act's vocabulary
Tier = Literal["minimal", "limited", "high", "unacceptable"]


def _proposal_field(name: str) -> str:
    if name not in PROPOSAL_FIELDS:
        raise ValueError(f"unknown proposal field {name!r} (known: {', '.join(sorted(PROPOSAL_FIELDS))})")
    return name


ProposalField = Annotated[str, AfterValidator(_proposal_field)]


@with_config(FILE_TABLE)
@dataclass(frozen=True)
class RiskRule:
    """A proposal matches when, for every field in `when`, its value is one of
    the listed values (a list field: when any of its items is)."""

    name: Text
    tier: Tier
    when: Annotated[dict[ProposalField, list[StrictStr | StrictBool]], Field(min_length=1)]
    why: StrictStr = ""  # shown with the tier, in the preview and on the proposal page


@with_config(FILE_TABLE)
@dataclass(frozen=True)
class AddedStage(StagePolicy):
    """A stage a tier adds to the route, after the stage named `after` (at the end when unset)."""

    after: StrictStr | None = None


@with_config(FILE_TABLE)
@dataclass(frozen=True)
class TierPolicy:
    add_stages: list[AddedStage] = field(default_factory=list)
    rules: dict[str, Annotated[StrictStr, AfterValidator(_rule)]] = field(default_factory=dict)  # stage name -> rule


@with_config(FILE_TABLE)
@dataclass(frozen=True)
class GrantPolicy:
    """What an approval gives each approving party's catalog: a grant for a time."""

    expires_after: DurationField = Duration(365, "days")
    remind_before: DurationField = Duration(30, "days")  # the lead is reminded to seek re-approval
    obligations_due: DurationField = Duration(30, "days")  # a condition's evidence is due this long after approval
    deny_when_obligation_overdue: StrictBool = False  # the grants check answers obligation_overdue
    # The workflow running the grants continues as new once its history holds this many events
    # (and whenever Temporal suggests it); unset: only when Temporal suggests it.
    continue_as_new_after: Annotated[int, Field(strict=True, ge=50)] | None = None


@with_config(FILE_TABLE)
@dataclass(frozen=True)
class Policy:
    # In the file's order, the order pages and answers list them in. A snapshot
    # decoded from JSON has them sorted by key: the workflow follows the
    # proposal's own list of parties, which is in the policy's order.
    parties: Annotated[dict[Annotated[str, AfterValidator(_party_key)], PartyConfig], Field(min_length=1)]
    stages: Annotated[list[StagePolicy], Field(min_length=1)]
    allow_partial: StrictBool = False
    # How a signer re-authenticates at a decision (docs/signatures.md): "token" (the default) asks the
    # web form for the password again and API decisions for a token with the decide scope; "password"
    # also asks API decisions for the signer's password; "web" refuses API decisions.
    reauthenticate: Literal["token", "password", "web"] = "token"
    platform: PlatformConfig = field(default_factory=PlatformConfig)
    # Risk: rules give a tier (the highest matched; "minimal" if none), a tier reshapes the route.
    risk_rules: list[RiskRule] = field(default_factory=list)
    tiers: dict[Tier, TierPolicy] = field(default_factory=dict)
    # A resubmission changing one of these reopens every stage already passed.
    material_fields: list[ProposalField] = field(default_factory=list)
    grants: GrantPolicy | None = None  # no grants are issued without this table
    # Every stage's default for its own `pause_while_question_open` (off: deadlines run on).
    pause_while_question_open: StrictBool = False

    def pauses_for_questions(self, index: int) -> bool:
        """Whether stage `index` stops a party's clock while a question from that party is open."""
        own = self.stages[index].pause_while_question_open
        return self.pause_while_question_open if own is None else own

    def stage_parties(self, index: int, touched: list[str]) -> list[str]:
        wanted = self.stages[index].parties
        if wanted == "touched":
            return list(touched)
        return [p for p in touched if p in wanted]


_POLICY = TypeAdapter(Policy)
DEFAULT_POLICY_FILE = "default_policy.toml"


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate a policy file; the shipped default when `path` is None."""
    if path is None:
        text = resources.files("countersign.domain").joinpath(DEFAULT_POLICY_FILE).read_text()
        source = f"(built-in) {DEFAULT_POLICY_FILE}"
    else:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise PolicyError(f"policy file {path}: cannot be read ({exc.strerror})") from exc
        source = str(path)
        try:
            text = data.decode("utf-8")  # TOML is UTF-8, whatever the locale says
        except UnicodeDecodeError as exc:
            raise PolicyError(
                f"policy file {source}: not valid TOML (not UTF-8 text at byte {exc.start})"
            ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {source}: not valid TOML ({exc})") from exc
    return parse_policy(raw, source)


def parse_policy(raw: dict, source: str = "policy") -> Policy:
    def fail(where: str, message: str) -> PolicyError:
        return PolicyError(f"policy file {source}: {where}: {message}")

    try:
        policy = _POLICY.validate_python(raw)
    except ValidationError as exc:
        # A misspelt key first: it explains the "required" error of the key it meant.
        problems = sorted(exc.errors(include_url=False), key=lambda e: e["type"] not in UNKNOWN_KEY)
        where, message = _describe(problems[0], raw)
        if more := len(problems) - 1:
            message += f" (and {more} more {'problem' if more == 1 else 'problems'})"
        raise fail(where, message) from None
    _check_together(policy, fail)
    return policy


# What to write, named when pydantic finds a field missing or of the wrong type.
WANTED = {
    "allow_partial": "true or false",
    "reauthenticate": '"token", "password" or "web"',
    "name": "a non-empty string",
    "timezone": "a time zone name such as Europe/London",
    "holidays": "a country code such as US, GB or FR",
    "escalation": "an e-mail address",
    "due": "a duration such as '5 business days'",
    "grace": "a duration such as '2 business days'",
    "reminders": "a list of durations such as [\"3 business days\", \"1 business day\"]",
    "rule": '"all", "any" or "quorum:N"',
    "on_overdue": '"escalate" or "expire"',
    "pause_while_question_open": "true or false",
}
TABLES = {"parties": "at least one [parties.KEY] table is required",
          "stages": "at least one [[stages]] table is required"}
UNKNOWN_KEY = ("unexpected_keyword_argument", "extra_forbidden")


def _describe(error: ErrorDetails, raw: dict) -> tuple[str, str]:
    """(where, what) for the first thing pydantic refused: the place (top
    level, a party's table, a stage by number and name), the field, what is
    wrong and what to write instead."""
    loc, kind = error["loc"], error["type"]
    if "oidc" in loc or loc[:1] == ("platform",):
        return _describe_identity(error)
    if loc and loc[0] in ("risk_rules", "tiers", "grants", "material_fields"):
        return _describe_risk(error, raw)
    table, rest = (loc[:2], loc[2:]) if len(loc) >= 2 and loc[0] in TABLES else ((), loc)
    place = _place(table, raw)
    if not rest:
        return place, "must be a table" if table[0] == "parties" else "must be a [[stages]] table"
    name = str(rest[0])
    if kind in UNKNOWN_KEY and len(rest) > 1:  # inside a field's value: a duration written as a table
        return f"{place} field '{name}'", f"unknown key '{rest[-1]}'; write {WANTED[name]}"
    if kind in UNKNOWN_KEY:
        known = ", ".join(f.name for f in fields(_TABLE_CLASS[table[0] if table else ""]))
        return place, f"unknown field '{name}' (known fields: {known})"
    if not table and name in TABLES:
        return name, TABLES[name]
    if name == "[key]":
        return place, str(error["ctx"]["error"])
    if kind == "missing":
        return place, f"field '{name}' is required ({WANTED.get(name, 'see the default policy')})"
    if kind == "value_error":
        return f"{place} field '{name}'", str(error["ctx"]["error"])
    return f"{place} field '{name}'", f"must be {WANTED.get(name, error['msg'])}"


OIDC_WANTED = {
    "issuer": "the provider's https:// URL",
    "client_id": "the client id the provider gave Countersign",
    "client_secret_env": "the name of the environment variable holding the client secret",
    "role_claim": 'the ID token claim that gives the role, e.g. "groups"',
    "roles": 'a table of claim value = role, e.g. { "countersign-reps" = "rep" }',
    "scopes": 'a list of scopes, e.g. ["openid", "email", "profile"]',
    "name": "a non-empty string",
}


def _describe_identity(error: ErrorDetails) -> tuple[str, str]:
    """(where, what) inside [platform], [platform.oidc] or [parties.KEY.oidc]."""
    loc, kind = error["loc"], error["type"]
    at = loc.index("oidc") + 1 if "oidc" in loc else 1
    place = "[" + ".".join(str(part) for part in loc[:at]) + "]"
    cls = OidcConfig if "oidc" in loc else PlatformConfig
    if len(loc) <= at:
        return place, "must be a table"
    name = str(loc[at])
    if kind in UNKNOWN_KEY and len(loc) == at + 1:
        return place, f"unknown field '{name}' (known fields: {', '.join(f.name for f in fields(cls))})"
    if kind == "missing":
        return place, f"field '{name}' is required ({OIDC_WANTED.get(name, 'see docs/identity.md')})"
    if kind == "value_error":
        return f"{place} field '{name}'", str(error["ctx"]["error"])
    return f"{place} field '{name}'", f"must be {OIDC_WANTED.get(name, error['msg'])}"


_TABLE_CLASS = {"": Policy, "parties": PartyConfig, "stages": StagePolicy}


def _place(table: tuple, raw: dict) -> str:
    if not table:
        return "top level"
    if table[0] == "parties":
        return f"[parties.{table[1]}]"
    stage = raw["stages"][table[1]]
    name = stage.get("name") if isinstance(stage, dict) else None
    return f"stage {table[1] + 1} ({name.strip() if isinstance(name, str) and name.strip() else 'unnamed'})"


def _check_together(policy: Policy, fail) -> None:
    """What no single field can tell: the stages against each other and the parties."""
    defined = ", ".join(policy.parties)
    names: set[str] = set()
    for number, stage in enumerate(policy.stages, start=1):
        where = f"stage {number} ({stage.name})"
        if stage.name in names:
            raise fail(f"{where} field 'name'", "another stage has this name; stage names must differ")
        names.add(stage.name)
        if stage.parties != "touched":
            unknown = [p for p in stage.parties if p not in policy.parties]
            if unknown:
                raise fail(f"{where} field 'parties'",
                           f"unknown parties {unknown}; the policy defines {defined}")
        seats = len(policy.parties) if stage.parties == "touched" else len(set(stage.parties))
        if stage.rule.startswith("quorum:") and int(stage.rule.split(":")[1]) > seats:
            raise fail(f"{where} field 'rule'",
                       f"{stage.rule} asks for more approvals than the stage's {seats} parties")
        for reminder in stage.reminders:
            if _not_shorter(reminder, stage.due):
                raise fail(f"{where} field 'reminders'",
                           f"'{reminder}' before due would fall before the stage opens (due is {stage.due}); "
                           "use a shorter offset")
    _check_identity(policy, fail)
    _check_risk(policy, fail)
    # Every party must be asked somewhere: otherwise a proposal touching its
    # catalog could conclude approved without its sign-off.
    for key in policy.parties:
        if not any(s.parties == "touched" or key in s.parties for s in policy.stages):
            raise fail(f"[parties.{key}]",
                       "takes part in no stage; list it in a stage's 'parties' or use parties = \"touched\"")


_PLAIN_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def _not_shorter(reminder: Duration, due: Duration) -> bool:
    """Whether a reminder offset reaches back to (or past) the start of the stage."""
    if reminder.unit == due.unit == "business_days":
        return reminder.amount >= due.amount
    if reminder.unit in _PLAIN_SECONDS and due.unit in _PLAIN_SECONDS:
        return reminder.amount * _PLAIN_SECONDS[reminder.unit] >= due.amount * _PLAIN_SECONDS[due.unit]
    return False  # business days against elapsed time: depends on the calendar


def _check_identity(policy: Policy, fail) -> None:
    """Each organisation's provider gives only its own kind of role (the party comes from the
    provider, never from a claim: a party's provider makes reps of that party or nobody)."""
    if PLATFORM_KEY in policy.parties:
        raise fail(f"[parties.{PLATFORM_KEY}]", f"'{PLATFORM_KEY}' names the streaming service's own staff; "
                                                "give this party another key")
    providers = [(f"[parties.{key}.oidc]", party.oidc, PARTY_ROLES) for key, party in policy.parties.items()]
    providers.append(("[platform.oidc]", policy.platform.oidc, PLATFORM_ROLES))
    for where, oidc, allowed in providers:
        if oidc is None:
            continue
        for claim_value, role in oidc.roles.items():
            if role not in allowed:
                raise fail(f"{where} field 'roles'", f"'{claim_value}' gives role '{role}'; "
                                                     f"this provider may give {', '.join(allowed)}")
        if "openid" not in oidc.scopes:
            raise fail(f"{where} field 'scopes'", "must include \"openid\"")


def _check_risk(policy: Policy, fail) -> None:
    """Tiers name existing stages; rules read only material fields, so that
    a change which would change the tier always re-routes."""
    names = {s.name for s in policy.stages}
    for tier, shape in policy.tiers.items():
        for stage in shape.add_stages:
            if stage.after is not None and stage.after not in names:
                raise fail(f"[tiers.{tier}] added stage '{stage.name}' field 'after'",
                           f"no stage is named {stage.after!r}; the stages are {', '.join(names)}")
            if stage.name in names:
                raise fail(f"[tiers.{tier}] added stage '{stage.name}'", "another stage has this name")
        for stage_name in shape.rules:
            if stage_name not in names:
                raise fail(f"[tiers.{tier}] field 'rules'", f"no stage is named {stage_name!r}")
    for rule in policy.risk_rules:
        unread = [f for f in rule.when if f not in policy.material_fields]
        if unread:
            raise fail(f"risk rule '{rule.name}' field 'when'",
                       f"reads {unread[0]!r}, which is not in material_fields: a change to it would not re-route")


def _describe_risk(error: ErrorDetails, raw: dict) -> tuple[str, str]:
    """Where and what in the risk and grant tables, e.g. "risk rule 2 (voice) field 'tier'"."""
    loc, kind = error["loc"], error["type"]
    where = ".".join(str(part) for part in loc[:-1]) or str(loc[0])
    if loc[0] == "risk_rules" and len(loc) > 1 and isinstance(loc[1], int):
        rule = raw["risk_rules"][loc[1]]
        name = rule.get("name") if isinstance(rule, dict) else None
        where = f"risk rule {loc[1] + 1} ({name or 'unnamed'})"
    what = str(loc[-1])
    if kind in UNKNOWN_KEY:
        return where, f"unknown field '{what}'"
    if kind == "missing":
        return where, f"field '{what}' is required"
    if kind == "value_error":
        return f"{where} field '{what}'", str(error["ctx"]["error"])
    if kind == "literal_error":
        return f"{where} field '{what}'", f"must be one of {', '.join(TIERS)}"
    return f"{where} field '{what}'", error["msg"]
