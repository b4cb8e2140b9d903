"""A command the suite gives up on is cancelled, not left running on the instance.

`run_command` (hosts/ssm.py) returns once every invocation has finished, or raises when its wait gives up (its
timeout, an AWS error, the check's time limit, Ctrl-C): the command may still be running, and a command that
writes (the live access matrix's S3 put) would then write after its check, and after the cleanup that should
have removed what it wrote. Inside `cancelled_if_abandoned`, every command this thread sends is recorded as
SendCommand answers (botocore's after-call event: ssm.py needs no change), and if the block is left by an
exception, each is cancelled (ssm:CancelCommand) and waited for, briefly, until SSM reports it over.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from envtest.errors import CouldNotEvaluate, ReadOnlyViolation
from envtest.gather.aws import Aws, AwsError
from envtest.hosts.ssm import TERMINAL_STATUSES

# How long a cancelled command is given to be reported over (SSM: Cancelled, or finished first). The agent
# stops the process at once on CancelCommand; this is for the status to come back, and it is all a cleanup waits.
SETTLE_SECONDS = 10.0


@contextmanager
def cancelled_if_abandoned(aws: Aws, *, settle: float = SETTLE_SECONDS) -> Iterator[list[str]]:
    """Yields a list that, once the block was left by an exception, names each command not confirmed over."""
    ssm = aws.client("ssm")
    owner = threading.get_ident()
    sent: list[str] = []
    unsettled: list[str] = []

    def record(parsed: dict[str, Any], **_: Any) -> None:
        command_id = parsed.get("Command", {}).get("CommandId")
        if command_id and threading.get_ident() == owner:  # other threads' commands are not this block's
            sent.append(str(command_id))

    ssm.meta.events.register("after-call.ssm.SendCommand", record)
    try:
        yield unsettled
    except BaseException:
        unsettled += cancel(aws, sent, settle=settle)
        raise
    finally:
        ssm.meta.events.unregister("after-call.ssm.SendCommand", record)


def cancel(aws: Aws, command_ids: list[str], *, settle: float = SETTLE_SECONDS) -> list[str]:
    """Cancel each command and wait up to `settle` seconds for SSM to report every invocation over; what is not
    confirmed over, one line each (empty when all are)."""
    ssm = aws.client("ssm")
    pending, problems = [], []
    for command_id in command_ids:
        try:
            ssm.cancel_command(CommandId=command_id)
            pending.append(command_id)
        # CouldNotEvaluate: the endpoint is down for the run. ReadOnlyViolation: outside a disruptive test the
        # guard refuses CancelCommand (not a read); the cause being raised must not be replaced by that refusal.
        except (*AwsError, CouldNotEvaluate, ReadOnlyViolation) as exc:
            problems.append(f"command {command_id}: not cancelled ({_reason(exc)})")
    deadline = time.monotonic() + settle
    while pending:
        for command_id in list(pending):
            try:
                pages = ssm.get_paginator("list_command_invocations").paginate(CommandId=command_id)
                statuses = [str(i.get("Status")) for page in pages for i in page["CommandInvocations"]]
            except (*AwsError, CouldNotEvaluate) as exc:
                problems.append(f"command {command_id}: cancelled, not confirmed over ({_reason(exc)})")
                pending.remove(command_id)
                continue
            if all(s in TERMINAL_STATUSES - {"Cancelling"} for s in statuses):
                pending.remove(command_id)
        if pending and time.monotonic() >= deadline:
            problems += [f"command {c}: cancelled, still not over after {settle:g} s" for c in pending]
            break
        if pending:
            time.sleep(0.2)
    return problems


def _reason(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return str(code or exc)
