"""The sandbox's moto server, with one correction where moto's S3 differs from AWS.

moto 5.2 checks a bucket policy on object GET, PUT and DELETE (moto/s3/responses.py, _key_response) through
FakeBucket.get_permission, which asks moto's IAMPolicy whether the action is permitted: Principal and Condition
are ignored, so a Deny that names the application's roles (the escrow bucket's, terraform/app) denies every
caller, the operator included. AWS applies a statement only to the principals it names, under its conditions
(IAM User Guide, "Policy evaluation logic"; Amazon S3 User Guide, "Bucket policy examples"). Here the bucket
policy is evaluated by the suite's evaluator (envtest/policy/bucket_policy.py) for the caller moto answers for
(sts:GetCallerIdentity in the default account: user/moto), asking from loopback, not through a VPC endpoint.

The instances' own S3 calls do not come here as themselves: they go through the sandbox's CLI stand-in
(front.InstanceS3), which evaluates the same policy for the instance's role and address.
"""

from __future__ import annotations

import sys
from typing import Any

from envtest.policy import bucket_policy

DEFAULT_ACCOUNT = "123456789012"  # moto's default account
CALLER = f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/moto"  # moto's answer to sts:GetCallerIdentity there


def operator_request(account: str = DEFAULT_ACCOUNT, caller: str = CALLER) -> bucket_policy.Request:
    """The operator's request as AWS would see it: their principal, from a public address, no VPC endpoint."""
    context = {
        "aws:PrincipalArn": caller,
        "aws:PrincipalAccount": account,
        "aws:SecureTransport": "false",
        "aws:SourceIp": "127.0.0.1",
    }
    return bucket_policy.Request(
        caller, account, "aws", context, frozenset({"aws:SourceVpc", "aws:SourceVpce", "aws:VpcSourceIp"})
    )


def permission(policy_text: str | None, action: str, resource: str) -> str:
    """moto's PermissionResult name for the operator's request: PERMITTED, DENIED or NEUTRAL."""
    try:
        decision = bucket_policy.decide(policy_text, operator_request(), action=action, resource=resource)
    except bucket_policy.Undecidable as exc:
        print(
            f"envtest moto_server: bucket policy undecidable for {action} {resource} ({exc}); denying", file=sys.stderr
        )
        return "DENIED"
    return {"explicitDeny": "DENIED", "allowed": "PERMITTED"}.get(decision, "NEUTRAL")


def install() -> None:
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        text = None if self.policy is None else self.policy.decode()
        return getattr(PermissionResult, permission(text, action, resource))

    FakeBucket.get_permission = get_permission


def main() -> None:
    install()
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
