"""SSM RunCommand fanned out over instances (Terratest's `RunSsmCommand`, bounded and concurrent).

`run_command` waits (bounded) for every target to be Online in SSM, sends the
command to all of them (in batches of 50 ids, SendCommand's limit), then waits
on the process's looks (`Looks`: one ListCommandInvocations per look for every
command out, early and then every fifth of a second), fetches each finished
invocation, and returns each instance's exit code, stdout and stderr. A timeout
names the instance and the command.

Guard (gather/aws_guard.py): AWS-RunShellScript runs any command, so a command
goes by one of two paths only. The run's host reads (hosts/plan.py, and
the chunked file read it defers to) send theirs in any check; every other
command, and any command declared `writes=True` (it changes the instance or
what it reaches, an S3 put for example), goes only from a check marked
`disruptive(may_call=[..., "ssm:SendCommand"])` run with -R true.
"""

from __future__ import annotations

import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import botocore.exceptions

from envtest.errors import CouldNotEvaluate, ReadOnlyViolation
from envtest.gather.aws import Aws, AwsError, describe_aws_error
from envtest.gather.aws_guard import DISRUPTIVE_PATH, HOST_READ_PATH, SEND_COMMAND, declared, ssm_commands
from envtest.progress import waiting

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
    with waiting(f"the SSM agent to be Online on {', '.join(instance_ids[:5])}", timeout):
        _wait_online(ssm, instance_ids, deadline=deadline, timeout=timeout, poll_interval=poll_interval)


def _wait_online(ssm: Any, instance_ids: list[str], *, deadline: float, timeout: float, poll_interval: float) -> None:
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
        offline = [i for i in instance_ids if status.get(i) != "Online"]
        if not offline:
            return
        if time.monotonic() >= deadline:
            described = ", ".join(f"{i} ({status.get(i, 'not registered')})" for i in offline)
            raise CouldNotEvaluate(
                f"SSM agent not Online within {timeout:.0f} s on {described}: check the instance profile allows "
                "SSM and that the instance reaches the ssm, ssmmessages and ec2messages endpoints"
            )
        time.sleep(poll_interval)


# SendCommand accepts at most this many instance ids in one call (AWS API reference, SendCommand: InstanceIds).
SEND_BATCH = 50
# The first look at the run's commands, and the period the looks' backoff grows to. SSM usually finishes a short
# command in one to two seconds. A look is one ListCommandInvocations for every command the process waits on
# (`Looks`), so looking every fifth of a second costs the same calls whether one command or ten are out; a
# finished command is seen within that period of finishing, where a look per command backing off to half a
# second saw it up to half a second late (benchmarks/latency.md: the run's wall was bimodal by it).
FIRST_LOOK = 0.05
POLL_CEILING = 0.2


def poll_delays(first: float = FIRST_LOOK, ceiling: float = POLL_CEILING) -> Iterator[float]:
    """Seconds to sleep before each look: `first`, doubling, never above `ceiling`."""
    delay = first
    while True:
        yield delay
        delay = min(ceiling, delay * 2)


class Looks:
    """The process's looks at SSM: one ListCommandInvocations per look, every page, for every command it waits on.

    ListCommandInvocations without a CommandId lists the invocations of every command sent since its InvokedAfter
    filter (AWS API reference, ListCommandInvocations: Filters, CommandFilter InvokedAfter), here the earliest
    RequestedDateTime SSM gave the watched commands, to the second. Invocations of commands not watched (another
    job's, in the same account) are listed too and ignored. A thread looks while any command is watched; each
    waiter fetches only its finished invocations (GetCommandInvocation: the output).
    """

    def __init__(self, ssm: Any) -> None:
        self.ssm = ssm  # the session's SSM client (not the session: a session that is gone takes its looks along)
        self._changed = threading.Condition()
        self._since: dict[str, datetime] = {}  # command id -> when SSM says it was requested
        self._statuses: dict[tuple[str, str], str] = {}  # (command id, instance id) -> its last status listed
        self._looked = 0
        self._error: CouldNotEvaluate | None = None
        self._looking = False
        self._in_flight = False  # a look has taken its list of commands and not yet finished

    def watch(self, command_id: str, requested: datetime) -> int:
        """Watch a command; the number of looks made or under way without it, for `next_look`: a look that had
        already taken its list of commands neither answers for this one nor gives it its error."""
        with self._changed:
            self._since[command_id] = requested
            if not self._looking:
                self._looking = True
                threading.Thread(target=self._look_while_watched, name="ssm-looks", daemon=True).start()
            return self._looked + int(self._in_flight)

    def forget(self, command_id: str) -> None:
        with self._changed:
            self._since.pop(command_id, None)
            for key in [key for key in self._statuses if key[0] == command_id]:
                del self._statuses[key]

    def status(self, command_id: str, instance_id: str) -> str | None:
        with self._changed:
            return self._statuses.get((command_id, instance_id))

    def next_look(self, seen: int, timeout: float) -> int:
        """Wait (at most `timeout` s) for a look after the `seen`-th; the number of looks made. A look that failed
        raises its cause here, in every waiter."""
        with self._changed:
            self._changed.wait_for(lambda: self._looked > seen, timeout=timeout)
            if self._error is not None and self._looked > seen:
                raise self._error
            return self._looked

    def _look_while_watched(self) -> None:
        for delay in poll_delays(FIRST_LOOK, POLL_CEILING):
            time.sleep(delay)
            with self._changed:
                if not self._since:
                    self._looking = False
                    return
                since, watched = min(self._since.values()), set(self._since)
                self._in_flight = True
            try:
                found, error = self._list(since, watched), None
            except CouldNotEvaluate as exc:
                found, error = {}, exc
            except Exception as exc:  # a bug here must reach the waiters, never hang them
                found, error = {}, CouldNotEvaluate(f"ssm:ListCommandInvocations: {type(exc).__name__}: {exc}")
            with self._changed:
                self._statuses.update({key: status for key, status in found.items() if key[0] in self._since})
                self._error = error
                self._looked += 1
                self._in_flight = False
                self._changed.notify_all()

    def _list(self, since: datetime, watched: set[str]) -> dict[tuple[str, str], str]:
        after = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # to the second, rounded down
        try:
            pages = self.ssm.get_paginator("list_command_invocations").paginate(
                Filters=[{"key": "InvokedAfter", "value": after}], PaginationConfig={"PageSize": 50}
            )
            return {
                (str(i["CommandId"]), str(i["InstanceId"])): str(i.get("Status", "Pending"))
                for page in pages
                for i in page["CommandInvocations"]
                if i.get("CommandId") in watched
            }
        except AwsError as exc:
            raise describe_aws_error(exc, f"ssm:ListCommandInvocations (commands sent since {after})") from exc


