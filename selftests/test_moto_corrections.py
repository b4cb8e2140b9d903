"""Where the sandbox corrects moto toward AWS (envtest_double/moto_server.py), the correction does what AWS does."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest
from moto import mock_aws
from moto.s3.models import FakeBucket

from envtest_double import app_access, moto_server

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
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(app_access.escrow_bucket_policy("sandbox")))
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


def _environ(method: str, body: bytes = b"", target: str = "", form: bool = False) -> dict[str, object]:
    environ: dict[str, object] = {
        "REQUEST_METHOD": method,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    if target:
        environ["HTTP_X_AMZ_TARGET"] = target
    if form:
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded; charset=utf-8"
    return environ


@pytest.mark.parametrize(
    ("environ", "writes"),
    [
        (_environ("GET"), False),
        (_environ("HEAD"), False),
        (_environ("POST", b"Action=DescribeInstances&Version=2016-11-15", form=True), False),
        (_environ("POST", b"Action=AuthorizeSecurityGroupEgress&GroupId=sg-1", form=True), True),
        (_environ("POST", b"{}", target="Logs_20140328.DescribeMetricFilters"), False),
        (_environ("POST", b"{}", target="Logs_20140328.PutMetricFilter"), True),
        (_environ("POST", b"{}", target="AmazonEC2ContainerRegistry_V20150921.BatchDeleteImage"), True),
        (_environ("PUT", b"object body"), True),  # S3's REST writes name no operation
        (_environ("POST", b"", form=True), True),  # no operation to read: counted
    ],
)
def test_the_write_counter_counts_what_may_write(environ: dict[str, object], writes: bool) -> None:
    body = environ["wsgi.input"].getvalue()  # type: ignore[union-attr]
    assert moto_server.may_write(environ) is writes
    assert environ["wsgi.input"].read() == body  # type: ignore[union-attr]  # moto still reads the whole body


def test_a_vpc_group_takes_the_raised_quota_of_120_rules_and_not_121() -> None:
    # The argo groups hold 120 rules each (net.tf); moto's default 60 would refuse the seed, and a quota not
    # enforced at all would let a 121st through where AWS refuses it.
    from moto.ec2.models.security_groups import SecurityGroupBackend

    original = SecurityGroupBackend._verify_group_will_respect_rule_count_limit
    moto_server.install()
    try:
        with mock_aws():
            ec2 = boto3.client("ec2", region_name="us-west-2")
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            group = ec2.create_security_group(GroupName="argo", Description="argo", VpcId=vpc)["GroupId"]
            ec2.revoke_security_group_egress(
                GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
            )

            def rules(first: int, count: int) -> list[dict[str, Any]]:
                ranges = [{"CidrIp": f"10.{(first + n) // 256}.{(first + n) % 256}.0/24"} for n in range(count)]
                return [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": ranges}]

            ec2.authorize_security_group_egress(GroupId=group, IpPermissions=rules(0, 120))
            with pytest.raises(botocore.exceptions.ClientError, match="RulesPerSecurityGroupLimitExceeded"):
                ec2.authorize_security_group_egress(GroupId=group, IpPermissions=rules(120, 1))
    finally:
        SecurityGroupBackend._verify_group_will_respect_rule_count_limit = original
