"""The wrong-environment guard: refuse to test env A from anywhere that says B.

Pure comparison; the command line gathers the facts (STS, terraform outputs)
and stops the run with exit 2 when any reason comes back.
"""

from __future__ import annotations

from dataclasses import dataclass

from envtest.redact import mask_account


@dataclass(frozen=True)
class Facts:
    env: str
    my_env: str | None = None
    ci_commit_branch: str | None = None
    terraform_env: str | None = None
    terraform_source: str | None = None
    account: str | None = None
    expected_account: str | None = None
    expected_account_source: str | None = None


def wrong_environment(facts: Facts) -> list[str]:
    """Every reason to believe this run would test the wrong environment."""
    reasons = []
    if facts.my_env and facts.my_env != facts.env:
        reasons.append(
            f"asked to test env {facts.env!r}, but MY_ENV (set by the runner this job runs on) is {facts.my_env!r}"
        )
    branch = facts.ci_commit_branch or ""
    if branch.startswith("stages/"):
        branch_env = branch.removeprefix("stages/")
        if branch_env != facts.env:
            reasons.append(f"asked to test env {facts.env!r}, but the pipeline's branch is {branch!r}")
    if facts.terraform_env and facts.terraform_env != facts.env:
        reasons.append(
            f"asked to test env {facts.env!r}, but the terraform outputs in {facts.terraform_source} "
            f"say env_name = {facts.terraform_env!r}"
        )
    if facts.expected_account and facts.account and facts.account != facts.expected_account:
        reasons.append(
            f"env {facts.env!r} lives in account {mask_account(facts.expected_account)} "
            f"({facts.expected_account_source}), but the credentials are for account {mask_account(facts.account)}"
        )
    return reasons
