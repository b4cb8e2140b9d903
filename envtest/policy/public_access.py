"""Whether a bucket's own settings give the public a way in: its ACL, its bucket policy, its public access block.

What counts as public is Amazon S3's own definition (Amazon S3 API reference, PublicAccessBlockConfiguration,
and the User Guide's "The meaning of 'public'"):
- an ACL is public when it grants anything to the AllUsers or AuthenticatedUsers group;
- a bucket policy is public unless every statement that allows a "bad action" (s3:Get*, s3:List*,
  s3:AbortMultipartUpload, s3:Delete*, s3:Put*, s3:RestoreObject) to everyone either limits it with
  aws:SourceIp to a set of CIDRs, or with a fixed value of aws:SourceArn, aws:SourceVpc, aws:SourceVpce,
  aws:SourceOwner, aws:SourceAccount, s3:x-amz-server-side-encryption-aws-kms-key-id or aws:userid (outside
  the pattern "AROLEID:*");
- the bucket's public access block takes a route away: IgnorePublicAcls the ACL's, RestrictPublicBuckets the
  policy's (Block* only stop new ones from being written).
The account's own public access block (s3control) is not read: a route found here is the bucket's own, a
finding even where the account's block hides it today.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
from typing import Any

PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "everyone (AllUsers)",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "every AWS account (AuthenticatedUsers)",
}
BAD_ACTIONS = ("s3:Get*", "s3:List*", "s3:AbortMultipartUpload", "s3:Delete*", "s3:Put*", "s3:RestoreObject")
# One concrete action per bad family: an action pattern in a policy is bad when it matches one of these.
BAD_SAMPLES = ("s3:GetObject", "s3:ListBucket", "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject",
               "s3:RestoreObject", "s3:GetObjectAcl", "s3:PutBucketPolicy", "s3:ListBucketVersions")  # fmt: skip
FIXED_KEYS = {
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "aws:userid",
}


class PolicyUnreadable(ValueError):
    pass


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def public_acl_grants(grants: list[dict[str, Any]]) -> list[str]:
    """ "<permission> to <group>" for each grant to a public group."""
    found = []
    for grant in grants:
        uri = (grant.get("Grantee") or {}).get("URI", "")
        if uri in PUBLIC_GROUPS:
            found.append(f"{grant.get('Permission', '?')} to {PUBLIC_GROUPS[uri]}")
    return found


def _everyone(statement: dict[str, Any]) -> bool:
    if "NotPrincipal" in statement:
        return True  # everyone but the named: public
    principal = statement.get("Principal")
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _list(principal.get("AWS", []))


def _bad(statement: dict[str, Any]) -> bool:
    if "NotAction" in statement:
        return True  # every action but a few: bad actions included
    actions = [str(a) for a in _list(statement.get("Action", []))]
    return any(
        fnmatch.fnmatchcase(a.lower(), bad.lower()) or fnmatch.fnmatchcase(sample.lower(), a.lower())
        for a in actions
        for bad in BAD_ACTIONS
        for sample in BAD_SAMPLES
    )


def _fixed(value: Any) -> bool:
    return all(isinstance(v, str) and v and "*" not in v and "?" not in v for v in _list(value))


def _limited(condition: Any) -> bool:
    """The statement's conditions pin it to a fixed source, as S3's definition of non-public asks."""
    if not isinstance(condition, dict):
        return False
    for operator, pairs in condition.items():
        if not isinstance(pairs, dict) or "Not" in str(operator) or str(operator).endswith("IfExists"):
            continue  # a negated or optional test never pins a request down
        for key, value in pairs.items():
            name = str(key).lower()
            if name == "aws:sourceip" and str(operator) == "IpAddress":
                try:
                    if all(ipaddress.ip_network(str(v), strict=False).prefixlen > 0 for v in _list(value)):
                        return True
                except ValueError:
                    continue
            elif name in FIXED_KEYS and _fixed(value):
                if name == "aws:userid" and any(str(v).endswith(":*") for v in _list(value)):
                    continue
                return True
    return False


def public_policy_statements(policy_text: str | None) -> list[str]:
    """Each statement of the bucket policy that makes it public, described by its Sid (or position) and actions."""
    if not policy_text:
        return []
    try:
        statements = _list(json.loads(policy_text).get("Statement", []))
    except (ValueError, AttributeError) as exc:
        raise PolicyUnreadable(f"the bucket policy is not a JSON policy document ({exc})") from None
    found = []
    for number, statement in enumerate(statements, start=1):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if _everyone(statement) and _bad(statement) and not _limited(statement.get("Condition")):
            name = statement.get("Sid") or f"statement {number}"
            actions = ", ".join(str(a) for a in _list(statement.get("Action", statement.get("NotAction", []))))
            found.append(f"{name} allows {actions} to everyone")
    return found


def public_routes(block: dict[str, Any] | None, grants: list[dict[str, Any]], policy_text: str | None) -> list[str]:
    """The ways in the bucket's own settings leave open to the public (empty: none)."""
    block = block or {}
    routes = []
    if not block.get("IgnorePublicAcls"):
        routes += [f"its ACL grants {grant}" for grant in public_acl_grants(grants)]
    if not block.get("RestrictPublicBuckets"):
        routes += [f"its bucket policy: {statement}" for statement in public_policy_statements(policy_text)]
    return routes
