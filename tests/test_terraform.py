"""The env's terraform outputs describe this env and agree with what is running."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from envtest.fixtures.hosts import RedisPrimaries
from envtest.policy import Policy
from envtest.problems import Problem, check
from envtest.settings import Settings

if TYPE_CHECKING:
    from envtest.gather.terraform import TerraformOutputs


@pytest.mark.catches("F-terraform: terraform outputs of another region")
def test_terraform_outputs_name_this_environment(tf_outputs: TerraformOutputs, settings: Settings) -> None:
    """The terraform outputs are this env's, in this region.

    Why: every other check reads names from them; another env's outputs would test the wrong resources.
    Fails on: outputs of another env or region.
    Fix: point `TF_DIR`, `TF_OUTPUTS_JSON` or `TF_STATE_KEY` at this env's state.
    """
    expected = {"env_name": settings.env_name, "region": settings.region}
    check(
        [
            Problem(
                f"terraform output {key} ({tf_outputs.source})",
                repr(value),
                repr(tf_outputs.get(key)),
                "run the suite against the state of the env under test (TF_STATE_KEY, TF_OUTPUTS_JSON or TF_DIR)",
            )
            for key, value in expected.items()
            if tf_outputs.require(key) != value
        ]
    )


@pytest.mark.catches("F-terraform-redis: terraform's elasticache address is not the running Redis")
def test_terraform_outputs_agree_with_what_runs(
    tf_outputs: TerraformOutputs, idp_redis_primaries: RedisPrimaries, policy: Policy
) -> None:
    """terraform/app's outputs that name running things still name them (its complete list: environment.md).

    Why: applications and operators follow these outputs; one that drifted sends them to the wrong place.
    Fails on: outputs that name running things drifted from them: `elasticache.cluster_address` not the primary
    endpoint of `<env>-idp`, `idp_cloudfront.custom_pages` without a page the edge must serve.
    Fix: run terraform apply for the env so the outputs are rewritten from what exists.
    """
    problems = []
    fix = "terraform apply has not run since the change, or the state is another env's: run the env's deploy"
    group, primaries = idp_redis_primaries.group, idp_redis_primaries.addresses
    elasticache = tf_outputs.require("elasticache")
    found = elasticache.get("cluster_address") if isinstance(elasticache, dict) else None
    if found not in primaries:
        problems.append(
            Problem(
                f"terraform output elasticache.cluster_address ({tf_outputs.source})",
                f"the primary endpoint of ElastiCache group {group}: {', '.join(primaries) or 'no such group'}",
                repr(found),
                fix,
            )
        )
    cloudfront = tf_outputs.require("idp_cloudfront")
    pages = cloudfront.get("custom_pages", []) if isinstance(cloudfront, dict) else []
    for path in policy.edge.error_pages:
        if not any(str(page).endswith(str(path)) for page in pages):
            problems.append(
                Problem(
                    f"terraform output idp_cloudfront.custom_pages ({tf_outputs.source})",
                    f"a page at {path} (policy [edge] error_pages, terraform's cloudfront_custom_pages)",
                    repr(pages),
                    fix,
                )
            )
    check(problems)
