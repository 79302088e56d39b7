"""The policy file: the shipped default is DESIGN.md's table, and every kind
of bad file is refused whole, with a message naming the file, the place
(stage or party) and the field."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from countersign.domain.errors import PolicyError
from countersign.domain.policy import Duration, DurationField, Policy, load_policy, parse_policy

DEFAULT = Path(__file__).parents[2] / "src" / "countersign" / "domain" / "default_policy.toml"
POLICIES = Path(__file__).parents[1] / "policies"


# -- the shipped default -------------------------------------------------------

# DESIGN.md, "Parties" and "Routing policy", transcribed.
DESIGN_PARTIES = {
    "sony": ("Sony Music Group", "America/New_York", "US"),
    "universal": ("Universal Music Group", "America/Los_Angeles", "US"),
    "warner": ("Warner Music Group", "America/New_York", "US"),
    "merlin": ("Merlin", "Europe/London", "GB"),
    "believe": ("Believe", "Europe/Paris", "FR"),
}
DESIGN_STAGES = [
    ("Rights & licensing review", "10 business days", ["3 business days", "1 business day"]),
    ("Legal sign-off", "5 business days", ["1 business day"]),
    ("Executive approval", "3 business days", ["1 business day"]),
]


def test_shipped_default_matches_the_design_table():
    policy = load_policy()
    assert policy.allow_partial is False
    assert {k: (p.name, p.timezone, p.holidays) for k, p in policy.parties.items()} == DESIGN_PARTIES
    assert list(policy.parties) == list(DESIGN_PARTIES)  # in the file's order
    assert all(p.escalation and "@" in p.escalation for p in policy.parties.values())
    assert [(s.name, s.due, s.reminders) for s in policy.stages] == [
        (name, Duration.parse(due), [Duration.parse(r) for r in reminders])
        for name, due, reminders in DESIGN_STAGES
    ]
    for stage in policy.stages:
        assert stage.parties == "touched"  # all touched parties
        assert stage.rule == "all"  # all must approve
        assert stage.grace == Duration(2, "business_days")
        assert stage.on_overdue == "escalate"


def test_default_file_loads_by_path_the_same_as_built_in():
    assert load_policy(DEFAULT) == load_policy()


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.toml")), ids=lambda p: p.name)
def test_every_policy_file_shipped_with_the_tests_loads(path):
    assert load_policy(path).stages


def test_stage_parties_follow_touched_order_and_lists():
    policy = parse_policy(_raw(stages=[
        _stage("A"),
        _stage("B", parties=["believe", "sony"]),
    ]))
    assert policy.stage_parties(0, ["sony", "merlin"]) == ["sony", "merlin"]
    assert policy.stage_parties(1, ["sony", "merlin", "believe"]) == ["sony", "believe"]


@pytest.mark.parametrize(
    ("rule", "parties", "needed"),
    [("all", 5, 5), ("all", 2, 2), ("any", 5, 1), ("any", 0, 0), ("quorum:3", 5, 3), ("quorum:3", 2, 2)],
)
def test_quorum(rule, parties, needed):
    policy = parse_policy(_raw(stages=[_stage("A", rule=rule)]))
    assert policy.stages[0].quorum(parties) == needed


# -- durations -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("10 business days", 10, "business_days"),
        ("1 business day", 1, "business_days"),
        ("2 days", 2, "days"),
        ("1 day", 1, "days"),
        ("4h", 4, "hours"),
        ("4 hours", 4, "hours"),
        ("30m", 30, "minutes"),
        ("30 min", 30, "minutes"),
        ("45s", 45, "seconds"),
        ("45 seconds", 45, "seconds"),
        ("  3 Business Days ", 3, "business_days"),
        ("0s", 0, "seconds"),
    ],
)
def test_duration_parse(text, amount, unit):
    assert Duration.parse(text) == Duration(amount, unit)


@pytest.mark.parametrize(
    "text", ["", "ten days", "10", "1.5 days", "-1 days", "2 weeks", "10 business", "4 hrs", 10]
)
def test_duration_parse_refuses_what_is_not_a_duration(text):
    with pytest.raises(ValueError, match="is not a duration; write e.g."):
        Duration.parse(text)


def test_duration_prints_as_written():
    assert [str(Duration.parse(t)) for t in ("1 business day", "10 business days", "4h", "1 s")] == [
        "1 business day", "10 business days", "4 hours", "1 second",
    ]


def test_duration_reads_as_written_or_as_its_json():
    field = TypeAdapter(DurationField)
    assert field.validate_python("10 business days") == Duration(10, "business_days")
    assert field.validate_json('{"amount": 10, "unit": "business_days"}') == Duration(10, "business_days")
    assert field.validate_json(field.dump_json(Duration(4, "hours"))) == Duration(4, "hours")


@pytest.mark.parametrize("converter", [DataConverter.default, pydantic_data_converter],
                         ids=["sdk-json", "pydantic"])
def test_policy_snapshot_round_trips_through_temporal_converters(converter):
    """The snapshot in a workflow's input comes back equal, durations and all."""
    policy = load_policy(POLICIES / "three_labels.toml")
    payloads = converter.payload_converter.to_payloads([policy])
    assert b'"unit":"business_days"' in payloads[0].data.replace(b" ", b"")
    assert converter.payload_converter.from_payloads(payloads, [Policy]) == [policy]