# One Looks per Aws session (an assumed role's commands are its own), kept only while the session is: the naive
# baseline builds a session per check, and held here each kept its clients for the whole run.
_LOOKS: weakref.WeakKeyDictionary[Aws, Looks] = weakref.WeakKeyDictionary()
_LOOKS_LOCK = threading.Lock()


def looks_of(aws: Aws) -> Looks:
    """The looks of this Aws session's SSM client."""
    with _LOOKS_LOCK:
        found = _LOOKS.get(aws)
        if found is None:
            found = _LOOKS[aws] = Looks(aws.client("ssm"))
        return found


def _get_invocation(aws: Aws, command_id: str, instance_id: str, what: str) -> dict[str, Any] | None:
    """GetCommandInvocation's answer, or None while the invocation does not exist yet."""
    try:
        return dict(aws.client("ssm").get_command_invocation(CommandId=command_id, InstanceId=instance_id))
    except botocore.exceptions.ClientError as exc:
        # Right after SendCommand the invocation may not exist yet.
        if exc.response.get("Error", {}).get("Code") == "InvocationDoesNotExist":
            return None
        raise describe_aws_error(exc, what) from exc
    except AwsError as exc:  # BotoCoreError, or an answer that is not AWS's
        raise describe_aws_error(exc, what) from exc


def _invocation(instance_id: str, command: str, command_id: str, answer: dict[str, Any], what: str) -> Invocation:
    status = str(answer.get("Status", "Pending"))
    if status in {"Cancelled", "TimedOut", "Cancelling"}:
        raise CouldNotEvaluate(f"{what} on {instance_id}: SSM reports {status} (command id {command_id})")
    return Invocation(
        instance_id=instance_id,
        command=command,
        status=status,
        exit_code=int(answer.get("ResponseCode", -1)),
        stdout=str(answer.get("StandardOutputContent", "")),
        stderr=str(answer.get("StandardErrorContent", "")),
    )


def wait_for_invocations(
    aws: Aws,
    command_id: str,
    instance_ids: list[str],
    command: str,
    *,
    deadline: float,
    requested: datetime | None = None,
) -> dict[str, Invocation]:
    """Every instance's finished invocation of one command: the process's looks (`Looks`) say which finished, and
    only those are fetched (GetCommandInvocation, in parallel). `requested`: SendCommand's RequestedDateTime
    (SSM's clock); without it, a minute before now."""
    what = f"ssm RunCommand {_short(command)!r}"
    pending = set(instance_ids)
    done: dict[str, Invocation] = {}
    looks = looks_of(aws)
    seen = looks.watch(command_id, requested or datetime.now(UTC) - timedelta(minutes=1))
    try:
        with ThreadPoolExecutor(max_workers=min(16, len(instance_ids))) as pool:
            while True:
                seen = looks.next_look(seen, timeout=max(0.0, deadline - time.monotonic()))
                ready = sorted(i for i in pending if looks.status(command_id, i) in TERMINAL_STATUSES)
                answers = pool.map(lambda i: _get_invocation(aws, command_id, i, f"{what} on {i}"), ready)
                for instance_id, answer in zip(ready, answers, strict=True):
                    # GetCommandInvocation may lag the list for a moment: finished when it says so too.
                    if answer is not None and str(answer.get("Status")) in TERMINAL_STATUSES:
                        done[instance_id] = _invocation(instance_id, command, command_id, answer, what)
                        pending.discard(instance_id)
                if not pending:
                    return {i: done[i] for i in instance_ids}
                if time.monotonic() >= deadline:
                    raise CouldNotEvaluate(
                        "; ".join(
                            f"{what} on {i}: no result in time (last status "
                            f"{looks.status(command_id, i) or 'Pending'}, command id {command_id})"
                            for i in sorted(pending)
                        )
                    )
    finally:
        looks.forget(command_id)


