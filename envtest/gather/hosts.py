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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import botocore.exceptions

from envtest.errors import CouldNotEvaluate
from envtest.gather.aws import Aws, describe_aws_error, ssm_file_read

# GetCommandInvocation returns at most this many characters of stdout.
SSM_OUTPUT_LIMIT = 24000
TERMINAL_STATUSES = {"Success", "Failed", "Cancelled", "TimedOut", "Cancelling"}


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
    """A managed instance reached through SSM RunCommand."""

    def __init__(self, aws: Aws, instance_id: str, *, poll_interval: float = 1.0) -> None:
        self.aws = aws
        self.instance_id = instance_id
        self.name = instance_id
        self.poll_interval = poll_interval

    def _ensure_managed(self) -> None:
        ssm = self.aws.client("ssm")
        try:
            answer = ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": [self.instance_id]}])
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise describe_aws_error(exc, f"ssm:DescribeInstanceInformation {self.instance_id}") from exc
        infos = answer.get("InstanceInformationList", [])
        if not infos:
            raise CouldNotEvaluate(
                f"{self.instance_id} is not managed by SSM (no agent has registered): "
                "check its instance profile allows SSM and that it reaches the ssm, ssmmessages "
                "and ec2messages endpoints"
            )
        if infos[0].get("PingStatus") != "Online":
            raise CouldNotEvaluate(f"{self.instance_id}: SSM agent is {infos[0].get('PingStatus')}, not Online")

    def run(self, command: str, timeout: float = 60.0) -> CommandResult:
        self._ensure_managed()
        ssm = self.aws.client("ssm")
        what = f"ssm RunCommand on {self.instance_id} ({command!r})"
        try:
            sent = ssm.send_command(
                InstanceIds=[self.instance_id],
                DocumentName="AWS-RunShellScript",
                # executionTimeout bounds the command on the instance; our own wait is `timeout`.
                Parameters={"commands": [command], "executionTimeout": [str(max(30, int(timeout)))]},
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise describe_aws_error(exc, what) from exc
        command_id = sent["Command"]["CommandId"]
        deadline = time.monotonic() + timeout
        invocation: dict[str, Any] = {}
        while time.monotonic() < deadline:
            time.sleep(self.poll_interval)
            try:
                invocation = ssm.get_command_invocation(CommandId=command_id, InstanceId=self.instance_id)
            except botocore.exceptions.ClientError as exc:
                # Right after SendCommand the invocation may not exist yet.
                if exc.response.get("Error", {}).get("Code") == "InvocationDoesNotExist":
                    continue
                raise describe_aws_error(exc, what) from exc
            except botocore.exceptions.BotoCoreError as exc:
                raise describe_aws_error(exc, what) from exc
            if invocation.get("Status") in TERMINAL_STATUSES:
                break
        else:
            raise CouldNotEvaluate(
                f"{what}: no result within {timeout:.0f} s (last status "
                f"{invocation.get('Status', 'unknown')}, command id {command_id})"
            )
        if invocation.get("Status") in {"Cancelled", "TimedOut", "Cancelling"}:
            raise CouldNotEvaluate(f"{what}: SSM reports {invocation['Status']}")
        return CommandResult(
            host=self.instance_id,
            command=command,
            exit_code=int(invocation.get("ResponseCode", -1)),
            stdout=invocation.get("StandardOutputContent", ""),
            stderr=invocation.get("StandardErrorContent", ""),
        )

    def read_file(self, path: str) -> bytes:
        # The one command a read-only run may send: base64 of one file, written here.
        with ssm_file_read():
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
