"""Who may read the registration token when its bucket lives in the GitLab deployment's account: a role's answer
judged across accounts, whom the bucket's policy grants against the policy's list, and what is said when the
GitLab account cannot be read. The bucket's reads are a stand-in here (the sandbox self-tests read moto)."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.lockdown import BucketOwner, token_access
from envtest.gather.services.s3 import S3Reads
from envtest.plan import body
from envtest.policy import Policy
from envtest.policy.bucket_policy import through_gateway_endpoint

token_reach_of = body("token_reach")  # the plan's step itself, given values of the test's own

ENV, GITLAB = "123456789012", "217680906704"
BUCKET = f"login-gov-production-gitlabconfig-{GITLAB}-us-west-2"
TOKEN = f"arn:aws:s3:::{BUCKET}/gitlab_runner_token"
APP = f"arn:aws:iam::{ENV}:role/sandbox_app_iam_role"
REQUEST = through_gateway_endpoint(APP, ENV, "aws", vpc="vpc-1", endpoint="vpce-s3", source_ip="10.42.1.9")


def _policy(*principals: str) -> str:
    statement = {
        "Sid": "allowEnvRunners",
        "Effect": "Allow",
        "Principal": {"AWS": list(principals)},
        "Action": "s3:GetObject",
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


class Bucket:
    """The GitLab account's reads of the one bucket: its policy, and whether it exists; each read counted."""

    def __init__(self, policy_text: str | None, exists: bool = True) -> None:
        self.policy_text, self.exists, self.reads = policy_text, exists, 0

    def bucket_policy(self, bucket: str) -> str | None:
        self.reads += 1
        return self.policy_text

    def bucket_exists(self, bucket: str) -> bool:
        return self.exists


def _owner(reads: Bucket | None, account: str | None = GITLAB) -> BucketOwner:
    return BucketOwner(account, ENV, cast(S3Reads | None, reads))


def _identity(decision: str) -> dict[str, dict[str, Any]]:
    return {f"s3:GetObject {TOKEN}": {"decision": decision, "missing_context": []}}


def _access(identity: str, owner: BucketOwner) -> dict[str, str]:
    return token_access(_identity(identity), owner, REQUEST, role_arn=APP, action="s3:GetObject", resource=TOKEN)


def test_across_accounts_a_role_its_own_policies_refuse_is_refused_without_the_bucket_policy() -> None:
    for decision in ("implicitDeny", "explicitDeny"):
        answer = _access(decision, _owner(None))  # no role in the GitLab account: nothing read there, none needed
        assert answer["decision"] == decision and answer["bucket_policy"].startswith("not read")


def test_across_accounts_a_role_its_own_policies_allow_reads_when_the_bucket_grants_its_account() -> None:
    granted = Bucket(_policy(f"arn:aws:iam::{ENV}:root"))
    assert _access("allowed", _owner(granted))["decision"] == "allowed"
    assert granted.reads == 1
    # The bucket granting other accounts only: the role's allow is not enough across accounts.
    assert _access("allowed", _owner(Bucket(_policy("arn:aws:iam::894947205914:root"))))["decision"] == "implicitDeny"
    # The same answer within one account: the account grant delegates, the role's own allow decides.
    same = BucketOwner(ENV, ENV, cast(S3Reads, Bucket(_policy("arn:aws:iam::894947205914:root"))))
    assert _access("allowed", same)["decision"] == "allowed"


def test_a_role_its_own_policies_allow_needs_the_gitlab_account_and_says_how_to_read_it() -> None:
    with pytest.raises(CouldNotEvaluate) as raised:
        _access("allowed", _owner(None))
    said = str(raised.value)
    assert f"could not evaluate from account {ENV}; give `-v GITLAB_ACCOUNT_ROLE_ARN=arn:aws:iam::{GITLAB}:" in said
    assert APP in said


def test_no_account_in_the_policy_is_could_not_evaluate_naming_the_key() -> None:
    with pytest.raises(CouldNotEvaluate, match=r"\[lockdown\] gitlab_account is not set"):
        _access("implicitDeny", _owner(None, account=None))


def _lockdown(**keys: Any) -> Policy:
    return Policy({"lockdown": keys}, "sandbox", ())


def test_the_reach_lists_each_grant_and_allows_the_listed_accounts_and_the_envs_own() -> None:
    bucket = Bucket(_policy(f"arn:aws:iam::{ENV}:root", "arn:aws:iam::894947205914:root"))
    reach = token_reach_of(_owner(bucket), _lockdown(gitlab_account=GITLAB, env_accounts=["894947205914"]), BUCKET)
    assert reach.allowed == ["894947205914", ENV]
    assert [g.grantee for g in reach.grants] == [ENV, "894947205914"]


def test_the_reach_needs_the_list_the_bucket_and_the_gitlab_account() -> None:
    bucket = Bucket(_policy(f"arn:aws:iam::{ENV}:root"))
    with pytest.raises(CouldNotEvaluate, match=r"\[lockdown\] env_accounts is not set"):
        token_reach_of(_owner(bucket), _lockdown(gitlab_account=GITLAB), BUCKET)
    with pytest.raises(CouldNotEvaluate, match="does not exist"):
        token_reach_of(_owner(Bucket(None, exists=False)), _lockdown(env_accounts=[]), BUCKET)
    with pytest.raises(CouldNotEvaluate, match="GITLAB_ACCOUNT_ROLE_ARN"):
        token_reach_of(_owner(None), _lockdown(env_accounts=[]), BUCKET)
