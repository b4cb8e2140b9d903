"""Who controls the lockdown: whoever can write the allowed-images file or read the runner's registration token
controls what the env runner runs. Read-only: bucket settings, IAM's simulator, bucket policies."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from envtest.checks import Problem, check
from envtest.errors import CouldNotEvaluate
from envtest.fixtures.lockdown import public_state
from envtest.gather.inventory import Inventory
from envtest.policy import Policy
from envtest.policy.public_access import PolicyUnreadable, public_routes

RUNBOOK = "runbook, 'Debugging env_runner issues'"


def test_lockdown_buckets_have_no_public_route(inventory: Inventory, lockdown_buckets: dict[str, str]) -> None:
    problems = []
    for bucket, held in sorted(lockdown_buckets.items()):
        block, grants, text = public_state(inventory, bucket)
        try:
            routes = public_routes(block, grants, text)
        except PolicyUnreadable as exc:
            raise CouldNotEvaluate(f"s3://{bucket}: {exc}") from None
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
                        fix
                        if answer["bucket_policy"] != "allowed"
                        else f"remove the statement of {where.split('/')[2]}'s bucket policy that allows it",
                    )
                )
    return problems


def test_only_the_named_roles_can_read_the_registration_token(
    lockdown_access: Callable[[str], dict[tuple[str, str], dict[str, str]]], policy: Policy
) -> None:
    section = policy.section("lockdown")
    others = [r for r in section["roles"] if r not in section["token_readers"]]
    check(
        _access_problems(
            lockdown_access,
            others,
            "s3:GetObject",
            f"only {', '.join(section['token_readers'])} may read the token (a token registers a runner)",
            "remove s3:GetObject on the config bucket from the role's policies; then rotate the registration "
            f"token, which this role could read ({RUNBOOK})",
        )
    )


def test_no_other_role_can_write_the_allowed_images_file(
    lockdown_access: Callable[[str], dict[tuple[str, str], dict[str, str]]], policy: Policy, images_mode: str
) -> None:
    if images_mode == "pattern":
        pytest.skip("policy [images] mode = pattern (era 2): the runner allows a fixed pattern, it reads no file")
    section = policy.section("lockdown")
    others = [r for r in section["roles"] if r not in section["file_writers"]]
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
