"""The IAM policy is complete for pools of two: a run over groups of two instances, as login.gov runs some roles,
makes only calls iam/envtest-readonly.json allows.

A role with two instances is looked at with ssm:ListCommandInvocations (hosts/ssm.py); the clean sandbox's
groups have one instance each, so the review of a clean run (test_pipelines.py) cannot see that call. The
sandbox's pools of two (envtest_double/seed/pools.py) make the run take it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envtest_double.running import Sandbox
from envtest_double.seed.pools import pools_of_two, seed_pools_of_two
from selftests import iam
from selftests.conftest import run_suite

pytestmark = pytest.mark.sandbox


def test_a_run_over_pools_of_two_needs_only_the_readonly_policy(
    clean_sandbox: Sandbox, sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    if "ENVTEST_NO_INSTANCES" in clean_sandbox.environ:
        pytest.skip(clean_sandbox.environ["ENVTEST_NO_INSTANCES"])
    autoscaling = clean_sandbox.client("autoscaling")
    groups = pools_of_two(clean_sandbox.world, clean_sandbox.state["runner_proxy_asg"])
    seed_pools_of_two(autoscaling, groups)
    clean_sandbox.wait_for_instances()
    found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=groups)["AutoScalingGroups"]
    in_service = {
        g["AutoScalingGroupName"]: [i for i in g["Instances"] if i["LifecycleState"] == "InService"] for g in found
    }
    assert {g: len(i) for g, i in in_service.items()} == dict.fromkeys(groups, 2)

    run = run_suite(["sandbox"], sandbox_env, tmp_path)
    assert run.exit_code == 0, run.stdout + run.stderr
    record = json.loads(run.junit_path.with_suffix(".api-calls.json").read_text())
    # The run did take the two-instance way of looking at its commands: the review below covers it.
    assert record["calls"].get("ssm:ListCommandInvocations", 0) > 0, record["calls"]
    assert iam.refused(iam.statements("envtest-readonly.json"), record) == []
