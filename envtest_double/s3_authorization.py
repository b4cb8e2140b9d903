"""How S3 decides a request against a bucket policy: the sandbox's own model, written from AWS's documentation.

The sandbox answers S3 for the operator (moto_server.py) and for the emulated instances (instances_endpoint/
instance_s3.py). It must not borrow the suite's judge (envtest/policy/bucket_policy.py): a rule wrong there
would then be wrong on both sides and no fault could show it. So this module is written from the documents,
step by step, and tested against their own examples (selftests/test_s3_authorization.py):

- IAM User Guide, "Policy evaluation logic": an explicit Deny in any applicable policy wins; otherwise an
  Allow is needed; otherwise the request is implicitly denied. Within one account, an Allow in either the
  identity-based or the resource-based policy allows; across accounts both must allow ("Cross-account policy
  evaluation logic").
- IAM User Guide, "AWS JSON policy elements: Principal": `"*"` is everyone; an IAM role ARN is that role; an
  account (`arn:aws:iam::<id>:root` or the bare 12-digit id) means the account, whose administrators then
  decide through identity policies: such an Allow gives a role nothing by itself, and such a Deny applies to
  every identity in the account. Across accounts such an Allow is the bucket owner's half of the grant ("you
  must also grant the identity permission in its own account"): the resource side then allows.
- "Action", "Resource" (and NotAction/NotResource): `*` and `?` wildcards; actions are case-insensitive.
- "IAM JSON policy elements: Condition operators": each operator block and each key in it must hold (AND);
  several values of one key: any (OR), but for a negated operator none may match (NOR); a key missing from
  the request fails the condition, except for a negated operator or an `...IfExists` operator, which hold;
  `Null` tests whether a key is present.
- "AWS global condition context keys": through a VPC endpoint a request carries aws:SourceVpc,
  aws:SourceVpce and aws:VpcSourceIp, and no aws:SourceIp; from the internet the reverse.

What this model does not cover (set operators ForAnyValue/ForAllValues, NotPrincipal, policy variables)
raises NotModelled: the sandbox then refuses the request and says why, instead of guessing.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DENY, ALLOW, NO_OPINION = "explicit deny", "allow", "no opinion"


class NotModelled(ValueError):
    """The policy uses something this model does not evaluate."""


@dataclass(frozen=True)
class Caller:
    """Who sends the request, and the condition keys the request carries."""

    arn: str  # arn:aws:iam::<account>:role/<name>, or a user
    keys: Mapping[str, str] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]


def via_vpc_endpoint(arn: str, *, vpc: str, endpoint: str, private_ip: str) -> Caller:
    """An instance profile's request to S3 through the VPC's gateway endpoint."""
    return Caller(
        arn,
        {
            "aws:PrincipalArn": arn,
            "aws:PrincipalAccount": arn.split(":")[4],
            "aws:SecureTransport": "true",
            "aws:SourceVpc": vpc,
            "aws:SourceVpce": endpoint,
            "aws:VpcSourceIp": private_ip,
        },
    )


def from_internet(arn: str, public_ip: str) -> Caller:
    """A request over the internet (the operator's, from the sandbox's loopback)."""
    return Caller(
        arn,
        {
            "aws:PrincipalArn": arn,
            "aws:PrincipalAccount": arn.split(":")[4],
            "aws:SecureTransport": "false",
            "aws:SourceIp": public_ip,
        },
    )


def _wildcard(pattern: str, *, fold: bool) -> re.Pattern[str]:
    text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(text, re.IGNORECASE | re.DOTALL if fold else re.DOTALL)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _named(patterns: Any, value: str, *, fold: bool) -> bool:
    return any(_wildcard(str(p), fold=fold).fullmatch(value) for p in _as_list(patterns))


def _is_account(name: str, account: str) -> bool:
    return name in {account, f"arn:aws:iam::{account}:root"}


def _principal_covers(statement: Mapping[str, Any], caller: Caller, *, other_account: bool) -> bool:
    if "NotPrincipal" in statement:
        raise NotModelled("NotPrincipal")
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    names = [str(n) for n in _as_list(principal.get("AWS", []))]
    if "*" in names or caller.arn in names:
        return True
    if any(_is_account(n, caller.account) for n in names):
        # The account, not the role: a Deny covers every identity in it; an Allow delegates, which from another
        # account's bucket is that owner's allow (the caller's own policies must still allow: `allowed`).
        return statement.get("Effect") == "Deny" or other_account
    return False


def _address_in(value: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


# operator -> (does one value match, is the operator negated)
OPERATORS: dict[str, tuple[Any, bool]] = {
    "StringEquals": (lambda v, e: v == e, False),
    "StringNotEquals": (lambda v, e: v == e, True),
    "StringEqualsIgnoreCase": (lambda v, e: v.casefold() == e.casefold(), False),
    "StringNotEqualsIgnoreCase": (lambda v, e: v.casefold() == e.casefold(), True),
    "StringLike": (lambda v, e: bool(_wildcard(e, fold=False).fullmatch(v)), False),
    "StringNotLike": (lambda v, e: bool(_wildcard(e, fold=False).fullmatch(v)), True),
    "ArnEquals": (lambda v, e: v == e, False),
    "ArnLike": (lambda v, e: bool(_wildcard(e, fold=False).fullmatch(v)), False),
    "ArnNotEquals": (lambda v, e: v == e, True),
    "ArnNotLike": (lambda v, e: bool(_wildcard(e, fold=False).fullmatch(v)), True),
    "Bool": (lambda v, e: v.lower() == e.lower(), False),
    "IpAddress": (_address_in, False),
    "NotIpAddress": (_address_in, True),
}


def _conditions_hold(statement: Mapping[str, Any], caller: Caller) -> bool:
    for operator, block in (statement.get("Condition") or {}).items():
        if operator.startswith(("ForAnyValue:", "ForAllValues:")):
            raise NotModelled(f"set operator {operator}")
        name = operator.removesuffix("IfExists")
        for key, expected in block.items():
            values = [str(e) for e in _as_list(expected)]
            present = key in caller.keys
            if name == "Null":
                if not any((v.lower() == "true") == (not present) for v in values):
                    return False
                continue
            if name not in OPERATORS:
                raise NotModelled(f"condition operator {operator}")
            matches, negated = OPERATORS[name]
            if not present:
                if negated or operator.endswith("IfExists"):
                    continue
                return False
            hits = [matches(caller.keys[key], v) for v in values]
            if (any(hits) if not negated else not any(hits)) is False:
                return False
    return True


def resource_policy_says(
    policy_text: str | None, caller: Caller, action: str, resource: str, *, bucket_account: str | None = None
) -> str:
    """DENY, ALLOW or NO_OPINION: what one bucket policy says about one request (`bucket_account`: the bucket's
    owner, when it is known to be another account than the caller's)."""
    other_account = bucket_account is not None and bucket_account != caller.account
    if not policy_text:
        return NO_OPINION
    document = json.loads(policy_text)
    said = NO_OPINION
    for statement in _as_list(document.get("Statement", [])):
        if "NotAction" in statement:
            if _named(statement["NotAction"], action, fold=True):
                continue
        elif not _named(statement.get("Action", []), action, fold=True):
            continue
        if "NotResource" in statement:
            if _named(statement["NotResource"], resource, fold=False):
                continue
        elif not _named(statement.get("Resource", []), resource, fold=False):
            continue
        if not (
            _principal_covers(statement, caller, other_account=other_account) and _conditions_hold(statement, caller)
        ):
            continue
        if statement.get("Effect") == "Deny":
            return DENY
        said = ALLOW
    return said


def allowed(identity: str, resource_policy: str, *, same_account: bool) -> bool:
    """The final decision from what the caller's identity policies and the bucket policy each said."""
    if DENY in (identity, resource_policy):
        return False
    if same_account:
        return ALLOW in (identity, resource_policy)
    return identity == ALLOW and resource_policy == ALLOW
