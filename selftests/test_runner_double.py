"""The sandbox's runner double decides as gitlab-runner does: it reads config.toml when it picks a job up and
matches the job's image (envtest_double/runner_double.py). The live lockdown probe rests on it
(test_lockdown_probe.py).
"""

from __future__ import annotations

import json

import pytest

from envtest.parsers.job_log import parse
from envtest_double.runner_double import Job, RunnerUnavailable, decide

BLESSED = "217680906704.dkr.ecr.us-west-2.amazonaws.com/**/blessed@sha256:*"
DIGEST = "sha256:" + "b" * 64


def config_toml(allowed: list[str], default_image: str = "", services: list[str] | None = None) -> str:
    """The [[runners]] entry's docker part, shaped as registration writes it."""
    listed = ", ".join(json.dumps(i) for i in allowed)
    allowed_services = ", ".join(json.dumps(s) for s in (services if services is not None else [""]))
    return (
        'concurrent = 1\n\n[[runners]]\n  name = "sandbox-env-runner"\n  executor = "docker"\n'
        f"  [runners.docker]\n    image = {json.dumps(default_image)}\n    allowed_images = [{listed}]\n"
        f"    allowed_services = [{allowed_services}]\n"
    )


# ---- the runner double decides as gitlab-runner does -----------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "image", "runs"),
    [
        # gitlab-runner's own table (common/allowed_images_test.go) and doublestar's rules.
        (["alpine"], "alpine", True),
        (["ubuntu"], "alpine", False),
        (["*"], "library/ruby", False),
        (["**/*"], "library/ruby", True),
        (["*/*:*"], "library/ruby", False),
        (["*/alpine*"], "alpine:latest", False),
        (["**/alpine*"], "alpine:latest", True),
        ([BLESSED], "217680906704.dkr.ecr.us-west-2.amazonaws.com/cd/env_test/blessed@" + DIGEST, True),
        ([BLESSED], "217680906704.dkr.ecr.us-west-2.amazonaws.com/cd/env_test/blessed:latest", False),
        ([], "alpine:latest", True),  # an empty list allows every image
        ([""], "alpine:latest", False),
    ],
)
def test_the_runner_matches_the_image_as_gitlab_runner_does(allowed: list[str], image: str, runs: bool) -> None:
    decision = decide(Job("badtest_sandbox", image=image, script=("echo hi",)), config_toml(allowed), frozenset())
    assert (decision.status == "success") is runs
    log = parse(decision.trace)
    assert log.refused is not runs
    if not runs:
        assert decision.failure_reason == "runner_system_failure"
        assert log.refused_image == image and list(log.allowed_patterns) == allowed
        assert decision.trace.count("ERROR: Preparation failed: disallowed image") == 3


def test_the_default_image_is_allowed_by_name_and_a_job_without_image_is_not_checked() -> None:
    config = config_toml(["python:*"], default_image="alpine:3.19")
    assert decide(Job("j", image="alpine:3.19"), config, frozenset()).status == "success"
    assert decide(Job("j", image="alpine"), config, frozenset()).status == "failed"
    assert decide(Job("j", image=None), config, frozenset()).status == "success"


def test_services_are_refused_by_an_empty_string_list_and_allowed_by_an_empty_list() -> None:
    job = Job("j", image="python:3", services=("postgres:16",))
    refused = decide(job, config_toml(["python:*"]), frozenset())
    assert refused.status == "failed" and parse(refused.trace).refused_kind == "services"
    assert decide(job, config_toml(["python:*"], services=[]), frozenset()).status == "success"


def test_a_runner_without_a_readable_config_picks_nothing_up() -> None:
    with pytest.raises(RunnerUnavailable):
        decide(Job("j", image="alpine"), "this is [not toml", frozenset())


def test_a_script_sees_the_files_the_jobs_it_needs_left() -> None:
    job = Job("test_unallowed_image", image="alpine", script=("test ! -f unallowed.txt",))
    assert decide(job, config_toml([]), frozenset()).status == "success"
    found = decide(job, config_toml([]), frozenset({"unallowed.txt"}))
    assert (found.status, found.failure_reason) == ("failed", "script_failure")
