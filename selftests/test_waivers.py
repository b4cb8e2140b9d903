"""Waivers: a known finding accepted until a date is reported as waived, never as passed; an expired one fails."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from envtest.errors import UsageError
from envtest.policy.waivers import Waiver, judge, parse_waivers
from envtest.problems import Problem
from envtest_double.faults import FAULTS
from envtest_double.running import Sandbox
from selftests.conftest import base_environ, run_suite
from selftests.test_json_results import valid_results
from tests import test_s3_access
from tests.images import test_runner_config as runner_config

TODAY = date(2026, 11, 26)
CHECK = runner_config.test_runner_allows_no_services.__name__
HARDENED = runner_config.test_runner_is_hardened.__name__
MATRIX = test_s3_access.test_bucket_access_matches_the_matrix.__name__


def _entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "check": CHECK.removeprefix("test_"),
        "resource": "*allowed_services",
        "reason": "vendor migration, INC-1234",
        "owner": "alice@example.gov",
        "expires": TODAY + timedelta(days=30),
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


def _problem(resource: str = "config.toml on i-0abc [runners.docker] allowed_services") -> Problem:
    return Problem(resource, "['']", "[]", "set it back")


def test_a_live_waiver_waives_only_what_it_names() -> None:
    waivers = parse_waivers([_entry()], TODAY)
    other = Problem("config.toml on i-0abc [runners.docker] privileged", "false", "true", "fix")
    judged = judge(CHECK, [_problem(), other], waivers, TODAY)
    assert [p for p, _ in judged.waived] == [_problem()]
    assert judged.unwaived == [other] and judged.expired == []
    # Another check, same resource: not covered.
    assert judge(HARDENED, [_problem()], waivers, TODAY).unwaived == [_problem()]
    # A parametrized case: the waiver's check may name the case or only the function.
    cell = Waiver(f"{MATRIX.removeprefix('test_')}[escrow-*]", "*", "r", "o", TODAY)
    assert cell.covers(f"{MATRIX}[escrow-worker-delete-refused]", "x")
    assert not cell.covers(f"{MATRIX}[attempts-app-get-refused]", "x")


def test_an_expired_waiver_waives_nothing_and_is_named() -> None:
    waivers = parse_waivers([_entry(expires=TODAY - timedelta(days=1))], TODAY)
    judged = judge(CHECK, [_problem()], waivers, TODAY)
    assert judged.unwaived == [_problem()] and judged.waived == []
    assert judged.expired == [(_problem(), waivers[0])]
    # The last day still counts.
    assert judge(CHECK, [_problem()], parse_waivers([_entry(expires=TODAY)], TODAY), TODAY).waived


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (_entry(owner=None), "missing owner"),
        (_entry(until="2027-01-01"), "unknown until"),
        (_entry(reason="  "), "reason must be non-empty"),
        (_entry(expires="2026-12-31"), "must be a TOML date"),
        (_entry(expires=TODAY + timedelta(days=400)), "more than 366 days"),
        ("not a table", "not a table"),
    ],
)
def test_a_bad_waiver_is_a_usage_error_naming_the_entry(entry: object, says: str) -> None:
    with pytest.raises(UsageError, match="entry 1") as raised:
        parse_waivers([entry], TODAY)
    assert says in str(raised.value)


def _waive(sandbox: Sandbox, check: str, expires: date) -> None:
    override = sandbox.directory / "policy-override.toml"
    override.write_text(
        override.read_text()
        + f'\n[[waivers]]\ncheck = "{check}"\nresource = "*allowed_services"\n'
        + f'reason = "vendor migration, INC-1234"\nowner = "alice@example.gov"\nexpires = {expires.isoformat()}\n'
    )


@pytest.mark.sandbox
def test_a_waived_finding_is_reported_waived_and_an_expired_one_fails(clean_sandbox: Sandbox, tmp_path: Path) -> None:
    environ = {**base_environ(), **clean_sandbox.environ}
    FAULTS["F12"].seed(clean_sandbox)
    today = date.today()
    _waive(clean_sandbox, CHECK.removeprefix("test_"), today + timedelta(days=7))
    run = run_suite(["sandbox", "-t", "images/", "--json", str(tmp_path / "waived.json")], environ, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.verdicts()[CHECK] == "skipped"
    # The JSON says waived, with the waiver, and holds to its documented schema.
    results = valid_results(tmp_path / "waived.json")
    entry = next(c for c in results["checks"] if c["id"] == CHECK)
    assert entry["verdict"] == "waived" and entry["problems"] == [], entry
    assert entry["waived"][0]["waiver"]["owner"] == "alice@example.gov", entry
    assert results["run"]["summary"]["waived"] == 1 and results["run"]["exit_code"] == 0
    text = run.text_of(CHECK)
    assert "waived" in text and "alice@example.gov" in text and "INC-1234" in text, text
    assert f"waiver in force: {CHECK.removeprefix('test_')}" in run.stdout
    assert "(1 waived)" in run.stdout

    override = clean_sandbox.directory / "policy-override.toml"
    override.write_text(override.read_text().replace(str(today + timedelta(days=7)), str(today - timedelta(days=1))))
    run = run_suite(["sandbox", "-t", "images/", "--json", str(tmp_path / "failed.json")], environ, tmp_path)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.verdicts()[CHECK] == "failed"
    entry = next(c for c in valid_results(tmp_path / "failed.json")["checks"] if c["id"] == CHECK)
    assert entry["verdict"] == "failed" and entry["catches"] == ["F12"] and entry["severity"] == "critical"
    assert entry["problems"][0]["resource"].endswith("[runners.docker] allowed_services"), entry
    assert entry["problems"][0]["fix"].startswith("set node.run_state"), entry
    assert "expired on" in run.text_of(CHECK) and "renew the waiver" in run.text_of(CHECK)


@pytest.mark.sandbox
def test_a_waiver_for_no_such_check_stops_the_run(clean_sandbox: Sandbox, tmp_path: Path) -> None:
    _waive(clean_sandbox, "runner_allows_no_servce", date.today() + timedelta(days=7))
    run = run_suite(["sandbox", "-t", "images/"], {**base_environ(), **clean_sandbox.environ}, tmp_path)
    assert run.exit_code == 2, run.stdout + run.stderr
    assert "no check is named 'runner_allows_no_servce'" in run.stderr
