"""Where the sandbox corrects moto toward AWS (envtest/sandbox/moto_server.py), the correction does what AWS does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest
from moto import mock_aws
from moto.s3.models import FakeBucket

from envtest.sandbox import estate, moto_server

BUCKET = "login-gov-escrow-sandbox.123456789012-us-west-2"


@pytest.fixture
def s3() -> Iterator[Any]:
    original = FakeBucket.get_permission
    moto_server.install()
    try:
        with mock_aws():
            client = boto3.client("s3", region_name="us-west-2")
            client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
            yield client
    finally:
        FakeBucket.get_permission = original


def _deny(principal: Any) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": principal,
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{BUCKET}/*",
                }
            ],
        }
    )


def test_a_deny_naming_other_roles_does_not_stop_the_operator(s3: Any) -> None:
    # The escrow policy denies idp, worker and EscrowRead outside the VPC; the operator is none of them.
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(estate.escrow_bucket_policy("sandbox")))
    s3.put_object(Bucket=BUCKET, Key="envtest-access-probe/target", Body=b"x")
    s3.delete_object(Bucket=BUCKET, Key="envtest-access-probe/target")


def test_a_deny_naming_everyone_still_stops_the_operator(s3: Any) -> None:
    s3.put_bucket_policy(Bucket=BUCKET, Policy=_deny("*"))
    with pytest.raises(botocore.exceptions.ClientError):
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"x")


def test_a_deny_naming_the_operator_stops_the_operator(s3: Any) -> None:
    s3.put_bucket_policy(Bucket=BUCKET, Policy=_deny({"AWS": moto_server.CALLER}))
    with pytest.raises(botocore.exceptions.ClientError):
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"x")


def test_uncorrected_moto_denies_the_operator_what_aws_allows() -> None:
    # Why the correction exists: moto's own evaluation ignores the Principal. If a moto upgrade fixes this,
    # this test fails and the correction can go.
    with mock_aws():
        client = boto3.client("s3", region_name="us-west-2")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        client.put_bucket_policy(Bucket=BUCKET, Policy=_deny({"AWS": "arn:aws:iam::123456789012:role/someone-else"}))
        with pytest.raises(botocore.exceptions.ClientError):
            client.put_object(Bucket=BUCKET, Key="k", Body=b"x")
