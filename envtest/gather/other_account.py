"""Reads in another account, through a role assumed there: the GitLab config bucket's own settings.

The config bucket, which holds every env's runner registration token, lives in the GitLab deployment's account
(terraform/gitlab/module/s3.tf). From the env's account S3 serves the token itself (the bucket's policy grants the
env account s3:GetObject) but not the bucket's settings: only the owner's account reads a bucket policy (S3 API
reference, GetBucketPolicy), and the policy grants the env accounts nothing else (no ACL, no public access block,
no HeadBucket). So those reads go through a role in the GitLab account, GITLAB_ACCOUNT_ROLE_ARN
(iam/envtest-gitlab-account.json: what it must grant), assumed with the run's own credentials (sts:AssumeRole,
iam/envtest-readonly.json).

The assumed session carries the same read-only guard as every other, is confined to the few reads it is for
(aws_guard.OTHER_ACCOUNT_READS), and asks S3 to refuse any bucket the expected account does not own
(ExpectedBucketOwner on every S3 call that takes it): a read there is a read of that account's bucket, or none. Its
credentials live in memory only, refreshed by assuming again; its answers are cached apart from the env account's.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path
from typing import Any

from botocore.credentials import DeferredRefreshableCredentials

from envtest.errors import CouldNotEvaluate
from envtest.gather import aws_guard
from envtest.gather.aws import Aws
from envtest.gather.cache import cached
from envtest.gather.services.base import call
from envtest.gather.services.s3 import S3Reads
from envtest.gather.services.sts import StsReads

ROLE_VARIABLE = "GITLAB_ACCOUNT_ROLE_ARN"
# The role's name in the setup docs (docs/operating.md) and in iam/envtest-readonly.json's AssumeRole resource.
ROLE_NAME = "envtest-gitlab-config-reader"
SESSION_NAME = "envtest-read"
# AssumeRole's default, and the most a role chained from another role's session may have. botocore assumes again
# 15 minutes before it ends (its advisory refresh window): a shorter session would be assumed again at every call.
SESSION_SECONDS = 3600


class AccountReads(S3Reads, StsReads):
    """S3 and STS reads in one other account; cached under that account, apart from the env account's answers."""

    def __init__(self, aws: Aws, run_dir: Path | None, account: str, role_arn: str) -> None:
        super().__init__(aws, run_dir)
        self.account = account
        self.role_arn = role_arn

    def _cached(self, key: str, fetch: Any) -> Any:
        return cached(self.run_dir, f"{self.aws.region}:account={self.account}:{key}", fetch)

    def verified(self) -> AccountReads:
        """This reader, once the session is known to be the expected account's (CouldNotEvaluate otherwise)."""
        found = self.caller_identity().account
        if found != self.account:
            raise CouldNotEvaluate(
                f"{ROLE_VARIABLE}={self.role_arn} gives a session in account {found}, but the GitLab config bucket "
                f"lives in account {self.account} (policy [lockdown] gitlab_account): name a role in {self.account}"
            )
        return self


def _expected_owner(account: str) -> Any:
    def add(model: Any, params: dict[str, Any], **_: Any) -> None:
        shape = model.input_shape
        if model.service_model.service_name == "s3" and shape is not None and "ExpectedBucketOwner" in shape.members:
            params.setdefault("ExpectedBucketOwner", account)

    return add


def assumed_aws(base: Aws, role_arn: str, account: str) -> Aws:
    """An Aws whose credentials are the role's, assumed with `base`'s (guarded) STS client when first needed."""

    def fetch() -> dict[str, str]:
        def assume() -> Any:
            return base.client("sts").assume_role(
                RoleArn=role_arn, RoleSessionName=SESSION_NAME, DurationSeconds=SESSION_SECONDS
            )

        given = call(f"sts:AssumeRole {role_arn}", assume)["Credentials"]
        expiration = given["Expiration"]
        return {
            "access_key": given["AccessKeyId"],
            "secret_key": given["SecretAccessKey"],
            "token": given["SessionToken"],
            "expiry_time": expiration.isoformat() if hasattr(expiration, "isoformat") else str(expiration),
        }

    credentials = DeferredRefreshableCredentials(refresh_using=fetch, method="assume-role")
    aws = Aws(base.region, credentials=credentials, confined_to=aws_guard.OTHER_ACCOUNT_READS)
    aws.on("before-parameter-build.*.*", _expected_owner(account))
    return aws


# Per base session (a process has one; a self-test may make several), then per role and account.
_readers: weakref.WeakKeyDictionary[Aws, dict[tuple[str, str], AccountReads]] = weakref.WeakKeyDictionary()
_readers_lock = threading.Lock()


def reads_in(base: Aws, run_dir: Path | None, role_arn: str, account: str) -> AccountReads:
    """The reader for `account` through `role_arn`, one per process (its session assumes once, then refreshes)."""
    with _readers_lock:
        made = _readers.setdefault(base, {})
        if (role_arn, account) not in made:
            made[role_arn, account] = AccountReads(assumed_aws(base, role_arn, account), run_dir, account, role_arn)
        return made[role_arn, account]


def cannot_read_from(env_account: str, owner: str, what: str) -> CouldNotEvaluate:
    """What a check says of a setting only the owner's account can read, when no role there was given."""
    return CouldNotEvaluate(
        f"{what}: the bucket lives in account {owner} (policy [lockdown] gitlab_account), and only that account "
        f"reads it: could not evaluate from account {env_account}; give "
        f"`-v {ROLE_VARIABLE}=arn:aws:iam::{owner}:role/{ROLE_NAME}` to read it (a role there granting "
        "iam/envtest-gitlab-account.json, which the run's credentials may assume)"
    )
