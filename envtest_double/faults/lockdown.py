"""Faults in the lockdown's own integrity: public routes to its buckets, other roles at its objects."""

from __future__ import annotations

import json
from typing import Any

from envtest_double import env_facts
from envtest_double.faults.hosts import grant_role
from envtest_double.running import Sandbox


def images_file_publicly_writable(sandbox: Sandbox) -> None:
    """A statement letting anyone put objects in the secrets bucket's common/ prefix (the file lives there)."""
    bucket = sandbox.world.bucket("secrets")
    statement = {"Sid": "TemporaryUpload", "Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
                 "Resource": f"arn:aws:s3:::{bucket}/common/*"}  # fmt: skip
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    sandbox.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def _gitlab_s3(sandbox: Sandbox) -> Any:
    """S3 as the GitLab deployment's account, which owns the config bucket (its settings are that account's)."""
    return sandbox.client("s3", account=env_facts.GITLAB_ACCOUNT)


def token_bucket_public_by_acl(sandbox: Sandbox) -> None:
    """The config bucket's public access block removed and its ACL made public-read."""
    s3, bucket = _gitlab_s3(sandbox), sandbox.world.bucket("gitlabconfig")
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")


def app_role_reads_the_token(sandbox: Sandbox) -> None:
    bucket = sandbox.world.bucket("gitlabconfig")
    grant_role(sandbox, f"{sandbox.world.env}_app_iam_role", "s3:GetObject", f"arn:aws:s3:::{bucket}/*")


def worker_role_writes_the_images_file(sandbox: Sandbox) -> None:
    bucket = sandbox.world.bucket("secrets")
    grant_role(sandbox, f"{sandbox.world.env}_worker_iam_role", "s3:PutObject", f"arn:aws:s3:::{bucket}/common/*")


def _add_config_bucket_statement(sandbox: Sandbox, statement: dict[str, Any]) -> None:
    s3, bucket = _gitlab_s3(sandbox), sandbox.world.bucket("gitlabconfig")
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    policy["Statement"].append({**statement, "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]})
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def config_bucket_grants_an_unknown_account(sandbox: Sandbox) -> None:
    """The GitLab deployment's accountids gain an account no env lives in: its root may read every token."""
    _add_config_bucket_statement(
        sandbox,
        {"Sid": "allowContractor", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
         "Action": "s3:GetObject"},
    )  # fmt: skip


def config_bucket_grants_everyone_through_an_endpoint(sandbox: Sandbox) -> None:
    """Everyone, through one VPC endpoint: S3 does not call it public (a fixed aws:SourceVpce), so the bucket's
    public access block lets it be written; anyone whose request comes through that endpoint reads the tokens."""
    _add_config_bucket_statement(
        sandbox,
        {"Sid": "allowFromTheRunnersEndpoint", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0gitlab00000000001"}}},
    )  # fmt: skip
