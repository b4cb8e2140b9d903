"""Which calls the suite's IAM policies (iam/*.json) allow: Allow statements, actions and resources by wildcard.

Conditions are not evaluated (only ssm:SendCommand's instance-tag condition has one; the sandbox's instances
carry the tags it names). The API operation is mapped to the IAM action IAM evaluates (Service Authorization
Reference: HeadBucket needs s3:ListBucket, HeadObject s3:GetObject, ListObjectVersions s3:ListBucketVersions,
a DeleteObject with a version id s3:DeleteObjectVersion; the elbv2 API's actions are elasticloadbalancing:*).
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACTION_OF = {
    "s3:HeadBucket": ["s3:ListBucket"],
    "s3:HeadObject": ["s3:GetObject"],
    "s3:ListObjectVersions": ["s3:ListBucketVersions"],
    "s3:GetPublicAccessBlock": ["s3:GetBucketPublicAccessBlock"],
    # Without a version id the call needs DeleteObject, with one DeleteObjectVersion: the run's record does not
    # say which, so both must be allowed.
    "s3:DeleteObject": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
}


def statements(*names: str) -> list[dict[str, Any]]:
    out = []
    for name in names:
        out.extend(json.loads((ROOT / "iam" / name).read_text())["Statement"])
    return out


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def iam_actions(operation: str) -> list[str]:
    service, name = operation.split(":", 1)
    if service == "elbv2":
        return [f"elasticloadbalancing:{name}"]
    return ACTION_OF.get(operation, [operation])


def allows(policy: list[dict[str, Any]], action: str, resource: str = "*") -> bool:
    for statement in policy:
        if statement.get("Effect") != "Allow":
            continue
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _listed(statement["Action"])):
            continue
        if any(fnmatch.fnmatchcase(resource, r) for r in _listed(statement.get("Resource", "*"))):
            return True
    return False


def refused(policy: list[dict[str, Any]], record: dict[str, Any]) -> list[str]:
    """The operations, and S3 resources, of a run's .api-calls.json record that the policy does not allow."""
    missing = [op for op in record["calls"] if not all(_any_resource(policy, a) for a in iam_actions(op))]
    for entry in record.get("s3_resources", []):
        operation, resource = entry.split(" ", 1)
        if operation == "s3:HeadBucket" or "/" not in resource.removeprefix("arn:aws:s3:::"):
            resource = resource.split("/", 1)[0]
        missing += [f"{a} {resource}" for a in iam_actions(operation) if not allows(policy, a, resource)]
    return missing


def _any_resource(policy: list[dict[str, Any]], action: str) -> bool:
    """The action is allowed on some resource (its resources are checked apart, for S3)."""
    return any(
        st.get("Effect") == "Allow"
        and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _listed(st["Action"]))
        for st in policy
    )
