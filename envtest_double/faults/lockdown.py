"""Faults in the lockdown's own integrity: public routes to its buckets, other roles at its objects."""

from __future__ import annotations

import json

from envtest_double.faults.hosts import grant_role
from envtest_double.running import Sandbox


def images_file_publicly_writable(sandbox: Sandbox) -> None:
    """A statement letting anyone put objects in the secrets bucket's common/ prefix (the file lives there)."""
    bucket = sandbox.world.bucket("secrets")
    statement = {"Sid": "TemporaryUpload", "Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
                 "Resource": f"arn:aws:s3:::{bucket}/common/*"}  # fmt: skip
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    sandbox.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def token_bucket_public_by_acl(sandbox: Sandbox) -> None:
    """The config bucket's public access block removed and its ACL made public-read."""
    s3, bucket = sandbox.client("s3"), sandbox.world.bucket("gitlabconfig")
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")


def app_role_reads_the_token(sandbox: Sandbox) -> None:
    bucket = sandbox.world.bucket("gitlabconfig")
    grant_role(sandbox, f"{sandbox.world.env}_app_iam_role", "s3:GetObject", f"arn:aws:s3:::{bucket}/*")


def worker_role_writes_the_images_file(sandbox: Sandbox) -> None:
    bucket = sandbox.world.bucket("secrets")
    grant_role(sandbox, f"{sandbox.world.env}_worker_iam_role", "s3:PutObject", f"arn:aws:s3:::{bucket}/common/*")
