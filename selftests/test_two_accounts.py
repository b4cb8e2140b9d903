"""The sandbox's two accounts, as login.gov has them: the config bucket and its policy in the GitLab deployment's
account, the env in its own. The suite reads the bucket's settings there only through GITLAB_ACCOUNT_ROLE_ARN
(the sandbox's env.sh gives it, as a laptop or pipeline is given it); without it, or with a role it may not
assume, each check that needs them says so, and none passes on what it could not read."""

from __future__ import annotations

from pathlib import Path

import pytest

from envtest_double import env_facts
from envtest_double.faults import FAULTS
from envtest_double.running import Sandbox
from selftests.conftest import run_suite
from tests import test_lockdown, test_runner

pytestmark = pytest.mark.sandbox

NEED_THE_GITLAB_ACCOUNT = {
    test_lockdown.test_lockdown_buckets_have_no_public_route.__name__,
    test_lockdown.test_the_token_bucket_grants_only_the_env_accounts.__name__,
    test_runner.test_gitlab_config_bucket_named_by_the_runner_exists.__name__,
}
READERS = test_lockdown.test_only_the_named_roles_can_read_the_registration_token.__name__


def _without_role(environ: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k != "GITLAB_ACCOUNT_ROLE_ARN"}


def test_the_sandbox_keeps_the_config_bucket_in_the_gitlab_account_and_names_the_role(sandbox: Sandbox) -> None:
    bucket = sandbox.world.bucket("gitlabconfig")
    assert bucket == f"login-gov-production-gitlabconfig-{env_facts.GITLAB_ACCOUNT}-us-west-2"
    gitlab = sandbox.client("s3", account=env_facts.GITLAB_ACCOUNT)
    assert gitlab.get_bucket_policy(Bucket=bucket)["Policy"]
    env_account = sandbox.client("s3")
    assert env_account.get_object(Bucket=bucket, Key="gitlab_runner_token")["ContentLength"] > 0
    with pytest.raises(env_account.exceptions.ClientError):
        env_account.get_bucket_policy(Bucket=bucket)  # the owner's account only
    assert sandbox.environ["GITLAB_ACCOUNT_ROLE_ARN"] == (
        f"arn:aws:iam::{env_facts.GITLAB_ACCOUNT}:role/{env_facts.GITLAB_READER_ROLE}"
    )


def test_without_the_role_the_gitlab_accounts_settings_are_could_not_evaluate_never_passed(
    sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    run = run_suite(["sandbox"], _without_role(sandbox_env), tmp_path)
    assert run.exit_code == 1, run.stdout + run.stderr
    verdicts = run.verdicts()
    errored = {name for name, verdict in verdicts.items() if verdict == "error"}
    assert errored == NEED_THE_GITLAB_ACCOUNT, errored
    assert not {name for name, verdict in verdicts.items() if verdict == "failed"}
    for check in NEED_THE_GITLAB_ACCOUNT:
        said = run.text_of(check)
        assert f"could not evaluate from account {env_facts.ACCOUNT}; give `-v GITLAB_ACCOUNT_ROLE_ARN=" in said, said
    # No role but the runner's may read the token by its own policies: across accounts that is the answer, and the
    # bucket policy (which only the GitLab account reads) is not needed for it.
    assert verdicts[READERS] == "passed"


def test_without_the_role_a_role_its_policies_let_read_the_token_is_not_passed(
    clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    FAULTS["K2"].seed(clean_sandbox)  # the app role's own policies allow GetObject on the config bucket
    run = run_suite(["sandbox"], _without_role(sandbox_env), tmp_path)
    assert run.verdicts()[READERS] == "error"
    assert "GITLAB_ACCOUNT_ROLE_ARN" in run.text_of(READERS)


def test_a_role_the_gitlab_account_does_not_let_the_env_assume_is_named(
    sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    stranger = f"arn:aws:iam::{env_facts.GITLAB_ACCOUNT}:role/envtest-gitlab-config-reader-elsewhere"
    run = run_suite(["sandbox"], {**sandbox_env, "GITLAB_ACCOUNT_ROLE_ARN": stranger}, tmp_path)
    assert run.exit_code == 1
    verdicts = run.verdicts()
    assert {name for name, verdict in verdicts.items() if verdict == "error"} == NEED_THE_GITLAB_ACCOUNT
    said = run.text_of(test_lockdown.test_the_token_bucket_grants_only_the_env_accounts.__name__)
    assert f"sts:AssumeRole {stranger}: AWS answered AccessDenied" in said, said
