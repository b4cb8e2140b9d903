"""The bucket-policy half of the access matrix: allow, deny, silence, and what it refuses to guess."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest.policy.bucket_policy import Request, Undecidable, combine, decide, through_gateway_endpoint
from envtest_double import app_access

ROLE = "arn:aws:iam::123456789012:role/sandbox_worker_iam_role"
ESCROW = "arn:aws:s3:::login-gov-escrow-sandbox.123456789012-us-west-2/envtest-access-probe/worker"
# A request from the worker's instance (an address in the VPC) through the S3 gateway endpoint.
INSIDE = through_gateway_endpoint(ROLE, "123456789012", "aws", vpc="vpc-1", endpoint="vpce-s3", source_ip="10.42.1.7")


def _decide(policy: object, action: str, resource: str = ESCROW, request: Request = INSIDE) -> str:
    return decide(json.dumps(policy), request, action=action, resource=resource)


def test_the_escrow_policy_denies_only_from_outside_the_vpc_and_the_allowed_range() -> None:
    """terraform/app's escrow policy: deny idp/worker/EscrowRead unless from 159.142.0.0/16 or inside the VPC."""
    policy = app_access.escrow_bucket_policy("sandbox")
    # Inside the VPC, through the endpoint: aws:SourceIp is absent (NotIpAddress on an absent key holds, IAM's
    # condition operators), aws:VpcSourceIp is inside the VPC (NotIpAddress fails): the conditions AND to false.
    assert _decide(policy, "s3:DeleteObject") == "neutral"
    assert _decide(policy, "s3:GetObject") == "neutral"
    outside = through_gateway_endpoint(
        ROLE, "123456789012", "aws", vpc="vpc-1", endpoint="vpce-s3", source_ip="192.0.2.9"
    )
    assert _decide(policy, "s3:GetObject", request=outside) == "explicitDeny"
    assert decide(None, INSIDE, action="s3:GetObject", resource=ESCROW) == "neutral"


def test_an_allow_grants_the_role_when_it_names_the_role_or_everyone_not_the_account() -> None:
    """IAM: a principal naming the account delegates to the account's identity policies; it grants nothing alone."""
    for principal in ({"AWS": ROLE}, "*", {"AWS": "*"}):
        statement = {"Effect": "Allow", "Principal": principal, "Action": "s3:Get*", "Resource": "arn:aws:s3:::*"}
        assert _decide({"Statement": [statement]}, "s3:GetObject") == "allowed", principal
    for principal in ({"AWS": ["arn:aws:iam::123456789012:root"]}, {"AWS": "123456789012"}):
        statement = {"Effect": "Allow", "Principal": principal, "Action": "s3:Get*", "Resource": "arn:aws:s3:::*"}
        assert _decide({"Statement": [statement]}, "s3:GetObject") == "neutral", principal
        assert _decide({"Statement": [{**statement, "Effect": "Deny"}]}, "s3:GetObject") == "explicitDeny", principal
    other = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "*", "Resource": "*"}
    assert _decide({"Statement": other}, "s3:GetObject") == "neutral"


def test_the_account_root_is_written_in_the_callers_partition() -> None:
    gov_role = "arn:aws-us-gov:iam::123456789012:role/x"
    gov = through_gateway_endpoint(gov_role, "123456789012", "aws-us-gov", vpc="v", endpoint="e", source_ip="10.0.0.1")
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": "arn:aws-us-gov:iam::123456789012:root"},
        "Action": "*",
        "Resource": "*",
    }
    assert _decide({"Statement": [deny]}, "s3:GetObject", request=gov) == "explicitDeny"
    commercial = {**deny, "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}
    assert _decide({"Statement": [commercial]}, "s3:GetObject", request=gov) == "neutral"


def test_if_exists_holds_when_the_key_is_absent_and_is_checked_when_present() -> None:
    """IAM's ...IfExists: true when the request lacks the key; otherwise the operator decides."""
    statement = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}
    absent = {**statement, "Condition": {"IpAddressIfExists": {"aws:SourceIp": "0.0.0.0/0"}}}
    assert _decide({"Statement": [absent]}, "s3:GetObject") == "explicitDeny"
    present = {**statement, "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-s3"}}}
    assert _decide({"Statement": [present]}, "s3:GetObject") == "neutral"
    elsewhere = {**statement, "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-other"}}}
    assert _decide({"Statement": [elsewhere]}, "s3:GetObject") == "explicitDeny"
    plain_absent = {**statement, "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}
    assert _decide({"Statement": [plain_absent]}, "s3:GetObject") == "neutral"  # an absent key does not match


def test_secure_transport_conditions_are_decided_and_unknown_ones_are_not_guessed() -> None:
    insecure = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert _decide({"Statement": [insecure]}, "s3:GetObject") == "neutral"
    unknown = {**insecure, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}
    with pytest.raises(Undecidable, match="aws:PrincipalOrgID"):
        _decide({"Statement": [unknown]}, "s3:GetObject")
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
        verdict = decide(text, INSIDE, action="s3:GetObject", resource=ESCROW)
    except Undecidable:
        return
    assert verdict in {"explicitDeny", "allowed", "neutral"}


# ---- across accounts (IAM User Guide, "Cross-account policy evaluation logic") ----------------------------------

GITLAB = "217680906704"
CONFIG = f"arn:aws:s3:::login-gov-production-gitlabconfig-{GITLAB}-us-west-2/gitlab_runner_token"
ROOT_GRANT = {
    "Sid": "allowEnvRunners",
    "Effect": "Allow",
    "Principal": {"AWS": ["arn:aws:iam::123456789012:root"]},
    "Action": "s3:GetObject",
    "Resource": ["arn:aws:s3:::login-gov-production-gitlabconfig-217680906704-us-west-2/*"],
}


def test_across_accounts_an_allow_naming_the_callers_account_is_the_bucket_sides_allow() -> None:
    """The bucket owner grants the account; the account's own policies then decide which of its roles may."""
    policy = json.dumps({"Statement": [ROOT_GRANT]})
    assert decide(policy, INSIDE, action="s3:GetObject", resource=CONFIG, bucket_account=GITLAB) == "allowed"
    # The same statement within one account delegates only: the role's own policies decide alone.
    assert decide(policy, INSIDE, action="s3:GetObject", resource=CONFIG, bucket_account="123456789012") == "neutral"
    assert decide(policy, INSIDE, action="s3:GetObject", resource=CONFIG) == "neutral"
    other = json.dumps({"Statement": [{**ROOT_GRANT, "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}]})
    assert decide(other, INSIDE, action="s3:GetObject", resource=CONFIG, bucket_account=GITLAB) == "neutral"


def test_across_accounts_both_sides_must_allow_and_a_deny_still_wins() -> None:
    assert combine("allowed", "allowed", same_account=False) == "allowed"
    assert combine("allowed", "neutral", same_account=False) == "implicitDeny"
    assert combine("implicitDeny", "allowed", same_account=False) == "implicitDeny"
    assert combine("explicitDeny", "allowed", same_account=False) == "explicitDeny"
    assert combine("allowed", "explicitDeny", same_account=False) == "explicitDeny"
    # Within one account, either side (the rule above).
    assert combine("implicitDeny", "allowed", same_account=True) == "allowed"
