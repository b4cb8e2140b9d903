"""Whom a bucket policy grants: the accounts (or everyone) its Allow statements name, read from the policy alone."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest.policy.bucket_grants import Grant, GrantsUnreadable, grants, outside

BUCKET = "arn:aws:s3:::login-gov-production-gitlabconfig-217680906704-us-west-2"


def _policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(principal: object, **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": f"{BUCKET}/*", **extra}


def test_the_gitlab_modules_policy_grants_each_listed_accounts_root() -> None:
    """terraform/gitlab/module/s3.tf: allowEnvRunners, s3:GetObject to formatlist("arn:aws:iam::%s:root", ...)."""
    roots = [f"arn:aws:iam::{a}:root" for a in ("894947205914", "034795980528")]
    found = grants(_policy(_allow({"AWS": roots}, Sid="allowEnvRunners")))
    assert [g.grantee for g in found] == ["894947205914", "034795980528"]
    assert all(g.statement == "allowEnvRunners" and g.actions == ("s3:GetObject",) for g in found)
    assert outside(found, ["894947205914", "034795980528", "217680906704"]) == []


def test_roles_bare_ids_and_everyone_are_named_by_their_account_or_as_everyone() -> None:
    found = grants(
        _policy(
            _allow({"AWS": "arn:aws:iam::111122223333:role/some-role"}),
            _allow({"AWS": "444455556666"}),
            _allow("*"),
            _allow({"AWS": ["*"]}),
        )
    )
    assert [g.grantee for g in found] == ["111122223333", "444455556666", "*", "*"]
    assert [g.grantee for g in outside(found, ["444455556666"])] == ["111122223333", "*", "*"]


def test_everyone_limited_to_listed_accounts_by_a_condition_grants_those_accounts() -> None:
    """A `*` statement pinned by StringEquals aws:PrincipalAccount reaches only those accounts."""
    pinned = _allow("*", Condition={"StringEquals": {"aws:PrincipalAccount": ["894947205914"]}})
    assert [g.grantee for g in grants(_policy(pinned))] == ["894947205914"]
    # Any other condition leaves it a grant to everyone (its reach is not read here); the condition is named.
    org = _allow("*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc"}})
    [grant] = grants(_policy(org))
    assert grant.grantee == "*" and "aws:PrincipalOrgID" in grant.describe()


def test_denies_grant_nothing_and_other_principal_kinds_are_outside_any_list() -> None:
    deny = {**_allow("*"), "Effect": "Deny"}
    service = _allow({"Service": "cloudfront.amazonaws.com"})
    found = grants(_policy(deny, service))
    assert [g.grantee for g in found] == ["Service cloudfront.amazonaws.com"]
    assert outside(found, ["894947205914"]) == found
    notprincipal = {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "*", "Resource": "*"}
    assert [g.grantee for g in grants(_policy(notprincipal))] == ["*"]  # everyone but the named: everyone


def test_no_policy_grants_nothing_and_a_broken_one_is_unreadable() -> None:
    assert grants(None) == [] and grants("") == []
    with pytest.raises(GrantsUnreadable):
        grants("{not json")
    assert Grant("s1", "*", ("s3:GetObject",)).describe() == "s1 grants s3:GetObject to everyone (*)"


@given(
    st.recursive(
        st.none() | st.booleans() | st.text(max_size=20),
        lambda c: st.lists(c) | st.dictionaries(st.text(max_size=12), c),
        max_leaves=20,
    )
)
def test_any_json_as_a_policy_gives_grants_or_is_unreadable(document: object) -> None:
    try:
        found = grants(json.dumps(document))
    except GrantsUnreadable:
        return
    assert all(isinstance(g, Grant) and g.grantee for g in found)
