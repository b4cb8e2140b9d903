"""/etc/gitlab-runner/config.toml, as `gitlab-runner register` writes it.

The file holds each runner's authentication token. A host read masks it on
the host (hosts/masking.py: every letter and digit becomes `x`), so the
suite normally never sees the value; the parser still registers every token
for redaction and keeps only facts about it (its length, and whether it
arrived masked): nothing downstream ever holds the value.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from envtest import redact


@dataclass(frozen=True)
class Runner:
    name: str
    url: str
    executor: str
    token_length: int
    docker: dict[str, Any] = field(default_factory=dict)
    environment: tuple[str, ...] = ()
    # True when the token holds no letter or digit but `x`: what the host-side mask leaves of any value.
    token_masked: bool = True


@dataclass(frozen=True)
class RunnerConfig:
    concurrent: int | None
    runners: tuple[Runner, ...]
    problems: tuple[str, ...] = ()


def parse(text: str) -> RunnerConfig:
    """Never raises: a file that is not TOML, or has no runners, comes back with its problems."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The message names a line and column, never the content (which may hold a token).
        return RunnerConfig(None, (), (f"not valid TOML: {exc}",))
    problems = []
    concurrent = data.get("concurrent")
    if not isinstance(concurrent, int) or isinstance(concurrent, bool):
        problems.append(f"concurrent is {type(concurrent).__name__}, not a number")
        concurrent = None
    runners = []
    entries = data.get("runners", [])
    if not isinstance(entries, list) or not entries:
        problems.append("no [[runners]] section")
        entries = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(f"runner {number} is not a table")
            continue
        token = entry.get("token", "")
        token = token if isinstance(token, str) else ""
        redact.register(token, "gitlab runner authentication token")
        docker = entry.get("docker", {})
        environment = entry.get("environment", [])
        runners.append(
            Runner(
                name=str(entry.get("name", f"runner {number}")),
                url=str(entry.get("url", "")),
                executor=str(entry.get("executor", "")),
                token_length=len(token.strip()),
                docker=docker if isinstance(docker, dict) else {},
                environment=tuple(str(e) for e in environment) if isinstance(environment, list) else (),
                token_masked=not any(c.isalnum() and c != "x" for c in token),
            )
        )
    return RunnerConfig(concurrent, tuple(runners), tuple(problems))