# -- bad files -----------------------------------------------------------------------

def _write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _default_text() -> str:
    return DEFAULT.read_text(encoding="utf-8")


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _in_stage(number: int, old: str, new: str):
    """An edit of the `number`-th [[stages]] table only (stage 2 is "Legal sign-off")."""

    def edit(text: str) -> str:
        head, *stages = text.split("[[stages]]")
        stages[number - 1] = _replace(stages[number - 1], old, new)
        return "[[stages]]".join([head, *stages])

    return edit


def _in_party(key: str, old: str, new: str):
    def edit(text: str) -> str:
        start = text.index(f"[parties.{key}]")
        end = text.index("\n\n", start)
        return text[:start] + _replace(text[start:end], old, new) + text[end:]

    return edit


LEGAL = "stage 2 (Legal sign-off)"
# Each case: (id, edit of the default file's text, parts the message must name).
BAD_FILES = [
    ("bad-toml", _in_stage(2, 'rule = "all"', 'rule = "all'), ["not valid TOML", "at line"]),
    ("duplicate-key", _in_stage(2, 'rule = "all"', 'rule = "all"\nrule = "any"'), ["not valid TOML"]),
    ("unknown-rule", _in_stage(2, 'rule = "all"', 'rule = "most"'),
     [LEGAL, "field 'rule'", '"all", "any" or "quorum:N"']),
    ("quorum-zero", _in_stage(2, 'rule = "all"', 'rule = "quorum:0"'), [LEGAL, "field 'rule'"]),
    ("quorum-too-big", _in_stage(2, 'rule = "all"', 'rule = "quorum:6"'),
     [LEGAL, "field 'rule'", "quorum:6", "5 parties"]),
    ("quorum-bigger-than-its-list", _in_stage(2, 'parties = "touched"\nrule = "all"',
                                              'parties = ["sony", "merlin"]\nrule = "quorum:3"'),
     [LEGAL, "field 'rule'", "2 parties"]),
    ("bad-due", _in_stage(2, 'due = "5 business days"', 'due = "5 working days"'),
     [LEGAL, "field 'due'", "'5 working days' is not a duration"]),
    ("due-not-a-string", _in_stage(2, 'due = "5 business days"', "due = 5"),
     [LEGAL, "field 'due'", "not a duration"]),
    ("missing-due", _in_stage(2, 'due = "5 business days"\n', ""), [LEGAL, "field 'due' is required"]),
    ("bad-grace", _in_stage(2, 'grace = "2 business days"', 'grace = "two days"'),
     [LEGAL, "field 'grace'", "not a duration"]),
    ("bad-reminder", _in_stage(2, 'reminders = ["1 business day"]', 'reminders = ["1 bizday"]'),
     [LEGAL, "field 'reminders'", "'1 bizday' is not a duration"]),
    ("reminders-not-a-list", _in_stage(2, 'reminders = ["1 business day"]', 'reminders = "1 business day"'),
     [LEGAL, "field 'reminders'", "a list of durations"]),
    ("reminder-before-the-start",
     _in_stage(2, 'reminders = ["1 business day"]', 'reminders = ["5 business days"]'),
     [LEGAL, "field 'reminders'", "before the stage opens"]),
    ("bad-on-overdue", _in_stage(2, 'on_overdue = "escalate"', 'on_overdue = "ignore"'),
     [LEGAL, "field 'on_overdue'", '"escalate" or "expire"']),
    ("unknown-time-zone", _in_party("merlin", '"Europe/London"', '"Europe/Londn"'),
     ["[parties.merlin]", "field 'timezone'", "unknown time zone 'Europe/Londn'"]),
    ("unknown-holiday-calendar", _in_party("believe", 'holidays = "FR"', 'holidays = "XX"'),
     ["[parties.believe]", "field 'holidays'", "unknown holiday calendar 'XX'"]),
    ("unknown-holiday-subdivision", _in_party("merlin", 'holidays = "GB"', 'holidays = "GB-XYZ"'),
     ["[parties.merlin]", "field 'holidays'", "no subdivision 'XYZ'", "ENG"]),
    ("bad-escalation", _in_party("sony", '"escalations@sony.example"', '"sony escalations"'),
     ["[parties.sony]", "field 'escalation'", "e-mail address"]),
    ("party-missing-timezone", _in_party("universal", 'timezone = "America/Los_Angeles"\n', ""),
     ["[parties.universal]", "field 'timezone' is required"]),
    ("unknown-party-in-stage", _in_stage(2, 'parties = "touched"', 'parties = ["sony", "emi"]'),
     [LEGAL, "field 'parties'", "unknown parties ['emi']", "sony, universal"]),
    ("stage-parties-not-a-list", _in_stage(2, 'parties = "touched"', 'parties = "everyone"'),
     [LEGAL, "field 'parties'", '"touched" or a list']),
    ("stage-parties-nested-list", _in_stage(2, 'parties = "touched"', 'parties = [["sony"]]'),
     [LEGAL, "field 'parties'", '"touched" or a list']),
    ("misspelt-stage-field", _in_stage(2, 'on_overdue = "escalate"', 'on_overdu = "expire"'),
     [LEGAL, "unknown field 'on_overdu'", "on_overdue"]),
    ("misspelt-party-field", _in_party("believe", "timezone =", "time_zone ="),
     ["[parties.believe]", "unknown field 'time_zone'"]),
    ("misspelt-top-level-field", lambda t: _replace(t, "allow_partial = false", "allow_parital = true"),
     ["top level", "unknown field 'allow_parital'"]),
    ("allow-partial-not-bool", lambda t: _replace(t, "allow_partial = false", 'allow_partial = "yes"'),
     ["allow_partial", "true or false"]),
    ("stage-without-name", _in_stage(2, 'name = "Legal sign-off"\n', ""),
     ["stage 2 (unnamed)", "field 'name' is required"]),
    ("duplicate-stage-name", _in_stage(2, '"Legal sign-off"', '"Rights & licensing review"'),
     ["stage 2 (Rights & licensing review)", "field 'name'", "stage names must differ"]),
    ("missing-stages", lambda t: t[: t.index("[[stages]]")],
     ["stages", "at least one [[stages]] table is required"]),
    ("missing-parties", lambda t: "allow_partial = false\n" + t[t.index("[[stages]]"):],
     ["parties", "at least one [parties.KEY] table"]),
    ("party-in-no-stage",
     lambda t: t.replace('parties = "touched"', 'parties = ["sony", "universal", "warner", "merlin"]'),
     ["[parties.believe]", "takes part in no stage"]),
]


