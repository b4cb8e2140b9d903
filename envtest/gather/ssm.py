"""SSM RunCommand fanned out over instances (Terratest's `RunSsmCommand`, bounded and concurrent).

`run_command` waits (bounded) for every target to be Online in SSM, sends the
command once to all of them, then waits for every invocation concurrently and
returns each instance's exit code, stdout and stderr. A timeout names the
instance and the command.

Guard: SendCommand changes no AWS resource, so checks may send commands that
only read. A command declared `writes=True` (it changes the instance or what it
reaches, an S3 put for example) is refused unless the running test is
disruptive and disruptive tests were switched on.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from envtest.errors import CouldNotEvaluate, ReadOnlyViolation
from envtest.gather.aws import Aws, AwsError, describe_aws_error, ssm_commands, writes_are_allowed

# GetCommandInvocation returns at most this many characters of stdout.
SSM_OUTPUT_LIMIT = 24000
TERMINAL_STATUSES = frozenset({"Success", "Failed", "Cancelled", "TimedOut", "Cancelling"})


@dataclass(frozen=True)
class Invocation:
    instance_id: str
    command: str
    status: str
    exit_code: int
    stdout: str
    stderr: str

    def summary(self, limit: int = 300) -> str:
        """One line for a failure message: status, exit code, the ends of stdout and stderr."""
        out = " ".join(self.stdout.split())[-limit:]
        err = " ".join(self.stderr.split())[-limit:]
        return f"{self.instance_id}: {self.status}, exit {self.exit_code}; stdout {out!r}; stderr {err!r}"


def _short(command: str) -> str:
    one_line = " ".join(command.split())
    return one_line if len(one_line) <= 120 else one_line[:117] + "..."


def wait_until_online(aws: Aws, instance_ids: list[str], *, timeout: float, poll_interval: float = 2.0) -> None:
    """Return once every instance's SSM agent is Online; CouldNotEvaluate naming the others after `timeout`."""
    ssm = aws.client("ssm")
    deadline = time.monotonic() + timeout
    status: dict[str, str] = {}
    while True:
        try:
            pages = ssm.get_paginator("describe_instance_information").paginate(
                Filters=[{"Key": "InstanceIds", "Values": list(instance_ids)}]
            )
            status = {
                info["InstanceId"]: info.get("PingStatus", "unknown")
                for page in pages
                for info in page.get("InstanceInformationList", [])
            }
        except AwsError as exc:
            raise describe_aws_error(exc, f"ssm:DescribeInstanceInformation {', '.join(instance_ids)}") from exc
        waiting = [i for i in instance_ids if status.get(i) != "Online"]
        if not waiting:
            return
        if time.monotonic() >= deadline:
            described = ", ".join(f"{i} ({status.get(i, 'not registered')})" for i in waiting)
            raise CouldNotEvaluate(
                f"SSM agent not Online within {timeout:.0f} s on {described}: check the instance profile allows "
                "SSM and that the instance reaches the ssm, ssmmessages and ec2messages endpoints"
            )
        time.sleep(poll_interval)


def _wait_for_invocation(
    aws: Aws, command_id: str, instance_id: str, command: str, *, deadline: float, poll_interval: float
) -> Invocation:
    ssm = aws.client("ssm")
    what = f"ssm RunCommand {_short(command)!r} on {instance_id}"
    answer: dict[str, Any] = {}
    while True:
        time.sleep(poll_interval)
        try:
            answer = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        except botocore.exceptions.ClientError as exc:
            # Right after SendCommand the invocation may not exist yet.
            if exc.response.get("Error", {}).get("Code") != "InvocationDoesNotExist":
                raise describe_aws_error(exc, what) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise describe_aws_error(exc, what) from exc
        status = str(answer.get("Status", "Pending"))
        if status in TERMINAL_STATUSES:
            break
        if time.monotonic() >= deadline:
            raise CouldNotEvaluate(f"{what}: no result in time (last status {status}, command id {command_id})")
    if status in {"Cancelled", "TimedOut", "Cancelling"}:
        raise CouldNotEvaluate(f"{what}: SSM reports {status} (command id {command_id})")
    return Invocation(
        instance_id=instance_id,
        command=command,
        status=status,
        exit_code=int(answer.get("ResponseCode", -1)),
        stdout=str(answer.get("StandardOutputContent", "")),
        stderr=str(answer.get("StandardErrorContent", "")),
    )


def run_command(
    aws: Aws,
    instance_ids: list[str],
    command: str,
    *,
    writes: bool = False,
    timeout: float = 60.0,
    online_timeout: float = 60.0,
    poll_interval: float = 1.0,
) -> dict[str, Invocation]:
    """Run `command` on every instance; {instance id: its invocation}."""
    if not instance_ids:
        raise CouldNotEvaluate(f"ssm RunCommand {_short(command)!r}: no instance to run it on")
    if writes and not writes_are_allowed():
        raise ReadOnlyViolation(
            f"read-only guard refused a command that writes ({_short(command)!r}): only tests marked "
            "disruptive may run it, and only when run with -R true"
        )
    wait_until_online(aws, instance_ids, timeout=online_timeout, poll_interval=min(2.0, max(poll_interval, 0.2)))
    ssm = aws.client("ssm")
    what = f"ssm:SendCommand {_short(command)!r} to {', '.join(instance_ids)}"
    try:
        with ssm_commands():
            sent = ssm.send_command(
                InstanceIds=list(instance_ids),
                DocumentName="AWS-RunShellScript",
                # executionTimeout bounds the command on the instance; our own wait is `timeout`.
                Parameters={"commands": [command], "executionTimeout": [str(max(30, int(timeout)))]},
                TimeoutSeconds=max(30, int(timeout)),
            )
    except AwsError as exc:
        raise describe_aws_error(exc, what) from exc
    command_id = sent["Command"]["CommandId"]
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(max_workers=min(16, len(instance_ids))) as pool:
        futures = {
            i: pool.submit(
                _wait_for_invocation, aws, command_id, i, command, deadline=deadline, poll_interval=poll_interval
            )
            for i in instance_ids
        }
        return {i: f.result() for i, f in futures.items()}
