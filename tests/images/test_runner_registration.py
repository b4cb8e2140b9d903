"""The GitLab side of the env runner: which jobs reach it, as GitLab holds its registration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.policy import Policy, fill
from envtest.problems import Problem, check, fail
from envtest.settings import Settings

if TYPE_CHECKING:
    from envtest.gather.gitlab_runners import RunnerRegistration

KEY = "policy [runner.gitlab]"
ACCESS_LEVELS = ("not_protected", "ref_protected")


@pytest.mark.catches(
    "G1: the env runner takes untagged jobs: run_untagged ticked in GitLab",
    "G1-protected: a production-like env's policy wants ref_protected; its runner is registered not_protected",
    "G1-tags: the env runner also holds the shared tag docker: any pipeline's docker jobs reach it",
)
def test_gitlab_holds_the_env_runner_as_the_env_expects(
    env_runner_registrations: list[RunnerRegistration], policy: Policy, settings: Settings
) -> None:
    """GitLab holds the env runner's registration as the env's policy says: tags, untagged jobs, access level.

    Why: the env runner holds the AutoTerraform policies, and GitLab, not config.toml, decides which jobs reach
    it: one that takes untagged jobs or holds a shared tag runs other pipelines' jobs, and one registered
    `not_protected` (`runner-register.sh.erb` registers so unless the `only_on_protected_branch` tag is `true`)
    runs jobs from any branch anyone with push rights creates.
    Fails on: reads only (GET), through GitLab's Runners API with the lockdown probe's token: the project's
    runners holding `<env>-env-runner` (`GET /projects/:id/runners?tag_list=`), each one's details
    (`GET /runners/:id`): `access_level`, `run_untagged`, `locked` or `tag_list` other than policy
    `[runner.gitlab]`, no runner holding the tag, or none of them active (`paused`; `active` on a GitLab before
    14.8). A production-like env sets `access_level = "ref_protected"` in `policy/envs/<env>.toml`. Skipped with
    the reason without `GITLAB_API_TOKEN`; the token's user needs the Maintainer role in the project.
    Fix: set the runner back in GitLab (its Edit page, or `PUT /runners/:id`), or register it so (the instance
    tags `allow_untagged_jobs`, `only_on_protected_branch`, then recycle); delete registrations no instance
    uses any more.
    """
    expected = _expected(policy, settings)
    tag = fill(policy.names.env_runner_tag, {"env": settings.env_name})
    if not env_runner_registrations:
        fail(
            Problem(
                f"the GitLab project's runners holding tag {tag}",
                f"the env runner, registered with tag {tag}",
                "no runner the project can use holds the tag: no job of the env's pipeline can run",
                "the env runner did not register: read /var/log/cloud-init-output.log on its newest instance "
                "(runbook, 'Debugging env_runner issues')",
            )
        )
    problems = []
    for runner in env_runner_registrations:
        found = {
            "access_level": runner.access_level,
            "run_untagged": runner.run_untagged,
            "locked": runner.locked,
            "tag_list": sorted(runner.tag_list),
        }
        for key, value in found.items():
            if value != expected[key]:
                problems.append(
                    Problem(f"{runner.where()} {key}", _said(expected[key]), _said(value), _fix(key, expected[key]))
                )
    if expected["active"] and all(runner.paused for runner in env_runner_registrations):
        problems.append(
            Problem(
                f"the runners holding tag {tag}",
                "at least one active (not paused)",
                ", ".join(f"#{r.runner_id} paused" for r in env_runner_registrations),
                _edit("resume the newest registration", "paused=false") + ": a paused runner takes no job",
            )
        )
    check(problems)


def _expected(policy: Policy, settings: Settings) -> dict[str, Any]:
    """[runner.gitlab] as the check compares it; a value of the wrong type is the policy's error, not a finding
    (the typed section says so; a value GitLab does not take is said here)."""
    section = policy.runner.gitlab
    if section.access_level not in ACCESS_LEVELS:
        raise CouldNotEvaluate(f"{KEY} access_level = {section.access_level!r}: one of {ACCESS_LEVELS}")
    return {
        "access_level": section.access_level,
        "run_untagged": section.run_untagged,
        "locked": section.locked,
        "active": section.active,
        "tag_list": sorted(fill(t, {"env": settings.env_name}) for t in section.tag_list),
    }


def _said(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return ", ".join(value) if isinstance(value, list) else str(value)


def _edit(setting: str, api: str) -> str:
    """Where the setting is changed in GitLab: the runner's Edit page, or the Runners API."""
    where = f"its Edit page under Settings > CI/CD > Runners, or PUT /runners/:id {api}"
    return f"{setting} on the runner in GitLab ({where})"


def _fix(key: str, wanted: object) -> str:
    if key == "access_level" and wanted == "ref_protected":
        return (
            f"{_edit('tick Protected', 'access_level=ref_protected')}, and register it so: only_on_protected_branch = "
            "true on the env's env-runner module (terraform/app/gitlab.tf), then recycle; stages/<env> must be a "
            "protected branch, or deploys stop"
        )
    if key == "access_level":
        return (
            f"{_edit('untick Protected', 'access_level=not_protected')}; or, if the env is production-like, protect "
            f'stages/<env> and set access_level = "ref_protected" under {KEY} in policy/envs/<env>.toml'
        )
    if key == "run_untagged":
        return (
            f"{_edit(f'set Run untagged jobs to {_said(wanted)}', f'run_untagged={_said(wanted)}')}; the next "
            f'registration takes it from the instance tag allow_untagged_jobs, which must say "{_said(wanted)}"'
        )
    if key == "locked":
        return _edit(f"set Lock to current projects to {_said(wanted)}", f"locked={_said(wanted)}")
    return _edit(f"set the tags to exactly {_said(wanted)}", f"tag_list={_said(wanted).replace(', ', ',')}")
