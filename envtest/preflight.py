"""Before any check: can we reach AWS with these credentials, and is this the right env?

Runs in the command-line process. Its reads go through the same gather layer
(and shared cache) as the checks, so the checks reuse what it read.
"""

from __future__ import annotations

from dataclasses import dataclass

from envtest.errors import CouldNotEvaluate
from envtest.gather.aws import Aws, write_call_count
from envtest.gather.inventory import Inventory
from envtest.gather.terraform import load_outputs_once
from envtest.guard import Facts, wrong_environment
from envtest.policy import load_policy
from envtest.redact import mask_account
from envtest.settings import Settings


@dataclass(frozen=True)
class Outcome:
    masked_account: str
    stop_check: str = ""
    stop_reason: str = ""
    terraform_note: str = ""


def preflight(settings: Settings) -> Outcome:
    facts = Facts(env=settings.env_name, my_env=settings.my_env, ci_commit_branch=settings.ci_commit_branch)
    # The env-name guards need no AWS call: stop before touching credentials.
    reasons = wrong_environment(facts)
    if reasons:
        return Outcome("unknown", "wrong_environment", "; ".join(reasons) + ". Refusing to test the wrong environment.")
    policy = load_policy(settings.env_name, settings.policy_dir)
    aws = Aws(settings.region)
    inventory = Inventory(aws, settings.run_dir)
    try:
        try:
            identity = inventory.caller_identity()
        except CouldNotEvaluate as exc:
            return Outcome("unknown", "aws_credentials", str(exc))
        account = identity["Account"]
        expected_account = settings.expected_account_id or policy.account_id
        expected_source = (
            "EXPECTED_ACCOUNT_ID" if settings.expected_account_id else "policy/envs/" + settings.env_name + ".toml"
        )
        terraform_env = terraform_source = None
        note = ""
        try:
            outputs = load_outputs_once(
                settings.run_dir,
                tf_dir=settings.tf_dir,
                tf_binary=settings.tf_binary,
                outputs_json=settings.tf_outputs_json,
                state_location=(
                    settings.tf_state_bucket or policy.name("tf_state_bucket", account=account, region=settings.region),
                    settings.tf_state_key or policy.name("tf_state_key", account=account, region=settings.region),
                ),
                read_object=inventory.object_bytes,
            )
            value = outputs.get("env_name")
            terraform_env = value if isinstance(value, str) else None
            terraform_source = outputs.source
        except CouldNotEvaluate as exc:
            # Checks that need the outputs will report this as their error.
            note = f"terraform outputs not read: {exc}"
        reasons = wrong_environment(
            Facts(
                env=settings.env_name,
                terraform_env=terraform_env,
                terraform_source=terraform_source,
                account=account,
                expected_account=expected_account,
                expected_account_source=expected_source,
            )
        )
        masked = mask_account(account)
        if reasons:
            return Outcome(
                masked, "wrong_environment", "; ".join(reasons) + ". Refusing to test the wrong environment.", note
            )
        return Outcome(masked, terraform_note=note)
    finally:
        write_call_count(settings.run_dir)
