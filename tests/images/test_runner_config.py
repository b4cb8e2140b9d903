"""The runner's config.toml: it allows exactly the images in force, not every image, no services, no
entrypoint override, and is hardened."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.images import AllowedImagesInForce, RunnerEntry
from envtest.parsers.allowed_images import image_words, registered_tokens
from envtest.parsers.image_patterns import unrestricted
from envtest.policy import Policy
from envtest.problems import Problem, check
from envtest.settings import Settings

if TYPE_CHECKING:
    pass
from tests.images import RUNBOOK


@pytest.mark.catches(
    "F14: runner config: allowed images differ from the file",
    "F14-alpine",
    "F14-glob",
    "F14-slash: config.toml also allows */alpine* (not the probe's image: it needs a /)",
    "F14-stale",
    "P14-empty",
    "P14-alpine",
)
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_allows_exactly_the_images_in_force(
    env_runner_entries: list[RunnerEntry],
    images_mode: str,
    policy: Policy,
    request: pytest.FixtureRequest,
) -> None:
    """The runner's config.toml allows exactly the images in force.

    Why: the runner reads the file only at boot; after an edit, it keeps allowing the old list until recycled.
    Fails on: config.toml's `allowed_images` differs from what the boot code registers in a word that can name
    an image: the file in force split as `[images] loader` says, or the blessed patterns (separator words,
    dates, a byte-order mark or carriage returns that differ allow nothing, and are not drift).
    Fix: recycle the env runner so it boots with the file in force.
    """
    if images_mode == "file":
        images_file: AllowedImagesInForce = request.getfixturevalue("images_file")
        loader = policy.images.loader
        try:
            wanted = registered_tokens(loader, images_file.raw)
        except ValueError as exc:
            raise CouldNotEvaluate(f"policy [images] {exc}") from None
        source = f"the boot code's reading ({loader}) of {images_file.location}"
        fix = "recycle the env runner so it registers again from the file in force"
    else:
        wanted = request.getfixturevalue("allowed_patterns")
        source = "the blessed pattern (policy [images] patterns, as runner.rb builds it)"
        fix = "recycle the env runner so it registers again with the cookbook's pattern"
    problems = []
    for where, runner in ((e.where, e.runner) for e in env_runner_entries):
        configured = runner.docker.get("allowed_images")
        if not isinstance(configured, list):
            continue  # no list at all: the runner allows every image (its own check says so)
        # Only the words that can name an image count: the loader also registers separator words and dates, and
        # a runner booted from last month's file lists last month's dates, which allow nothing (not drift).
        configured_images, wanted_images = image_words([str(c) for c in configured]), image_words(wanted)
        problems += [
            Problem(f"{where} [runners.docker] allowed_images", f"only what {source} gives", f"also {image!r}", fix)
            for image in sorted(configured_images - wanted_images)
        ]
        problems += [
            Problem(
                f"{where} [runners.docker] allowed_images",
                f"{image!r} (from {source})",
                "not allowed by the running runner",
                f"{fix} ({RUNBOOK})",
            )
            for image in sorted(wanted_images - configured_images)
        ]
    check(problems)


@pytest.mark.catches("F14-empty", "P14-empty")
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_does_not_allow_every_image(env_runner_entries: list[RunnerEntry]) -> None:
    """The runner does not allow every image.

    Why: gitlab-runner treats an empty `allowed_images` as no restriction at all.
    Fails on: an empty or absent `allowed_images`, or a pattern that matches any image: gitlab-runner then runs
    anything.
    Fix: restore the allowed-images file (or the blessed patterns) and recycle the runner.
    """
    problems = []
    for where, runner in ((e.where, e.runner) for e in env_runner_entries):
        configured = runner.docker.get("allowed_images")
        patterns = configured if isinstance(configured, list) else []
        # gitlab-runner: an empty (or absent) allowed_images list allows every image.
        wide = unrestricted([str(p) for p in patterns])
        if wide:
            problems.append(
                Problem(
                    f"{where} [runners.docker] allowed_images",
                    "a list that names the images (or the blessed pattern) the env runner may run",
                    "the runner allows every image: "
                    + ("no allowed_images list" if not isinstance(configured, list) else ", ".join(map(repr, wide))),
                    "recycle the env runner so it registers with the allowed-images file (era 1) or the blessed "
                    "pattern (era 2); if the file in force is empty, restore it first "
                    f"({RUNBOOK}; 'Container security')",
                )
            )
    check(problems)


@pytest.mark.catches("F12: runner config: allowed_services = []")
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_allows_no_services(env_runner_entries: list[RunnerEntry], policy: Policy) -> None:
    """The runner allows no service containers.

    Why: a service container is an image that escapes the allowed-images list.
    Fails on: `allowed_services` other than `[""]`.
    Fix: set `allowed_services = [""]` in the runner's config template and recycle.
    """
    expected = list(policy.images.runner.allowed_services)
    problems = []
    for where, runner in ((e.where, e.runner) for e in env_runner_entries):
        found = runner.docker.get("allowed_services")
        if found != expected:
            meaning = "every service" if found in ([], None) else "services"
            problems.append(
                Problem(
                    f"{where} [runners.docker] allowed_services",
                    repr(expected) + " (a list holding one empty string allows no service)",
                    f"{found!r}, which allows {meaning}",
                    "set node.run_state['allowed_services'] back to [\"\"] in the identity-gitlab cookbook and "
                    "recycle the env runner (runbook, 'Updating allowed services on env_runner')",
                )
            )
    check(problems)


@pytest.mark.catches("F13: runner config: entrypoint overwrite not disabled")
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_cannot_override_entrypoints(env_runner_entries: list[RunnerEntry]) -> None:
    """Jobs cannot override the entrypoint of an allowed image.

    Why: with an overridable entrypoint, an allowed image runs any command a job chooses.
    Fails on: `disable_entrypoint_overwrite` not true.
    Fix: set `disable_entrypoint_overwrite = true` in the config template and recycle.
    """
    check(
        [
            Problem(
                f"{where} [runners.docker] disable_entrypoint_overwrite",
                "true",
                repr(runner.docker.get("disable_entrypoint_overwrite")),
                "register with --docker-disable-entrypoint-overwrite (recycle the env runner): otherwise a "
                "job can run any command in the allowed image (runbook, 'Container security')",
            )
            for where, runner in ((e.where, e.runner) for e in env_runner_entries)
            if runner.docker.get("disable_entrypoint_overwrite") is not True
        ]
    )


@pytest.mark.catches("F13-privileged: runner config: privileged containers")
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_is_hardened(env_runner_entries: list[RunnerEntry], policy: Policy, settings: Settings) -> None:
    """The runner's docker executor is hardened as the policy says.

    Why: privileged containers or raw sockets undo the lockdown from inside a job.
    Fails on: executor, `concurrent = 1`, privileged, `no-new-privileges`, `net_raw` dropped, `runner-net`,
    `MY_ENV` in the job environment.
    Fix: set the named field in the config template and recycle.
    """
    wanted = policy.images.runner
    fix = "recycle the env runner; if it persists, fix the registration in the identity-gitlab cookbook"
    problems = []
    for where, config, runner in ((e.where, e.config, e.runner) for e in env_runner_entries):
        docker = runner.docker

        def expect(key: str, expected: object, found: object, where: str = where) -> None:
            if found != expected:
                problems.append(Problem(f"{where} {key}", repr(expected), repr(found), fix))

        expect("[[runners]] executor", wanted.executor, runner.executor)
        expect("concurrent", wanted.concurrent, config.concurrent)
        expect("[runners.docker] privileged", False, docker.get("privileged", False))
        expect("[runners.docker] network_mode", wanted.network_mode, docker.get("network_mode"))
        for key, needed in (("security_opt", wanted.security_opt), ("cap_drop", wanted.cap_drop)):
            have = {str(v).lower() for v in docker.get(key, []) or []}
            absent = [v for v in needed if v.lower() not in have]
            if absent:
                problems.append(
                    Problem(f"{where} [runners.docker] {key}", f"includes {absent}", repr(docker.get(key)), fix)
                )
        if f"MY_ENV={settings.env_name}" not in runner.environment:
            found = [e for e in runner.environment if e.startswith("MY_ENV=")]
            problems.append(
                Problem(
                    f"{where} [[runners]] environment",
                    f"MY_ENV={settings.env_name} (jobs use it to refuse deploying to another env)",
                    repr(found) if found else "no MY_ENV",
                    fix,
                )
            )
    check(problems)
