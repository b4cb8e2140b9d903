"""moto corrected where its accounts meet: a bucket of another account, and a role assumed in another account.

The sandbox has two accounts, as login.gov has: the env's (moto's default) and the GitLab deployment's, which holds
the config bucket with the runner registration token (terraform/gitlab/module/s3.tf). moto 5.2 lets any account use
any bucket (S3Backend.get_bucket looks a name up across accounts) and hands out a session in any role, existing or
not, whatever its trust policy (STSBackend.assume_role: "the role does not need to exist"). AWS does neither:

- S3 across accounts (IAM User Guide, "Cross-account policy evaluation logic"; Amazon S3 User Guide, "Bucket owner
  granting cross-account bucket permissions"): the bucket policy must allow the request and so must the caller's
  own account. Here the caller's own policies are not modelled (the operator's keys have none, as moto's), so the
  bucket policy decides, through the sandbox's own model (s3_authorization.py). The bucket's policy itself is the
  owner's alone (S3 API reference, GetBucketPolicy: "the calling identity must ... belong to the bucket owner's
  account"): Get/Put/DeleteBucketPolicy from another account are refused whatever the policy says. An ACL's grant to
  another account's canonical id is not modelled (the sandbox's buckets have private ACLs).
- ExpectedBucketOwner (the x-amz-expected-bucket-owner header): a bucket another account owns is refused with
  403 AccessDenied (S3 User Guide, "Verifying bucket ownership with bucket owner condition").
- sts:AssumeRole: the role must exist in its account and its trust policy must name the caller's account, its ARN,
  or everyone (IAM User Guide, "Granting a user permissions to switch roles"). A trust statement with a Condition
  is not modelled: it trusts no one here, said on stderr.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from envtest_double import s3_authorization

# moto's S3 action names (ACTION_MAP) -> the IAM action a bucket policy names, where they differ.
IAM_ACTION = {
    "HeadBucket": "s3:ListBucket",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
}
OWNER_ONLY = {"GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"}


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _bucket_owner(bucket_name: str) -> str | None:
    from moto.s3.models import s3_backends

    found = s3_backends.bucket_accounts.get(bucket_name)
    return found[1] if found else None


def _caller_arn(response: Any) -> str:
    """The ARN moto answers for: an assumed role's, else its stand-in user in the caller's account."""
    from moto.sts.models import sts_backends

    account = response.get_current_account()
    assumed = sts_backends[account]["aws"].get_assumed_role_from_access_key(response.get_access_key())
    return str(assumed.role_arn) if assumed else f"arn:aws:iam::{account}:user/moto"


def s3_decision(response: Any, bucket_name: str, key_name: str | None) -> str | None:
    """Why AWS would refuse this request, or None: the bucket owner check, then the cross-account rules."""
    owner = _bucket_owner(bucket_name)
    action = str(response.data.get("Action", ""))
    if owner is None or action == "CreateBucket":
        return None  # no such bucket (moto says so), or a name taken (moto says BucketAlreadyExists)
    expected = response.headers.get("x-amz-expected-bucket-owner")
    if expected and expected != owner:
        return f"expected owner {expected}, bucket owned by {owner}"
    caller = response.get_current_account()
    if caller == owner:
        return None
    if action in OWNER_ONLY:
        return f"{action} only from the owner's account {owner}"
    arn = _caller_arn(response)
    resource = f"arn:aws:s3:::{bucket_name}" + (f"/{key_name}" if key_name else "")
    iam_action = IAM_ACTION.get(action, f"s3:{action}")
    bucket = response.backend.get_bucket(bucket_name)
    text = None if bucket.policy is None else bucket.policy.decode()
    try:
        said = s3_authorization.resource_policy_says(
            text, s3_authorization.from_internet(arn, "127.0.0.1"), iam_action, resource, bucket_account=owner
        )
    except (s3_authorization.NotModelled, ValueError) as exc:
        return f"bucket policy not modelled ({exc})"
    # The caller's own policies are not modelled: its side allows; the bucket policy must too.
    if not s3_authorization.allowed(s3_authorization.ALLOW, said, same_account=False):
        return f"{iam_action} on {resource} from account {caller}: the bucket policy of account {owner} says {said}"
    return None


def _trusts(document: str, caller_account: str, caller_arn: str) -> bool:
    try:
        policy = json.loads(document)
    except ValueError:
        return False
    for statement in _as_list(policy.get("Statement", [])):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        if not any(a in {"sts:AssumeRole", "sts:*", "*"} for a in actions):
            continue
        if statement.get("Condition"):
            print(f"envtest moto_accounts: trust statement with a Condition not modelled: {statement}", file=sys.stderr)
            continue
        principal = statement.get("Principal")
        names = (
            ["*"]
            if principal == "*"
            else [str(n) for n in _as_list((principal or {}).get("AWS", []))]
            if isinstance(principal, dict)
            else []
        )
        if "*" in names or caller_arn in names or caller_account in names:
            return True
        if f"arn:aws:iam::{caller_account}:root" in names:
            return True
    return False


def assume_role_refusal(response: Any, role_arn: str) -> str | None:
    """Why AWS would refuse this AssumeRole, or None."""
    from moto.iam.models import iam_backends

    parts = role_arn.split(":")
    if len(parts) < 6:
        return f"{role_arn} is not a role ARN"
    account = parts[4]
    role = next((r for r in iam_backends[account]["aws"].roles.values() if r.arn == role_arn), None)
    caller_account = response.get_current_account()
    caller = _caller_arn(response)
    if role is None or not _trusts(role.assume_role_policy_document, caller_account, caller):
        return f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    return None


def install() -> None:
    from moto.s3.exceptions import S3AccessDeniedError
    from moto.s3.responses import S3Response
    from moto.sts.exceptions import STSClientError
    from moto.sts.responses import TokenResponse

    authorize = S3Response._authenticate_and_authorize_s3_action
    if getattr(authorize, "envtest_accounts", False):
        return  # installed already (a self-test's process may ask twice)

    def authorize_across_accounts(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        authorize(self, bucket_name=bucket_name, key_name=key_name)
        if bucket_name:
            why = s3_decision(self, bucket_name, key_name)
            if why:
                print(f"envtest moto_accounts: S3 refused: {why}", file=sys.stderr)
                raise S3AccessDeniedError()

    authorize_across_accounts.envtest_accounts = True  # type: ignore[attr-defined]
    S3Response._authenticate_and_authorize_s3_action = authorize_across_accounts

    assume = TokenResponse.assume_role

    def assume_a_role_that_trusts_the_caller(self: Any) -> Any:
        why = assume_role_refusal(self, str(self._get_param("RoleArn")))
        if why:
            raise STSClientError("AccessDenied", why)
        return assume(self)

    TokenResponse.assume_role = assume_a_role_that_trusts_the_caller
