"""gitlab-runner's docker executor, as far as the lockdown goes: a test double, named as one.

It decides a job the way gitlab-runner does before anything runs, from the env runner's config.toml as it
reads at that moment (gitlabhq/gitlab-runner: common/allowed_images.go VerifyAllowedImage, executors/docker
docker.go expandImageName and services.go getServicesDefinitions):
- the job's image (after variable expansion, no other normalisation) is allowed when `allowed_images` is
  empty, when a pattern matches it with doublestar's Match (`envtest/parsers/image_patterns.py`, the port
  the static checks use), or when it equals the runner's default `image`; a job without an image gets the
  default image, unchecked;
- then each service against `allowed_services` the same way (a service the runner configures itself is
  allowed by name);
- a refusal is logged in the runner's words, the preparation is retried three times (common/build.go,
  PreparationRetries), and the job fails with `runner_system_failure`.

An allowed job "runs" without executing anything: its script is read, not run. The only script lines with
an effect are the ones the lockdown probe's jobs use: `exit N`, and `test -f PATH` / `test ! -f PATH` against
the files the jobs it needs left behind (a succeeded job leaves its declared `artifacts: paths`, as if its
script wrote them). Every other line succeeds.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from envtest_double.doublestar import match

PREPARATION_TRIES = 3
CONFIG_DOCS = "https://docs.gitlab.com/runner/configuration/advanced-configuration/"


@dataclass(frozen=True)
class Job:
    name: str
    stage: str = "test"
    image: str | None = None
    services: tuple[str, ...] = ()
    script: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    when: str = "on_success"
    allow_failure: bool = False


@dataclass(frozen=True)
class Decision:
    status: str  # "success" or "failed"
    failure_reason: str  # "" | "runner_system_failure" | "script_failure"
    trace: str
    produced: frozenset[str] = field(default_factory=frozenset)


class RunnerUnavailable(Exception):
    """No runner picks the job up (config.toml unreadable, no docker runner): it stays pending."""


def docker_runner(config_text: str) -> dict[str, Any]:
    """The env runner's [[runners]] entry (the docker executor's), or RunnerUnavailable."""
    try:
        config = tomllib.loads(config_text)
    except tomllib.TOMLDecodeError as exc:
        raise RunnerUnavailable(f"config.toml does not parse: {exc}") from None
    runners = [r for r in config.get("runners", []) if isinstance(r, dict) and r.get("executor") == "docker"]
    if not runners:
        raise RunnerUnavailable("config.toml has no docker runner")
    return runners[0]


def _verify(name: str, kind: str, allowed: list[str], internal: list[str]) -> list[str] | None:
    """VerifyAllowedImage: None when allowed, else the lines the runner logs."""
    if not allowed or any(match(pattern, name) for pattern in allowed) or name in internal:
        return None
    return [
        "",
        f'ERROR: The "{name}" image is not present on list of allowed {kind}:',
        *(f"- {pattern}" for pattern in allowed),
        "",
        f"Please check runner's allowed_images configuration: {CONFIG_DOCS}",
    ]


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def decide(job: Job, config_text: str, available: frozenset[str], runner_name: str = "env-runner") -> Decision:
    """What the runner does with the job now; `available` are the files the jobs it needs left behind."""
    runner = docker_runner(config_text)
    docker = runner.get("docker", {}) if isinstance(runner.get("docker"), dict) else {}
    default_image = str(docker.get("image", ""))
    header = [
        "Running with gitlab-runner 17.5.0 (envtest sandbox double)",
        f"  on {runner_name}",  # a real log adds the token's first characters: left out, a secret's part
        'Preparing the "docker" executor',
    ]
    image = job.image or default_image
    refusal = None
    if job.image:
        refusal = _verify(job.image, "images", _strings(docker.get("allowed_images")), [default_image])
    if refusal is None:
        configured = [str(s.get("name", "")) for s in docker.get("services", []) if isinstance(s, dict)]
        for service in job.services:
            refusal = _verify(service, "services", _strings(docker.get("allowed_services")), configured)
            if refusal:
                break
    if refusal is not None:
        lines = list(header)
        for attempt in range(PREPARATION_TRIES):
            lines += refusal
            lines.append("ERROR: Preparation failed: disallowed image")
            if attempt < PREPARATION_TRIES - 1:
                lines.append("Will be retried in 3s ...")
        lines.append("ERROR: Job failed (system failure): disallowed image")
        return Decision("failed", "runner_system_failure", "\n".join(lines) + "\n")
    lines = [*header, f"Using Docker executor with image {image} ...", f"Pulling docker image {image} ..."]
    for line in job.script:
        lines.append(f"$ {line}")
        code = _effect(line, available)
        if code:
            lines.append(f"ERROR: Job failed: exit code {code}")
            return Decision("failed", "script_failure", "\n".join(lines) + "\n")
    lines.append("Job succeeded")
    return Decision("success", "", "\n".join(lines) + "\n", frozenset(job.artifacts))


def _effect(line: str, available: frozenset[str]) -> int:
    words = line.split()
    if words[:1] == ["exit"] and len(words) == 2 and words[1].isdigit():
        return int(words[1])
    if words[:3] == ["test", "!", "-f"] and len(words) == 4:
        return 1 if words[3] in available else 0
    if words[:2] == ["test", "-f"] and len(words) == 3:
        return 0 if words[2] in available else 1
    return 0
