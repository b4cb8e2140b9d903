"""The sandbox's own model of S3 authorisation, against the examples AWS documents (not against the suite's judge).

Policies are the Amazon S3 User Guide's "Examples of Amazon S3 bucket policies" and the IAM User Guide's
"Policy evaluation logic" cases, with their account ids and addresses.
"""

from __future__ import annotations

import json

import pytest

from envtest_double.s3_authorization import (
    ALLOW,
    DENY,
    NO_OPINION,
    NotModelled,
    allowed,
    from_internet,
    resource_policy_says,
    via_vpc_endpoint,
)

ROLE = "arn:aws:iam::111122223333:role/app"
OTHER_ROLE = "arn:aws:iam::444455556666:role/other"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"


def policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# "Restrict access to specific IP addresses": deny everything from outside 192.0.2.0/24.
IP_RESTRICTED = policy(
    {
        "Sid": "IPAllow",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [BUCKET, f"{BUCKET}/*"],
        "Condition": {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
    }
)
# "Restricting access to a specific VPC endpoint".
VPCE_ONLY = policy(
    {
        "Sid": "Access-to-specific-VPCE-only",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [BUCKET, f"{BUCKET}/*"],
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
    }
)
# "Grant cross-account permissions to upload objects": the other account's root is the principal.
CROSS_ACCOUNT_ROOT = policy(
    {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
        "Action": "s3:GetObject",
        "Resource": f"{BUCKET}/*",
    }
)


def test_outside_the_allowed_range_is_denied_inside_nothing_is_said() -> None:
    assert (
        resource_policy_says(IP_RESTRICTED, from_internet(ROLE, "203.0.113.7"), "s3:GetObject", f"{BUCKET}/k") == DENY
    )
    assert (
        resource_policy_says(IP_RESTRICTED, from_internet(ROLE, "192.0.2.9"), "s3:GetObject", f"{BUCKET}/k")
        == NO_OPINION
    )


def test_through_a_vpc_endpoint_there_is_no_source_ip_so_not_ip_address_holds_and_denies() -> None:
    """NotIpAddress is a negated operator: with aws:SourceIp absent (through a VPC endpoint) it holds."""
    caller = via_vpc_endpoint(ROLE, vpc="vpc-1", endpoint="vpce-1a2b3c4d", private_ip="10.0.0.5")
    assert resource_policy_says(IP_RESTRICTED, caller, "s3:GetObject", f"{BUCKET}/k") == DENY


def test_only_the_named_vpc_endpoint_gets_past_its_deny() -> None:
    named = via_vpc_endpoint(ROLE, vpc="vpc-1", endpoint="vpce-1a2b3c4d", private_ip="10.0.0.5")
    other = via_vpc_endpoint(ROLE, vpc="vpc-1", endpoint="vpce-9999", private_ip="10.0.0.5")
    assert resource_policy_says(VPCE_ONLY, named, "s3:PutObject", f"{BUCKET}/k") == NO_OPINION
    assert resource_policy_says(VPCE_ONLY, other, "s3:PutObject", f"{BUCKET}/k") == DENY
    assert resource_policy_says(VPCE_ONLY, from_internet(ROLE, "198.51.100.1"), "s3:PutObject", f"{BUCKET}/k") == DENY


def test_an_account_as_principal_delegates_an_allow_and_both_sides_must_allow_across_accounts() -> None:
    """S3 User Guide, "Bucket owner granting cross-account bucket permissions": the owner (111122223333) names the
    other account's root; that account's administrator then grants its own role. Both halves are needed."""
    caller = from_internet(OTHER_ROLE, "198.51.100.1")
    # The owner's grant to the account is the resource side's allow, for a bucket of another account...
    said = resource_policy_says(
        CROSS_ACCOUNT_ROOT, caller, "s3:GetObject", f"{BUCKET}/k", bucket_account="111122223333"
    )
    assert said == ALLOW
    assert allowed(ALLOW, said, same_account=False) is True
    # ...and the role's own account must allow too.
    assert allowed(NO_OPINION, said, same_account=False) is False
    # Another account named: nothing granted to this one.
    elsewhere = from_internet("arn:aws:iam::777788889999:role/x", "198.51.100.1")
    said = resource_policy_says(
        CROSS_ACCOUNT_ROOT, elsewhere, "s3:GetObject", f"{BUCKET}/k", bucket_account="111122223333"
    )
    assert said == NO_OPINION
    # Within the account named (the bucket its own): the statement delegates only, the role's policies decide.
    same = resource_policy_says(
        CROSS_ACCOUNT_ROOT, caller, "s3:GetObject", f"{BUCKET}/k", bucket_account="444455556666"
    )
    assert same == NO_OPINION
    assert resource_policy_says(CROSS_ACCOUNT_ROOT, caller, "s3:GetObject", f"{BUCKET}/k") == NO_OPINION
    named = policy(
        {"Effect": "Allow", "Principal": {"AWS": OTHER_ROLE}, "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}
    )
    said = resource_policy_says(named, caller, "s3:GetObject", f"{BUCKET}/k")
    assert said == ALLOW
    assert allowed(ALLOW, said, same_account=False) is True
    assert allowed(NO_OPINION, said, same_account=False) is False  # the identity side must allow too


def test_within_one_account_either_side_allows_and_a_deny_wins() -> None:
    assert allowed(ALLOW, NO_OPINION, same_account=True) is True
    assert allowed(NO_OPINION, ALLOW, same_account=True) is True
    assert allowed(ALLOW, DENY, same_account=True) is False
    assert allowed(NO_OPINION, NO_OPINION, same_account=True) is False


def test_a_deny_naming_the_account_covers_its_roles() -> None:
    deny = policy({"Effect": "Deny", "Principal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": f"{BUCKET}/*"})
    assert resource_policy_says(deny, from_internet(ROLE, "198.51.100.1"), "s3:DeleteObject", f"{BUCKET}/k") == DENY


def test_several_values_of_a_negated_operator_must_all_miss() -> None:
    """StringNotEquals with two endpoints: a request through either one is not denied (NOR over the values)."""
    two = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": f"{BUCKET}/*",
            "Condition": {"StringNotEquals": {"aws:SourceVpce": ["vpce-1", "vpce-2"]}},
        }
    )
    for endpoint, expected in (("vpce-1", NO_OPINION), ("vpce-2", NO_OPINION), ("vpce-3", DENY)):
        caller = via_vpc_endpoint(ROLE, vpc="vpc-1", endpoint=endpoint, private_ip="10.0.0.5")
        assert resource_policy_says(two, caller, "s3:GetObject", f"{BUCKET}/k") == expected


def test_if_exists_and_null() -> None:
    insecure = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": f"{BUCKET}/*",
            "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}},
        }
    )
    assert resource_policy_says(insecure, from_internet(ROLE, "198.51.100.1"), "s3:GetObject", f"{BUCKET}/k") == DENY
    no_ip = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": f"{BUCKET}/*",
            "Condition": {"Null": {"aws:SourceIp": "true"}},
        }
    )
    through = via_vpc_endpoint(ROLE, vpc="vpc-1", endpoint="vpce-1", private_ip="10.0.0.5")
    assert resource_policy_says(no_ip, through, "s3:GetObject", f"{BUCKET}/k") == DENY
    assert resource_policy_says(no_ip, from_internet(ROLE, "198.51.100.1"), "s3:GetObject", f"{BUCKET}/k") == NO_OPINION


def test_actions_fold_case_resources_do_not() -> None:
    grant = policy({"Effect": "Allow", "Principal": "*", "Action": "S3:Get*", "Resource": f"{BUCKET}/public/*"})
    caller = from_internet(ROLE, "198.51.100.1")
    assert resource_policy_says(grant, caller, "s3:GetObject", f"{BUCKET}/public/a") == ALLOW
    assert resource_policy_says(grant, caller, "s3:GetObject", f"{BUCKET}/Public/a") == NO_OPINION


def test_what_the_model_does_not_cover_is_refused_not_guessed() -> None:
    for unmodelled in (
        {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "s3:*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}},
        },
    ):
        with pytest.raises(NotModelled):
            resource_policy_says(policy(unmodelled), from_internet(ROLE, "198.51.100.1"), "s3:GetObject", "x")
