"""S3's meaning of "public", for the lockdown's buckets (envtest/policy/public_access.py).

Cases from the Amazon S3 API reference (PublicAccessBlockConfiguration) and the User Guide ("The meaning of
'public'"): who is everyone, which actions are bad, which conditions pin a statement down.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest.policy.public_access import PolicyUnreadable, public_policy_statements, public_routes

BUCKET = "arn:aws:s3:::login-gov.secrets.123456789012-us-west-2"
ALL_USERS = {
    "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
    "Permission": "READ",
}
OWNER = {"Grantee": {"Type": "CanonicalUser", "ID": "abc"}, "Permission": "FULL_CONTROL"}
BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def policy(principal: Any = "*", action: Any = "s3:GetObject", condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Sid": "S", "Effect": "Allow", "Principal": principal, "Action": action,
                                 "Resource": f"{BUCKET}/*"}  # fmt: skip
    if condition is not None:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.mark.parametrize(
    ("text", "public"),
    [
        (policy("*"), True),
        (policy({"AWS": "*"}), True),
        (policy({"AWS": "arn:aws:iam::123456789012:root"}), False),  # a fixed principal
        (policy("*", "s3:PutObject"), True),
        (policy("*", "s3:*"), True),
        (policy("*", "s3:GetBucketLocation"), True),  # s3:Get* is bad
        (policy("*", "kms:Decrypt"), False),  # no bad action
        (policy("*", condition={"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}), False),
        (policy("*", condition={"StringEquals": {"aws:SourceVpc": "vpc-*"}}), True),  # not a fixed value
        (policy("*", condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}), True),
        (policy("*", condition={"IpAddress": {"aws:SourceIp": "159.142.0.0/16"}}), False),
        (policy("*", condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), True),
        (policy("*", condition={"StringEquals": {"aws:userid": "AROLEID:*"}}), True),
        (policy("*", condition={"StringEquals": {"aws:PrincipalTag/team": "ops"}}), True),
    ],
)
def test_a_policy_is_public_as_s3_defines_it(text: str, public: bool) -> None:
    assert bool(public_policy_statements(text)) is public


def test_the_public_access_block_takes_routes_away() -> None:
    open_policy = policy("*")
    assert public_routes(None, [OWNER, ALL_USERS], open_policy) == [
        "its ACL grants READ to everyone (AllUsers)",
        "its bucket policy: S allows s3:GetObject to everyone",
    ]
    assert public_routes(BLOCKED, [OWNER, ALL_USERS], open_policy) == []
    assert public_routes({"IgnorePublicAcls": True}, [ALL_USERS], open_policy) == [
        "its bucket policy: S allows s3:GetObject to everyone"
    ]
    assert public_routes(None, [OWNER], None) == []


def test_an_unreadable_policy_is_said_so() -> None:
    with pytest.raises(PolicyUnreadable):
        public_policy_statements("{not json")


JSON = st.recursive(
    st.none() | st.booleans() | st.text(max_size=12) | st.integers(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=15,
)


@given(JSON)
def test_any_document_gives_an_answer_or_says_it_is_unreadable(document: Any) -> None:
    try:
        found = public_policy_statements(json.dumps({"Statement": document}))
    except PolicyUnreadable:
        return
    assert isinstance(found, list)
