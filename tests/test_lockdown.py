"""Who controls the lockdown: whoever can write the allowed-images file or read the runner's registration token
controls what the env runner runs. Read-only: bucket settings, IAM's simulator, bucket policies."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.lockdown import PublicState, TokenReach
from envtest.policy import Policy
from envtest.policy.bucket_grants import outside
from envtest.policy.public_access import PolicyUnreadable, public_routes
from envtest.problems import Problem, check

RUNBOOK = "runbook, 'Debugging env_runner issues'"


@pytest.mark.catches(
    "K1: anyone may put objects where the allowed-images file lives",
    "K1-acl: the token's bucket readable by everyone (ACL, no public access block)",
)
@pytest.mark.blinded_by("F16", "F16-group", "F17-bucket", "F17", "F17-empty")
def test_lockdown_buckets_have_no_public_route(
    bucket_public_state: Callable[[str], PublicState],
    lockdown_buckets: dict[str, str],
) -> None:
    """Neither lockdown bucket has a public route.

    Why: the secrets bucket holds the allowed-images file, the config bucket the registration token; public
    access to either undoes the lockdown.
    Fails on: the secrets bucket (the allowed-images file) or the config bucket (the registration token) open to
    the public by its own settings: an ACL grant to AllUsers/AuthenticatedUsers not ignored by the bucket's
    public access block, or a bucket policy S3 calls public not restricted by it. The config bucket's settings are
    read in the GitLab deployment's account, where it lives (`-v GITLAB_ACCOUNT_ROLE_ARN=...`).
    Fix: turn the bucket's public access block on and remove the grant or statement.
    """
    problems, unread = [], []
    for bucket, held in sorted(lockdown_buckets.items()):
        try:
            state = bucket_public_state(bucket)
            routes = public_routes(state.block, state.grants, state.policy)
        except PolicyUnreadable as exc:
            unread.append(f"s3://{bucket}: {exc}")
            continue
        except CouldNotEvaluate as exc:  # the other bucket is still judged
            unread.append(str(exc))
            continue
        for route in routes:
            problems.append(
                Problem(
                    f"s3://{bucket} (holds {held})",
                    "no public route: a private ACL and a policy that names its principals, or a public access "
                    "block that ignores public ACLs and restricts public policies",
                    route,
                    "remove the grant or statement, and turn on the bucket's public access block (all four "
                    "settings, as terraform/gitlab/module/s3.tf sets them for the config bucket)",
                )
            )
    check(problems)
    if unread:
        raise CouldNotEvaluate("; ".join(unread))


@pytest.mark.catches(
    "K3: the config bucket's policy grants an account outside the env accounts",
    "K3-everyone: the config bucket's policy grants everyone (*) through a VPC endpoint",
)
@pytest.mark.blinded_by("F16", "F16-group", "F17-bucket", "F17", "F17-empty")
def test_the_token_bucket_grants_only_the_env_accounts(token_reach: TokenReach) -> None:
    """The config bucket's policy grants no one but the env accounts the policy lists.

    Why: the bucket, in the GitLab deployment's account, holds the registration token of every env that GitLab
    serves, and its policy grants whole accounts: across accounts any principal of a granted account whose own
    policies allow it reads every env's token, and registers runners that take those envs' deploy jobs.
    Fails on: a statement of the bucket's policy (read in the GitLab account, `-v GITLAB_ACCOUNT_ROLE_ARN=...`)
    granting an account outside `[lockdown] env_accounts` and the env's own, everyone (`*`, whatever condition
    S3 does not call public narrows it), or a principal of another kind.
    Fix: remove the grant (terraform/gitlab/module/s3.tf's allowEnvRunners takes the GitLab deployment's
    accountids), re-apply the GitLab deployment, and rotate the registration tokens it exposed.
    """
    problems = [
        Problem(
            f"s3://{token_reach.bucket} (account {token_reach.account}), statement {grant.statement}",
            f"grants only the env accounts {', '.join(token_reach.allowed)} (policy [lockdown] env_accounts, and "
            "this env's own)",
            grant.describe(),
            "remove the grant from the bucket's policy (terraform/gitlab/module/s3.tf: allowEnvRunners names "
            "var.accountids' roots), re-apply the GitLab deployment, then rotate the registration tokens the "
            f"grant exposed ({RUNBOOK})"
            if grant.grantee != "*"
            else "remove the statement granting everyone; then rotate every registration token in the bucket "
            f"({RUNBOOK})",
        )
        for grant in outside(token_reach.grants, token_reach.allowed)
    ]
    check(problems)


def _access_problems(
    lockdown_access: Callable[[str], dict[tuple[str, str], dict[str, str]]],
    roles: list[str],
    action: str,
    what: str,
    fix: str,
) -> list[Problem]:
    problems = []
    for role in roles:
        for (asked, where), answer in sorted(lockdown_access(role).items()):
            if asked == action and answer["decision"] == "allowed":
                problems.append(
                    Problem(
                        f"role {role} on {where}",
                        f"{action} refused: {what}",
                        f"allowed (the role's policies, per IAM's simulator: {answer['identity']}; the bucket "
                        f"policy: {answer['bucket_policy']})",
                        # Across accounts the bucket's grant to the env account is expected: the role's own
                        # policies are what let it through. Within one account either side may.
                        fix
                        if answer["identity"] == "allowed"
                        else f"remove the statement of {where.split('/')[2]}'s bucket policy that allows it",
                    )
                )
    return problems


@pytest.mark.catches("K2: the app role may read the registration token")
@pytest.mark.blinded_by("F16", "F16-group", "F17", "F17-empty")
def test_only_the_named_roles_can_read_the_registration_token(
    lockdown_access: Callable[[str], dict[tuple[str, str], dict[str, str]]], policy: Policy
) -> None:
    """Only the roles the policy names may read the registration token.

    Why: whoever reads the token can register a runner that takes this env's deploy jobs.
    Fails on: an instance role other than `[lockdown] token_readers` (the env runner) that may GetObject the
    token: IAM's simulator on its policies and the bucket policy for a request from its instance, judged across
    accounts when the bucket lives in the GitLab deployment's (both must allow: a role its own policies refuse
    is refused; one they allow needs the bucket policy, read with `-v GITLAB_ACCOUNT_ROLE_ARN=...`).
    Fix: remove the grant from that role's policy (or the bucket policy).
    """
    section = policy.lockdown
    others = [r for r in section.roles if r not in section.token_readers]
    check(
        _access_problems(
            lockdown_access,
            others,
            "s3:GetObject",
            f"only {', '.join(section.token_readers)} may read the token (a token registers a runner)",
            "remove s3:GetObject on the config bucket from the role's policies; then rotate the registration "
            f"token, which this role could read ({RUNBOOK})",
        )
    )


@pytest.mark.catches("K1", "K2-write: the worker role may write the allowed-images file")
@pytest.mark.blinded_by("F16", "F16-group", "F17", "F17-empty")
def test_no_other_role_can_write_the_allowed_images_file(
    lockdown_access: Callable[[str], dict[tuple[str, str], dict[str, str]]], policy: Policy, images_mode: str
) -> None:
    """Only the roles the policy names may write the allowed-images file.

    Why: whoever writes the file chooses the images that run with the env's credentials.
    Fails on: an instance role other than `[lockdown] file_writers` that may PutObject the env's or the common
    file, by its policies or by the bucket policy; skipped in era 2, where the runner reads no file.
    Fix: remove the grant from that role's policy (or the bucket policy).
    """
    if images_mode == "pattern":
        pytest.skip("policy [images] mode = pattern (era 2): the runner allows a fixed pattern, it reads no file")
    section = policy.lockdown
    others = [r for r in section.roles if r not in section.file_writers]
    check(
        _access_problems(
            lockdown_access,
            others,
            "s3:PutObject",
            "the file decides which images the env runner runs",
            "remove s3:PutObject on the secrets bucket's common/ and <env>/ prefixes from the role's policies, "
            "and check the file in force against the last reviewed one",
        )
    )