@pytest.mark.parametrize(("edit", "expected"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_policy_file_is_refused_naming_file_place_and_field(tmp_path, edit, expected):
    path = _write(tmp_path, edit(_default_text()), "countersign-policy.toml")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert message.startswith(f"policy file {path}: "), message
    for part in expected:
        assert part in message, f"{part!r} missing from: {message}"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda raw: raw.update(version=2), "top level: unknown field 'version'"),
        (lambda raw: raw["parties"]["sony"].update(country="US"), "[parties.sony]: unknown field 'country'"),
        (lambda raw: raw["stages"][0].update(deadline="2 days"), "stage 1 (A): unknown field 'deadline'"),
        (lambda raw: raw["stages"][0].update(due={"amount": 2, "unit": "days", "business": True}),
         "stage 1 (A) field 'due': unknown key 'business'"),
    ],
    ids=["top-level", "party", "stage", "inside-a-duration"],
)
def test_unknown_keys_are_refused_anywhere_by_name(edit, expected):
    raw = _raw(stages=[_stage("A")])
    edit(raw)
    with pytest.raises(PolicyError, match=re.escape(f"policy file policy: {expected}")):
        parse_policy(raw)


@pytest.mark.parametrize("key", ["Kobalt", "kobalt music", "", "k" * 41])
def test_party_keys_are_plain_lower_case_words(key):
    raw = _raw(stages=[_stage("A")])
    raw["parties"][key] = raw["parties"].pop("sony")
    with pytest.raises(PolicyError, match=re.escape(f"[parties.{key}]: a party key is lower-case letters")):
        parse_policy(raw)