# The host-read path: the run's planned reads, and the chunked read of a file too large for their answer. Named
# by (module, function) rather than declared by the caller: a declaration is a flag any caller could set.
HOST_READ_CALLERS = frozenset(
    {("envtest.hosts.plan", "HostReads._fetch"), ("envtest.hosts.transports", "Ssm.read_file")}
)
# The one-instance wrapper every path shares: its own caller decides.
PASSED_THROUGH = frozenset({("envtest.hosts.transports", "Ssm.run")})


def _where(frame: FrameType) -> tuple[str, str]:
    return str(frame.f_globals.get("__name__", "")), frame.f_code.co_qualname


def _sent_by_the_host_reads() -> bool:
    """Whether run_command's caller (past Ssm.run) is on the host-read path."""
    frame: FrameType | None = sys._getframe(2)  # 0: this function, 1: run_command, 2: its caller
    while frame is not None and _where(frame) in PASSED_THROUGH:
        frame = frame.f_back
    return frame is not None and _where(frame) in HOST_READ_CALLERS


def run_command(
    aws: Aws,
    instance_ids: list[str],
    command: str,
    *,
    writes: bool = False,
    timeout: float = 60.0,
    online_timeout: float = 60.0,
    poll_interval: float = POLL_CEILING,
    sent: Callable[[], None] | None = None,
) -> dict[str, Invocation]:
    """Run `command` on every instance; {instance id: its invocation}.

    Sent in batches of at most 50 ids (SendCommand's limit), the batches waited
    for together (the process's looks, `Looks`); `poll_interval` is how often the
    agents' status is looked at while they are not Online yet.
    `sent` is called once every batch is sent, before the wait for the answers.
    """
    if not instance_ids:
        raise CouldNotEvaluate(f"ssm RunCommand {_short(command)!r}: no instance to run it on")
    path = HOST_READ_PATH if not writes and _sent_by_the_host_reads() else DISRUPTIVE_PATH
    if path == DISRUPTIVE_PATH and not declared(SEND_COMMAND):
        # Refused here, before the wait for the agents; the client's guard refuses it again at the call.
        what = "a command that writes" if writes else "ssm:SendCommand outside the run's host reads"
        raise ReadOnlyViolation(
            f"read-only guard refused {what} ({_short(command)!r}): only a check marked "
            "@pytest.mark.disruptive(may_call=[..., 'ssm:SendCommand']) may send it, and only when run with -R true"
        )
    wait_until_online(aws, instance_ids, timeout=online_timeout, poll_interval=min(2.0, max(poll_interval, 0.2)))
    ssm = aws.client("ssm")
    commands: list[tuple[str, list[str], datetime | None]] = []
    for start in range(0, len(instance_ids), SEND_BATCH):
        batch = list(instance_ids[start : start + SEND_BATCH])
        what = f"ssm:SendCommand {_short(command)!r} to {', '.join(batch)}"
        try:
            with ssm_commands(path):
                answer = ssm.send_command(
                    InstanceIds=batch,
                    DocumentName="AWS-RunShellScript",
                    # executionTimeout bounds the command on the instance; our own wait is `timeout`.
                    Parameters={"commands": [command], "executionTimeout": [str(max(30, int(timeout)))]},
                    TimeoutSeconds=max(30, int(timeout)),
                )
        except AwsError as exc:
            raise describe_aws_error(exc, what) from exc
        commands.append((answer["Command"]["CommandId"], batch, answer["Command"].get("RequestedDateTime")))
    if sent is not None:
        sent()
    deadline = time.monotonic() + timeout
    with waiting(f"ssm RunCommand {_short(command)[:60]!r} on {len(instance_ids)} instance(s)", timeout):
        if len(commands) == 1:
            ((command_id, batch, requested),) = commands
            return wait_for_invocations(aws, command_id, batch, command, deadline=deadline, requested=requested)
        with ThreadPoolExecutor(max_workers=len(commands)) as pool:
            parts = pool.map(
                lambda job: wait_for_invocations(aws, job[0], job[1], command, deadline=deadline, requested=job[2]),
                commands,
            )
            return {i: r for part in parts for i, r in part.items()}
