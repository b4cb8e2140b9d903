"""A default run changes nothing in AWS, and secrets stay out of every output even when pytest is told to say more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envtest.sandbox.faults import FAULTS
from envtest.sandbox.handle import Sandbox
from selftests.conftest import run_suite

pytestmark = pytest.mark.sandbox


def _state(sandbox: Sandbox) -> object:
    return json.loads(sandbox.moto_state())


@pytest.mark.parametrize("long_tests", ["false", "true"])
def test_a_full_run_changes_nothing_in_aws(
    sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path, long_tests: str
) -> None:
    before = _state(sandbox)
    run = run_suite(["sandbox", "-R", long_tests], sandbox_env, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    # With -R true, only tests marked disruptive may change AWS; none exists yet, so nothing may change.
    assert _state(sandbox) == before


def test_secrets_stay_out_of_verbose_failing_runs(
    clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    FAULTS["F15-shape"].seed(clean_sandbox)
    loud = {**sandbox_env, "PYTEST_ADDOPTS": "-vv -l --tb=long --log-level=DEBUG -rA"}
    for args in (["sandbox"], ["sandbox", "-n", "2"]):
        run = run_suite(args, loud, tmp_path)
        assert run.exit_code == 1, run.stdout + run.stderr
        outputs = {
            "stdout": run.stdout,
            "stderr": run.stderr,
            "junit": run.junit_path.read_text(),
            "html": run.junit_path.with_suffix(".html").read_text(),
        }
        assert "DEBUG" in run.junit_path.read_text() or "DEBUG" in run.stdout, "debug logging did not take effect"
        for canary in clean_sandbox.canaries.all():
            leaks = [where for where, text in outputs.items() if canary in text]
            assert leaks == [], f"a canary secret leaked into {leaks}"


def test_the_state_dump_would_see_a_change(clean_sandbox: Sandbox) -> None:
    """The no-change proof above can fail: one egress rule more shows in moto's dump."""
    before = _state(clean_sandbox)
    FAULTS["F1"].seed(clean_sandbox)
    assert _state(clean_sandbox) != before
