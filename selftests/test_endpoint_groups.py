"""An egress line may name the VPC interface endpoints' groups by the endpoints that carry them
(`interface_endpoint_groups = true`): in 2022 three of them had no name at all (terraform/app/vpc_endpoints.tf)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from envtest_double.running import Sandbox
from selftests.conftest import ROOT, run_suite
from tests.network import test_egress

CHECK = test_egress.test_runner_egress_holds_only_declared_rules.__name__
BY_NAME = 'groups = ["login-*-endpoint-{env}"]  # vpc_module endpoints.tf: name "login-<service>-endpoint-<env>"'

pytestmark = pytest.mark.sandbox


def _policy_with(tmp_path: Path, replacement: str) -> Path:
    policy = tmp_path / "policy"
    shutil.copytree(ROOT / "policy", policy)
    default = policy / "default.toml"
    text = default.read_text()
    assert BY_NAME in text, "the default's endpoint line changed: update this test"
    default.write_text(text.replace(BY_NAME, replacement))
    return policy


def test_the_endpoints_own_groups_are_declared_whatever_their_names(
    sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    policy = _policy_with(tmp_path, "interface_endpoint_groups = true")
    run = run_suite(["sandbox", "-t", CHECK], {**sandbox_env, "ENVTEST_POLICY_DIR": str(policy)}, tmp_path)
    assert run.verdicts() == {CHECK: "passed"}, run.stdout + run.stderr


def test_without_them_the_rules_to_those_groups_are_undeclared(
    sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    """The control: the same line declaring no group leaves the runner's 443 to the endpoints undeclared."""
    policy = _policy_with(tmp_path, 'groups = ["no-such-group-{env}"]')
    run = run_suite(["sandbox", "-t", CHECK], {**sandbox_env, "ENVTEST_POLICY_DIR": str(policy)}, tmp_path)
    assert run.verdicts() == {CHECK: "failed"}, run.stdout + run.stderr
    assert "endpoint" in run.text_of(CHECK)
