"""Pools of two: the sandbox's groups that login.gov's code runs with two instances, for a run that needs them.

The clean sandbox seeds one instance per group (each role's smallest size). With two, the suite looks at a
command's invocations with ssm:ListCommandInvocations (hosts/ssm.py), which a one-instance run never calls: the
IAM policy's review must see a run over pools of two. Where two comes from (18F/identity-devops terraform, as
mirrored in 18F/identity-pki):

- pivcac: `asg_pivcac_desired = 2` (min 1, max 4; terraform/app/variables.tf);
- the IdP's outbound proxy `<env>-outboundproxy`: `asg_outboundproxy_max = 9`, and an earlier default of
  `asg_outboundproxy_desired` was 3 (today's is 1; terraform/app/variables.tf);
- the env runner's proxy pool: `asg_outboundproxy_max = 2` (terraform/app/gitlab.tf, module "env-runner"), the
  size fault F6-instance already runs it at;
- idp: `asg_idp_max = 8` with CPU target tracking on and scale-in off (`idp_cpu_autoscaling_enabled = 1`,
  `idp_cpu_autoscaling_disable_scale_in = 1`): once load scaled it out, it stays at two or more.

Every group is created with max 2 (auto_scaling.create_group), so two needs no other change. Writes to moto: the
sandbox's reset reseeds one instance per group.
"""

from __future__ import annotations

from typing import Any

from envtest_double import runner_env


def pools_of_two(world: runner_env.World, runner_proxy_pool: str) -> list[str]:
    """The groups that run two instances in login.gov's code (the module's docstring says where)."""
    return [f"{world.env}-pivcac", world.proxy_asg, runner_proxy_pool, f"{world.env}-idp"]


def seed_pools_of_two(autoscaling: Any, groups: list[str]) -> None:
    """Two InService instances in each group (moto launches them at once); the caller waits for the fleet."""
    for group in groups:
        autoscaling.update_auto_scaling_group(AutoScalingGroupName=group, DesiredCapacity=2)
