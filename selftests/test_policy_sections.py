"""The typed policy sections (envtest/policy/sections.py): default.toml's keys, one field each; a wrong value named."""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.policy import UNSET_IN_DEFAULT, Policy, TypedSection, load_policy

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = tomllib.loads((ROOT / "policy" / "default.toml").read_text())
# Policy property -> its section's dataclass (each TypedSection on Policy).
TYPED = {key: value.cls for key, value in vars(Policy).items() if isinstance(value, TypedSection)}


def _fields_against_default(cls: type, table: dict[str, Any], where: str) -> list[str]:
    """Where a dataclass and default.toml's table disagree on the keys (nested dataclasses followed)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unset = {key.rsplit(".", 1)[1] for key in UNSET_IN_DEFAULT if key.rsplit(".", 1)[0] == where}
    wrong = [f"{where}.{k}: in default.toml, no field" for k in table if k not in fields]
    wrong += [f"{where}.{k}: a field, not in default.toml" for k in fields if k not in table and k not in unset]
    for key, hint in typing.get_type_hints(cls).items():
        if dataclasses.is_dataclass(hint):
            wrong += _fields_against_default(hint, table.get(key, {}), f"{where}.{key}")  # type: ignore[arg-type]
    return wrong


def test_every_typed_section_has_a_field_for_each_key_of_default_toml_and_no_other() -> None:
    wrong = [w for name, cls in TYPED.items() for w in _fields_against_default(cls, DEFAULT[name], name)]
    assert not wrong, wrong


@pytest.mark.parametrize("revision", [None, *sorted(p.stem for p in (ROOT / "policy" / "revisions").glob("*.toml"))])
def test_every_section_loads_from_default_toml_and_every_revision(revision: str | None, tmp_path: Path) -> None:
    override = None
    if revision:
        override = tmp_path / "override.toml"
        override.write_text(f'revision = "{revision}"\n')
    policy = load_policy("sandbox", override=override)
    for name, cls in TYPED.items():
        assert isinstance(getattr(policy, name), cls), name
    assert policy.images.max_blocks == policy.section("images")["max_blocks"]


def _policy(**images: Any) -> Policy:
    data = {**DEFAULT, "images": {**DEFAULT["images"], **images}}
    return Policy(data=data, env="sandbox", sources=())


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"max_blocks": True}, r"[images.max_blocks] is True; it must be a whole number"),
        ({"max_blocks": 2.5}, r"[images.max_blocks] is 2.5; it must be a whole number"),
        ({"mode": 1}, r"[images.mode] is 1; it must be a str"),
        ({"patterns": "**"}, r"[images.patterns] is str; it must be an array"),
        ({"patterns": ["a", 2]}, r"[images.patterns] is 2; it must be a str"),
        ({"runner": {**DEFAULT["images"]["runner"], "concurrent": "1"}}, r"[images.runner.concurrent] is '1'"),
    ],
)
def test_a_value_of_another_type_cannot_be_evaluated_naming_its_key(change: dict[str, Any], words: str) -> None:
    with pytest.raises(CouldNotEvaluate, match=re.escape(words)):
        assert _policy(**change).images is None


def test_a_missing_key_is_named_and_seconds_may_be_fractions() -> None:
    data = {**DEFAULT, "dnssec": {"role": "idp"}}
    with pytest.raises(CouldNotEvaluate, match=re.escape("policy [dnssec] has no key 'broken_name'")):
        assert Policy(data=data, env="sandbox", sources=()).dnssec is None
    probe = {**DEFAULT["images"]["lockdown_probe"], "poll": 0.1, "wait": 15}
    assert _policy(lockdown_probe=probe).images.lockdown_probe.poll == 0.1


def test_a_table_of_data_is_read_only() -> None:
    headers = load_policy("sandbox").edge.error_page_headers
    assert headers["Server"] == "AmazonS3"
    with pytest.raises(TypeError):
        headers["Server"] = "nginx"  # type: ignore[index]


def test_the_checks_read_typed_sections_only() -> None:
    """tests/ holds no `.section("...")` lookup: a check reads `policy.images.max_blocks`, a typed attribute."""
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ".section(" in line
    ]
    assert not found, found


# The sections the fixtures may still read as tables, and why: their keys are data of mixed kinds.
UNTYPED = {
    "hosts": "[hosts.asg] maps a role to a name or to {name_prefix}; [hosts.secret_files] a path to its keys",
    "egress": "[[egress.allow]] lines each take a different set of keys (cidrs, groups, load_balancer_of, ...)",
    "lockdown": "env_accounts: unset (no revision says) and empty (none may be granted) differ",
}


def test_the_fixtures_read_typed_sections_but_the_tables_of_data() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {key}"
        for path in sorted((ROOT / "envtest" / "fixtures").glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for key in re.findall(r'\.section\("([a-z_]+)"\)', line)
        if key not in UNTYPED
    ]
    assert not found, found
