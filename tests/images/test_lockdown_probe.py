"""The live probe: the env runner refuses a job whose image is not allowed (the Go suite's
TestEnvRunnerLockdown)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.problems import Problem, fail

if TYPE_CHECKING:
    from envtest.gather.gitlab import JobRun


@pytest.mark.active_probe("plays or retries a GitLab job")
@pytest.mark.catches(
    "F14-empty: the file in force is empty: the runner allows every image",
    "F14-alpine: config.toml also allows alpine:latest (added by hand)",
    "F14-glob: config.toml also allows **/alpine* (matches the probe's image)",
    "F14-stale: the file was fixed, the runner still allows its old list (with alpine:latest)",
    "P14-empty: era 2: the runner allows every image",
    "P14-alpine: era 2: the runner also allows alpine:latest",
)
def test_env_runner_refuses_a_forbidden_image(lockdown_runs: list[JobRun], images_mode: str) -> None:
    """The env runner refuses a forbidden image, live (the Go suite's lockdown test).

    Why: only the runner's own refusal proves the lockdown holds; files and config can agree and still be
    wrong.
    Fails on: live (the Go suite's lockdown test): plays or retries `badtest_<env>` (era 1), or
    `run_unallowed_image` then `test_unallowed_image` (era 2), through GitLab's API (every page of the
    pipeline's jobs, every wait bounded), and passes only if the runner refused the image in its own words
    (`envtest/parsers/job_log.py`); the failure names the job, the image and what the runner said. An active
    probe: it writes to GitLab (a token with the `api` scope, sent only to the GitLab `gitlab_host_pattern`
    admits); on by default, skipped with the reason under `ENVTEST_ACTIVE_PROBES=false` or without
    `GITLAB_API_TOKEN`; runs in every sandbox run.
    Fix: the failure names the job, the image and what the runner said; fix the runner's allowed images.
    """
    for run in lockdown_runs:
        print(
            f"{run.job} (job {run.job_id}) {run.action}; ended {run.status} "
            f"({run.failure_reason or 'no failure reason'}) after {run.seconds:.0f} s; "
            f"the runner {run.log.runner_said()}"
        )
    fix = (
        "the env runner ran an image it must refuse: check [runners.docker] allowed_images in "
        "/etc/gitlab-runner/config.toml on the env runner (the static image checks name what is wrong), fix the "
        "allowed-images file or the pattern, and recycle the env runner"
    )
    must_refuse = lockdown_runs[0]
    _judge_refused(must_refuse, fix)
    if images_mode == "pattern":
        if len(lockdown_runs) < 2:
            raise CouldNotEvaluate("the probe ran out of time before its second job")
        proof = lockdown_runs[1]
        if proof.status == "success":
            return
        _not_ended(proof)
        fail(
            Problem(
                proof.where(),
                f"success: {must_refuse.job} was refused, so it left nothing behind",
                f"{proof.status} ({proof.failure_reason or 'no failure reason'}); the runner {proof.log.runner_said()}",
                fix if proof.failure_reason == "script_failure" else "read the job's log: it did not run its test",
            )
        )


def _not_ended(run: JobRun) -> None:
    if run.status not in {"success", "failed", "canceled", "skipped"}:
        fail(
            Problem(
                run.where(),
                "the job ends within the probe's wait",
                f"still {run.status} after {run.seconds:.0f} s",
                "is the env runner registered and picking up jobs? (runbook, 'Debugging env_runner issues')",
            )
        )


def _judge_refused(run: JobRun, fix: str) -> None:
    if run.refused:
        return  # the runner said it: the image is not on its list
    _not_ended(run)
    expected = "the job fails because the env runner refuses its image ('not present on list of allowed images')"
    if run.log.ran_image is None and run.status == "failed":
        raise CouldNotEvaluate(
            f"{run.where()} failed ({run.failure_reason or 'no reason given'}) but its log shows neither a refusal "
            f"nor the image running (the runner {run.log.runner_said()}): the lockdown was not exercised"
        )
    fail(Problem(run.where(), expected, f"the runner {run.log.runner_said()}; the job ended {run.status}", fix))
