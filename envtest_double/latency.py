"""AWS's latency, as a model the fault proxy (chaos.py) applies in front of the sandbox.

moto answers in a millisecond or two, and the sandbox's SSM runs a command the
moment it is sent, so a benchmark against them cannot show what a run costs
against a real account. With `--benchmark --latency aws`, every request waits
as long as the model says its operation takes before it is forwarded, and an
SSM command reads as InProgress until `SSM_COMPLETION` seconds after it was
sent (or later, if the command itself runs longer).

Where each figure comes from. No AWS document states per-operation latencies
for the control-plane APIs; the figures are round numbers at the slow end of
what is commonly seen from inside the same region, and each is a parameter
(`--latency FILE.json` replaces any of them). The run itself records the
seconds it spent in each operation (`report/junit.api-calls.json`,
"api_seconds_by_operation"): a run against a real account gives the figures
to put here.

- S3 object reads: tens of milliseconds. "Best Practices Design Patterns:
  Optimizing Amazon S3 Performance", section "Timeouts and Retries for
  Latency-Sensitive Applications": for requests under 512 KB, "median
  latencies often in the range of tens of milliseconds".
- SSM RunCommand: SendCommand returns at once, but an invocation does not exist
  for a moment (aws-cli issue #3546, aws-sdk issue #190: ListCommandInvocations
  right after SendCommand returns an empty list, "if I sleep for a second it
  works") and the agent then runs the command and uploads its output. 1.5 s
  from SendCommand to a finished short command is the model; botocore's own
  `command_executed` waiter does not look before 5 s (its waiters-2.json:
  delay 5, maxAttempts 20).
- IAM is a global service served from us-east-1: a call from us-west-2 pays a
  cross-region round trip (about 65-75 ms between Oregon and Virginia) on top
  of its work; the simulator evaluates policies, so it is modelled slowest.
- EC2, Auto Scaling, ECR, ElastiCache, STS and SSM's reads: regional query
  APIs, modelled at 80-150 ms.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Seconds per operation: a service's default, then per-operation figures.
SERVICE_SECONDS: dict[str, float] = {
    "ec2": 0.15,
    "autoscaling": 0.12,
    "s3": 0.04,
    "ecr": 0.10,
    "elasticache": 0.15,
    "iam": 0.25,
    "sts": 0.08,
    "ssm": 0.08,
    "logs": 0.10,
}
OPERATION_SECONDS: dict[str, float] = {
    "iam:SimulatePrincipalPolicy": 0.35,
    "ssm:SendCommand": 0.15,
    "sts:GetCallerIdentity": 0.05,
}
SSM_COMPLETION = 1.5
UNKNOWN_SECONDS = 0.10

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")


@dataclass(frozen=True)
class LatencyModel:
    service_seconds: dict[str, float] = field(default_factory=lambda: dict(SERVICE_SECONDS))
    operation_seconds: dict[str, float] = field(default_factory=lambda: dict(OPERATION_SECONDS))
    ssm_completion: float = SSM_COMPLETION

    def seconds(self, operation: str) -> float:
        """How long the model says one call of `service:Operation` takes."""
        if operation in self.operation_seconds:
            return self.operation_seconds[operation]
        return self.service_seconds.get(operation.split(":", 1)[0], UNKNOWN_SECONDS)

    def describe(self) -> dict[str, Any]:
        return {
            "service_seconds": self.service_seconds,
            "operation_seconds": self.operation_seconds,
            "ssm_completion": self.ssm_completion,
        }

    @classmethod
    def load(cls, spec: str) -> LatencyModel:
        """`aws` (the figures above), or a JSON file with any of describe()'s keys to replace them."""
        if spec == "aws":
            return cls()
        data = json.loads(Path(spec).read_text())
        return cls(
            {**SERVICE_SECONDS, **data.get("service_seconds", {})},
            {**OPERATION_SECONDS, **data.get("operation_seconds", {})},
            float(data.get("ssm_completion", SSM_COMPLETION)),
        )


def operation_of(method: str, path: str, headers: Any, body: bytes) -> str:
    """`service:Operation` of a signed AWS request, from its signature scope and its protocol."""
    match = _SCOPE.search(str(headers.get("Authorization") or ""))
    service = match.group(1) if match else "unknown"
    target = headers.get("X-Amz-Target")
    if target:  # JSON protocols: "AmazonSSM.SendCommand"
        return f"{service}:{str(target).rsplit('.', 1)[-1]}"
    action = re.search(rb"(?:^|&)Action=([A-Za-z0-9]+)", body or b"")
    if action:  # query protocols (EC2, Auto Scaling, IAM, STS, ElastiCache)
        return f"{service}:{action.group(1).decode()}"
    if service == "s3":
        return f"s3:{_s3_operation(method, path)}"
    return f"{service}:{method}"


def _s3_operation(method: str, path: str) -> str:
    route, _, query = path.partition("?")
    parts = [p for p in route.split("/") if p]
    # Path-style: /bucket or /bucket/key.
    on_object = len(parts) > 1
    if "policy" in query.split("&"):
        return {"GET": "GetBucketPolicy", "PUT": "PutBucketPolicy", "DELETE": "DeleteBucketPolicy"}.get(method, method)
    if method == "HEAD":
        return "HeadObject" if on_object else "HeadBucket"
    if method == "GET":
        return "GetObject" if on_object else "ListObjects"
    return {"PUT": "PutObject", "DELETE": "DeleteObject", "POST": "PostObject"}.get(method, method)
