"""The session assumed in the GitLab account: assumed with the run's guarded STS client, confined to the config
bucket's reads, asking S3 to refuse a bucket another account owns, its answers cached apart; and the guard's list
for it is exactly what iam/envtest-gitlab-account.json grants.

botocore's Stubber answers every call: what refuses is the guard, and what is sent is read off the stub.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from envtest.errors import CouldNotEvaluate, ReadOnlyViolation
from envtest.gather import aws_guard
from envtest.gather.aws import Aws
from envtest.gather.cache import clear_memo
from envtest.gather.other_account import ROLE_NAME, ROLE_VARIABLE, AccountReads, cannot_read_from, reads_in
from selftests import iam

ROOT = Path(__file__).resolve().parents[1]
GITLAB = "217680906704"
ROLE = f"arn:aws:iam::{GITLAB}:role/{ROLE_NAME}"
BUCKET = f"login-gov-production-gitlabconfig-{GITLAB}-us-west-2"
LATER = datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC)
ASSUMED = {
    "Credentials": {
        "AccessKeyId": "ASIAEXAMPLEEXAMPLE01",
        "SecretAccessKey": "s" * 40,
        "SessionToken": "t" * 40,
        "Expiration": LATER,
    },
    "AssumedRoleUser": {
        "AssumedRoleId": "AROA:envtest-read",
        "Arn": f"arn:aws:sts::{GITLAB}:assumed-role/x/envtest-read",
    },
}


@pytest.fixture
def base(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    clear_memo()
    yield Aws("us-west-2")
    clear_memo()


def _stub(aws: Aws, service: str) -> Stubber:
    stubber = Stubber(aws.client(service))
    stubber.activate()
    return stubber


def _assumed(base: Aws, account: str = GITLAB) -> tuple[AccountReads, Stubber]:
    sts = _stub(base, "sts")
    sts.add_response(
        "assume_role",
        ASSUMED,
        {"RoleArn": ROLE, "RoleSessionName": "envtest-read", "DurationSeconds": 3600},
    )
    return reads_in(base, None, ROLE, account), sts


def test_the_bucket_settings_are_read_with_the_assumed_roles_credentials_and_the_expected_owner(base: Aws) -> None:
    reads, sts = _assumed(base)
    s3 = _stub(reads.aws, "s3")
    policy = json.dumps({"Statement": []})
    s3.add_response("get_bucket_policy", {"Policy": policy}, {"Bucket": BUCKET, "ExpectedBucketOwner": GITLAB})
    assert reads.bucket_policy(BUCKET) == policy
    s3.assert_no_pending_responses()
    # The Stubber answers before signing: the credentials are the role's, assumed (once) when first needed, with
    # the run's own STS client, which the guard watches.
    credentials = reads.aws.client("s3")._request_signer._credentials.get_frozen_credentials()
    assert credentials.access_key == "ASIAEXAMPLEEXAMPLE01"
    sts.assert_no_pending_responses()
    assert reads_in(base, None, ROLE, GITLAB) is reads  # one session per process


@pytest.mark.parametrize(
    ("service", "method", "params"),
    [
        ("s3", "get_object", {"Bucket": BUCKET, "Key": "gitlab_runner_token"}),
        ("s3", "put_bucket_policy", {"Bucket": BUCKET, "Policy": "{}"}),
        ("iam", "simulate_principal_policy", {"PolicySourceArn": ROLE, "ActionNames": ["s3:GetObject"]}),
        ("sts", "assume_role", {"RoleArn": ROLE, "RoleSessionName": "again"}),
    ],
    ids=["read-the-token", "write-the-policy", "another-read", "assume-onwards"],
)
def test_the_assumed_session_calls_nothing_but_the_config_buckets_reads(
    base: Aws, service: str, method: str, params: dict[str, Any]
) -> None:
    reads, _ = _assumed(base)
    stub = _stub(reads.aws, service)
    stub.add_response(method, {}, ANY if not params else None)
    operation = reads.aws.client(service).meta.method_to_api_mapping[method]
    with pytest.raises(ReadOnlyViolation, match=rf"refused {service}:{operation}: this session was assumed in another"):
        getattr(reads.aws.client(service), method)(**params)


def test_a_session_in_another_account_than_the_policys_is_could_not_evaluate(base: Aws) -> None:
    reads, _ = _assumed(base, account="111122223333")
    sts = _stub(reads.aws, "sts")
    sts.add_response(
        "get_caller_identity", {"Account": GITLAB, "Arn": f"arn:aws:sts::{GITLAB}:assumed-role/x/y", "UserId": "A:y"}
    )
    with pytest.raises(CouldNotEvaluate, match=r"session in account 217680906704.*lives in account 111122223333"):
        reads.verified()


def test_its_answers_are_cached_under_the_account_apart_from_the_env_accounts(
    base: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = AccountReads(base, tmp_path, GITLAB, ROLE)
    seen: list[str] = []
    monkeypatch.setattr("envtest.gather.other_account.cached", lambda _dir, key, fetch: seen.append(key))
    reads.bucket_policy(BUCKET)
    assert seen == [f"us-west-2:account={GITLAB}:s3.bucket_policy:{BUCKET}"]


def test_without_a_role_the_message_names_both_accounts_and_the_variable() -> None:
    said = str(cannot_read_from("123456789012", GITLAB, f"s3://{BUCKET}'s policy"))
    assert "could not evaluate from account 123456789012" in said
    assert f"give `-v {ROLE_VARIABLE}=arn:aws:iam::{GITLAB}:role/{ROLE_NAME}` to read it" in said


def _actions(name: str) -> set[str]:
    statements = json.loads((ROOT / "iam" / name).read_text())["Statement"]
    return {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_the_assumed_sessions_reads_are_exactly_what_the_gitlab_account_policy_grants() -> None:
    granted = {a for op in aws_guard.OTHER_ACCOUNT_READS for a in iam.iam_actions(op)}
    assert granted == _actions("envtest-gitlab-account.json")
    # And every one of them is a read the run's own guard knows: the confinement only narrows.
    assert aws_guard.OTHER_ACCOUNT_READS <= aws_guard.READS


def test_the_run_may_assume_only_the_named_role() -> None:
    statements = iam.statements("envtest-readonly.json")
    assert iam.allows(statements, "sts:AssumeRole", ROLE)
    assert not iam.allows(statements, "sts:AssumeRole", f"arn:aws:iam::{GITLAB}:role/FullAdministrator")
