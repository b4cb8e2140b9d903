"""What a bigger env has more of (the benchmark's scale knob)."""

from __future__ import annotations

from typing import Any

from envtest_double import env_facts, runner_env


def seed_scale(c: dict[str, Any], net: dict[str, Any], world: runner_env.World) -> None:
    """What a bigger env has more of, none of it attached to the runner: the checks must still pass."""
    ec2, s3 = c["ec2"], c["s3"]
    extra = world.scale - 1
    for i in range(3 * extra):
        group = ec2.create_security_group(GroupName=f"{world.env}-app-{i}", Description="scale", VpcId=net["vpc"])
        ec2.authorize_security_group_egress(
            GroupId=group["GroupId"],
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": env_facts.VPC_CIDR}]}
                for port in (5432, 6379, 8080, 9200)
            ],
        )
    for i in range(extra):
        s3.create_bucket(
            Bucket=f"login-gov-{world.env}-scale-{i}-{env_facts.ACCOUNT}-{env_facts.REGION}",
            CreateBucketConfiguration={"LocationConstraint": env_facts.REGION},
        )
