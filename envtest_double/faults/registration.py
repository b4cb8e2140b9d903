"""Faults on the GitLab side of the env runner: its registration as GitLab holds it (DIR/gitlab-runners.json,
which the GitLab double reads at each request), changed as a change in GitLab's UI changes it, or an env whose
policy wants more than login.gov's code registers."""

from __future__ import annotations

import json
from typing import Any

from envtest_double.running import Sandbox


def _edit_env_runner(sandbox: Sandbox, **changes: Any) -> None:
    path = sandbox.directory / "gitlab-runners.json"
    table = json.loads(path.read_text())
    tag = f"{sandbox.world.env}-env-runner"
    (runner,) = [r for r in table["runners"] if tag in r["tag_list"]]
    runner.update(changes)
    path.write_text(json.dumps(table, indent=2) + "\n")


def runner_runs_untagged_jobs(sandbox: Sandbox) -> None:
    """'Run untagged jobs' ticked on the env runner in GitLab: any untagged job of any pipeline may land on it."""
    _edit_env_runner(sandbox, run_untagged=True)


def runner_holds_a_shared_tag(sandbox: Sandbox) -> None:
    """A common tag added to the env runner in GitLab: every job tagged `docker` may land on it."""
    _edit_env_runner(sandbox, tag_list=[f"{sandbox.world.env}-env-runner", "docker"])


def production_env_with_an_unprotected_runner(sandbox: Sandbox) -> None:
    """The env's policy says it is production-like (ref_protected), while its runner is registered as login.gov's
    code registers every env runner (not_protected: terraform/app/gitlab.tf sets no only_on_protected_branch)."""
    override = sandbox.directory / "policy-override.toml"
    override.write_text(override.read_text() + '\n[runner.gitlab]\naccess_level = "ref_protected"\n')
