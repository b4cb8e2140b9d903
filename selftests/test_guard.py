"""The wrong-environment guard names both sides of every mismatch."""

from __future__ import annotations

from envtest.guard import Facts, wrong_environment


def test_matching_facts_raise_nothing() -> None:
    assert (
        wrong_environment(
            Facts(
                env="dev",
                my_env="dev",
                ci_commit_branch="stages/dev",
                terraform_env="dev",
                account="111122223333",
                expected_account="111122223333",
            )
        )
        == []
    )


def test_unrelated_branch_is_not_a_mismatch() -> None:
    assert wrong_environment(Facts(env="dev", ci_commit_branch="main")) == []


def test_each_mismatch_is_named_with_both_sides() -> None:
    reasons = wrong_environment(
        Facts(
            env="dev",
            my_env="prod",
            ci_commit_branch="stages/staging",
            terraform_env="int",
            terraform_source="s3://x/y",
            account="111122223333",
            expected_account="444455556666",
            expected_account_source="policy/envs/dev.toml",
        )
    )
    assert len(reasons) == 4
    assert "'dev'" in reasons[0] and "MY_ENV" in reasons[0] and "'prod'" in reasons[0]
    assert "'stages/staging'" in reasons[1]
    assert "'int'" in reasons[2] and "s3://x/y" in reasons[2]
    assert "********6666" in reasons[3] and "********3333" in reasons[3]
