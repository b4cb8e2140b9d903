"""Reach an env's instances: read a file, run a command.

One interface, two backends (the testinfra idea):
- `LocalRoot`: a directory that stands for the host's `/` (the sandbox's
  `DIR/hosts/<role>/`, or `/` itself when the suite runs on the host);
- `Ssm`: SSM RunCommand on a managed instance, with a bounded wait and a clear
  error when the instance is not managed by SSM.
"""

from __future__ import annotations

import base64
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from envtest.errors import CouldNotEvaluate
from envtest.gather.aws import Aws
from envtest.gather.ssm import SSM_OUTPUT_LIMIT, run_command


@dataclass(frozen=True)
class CommandResult:
    host: str
    command: str
    exit_code: int
    stdout: str
    stderr: str


class Host(Protocol):
    name: str

    def read_file(self, path: str) -> bytes: ...

    def run(self, command: str, timeout: float = 60.0) -> CommandResult: ...


class LocalRoot:
    """A host whose `/` is a local directory."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root.resolve()
        self.name = name

    def _path(self, path: str) -> Path:
        if not path.startswith("/"):
            raise CouldNotEvaluate(f"{self.name}: host paths are absolute, got {path!r}")
        resolved = (self.root / path.lstrip("/")).resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise CouldNotEvaluate(f"{self.name}: {path!r} leaves the host's root {self.root}")
        return resolved

    def read_file(self, path: str) -> bytes:
        try:
            return self._path(path).read_bytes()
        except FileNotFoundError:
            raise CouldNotEvaluate(f"{self.name}: {path} does not exist") from None
        except OSError as exc:
            raise CouldNotEvaluate(f"{self.name}: cannot read {path}: {exc.strerror}") from None

    def run(self, command: str, timeout: float = 60.0) -> CommandResult:
        try:
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=self.root,
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOST_ROOT": str(self.root)},
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CouldNotEvaluate(f"{self.name}: command {command!r} did not finish within {timeout:.0f} s") from None
        return CommandResult(
            host=self.name,
            command=command,
            exit_code=done.returncode,
            stdout=done.stdout.decode("utf-8", "replace"),
            stderr=done.stderr.decode("utf-8", "replace"),
        )


class Ssm:
    """A managed instance reached through SSM RunCommand (gather/ssm.py)."""

    def __init__(self, aws: Aws, instance_id: str, *, poll_interval: float = 1.0, online_timeout: float = 30.0) -> None:
        self.aws = aws
        self.instance_id = instance_id
        self.name = instance_id
        self.poll_interval = poll_interval
        self.online_timeout = online_timeout

    def run(self, command: str, timeout: float = 60.0, *, writes: bool = False) -> CommandResult:
        done = run_command(
            self.aws,
            [self.instance_id],
            command,
            writes=writes,
            timeout=timeout,
            online_timeout=self.online_timeout,
            poll_interval=self.poll_interval,
        )[self.instance_id]
        return CommandResult(
            host=self.instance_id, command=command, exit_code=done.exit_code, stdout=done.stdout, stderr=done.stderr
        )

    def read_file(self, path: str) -> bytes:
        # The one command a read-only run may send: base64 of one file, written here.
        result = self.run(f"base64 -w0 -- {shlex.quote(path)}")
        if result.exit_code != 0:
            raise CouldNotEvaluate(f"{self.instance_id}: cannot read {path}: {result.stderr.strip()[:200]}")
        if len(result.stdout) >= SSM_OUTPUT_LIMIT:
            raise CouldNotEvaluate(
                f"{self.instance_id}: {path} is too large to read through SSM's {SSM_OUTPUT_LIMIT}-character output"
            )
        try:
            return base64.b64decode(result.stdout, validate=True)
        except ValueError:
            raise CouldNotEvaluate(f"{self.instance_id}: unreadable output while reading {path}") from None
