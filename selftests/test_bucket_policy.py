"""The bucket-policy half of the access matrix: allow, deny, silence, and what it refuses to guess."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest.policy.bucket_policy import Undecidable, combine, decide
from envtest.sandbox import estate

ROLE = "arn:aws:iam::123456789012:role/sandbox_worker_iam_role"
ESCROW = "arn:aws:s3:::login-gov-escrow-sandbox.123456789012-us-west-2/envtest-access-probe/worker"


def _decide(policy: object, action: str, resource: str = ESCROW) -> str:
    return decide(json.dumps(policy), principal_arn=ROLE, account="123456789012", action=action, resource=resource)


def test_the_escrow_policy_denies_deletes_and_says_nothing_of_puts() -> None:
    policy = estate.escrow_bucket_policy("sandbox")
    assert _decide(policy, "s3:DeleteObject") == "explicitDeny"
    assert _decide(policy, "s3:PutObject") == "neutral"
    assert decide(None, principal_arn=ROLE, account="123456789012", action="s3:GetObject", resource=ESCROW) == "neutral"


def test_an_allow_names_the_role_or_the_account() -> None:
    for principal in ({"AWS": ROLE}, {"AWS": ["arn:aws:iam::123456789012:root"]}, "*", {"AWS": "123456789012"}):
        statement = {"Effect": "Allow", "Principal": principal, "Action": "s3:Get*", "Resource": "arn:aws:s3:::*"}
        assert _decide({"Statement": [statement]}, "s3:GetObject") == "allowed", principal
    other = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "*", "Resource": "*"}
    assert _decide({"Statement": other}, "s3:GetObject") == "neutral"


def test_secure_transport_conditions_are_decided_and_unknown_ones_are_not_guessed() -> None:
    insecure = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert _decide({"Statement": [insecure]}, "s3:GetObject") == "neutral"
    vpce = {**insecure, "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0abc"}}}
    with pytest.raises(Undecidable, match="aws:SourceVpce"):
        _decide({"Statement": [vpce]}, "s3:GetObject")
    with pytest.raises(Undecidable, match="NotPrincipal"):
        _decide({"Statement": [{"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "*", "Resource": "*"}]}, "x")


def test_explicit_deny_wins_then_any_allow() -> None:
    assert combine("allowed", "explicitDeny") == "explicitDeny"
    assert combine("explicitDeny", "allowed") == "explicitDeny"
    assert combine("implicitDeny", "allowed") == "allowed"
    assert combine("allowed", "neutral") == "allowed"
    assert combine("implicitDeny", "neutral") == "implicitDeny"


@given(st.text(max_size=200))
def test_any_text_as_a_policy_is_a_decision_or_undecidable(text: str) -> None:
    try:
        verdict = decide(text, principal_arn=ROLE, account="123456789012", action="s3:GetObject", resource=ESCROW)
    except Undecidable:
        return
    assert verdict in {"explicitDeny", "allowed", "neutral"}
