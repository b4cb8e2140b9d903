"""Does a bucket policy allow, deny, or say nothing about one request?

IAM's policy simulator cannot take a bucket policy for a role (with a role as
PolicySourceArn, a ResourcePolicy needs a CallerArn that can only be an IAM
user), so the access matrix asks the simulator about the role's own policies
and evaluates the bucket policy here, for a described request: the role's
instance calling S3 through the VPC's gateway endpoint (`Request`).

Semantics, from AWS's IAM documentation:
- Principal (Policies: "AWS JSON policy elements: Principal"): "*" and the
  role's own ARN apply to the role. A principal naming the *account*
  (arn:<partition>:iam::<acct>:root, or the bare id) delegates to the
  account's identity policies: within one account an Allow so written grants
  the role nothing by itself; a Deny so written denies every principal of the
  account.
- Across accounts ("Cross-account policy evaluation logic"): the bucket's
  owner must allow the request and so must the caller's own account. An Allow
  naming the caller's account is then the bucket side's allow (the account's
  identity policies decide which of its principals use it), and `combine`
  needs both sides.
- Conditions ("Condition operators"): a key absent from the request makes the
  condition false, except for the negated operators (StringNot*, ArnNot*,
  NotIpAddress), which are then true; `...IfExists` is true when the key is
  absent; `Null` tests presence. Several keys or operators are ANDed; several
  values of one key ORed (NORed for negated operators).
A key the described request might or might not carry (one this model does not
know) makes the answer undecidable: the cell errors and names the statement,
rather than guessing.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Undecidable(ValueError):
    """The policy applies, but whether it allows or denies depends on something the request model does not know."""


@dataclass(frozen=True)
class Request:
    """Who asks, from where: the keys the request carries, and those it is known not to carry."""

    principal_arn: str
    account: str
    partition: str = "aws"
    context: Mapping[str, str] = field(default_factory=dict)
    absent: frozenset[str] = frozenset()

    @property
    def account_root(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:root"


def through_gateway_endpoint(
    principal_arn: str, account: str, partition: str, *, vpc: str, endpoint: str, source_ip: str
) -> Request:
    """A request from an instance of the role to S3 through the VPC's gateway endpoint.

    AWS's global condition keys: through a VPC endpoint the request carries aws:SourceVpc, aws:SourceVpce and
    aws:VpcSourceIp (the instance's private address), and not aws:SourceIp.
    """
    context = {
        "aws:PrincipalArn": principal_arn,
        "aws:PrincipalAccount": account,
        "aws:SecureTransport": "true",
        "aws:SourceVpc": vpc,
        "aws:SourceVpce": endpoint,
        "aws:VpcSourceIp": source_ip,
    }
    return Request(principal_arn, account, partition, context, frozenset({"aws:SourceIp"}))


def _ip_in(value: str, pattern: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(pattern, strict=False)
    except ValueError:
        return False


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
    "IpAddress": _ip_in,
    "NotIpAddress": lambda v, p: not _ip_in(v, p),
}
NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
    "NotIpAddress",
}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(patterns: Any, value: str, *, ignore_case: bool) -> bool:
    if ignore_case:
        return any(fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in _list(patterns))
    return any(fnmatch.fnmatchcase(value, str(p)) for p in _list(patterns))


def _principal_applies(statement: dict[str, Any], request: Request, *, across: bool) -> bool:
    if "NotPrincipal" in statement:
        raise Undecidable(f"statement {statement.get('Sid', '(no Sid)')} uses NotPrincipal")
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    names = {str(p) for p in _list(principal.get("AWS", []))}
    if "*" in names or request.principal_arn in names:
        return True
    # The account: a Deny reaches every principal in it. An Allow delegates to its identity policies: within the
    # account that grants nothing by itself; from another account's bucket it is the owner's half of the grant.
    names_account = bool(names & {request.account, request.account_root})
    return names_account and (statement.get("Effect") == "Deny" or across)


def _condition_holds(statement: dict[str, Any], request: Request) -> bool:
    sid = statement.get("Sid", "(no Sid)")
    for operator, tests in (statement.get("Condition") or {}).items():
        if operator.startswith("For"):
            raise Undecidable(f"statement {sid}: set operator {operator} is not evaluated here")
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        for key, expected in tests.items():
            wanted = [str(e) for e in _list(expected)]
            if base == "Null":
                present = key in request.context
                if key not in request.context and key not in request.absent:
                    raise Undecidable(f"statement {sid}: Null test on {key}, which this request model does not know")
                if not any((e.lower() == "true") != present for e in wanted):
                    return False
                continue
            if base not in STRING_OPERATORS:
                raise Undecidable(f"statement {sid}: condition operator {operator} is not evaluated here")
            if key not in request.context:
                if key not in request.absent:
                    raise Undecidable(f"statement {sid}: condition on {key}, which this request model does not know")
                if if_exists or base in NEGATED:
                    continue  # absent key: IfExists and negated operators hold
                return False
            value, check = request.context[key], STRING_OPERATORS[base]
            holds = all(check(value, e) for e in wanted) if base in NEGATED else any(check(value, e) for e in wanted)
            if not holds:
                return False
    return True


def decide(
    policy_text: str | None, request: Request, *, action: str, resource: str, bucket_account: str | None = None
) -> str:
    """ "explicitDeny", "allowed" or "neutral" (the policy grants the request nothing); Undecidable when unknown.

    `bucket_account`: the account that owns the bucket, when known; another than the caller's makes the request a
    cross-account one (see the module's docstring)."""
    across = bucket_account is not None and bucket_account != request.account
    if not policy_text:
        return "neutral"
    try:
        statements = _list(json.loads(policy_text).get("Statement", []))
    except (ValueError, AttributeError) as exc:
        raise Undecidable(f"the bucket policy is not a JSON policy document ({exc})") from None
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
        if not _principal_applies(statement, request, across=across) or not _condition_holds(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return "explicitDeny"
        if statement.get("Effect") == "Allow":
            verdict = "allowed"
    return verdict


def combine(identity: str, bucket: str, *, same_account: bool = True) -> str:
    """An explicit deny anywhere wins; else, within one account, an allow from either side allows; across
    accounts both sides must allow."""
    if "explicitDeny" in (identity, bucket):
        return "explicitDeny"
    if same_account:
        return "allowed" if "allowed" in (identity, bucket) else "implicitDeny"
    return "allowed" if identity == bucket == "allowed" else "implicitDeny"
