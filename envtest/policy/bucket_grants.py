"""Whom a bucket policy grants: the accounts (or everyone) each of its Allow statements names.

The GitLab config bucket lives in the GitLab deployment's account and its policy grants s3:GetObject to the root of
each env account (terraform/gitlab/module/s3.tf, allowEnvRunners): every principal of a granted account whose own
policies allow it may read every env's registration token. So the policy's reach is read as a list of accounts,
from the policy alone (IAM User Guide, "AWS JSON policy elements: Principal"):
- `"*"` (or `{"AWS": "*"}`) is everyone; an Allow with NotPrincipal is everyone but the named, so everyone too;
- an account root (`arn:<partition>:iam::<id>:root`), a bare 12-digit id, or any IAM ARN in an account (a role, a
  user) grants into that account;
- another kind of principal (Service, Federated, CanonicalUser) is named as written: it is no env account.
A `"*"` statement pinned by `StringEquals` on `aws:PrincipalAccount` reaches only those accounts; any other
condition is named, not weighed: a grant to everyone under a condition is still a grant this reading cannot bound.
Deny statements grant nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

EVERYONE = "*"
_ACCOUNT_ID = re.compile(r"\d{12}")
_IAM_ARN = re.compile(r"arn:[^:]+:iam::(\d{12}):.+")


class GrantsUnreadable(ValueError):
    """The text is not a JSON policy document."""


@dataclass(frozen=True)
class Grant:
    statement: str  # its Sid, or "statement <n>"
    grantee: str  # an account id, "*" (everyone), or "<kind> <principal>" for a principal of another kind
    actions: tuple[str, ...]
    conditions: tuple[str, ...] = ()  # the condition keys it is under, as "<operator> <key>"

    def describe(self) -> str:
        who = "everyone (*)" if self.grantee == EVERYONE else self.grantee
        if _ACCOUNT_ID.fullmatch(self.grantee):
            who = f"account {self.grantee}"
        under = f" under {', '.join(self.conditions)}" if self.conditions else ""
        return f"{self.statement} grants {', '.join(self.actions) or '(no action)'} to {who}{under}"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _aws_grantee(name: Any) -> str:
    text = str(name)
    if text == EVERYONE:
        return EVERYONE
    if _ACCOUNT_ID.fullmatch(text):
        return text
    found = _IAM_ARN.fullmatch(text)
    return found.group(1) if found else f"AWS {text}"


def _grantees(statement: dict[str, Any]) -> list[str]:
    if "NotPrincipal" in statement:
        return [EVERYONE]  # everyone but the named
    principal = statement.get("Principal")
    if principal == EVERYONE:
        return [EVERYONE]
    if not isinstance(principal, dict):
        return [f"Principal {principal}"] if principal is not None else []
    found = []
    for kind, names in principal.items():
        for name in _list(names):
            found.append(_aws_grantee(name) if kind == "AWS" else f"{kind} {name}")
    return found


def _conditions(statement: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(operator, key, values) for each condition of the statement."""
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return []
    return [
        (str(operator), str(key), [str(v) for v in _list(values)])
        for operator, tests in condition.items()
        if isinstance(tests, dict)
        for key, values in tests.items()
    ]


def grants(policy_text: str | None) -> list[Grant]:
    """Each (statement, grantee) an Allow statement of the policy names, in the policy's order."""
    if not policy_text:
        return []
    try:
        document = json.loads(policy_text)
    except ValueError as exc:
        raise GrantsUnreadable(f"the bucket policy is not a JSON policy document ({exc})") from None
    if not isinstance(document, dict):
        raise GrantsUnreadable("the bucket policy is not a JSON policy document (not an object)")
    found = []
    for number, statement in enumerate(_list(document.get("Statement", [])), start=1):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        name = str(statement.get("Sid") or f"statement {number}")
        actions = tuple(str(a) for a in _list(statement.get("Action", [])) if a is not None)
        if "NotAction" in statement:
            actions = (f"every action but {', '.join(str(a) for a in _list(statement['NotAction']))}",)
        conditions = _conditions(statement)
        pinned = [
            v
            for operator, key, values in conditions
            if operator in {"StringEquals", "StringEqualsIgnoreCase"} and key.lower() == "aws:principalaccount"
            for v in values
        ]
        named = tuple(f"{operator} {key}" for operator, key, _ in conditions)
        for grantee in _grantees(statement):
            if grantee == EVERYONE and pinned:
                # Everyone, but only principals of these accounts: the condition is the grant's reach.
                found += [Grant(name, account, actions) for account in pinned]
            else:
                found.append(Grant(name, grantee, actions, named))
    return found


def outside(found: list[Grant], accounts: list[str]) -> list[Grant]:
    """The grants to anyone but the listed accounts: everyone, another account, another kind of principal."""
    return [g for g in found if g.grantee not in set(accounts)]
