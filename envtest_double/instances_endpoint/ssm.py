"""SSM RunCommand on the emulated instances: SendCommand, GetCommandInvocation, ListCommandInvocations,
DescribeInstanceInformation, with SSM's output limits and statuses (AWS-RunShellScript only)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from envtest_double.fleet.instances import Fleet
from envtest_double.instances_endpoint.wire import ServiceError

STDOUT_LIMIT, STDERR_LIMIT = 24000, 8000
SSM_ACTIONS = {"SendCommand", "GetCommandInvocation", "ListCommandInvocations", "DescribeInstanceInformation"}


class SsmError(ServiceError):
    """An SSM error (InvalidInstanceId, InvocationDoesNotExist, ...)."""


class RunCommand:
    """Commands and their invocations, run on the fleet in threads."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.invocations: dict[tuple[str, str], dict[str, Any]] = {}
        self.lock = threading.Lock()

    def send(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("DocumentName") != "AWS-RunShellScript":
            raise SsmError(
                "InvalidDocument", f"the sandbox runs only AWS-RunShellScript, not {body.get('DocumentName')}"
            )
        known = {i["InstanceId"] for i in self.fleet.describe()}
        targets = list(body.get("InstanceIds", []))
        unknown = [i for i in targets if i not in known]
        if not targets or unknown:
            raise SsmError("InvalidInstanceId", f"instances not managed by SSM: {', '.join(unknown) or '(none given)'}")
        parameters = body.get("Parameters", {})
        command = "\n".join(parameters.get("commands", []))
        timeout = float((parameters.get("executionTimeout") or ["3600"])[0])
        command_id = str(uuid.uuid4())
        now = time.time()
        for instance_id in targets:
            record = {
                "CommandId": command_id,
                "InstanceId": instance_id,
                "DocumentName": "AWS-RunShellScript",
                "PluginName": "aws:runShellScript",
                "Status": "InProgress",
                "StatusDetails": "InProgress",
                "ResponseCode": -1,
                "StandardOutputContent": "",
                "StandardErrorContent": "",
                "RequestedDateTime": now,
            }
            with self.lock:
                self.invocations[(command_id, instance_id)] = record
            threading.Thread(target=self._run, args=(record, command, timeout), daemon=True).start()
        return {
            "Command": {
                "CommandId": command_id,
                "DocumentName": "AWS-RunShellScript",
                "InstanceIds": targets,
                "Parameters": parameters,
                "Status": "InProgress",
                "RequestedDateTime": now,
                "TargetCount": len(targets),
            }
        }

    def _run(self, record: dict[str, Any], command: str, timeout: float) -> None:
        status, code, out, err = self.fleet.run(record["InstanceId"], command, timeout)
        with self.lock:
            record.update(
                Status=status,
                StatusDetails=status,
                ResponseCode=code,
                StandardOutputContent=out[:STDOUT_LIMIT],
                StandardErrorContent=err[:STDERR_LIMIT],
            )

    def get(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            record = self.invocations.get((body.get("CommandId", ""), body.get("InstanceId", "")))
            if record is None:
                raise SsmError("InvocationDoesNotExist", "no such command invocation")
            return {k: v for k, v in record.items() if k != "RequestedDateTime"}

    def list(self, body: dict[str, Any]) -> dict[str, Any]:
        """ListCommandInvocations as the API reference describes it: by CommandId and InstanceId, and by its
        Filters (CommandFilter): InvokedAfter and InvokedBefore compare the invocation's RequestedDateTime with an
        ISO 8601 time ("2024-07-07T00:00:00Z": that time and later, or earlier), Status its status."""
        wanted = [_filter(f) for f in body.get("Filters") or []]
        with self.lock:
            records = [
                r
                for (command_id, instance_id), r in self.invocations.items()
                if body.get("CommandId") in {None, command_id}
                and body.get("InstanceId") in {None, instance_id}
                and all(test(r) for test in wanted)
            ]
            listed = []
            for r in records:
                item = {
                    k: r[k]
                    for k in ("CommandId", "InstanceId", "DocumentName", "Status", "StatusDetails", "RequestedDateTime")
                }
                if body.get("Details"):
                    item["CommandPlugins"] = [
                        {
                            "Name": r["PluginName"],
                            "Status": r["Status"],
                            "ResponseCode": r["ResponseCode"],
                            "Output": r["StandardOutputContent"][:2500],
                        }
                    ]
                listed.append(item)
        return _page(listed, body, "CommandInvocations")

    def describe_instances(self, body: dict[str, Any]) -> dict[str, Any]:
        wanted: set[str] | None = None
        for item in body.get("Filters", []) + body.get("InstanceInformationFilterList", []):
            # Filters use Key/Values; the older InstanceInformationFilterList uses key/valueSet.
            if (item.get("Key") or item.get("key")) == "InstanceIds":
                wanted = set(item.get("Values") or item.get("valueSet") or [])
        listed = [
            {
                "InstanceId": i["InstanceId"],
                "PingStatus": "Online",
                "PlatformType": "Linux",
                "PlatformName": "Ubuntu",
                "ResourceType": "EC2Instance",
                "IPAddress": i["IPAddress"],
                "ComputerName": i["ComputerName"],
                "AgentVersion": "3.3.0.0",
            }
            for i in self.fleet.describe()
            if wanted is None or i["InstanceId"] in wanted
        ]
        return _page(listed, body, "InstanceInformationList")


def _page(items: list[dict[str, Any]], body: dict[str, Any], key: str) -> dict[str, Any]:
    """One page of a list, as SSM answers it: MaxResults items (50 when not given: the API reference's default for
    ListCommandInvocations and DescribeInstanceInformation), and a NextToken while more remain."""
    try:
        start = int(body.get("NextToken") or 0)
        size = int(body.get("MaxResults") or 50)
    except ValueError:
        raise SsmError("InvalidNextToken", "the NextToken is not one this endpoint gave") from None
    answer: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        answer["NextToken"] = str(start + size)
    return answer


def _filter(given: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """One CommandFilter of ListCommandInvocations (AWS API reference, CommandFilter: key and value)."""
    key, value = str(given.get("key")), str(given.get("value"))
    if key in {"InvokedAfter", "InvokedBefore"}:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise SsmError("InvalidFilterValue", f"{key}: {value!r} is not a timestamp") from None
        if key == "InvokedAfter":
            return lambda r: r["RequestedDateTime"] >= when
        return lambda r: r["RequestedDateTime"] <= when
    if key == "Status":
        return lambda r: r["Status"] == value
    raise SsmError("InvalidFilterKey", f"this emulation does not filter by {key!r}")
