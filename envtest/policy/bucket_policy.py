"""Does a bucket policy allow, deny, or say nothing about one principal's action on one resource?

IAM's policy simulator cannot take a bucket policy for a role (with a role as
PolicySourceArn, a ResourcePolicy needs a CallerArn that can only be an IAM
user), so the access matrix asks the simulator about the role's own policies
and evaluates the bucket policy here. A statement that applies but whose
condition depends on something not known before a real request (a VPC
endpoint id, a source IP) makes the answer undecidable: the cell errors and
says which statement, rather than guessing.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any


class Undecidable(ValueError):
    """The policy applies, but whether it allows or denies depends on a request we are not making."""


STRING_OPERATORS = {
    "StringEquals": lambda v, p: v == p,
    "StringNotEquals": lambda v, p: v != p,
    "StringEqualsIgnoreCase": lambda v, p: v.lower() == p.lower(),
    "StringNotEqualsIgnoreCase": lambda v, p: v.lower() != p.lower(),
    "StringLike": fnmatch.fnmatchcase,
    "StringNotLike": lambda v, p: not fnmatch.fnmatchcase(v, p),
    "ArnEquals": lambda v, p: v == p,
    "ArnNotEquals": lambda v, p: v != p,
    "ArnLike": fnmatch.fnmatchcase,
    "ArnNotLike": lambda v, p: not fnmatch.fnmatchcase(v, p),
    "Bool": lambda v, p: v.lower() == p.lower(),
}
NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(patterns: Any, value: str, *, ignore_case: bool) -> bool:
    if ignore_case:
        return any(fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in _list(patterns))
    return any(fnmatch.fnmatchcase(value, str(p)) for p in _list(patterns))


def _principal_applies(statement: dict[str, Any], principal_arn: str, account: str) -> bool:
    if "NotPrincipal" in statement:
        raise Undecidable(f"statement {statement.get('Sid', '(no Sid)')} uses NotPrincipal")
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    names = [str(p) for p in _list(principal.get("AWS", []))]
    return any(n in {"*", principal_arn, account, f"arn:aws:iam::{account}:root"} for n in names)


def _condition_holds(statement: dict[str, Any], context: dict[str, str]) -> bool:
    sid = statement.get("Sid", "(no Sid)")
    for operator, tests in (statement.get("Condition") or {}).items():
        base = operator.removesuffix("IfExists")
        if base not in STRING_OPERATORS or operator.startswith("For"):
            raise Undecidable(f"statement {sid}: condition operator {operator} is not evaluated here")
        for key, expected in tests.items():
            if key not in context:
                raise Undecidable(f"statement {sid}: condition on {key}, which only a real request carries")
            value, check = context[key], STRING_OPERATORS[base]
            wanted = [str(e) for e in _list(expected)]
            holds = all(check(value, e) for e in wanted) if base in NEGATED else any(check(value, e) for e in wanted)
            if not holds:
                return False
    return True


def decide(policy_text: str | None, *, principal_arn: str, account: str, action: str, resource: str) -> str:
    """ "explicitDeny", "allowed" or "neutral" (the policy says nothing); Undecidable when a condition decides."""
    if not policy_text:
        return "neutral"
    try:
        statements = _list(json.loads(policy_text).get("Statement", []))
    except (ValueError, AttributeError) as exc:
        raise Undecidable(f"the bucket policy is not a JSON policy document ({exc})") from None
    context = {"aws:SecureTransport": "true", "aws:PrincipalArn": principal_arn, "aws:PrincipalAccount": account}
    verdict = "neutral"
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        if "NotAction" in statement:
            if _matches(statement["NotAction"], action, ignore_case=True):
                continue
        elif not _matches(statement.get("Action", []), action, ignore_case=True):
            continue
        if "NotResource" in statement:
            if _matches(statement["NotResource"], resource, ignore_case=False):
                continue
        elif not _matches(statement.get("Resource", []), resource, ignore_case=False):
            continue
        if not _principal_applies(statement, principal_arn, account) or not _condition_holds(statement, context):
            continue
        if statement.get("Effect") == "Deny":
            return "explicitDeny"
        if statement.get("Effect") == "Allow":
            verdict = "allowed"
    return verdict


def combine(identity: str, bucket: str) -> str:
    """Same-account evaluation: an explicit deny anywhere wins; else an allow from either side allows."""
    if "explicitDeny" in (identity, bucket):
        return "explicitDeny"
    return "allowed" if "allowed" in (identity, bucket) else "implicitDeny"