def test_every_problem_is_counted_and_the_first_is_named():
    raw = _raw(stages=[_stage("A", rule="most", on_overdue="later")])
    expected = r"^policy file policy: stage 1 \(A\) field 'rule': .* \(and 1 more problem\)$"
    with pytest.raises(PolicyError, match=expected):
        parse_policy(raw)


def test_bad_edits_really_are_edits():
    """Guard for the table above: every edit changes the default file."""
    for name, edit, _ in BAD_FILES:
        assert edit(_default_text()) != _default_text(), name


def test_bad_toml_points_at_the_line(tmp_path):
    path = _write(tmp_path, 'allow_partial = false\n\n[[stages]]\nname = "Review\n')
    with pytest.raises(PolicyError, match=r"not valid TOML \(.*at line 4"):
        load_policy(path)


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(PolicyError, match=rf"^policy file {re.escape(str(missing))}: cannot be read"):
        load_policy(missing)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy(tmp_path)


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(_default_text().replace("Believe", "Bélieve").encode("latin-1"))
    expected = rf"^policy file {re.escape(str(path))}: not valid TOML \(not UTF-8"
    with pytest.raises(PolicyError, match=expected):
        load_policy(path)


def test_utf8_file_loads_whatever_the_locale(tmp_path):
    path = _write(tmp_path, _default_text().replace('name = "Believe"', 'name = "Bélieve Société"'))
    assert load_policy(path).parties["believe"].name == "Bélieve Société"


def test_parse_policy_names_its_source():
    with pytest.raises(PolicyError, match=r"^policy file env override: stage 1 \(A\) field 'rule'"):
        parse_policy(_raw(stages=[_stage("A", rule="every")]), "env override")


def test_defaults_for_optional_stage_fields():
    stage = parse_policy(_raw(stages=[{"name": "Only", "due": "3 business days"}])).stages[0]
    assert (stage.parties, stage.rule, stage.reminders, stage.grace, stage.on_overdue) == (
        "touched", "all", [], Duration(0, "seconds"), "escalate",
    )


def test_subdivision_calendar_accepted():
    raw = _raw(stages=[_stage("A")])
    raw["parties"]["merlin"]["holidays"] = "GB-ENG"
    assert parse_policy(raw).parties["merlin"].holidays == "GB-ENG"


# -- helpers -----------------------------------------------------------------

def _stage(name: str, **fields) -> dict:
    return {"name": name, "due": "5 business days", **fields}


def _raw(stages: list[dict], allow_partial: bool = False) -> dict:
    return {
        "allow_partial": allow_partial,
        "parties": {
            key: {"name": name, "timezone": tz, "holidays": cal}
            for key, (name, tz, cal) in DESIGN_PARTIES.items()
        },
        "stages": stages,
    }


def test_reauthenticate_is_token_by_default_and_refuses_other_words():
    """How signers re-authenticate at a decision (docs/signatures.md)."""
    assert load_policy().reauthenticate == "token"
    raw = tomllib.loads((resources.files("countersign.domain") / "default_policy.toml").read_text()) | {
        "reauthenticate": "web"}
    assert parse_policy(raw).reauthenticate == "web"
    with pytest.raises(PolicyError, match="'reauthenticate': must be \"token\", \"password\" or \"web\""):
        parse_policy(raw | {"reauthenticate": "never"})
