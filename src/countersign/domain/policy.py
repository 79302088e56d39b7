"""The routing policy: parties, stages and their timing, loaded from TOML.

The policy is plain frozen data so that a snapshot of it travels inside the
workflow's input: a policy file edited later never changes a proposal that is
already in flight.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

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
PARTY_KEYS = ("sony", "universal", "warner", "merlin", "believe")
TOP_LEVEL_KEYS = ("allow_partial", "parties", "stages")
PARTY_FIELDS = ("name", "timezone", "holidays", "escalation")
STAGE_FIELDS = ("name", "parties", "rule", "due", "reminders", "grace", "on_overdue")


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: str  # business_days | days | hours | minutes | seconds

    @classmethod
    def parse(cls, text: str) -> Duration:
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


@dataclass(frozen=True)
class PartyConfig:
    key: str
    name: str
    timezone: str
    holidays: str  # country code for the `holidays` package, e.g. "US", "GB", "FR"
    escalation: str | None = None


@dataclass(frozen=True)
class StagePolicy:
    name: str
    parties: str | list[str]  # "touched" or an explicit list of party keys
    rule: str  # "all", "any" or "quorum:N"
    due: Duration
    reminders: list[Duration] = field(default_factory=list)
    grace: Duration = Duration(0, "seconds")
    on_overdue: str = "escalate"  # "escalate" (then expire the proposal) or "expire" (the party)

    def quorum(self, party_count: int) -> int:
        """How many approvals pass this stage among `party_count` parties."""
        if self.rule == "all":
            return party_count
        if self.rule == "any":
            return min(1, party_count)
        return min(int(self.rule.split(":")[1]), party_count)


@dataclass(frozen=True)
class Policy:
    allow_partial: bool
    parties: dict[str, PartyConfig]
    stages: list[StagePolicy]

    def stage_parties(self, index: int, touched: list[str]) -> list[str]:
        wanted = self.stages[index].parties
        if wanted == "touched":
            return list(touched)
        return [p for p in touched if p in wanted]


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

    _check_keys(raw, TOP_LEVEL_KEYS, lambda m: fail("top level", m))
    allow_partial = raw.get("allow_partial", False)
    if not isinstance(allow_partial, bool):
        raise fail("allow_partial", "must be true or false")

    parties: dict[str, PartyConfig] = {}
    raw_parties = raw.get("parties")
    if not isinstance(raw_parties, dict) or not raw_parties:
        raise fail("parties", "at least one [parties.KEY] table is required")
    for key, table in raw_parties.items():
        where = f"[parties.{key}]"
        if not isinstance(table, dict):
            raise fail(where, "must be a table")
        _check_keys(table, PARTY_FIELDS, lambda m: fail(where, m))
        for name in ("name", "timezone", "holidays"):
            if not isinstance(table.get(name), str) or not table[name]:
                raise fail(where, f"field '{name}' is required (a string)")
        _check_timezone(table["timezone"], lambda m: fail(f"{where} field 'timezone'", m))
        _check_calendar(table["holidays"], lambda m: fail(f"{where} field 'holidays'", m))
        escalation = table.get("escalation")
        if escalation is not None and (not isinstance(escalation, str) or "@" not in escalation):
            raise fail(f"{where} field 'escalation'", "must be an e-mail address")
        parties[key] = PartyConfig(key, table["name"], table["timezone"], table["holidays"], escalation)

    raw_stages = raw.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise fail("stages", "at least one [[stages]] table is required")
    stages: list[StagePolicy] = []
    for number, table in enumerate(raw_stages, start=1):
        if not isinstance(table, dict):
            raise fail(f"stage {number}", "must be a [[stages]] table")
        name = table.get("name")
        where = f"stage {number} ({name if isinstance(name, str) and name.strip() else 'unnamed'})"
        if not isinstance(name, str) or not name.strip():
            raise fail(where, "field 'name' is required (a string)")
        if name.strip() in (s.name for s in stages):
            raise fail(f"{where} field 'name'", "another stage has this name; stage names must differ")
        _check_keys(table, STAGE_FIELDS, lambda m: fail(where, m))

        def duration(field_name: str, default: str | None = None) -> Duration:
            value = table.get(field_name, default)
            if value is None:
                raise fail(where, f"field '{field_name}' is required")
            try:
                return Duration.parse(value)
            except ValueError as exc:
                raise fail(f"{where} field '{field_name}'", str(exc)) from None

        stage_parties = table.get("parties", "touched")
        if stage_parties != "touched":
            if not isinstance(stage_parties, list) or not stage_parties:
                raise fail(f"{where} field 'parties'", "must be \"touched\" or a list of party keys")
            unknown = [p for p in stage_parties if not isinstance(p, str) or p not in parties]
            if unknown:
                raise fail(
                    f"{where} field 'parties'",
                    f"unknown parties {unknown}; the policy defines {', '.join(parties)}",
                )
        rule = table.get("rule", "all")
        if not isinstance(rule, str) or not RULE_RE.match(rule):
            raise fail(f"{where} field 'rule'", "must be \"all\", \"any\" or \"quorum:N\" (N at least 1)")
        seats = len(parties) if stage_parties == "touched" else len(set(stage_parties))
        if rule.startswith("quorum:") and int(rule.split(":")[1]) > seats:
            raise fail(
                f"{where} field 'rule'", f"{rule} asks for more approvals than the stage's {seats} parties"
            )
        on_overdue = table.get("on_overdue", "escalate")
        if on_overdue not in ("escalate", "expire"):
            raise fail(f"{where} field 'on_overdue'", "must be \"escalate\" or \"expire\"")
        reminders = table.get("reminders", [])
        if not isinstance(reminders, list):
            raise fail(f"{where} field 'reminders'", "must be a list of durations")
        due = duration("due")
        parsed_reminders = []
        for text in reminders:
            try:
                reminder = Duration.parse(text)
            except ValueError as exc:
                raise fail(f"{where} field 'reminders'", str(exc)) from None
            if _not_shorter(reminder, due):
                raise fail(
                    f"{where} field 'reminders'",
                    f"'{text}' before due would fall before the stage opens (due is {due}); "
                    "use a shorter offset",
                )
            parsed_reminders.append(reminder)
        stages.append(
            StagePolicy(
                name=name.strip(),
                parties=stage_parties,
                rule=rule,
                due=due,
                reminders=parsed_reminders,
                grace=duration("grace", "0s"),
                on_overdue=on_overdue,
            )
        )
    # Every party must be asked somewhere: otherwise a proposal touching its
    # catalog could conclude approved without its sign-off.
    for key in parties:
        if not any(s.parties == "touched" or key in s.parties for s in stages):
            raise fail(
                f"[parties.{key}]",
                "takes part in no stage; list it in a stage's 'parties' or use parties = \"touched\"",
            )
    return Policy(allow_partial=allow_partial, parties=parties, stages=stages)


_PLAIN_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def _not_shorter(reminder: Duration, due: Duration) -> bool:
    """Whether a reminder offset reaches back to (or past) the start of the stage."""
    if reminder.unit == due.unit == "business_days":
        return reminder.amount >= due.amount
    if reminder.unit in _PLAIN_SECONDS and due.unit in _PLAIN_SECONDS:
        return reminder.amount * _PLAIN_SECONDS[reminder.unit] >= due.amount * _PLAIN_SECONDS[due.unit]
    return False  # business days against elapsed time: depends on the calendar


def _check_keys(table: dict, known: tuple[str, ...], fail) -> None:
    """A misspelt key would silently fall back to a default: refuse it."""
    unknown = [key for key in table if key not in known]
    if unknown:
        raise fail(f"unknown field '{unknown[0]}' (known fields: {', '.join(known)})")


def _check_timezone(name: str, fail) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(f"unknown time zone {name!r}") from None


def _check_calendar(code: str, fail) -> None:
    import holidays

    supported = holidays.list_supported_countries()
    country, dash, subdivision = code.partition("-")
    if country not in supported:
        raise fail(f"unknown holiday calendar {code!r} (use a country code such as US, GB, FR)")
    if dash and subdivision not in supported[country]:
        raise fail(
            f"unknown holiday calendar {code!r}: {country} has no subdivision {subdivision!r} "
            f"(known: {', '.join(supported[country])})"
        )
