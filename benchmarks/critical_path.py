"""The critical path of a run: its longest chain of AWS calls that must wait for one another.

No suite can finish sooner than this chain under a latency model: it is the
physical floor the benchmark compares the suite's wall time with. The chains
are the gather layer's own dependencies, written out (a change to the gather
layer that adds a dependent call belongs here too):

- the preflight, in the checks' process before pytest is imported: who am I,
  then the terraform state;
- then side by side (the host reads sent as soon as the preflight has passed,
  early_start.py; the gather plan, envtest/plan.py, starts the rest before the
  first check):
  - each role's host reads: the role's group (a group named by prefix is found
    in the list of all groups first); then its instances' SSM status,
    SendCommand, the command's completion, its answer. The Redis probe goes in
    a command of its own once Redis's endpoint is read (one ElastiCache call
    where the group's two are: the shorter chain);
  - the runner's network: its group, instances, launch template, subnets, then
    the VPC's endpoints and their subnets (beside the groups and routes);
  - the runner's token: group, instances, the bucket, the object;
  - the allowed images: the env's override (absent), the common file, then each
    repository's digests (side by side);
  - the access matrix: each role's simulation (side by side);
  - the error page.
"""

from __future__ import annotations

from envtest_double.latency import LatencyModel

COMPLETION = "ssm command completes"
PREFLIGHT = ["sts:GetCallerIdentity", "s3:GetObject"]
CHAINS: dict[str, list[str]] = {
    "host reads": [
        "autoscaling:DescribeAutoScalingGroups",  # all groups: the proxy pool's is named by prefix
        "autoscaling:DescribeAutoScalingGroups",
        "ssm:DescribeInstanceInformation",
        "ssm:SendCommand",
        COMPLETION,
        "ssm:GetCommandInvocation",
    ],
    "runner network": [
        "autoscaling:DescribeAutoScalingGroups",
        "ec2:DescribeInstances",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeSubnets",
    ],
    "runner token": [
        "autoscaling:DescribeAutoScalingGroups",
        "ec2:DescribeInstances",
        "s3:HeadBucket",
        "s3:GetObject",
    ],
    "allowed images": ["s3:GetObject", "s3:GetObject", "ecr:ListImages"],
    "access matrix": ["s3:GetBucketPolicy", "iam:SimulatePrincipalPolicy"],
    "error page": ["s3:GetObject"],
}


def chain_seconds(chain: list[str], model: LatencyModel, command_seconds: float) -> float:
    """A chain's duration: each call's modelled time; a command completes when the model or the command says."""
    return sum(
        max(model.ssm_completion, command_seconds) if step == COMPLETION else model.seconds(step) for step in chain
    )


def critical_path(model: LatencyModel, command_seconds: float) -> tuple[float, str]:
    """(seconds, which chain): the preflight, then the longest of the chains that run side by side."""
    longest = max(CHAINS, key=lambda name: chain_seconds(CHAINS[name], model, command_seconds))
    total = chain_seconds(PREFLIGHT, model, 0) + chain_seconds(CHAINS[longest], model, command_seconds)
    return total, longest
