"""Two accounts in the sandbox's moto, kept apart as AWS keeps them (envtest_double/moto_accounts.py): a bucket of
the GitLab account is read from the env's account only as its policy grants, its policy and settings never; a role
there is assumed only when it exists and trusts the caller."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest
from moto import mock_aws
from moto.s3.responses import S3Response
from moto.sts.responses import TokenResponse

from envtest_double import moto_accounts

ENV, GITLAB = "123456789012", "217680906704"
BUCKET = f"login-gov-production-gitlabconfig-{GITLAB}-us-west-2"
ROLE = f"arn:aws:iam::{GITLAB}:role/envtest-gitlab-config-reader"
GRANT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "allowEnvRunners",
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{ENV}:root"]},
            "Action": "s3:GetObject",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        }
    ],
}


def _client(service: str, account: str | None = None, **credentials: str) -> Any:
    client = boto3.client(service, region_name="us-west-2", **credentials)
    if account:
        client.meta.events.register(
            "before-send.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
        )
    return client


@pytest.fixture
def corrected() -> Iterator[None]:
    originals = (S3Response._authenticate_and_authorize_s3_action, TokenResponse.assume_role)
    moto_accounts.install()
    try:
        with mock_aws():
            gitlab = _client("s3", GITLAB)
            gitlab.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
            gitlab.put_object(Bucket=BUCKET, Key="gitlab_runner_token", Body=b"token\n")
            gitlab.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(GRANT))
            yield
    finally:
        S3Response._authenticate_and_authorize_s3_action, TokenResponse.assume_role = originals


def _refused(call: Any) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    # A HEAD answer has no body: its code is the status.
    assert raised.value.response["Error"]["Code"] in {"AccessDenied", "403"}, raised.value.response


@pytest.mark.usefixtures("corrected")
def test_from_the_env_account_the_granted_object_is_read_and_nothing_else() -> None:
    s3 = _client("s3")  # the env account, moto's default
    assert s3.get_object(Bucket=BUCKET, Key="gitlab_runner_token")["Body"].read() == b"token\n"
    _refused(lambda: s3.head_bucket(Bucket=BUCKET))  # s3:ListBucket is not granted
    _refused(lambda: s3.get_bucket_policy(Bucket=BUCKET))  # the owner's account only, whatever the policy
    _refused(lambda: s3.get_bucket_acl(Bucket=BUCKET))
    _refused(lambda: s3.get_public_access_block(Bucket=BUCKET))
    _refused(lambda: s3.put_object(Bucket=BUCKET, Key="gitlab_runner_token", Body=b"mine"))
    # An account the policy does not name reads nothing.
    _refused(lambda: _client("s3", "999988887777").get_object(Bucket=BUCKET, Key="gitlab_runner_token"))


@pytest.mark.usefixtures("corrected")
def test_the_owner_reads_its_settings_and_an_expected_owner_that_is_not_it_is_refused() -> None:
    gitlab = _client("s3", GITLAB)
    assert json.loads(gitlab.get_bucket_policy(Bucket=BUCKET, ExpectedBucketOwner=GITLAB)["Policy"]) == GRANT
    gitlab.head_bucket(Bucket=BUCKET, ExpectedBucketOwner=GITLAB)
    _refused(lambda: gitlab.get_bucket_policy(Bucket=BUCKET, ExpectedBucketOwner=ENV))


@pytest.mark.usefixtures("corrected")
# moto's serializer notes that STS's model has no AccessDenied shape; AWS answers AssumeRole with that code.
@pytest.mark.filterwarnings("ignore:Exception\\(STSClientError\\) with code AccessDenied:UserWarning")
def test_a_role_is_assumed_only_when_it_exists_and_trusts_the_caller() -> None:
    sts = _client("sts")
    _refused(lambda: sts.assume_role(RoleArn=ROLE, RoleSessionName="envtest-read"))  # no such role yet
    trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ENV}:root"}, "Action": "sts:AssumeRole"}
    iam = _client("iam", GITLAB)
    iam.create_role(
        RoleName="envtest-gitlab-config-reader", AssumeRolePolicyDocument=json.dumps({"Statement": [trust]})
    )
    stranger = {**trust, "Principal": {"AWS": "arn:aws:iam::999988887777:root"}}
    iam.create_role(RoleName="trusts-another", AssumeRolePolicyDocument=json.dumps({"Statement": [stranger]}))
    _refused(lambda: sts.assume_role(RoleArn=f"arn:aws:iam::{GITLAB}:role/trusts-another", RoleSessionName="xx"))
    given = sts.assume_role(RoleArn=ROLE, RoleSessionName="envtest-read")["Credentials"]
    keys = {
        "aws_access_key_id": given["AccessKeyId"],
        "aws_secret_access_key": given["SecretAccessKey"],
        "aws_session_token": given["SessionToken"],
    }
    assert _client("sts", **keys).get_caller_identity()["Account"] == GITLAB
    # The session is the GitLab account's: the bucket's own settings are its to read.
    assert json.loads(_client("s3", **keys).get_bucket_policy(Bucket=BUCKET)["Policy"]) == GRANT


def test_uncorrected_moto_hands_any_account_another_accounts_bucket_policy() -> None:
    # Why the correction exists. If a moto upgrade keeps accounts apart, this fails and the correction can go.
    with mock_aws():
        gitlab = _client("s3", GITLAB)
        gitlab.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        gitlab.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(GRANT))
        assert json.loads(_client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"]) == GRANT
        _client("sts").assume_role(RoleArn=ROLE, RoleSessionName="no-such-role-needed")
