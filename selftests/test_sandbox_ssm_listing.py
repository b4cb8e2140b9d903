"""The sandbox's SSM (envtest_double/instances_endpoint/ssm.py) lists invocations by ListCommandInvocations'
Filters as the API reference describes them (CommandFilter: InvokedAfter, "that time and later"; InvokedBefore;
Status), which the suite's looks use (envtest/hosts/ssm.py Looks). The records are the double's own, written
here; no suite code judges them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from envtest_double.instances_endpoint.ssm import RunCommand, SsmError

T0 = datetime(2026, 12, 5, 16, 0, 0, tzinfo=UTC).timestamp()


def run_command_with(*records: tuple[str, str, float, str]) -> RunCommand:
    commands = RunCommand(fleet=None)  # type: ignore[arg-type]  # listing reads only the invocations
    for command_id, instance_id, requested, status in records:
        commands.invocations[(command_id, instance_id)] = {
            "CommandId": command_id, "InstanceId": instance_id, "DocumentName": "AWS-RunShellScript",
            "PluginName": "aws:runShellScript", "Status": status, "StatusDetails": status, "ResponseCode": -1,
            "StandardOutputContent": "", "StandardErrorContent": "", "RequestedDateTime": requested,
        }  # fmt: skip
    return commands


def listed(commands: RunCommand, **body: Any) -> list[tuple[str, str]]:
    return [(i["CommandId"], i["InstanceId"]) for i in commands.list(body)["CommandInvocations"]]


def test_invoked_after_lists_that_second_and_later() -> None:
    commands = run_command_with(
        ("a", "i-1", T0 - 1, "Success"), ("b", "i-1", T0, "InProgress"), ("c", "i-2", T0 + 0.7, "Success")
    )
    after = [{"key": "InvokedAfter", "value": "2026-12-05T16:00:00Z"}]
    assert listed(commands, Filters=after) == [("b", "i-1"), ("c", "i-2")]
    before = [{"key": "InvokedBefore", "value": "2026-12-05T16:00:00Z"}]
    assert listed(commands, Filters=before) == [("a", "i-1"), ("b", "i-1")]
    assert listed(commands, Filters=[*after, {"key": "Status", "value": "Success"}]) == [("c", "i-2")]
    assert all("RequestedDateTime" in i for i in commands.list({"Filters": after})["CommandInvocations"])


def test_a_filter_the_double_does_not_know_is_refused_not_ignored() -> None:
    commands = run_command_with(("a", "i-1", T0, "Success"))
    with pytest.raises(SsmError, match="does not filter by 'ExecutionStage'"):
        commands.list({"Filters": [{"key": "ExecutionStage", "value": "Executing"}]})
    with pytest.raises(SsmError, match="not a timestamp"):
        commands.list({"Filters": [{"key": "InvokedAfter", "value": "yesterday"}]})
