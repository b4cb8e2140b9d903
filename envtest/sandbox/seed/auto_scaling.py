"""The Auto Scaling groups: the env runner's, its proxy pool behind the NLB, and the IdP's proxy."""

from __future__ import annotations

from typing import Any

from envtest.sandbox import env_facts, runner_env
from envtest.sandbox.seed.naming import aws_tags, name_suffix


def _launch_template(ec2: Any, prefix: str, groups: list[str], **extra: Any) -> str:
    """identity-terraform launch_template: name_prefix "<env>-<role>", IMDSv2 required, hop limit 2."""
    data = {
        "ImageId": "ami-12c6146b",
        "InstanceType": "t3.medium",
        "SecurityGroupIds": groups,
        "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
        **extra,
    }
    return str(
        ec2.create_launch_template(LaunchTemplateName=f"{prefix}{name_suffix()}", LaunchTemplateData=data)[
            "LaunchTemplate"
        ]["LaunchTemplateId"]
    )


def _asg_tags(group: str, **values: str) -> list[dict[str, Any]]:
    return [
        {"ResourceId": group, "ResourceType": "auto-scaling-group", "Key": k, "Value": v, "PropagateAtLaunch": True}
        for k, v in values.items()
    ]


def seed_groups(c: dict[str, Any], net: dict[str, Any], world: runner_env.World) -> dict[str, list[str]]:
    """The env runner's group, its proxy pool, and the IdP's proxy."""
    ec2, autoscaling = c["ec2"], c["autoscaling"]
    env, groups = world.env, net["groups"]
    common = {"domain": f"{env}.{env_facts.ROOT_DOMAIN}", "environment": env, "fisma": "moderate"}
    runner_lt = _launch_template(
        ec2,
        f"{env}-gitlab-env-runner",
        [groups["runner"], groups["base"], groups["argo"]],
        IamInstanceProfile={"Name": f"{env}_env-runner_gitlab_runner_instance_profile"},
    )
    # gitlab_runner_pool/gitlab-runner.tf: the seven instance tags the runner recipe reads.
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=world.runner_asg,
        MinSize=1,
        MaxSize=2,
        DesiredCapacity=1,
        LaunchTemplate={"LaunchTemplateId": runner_lt, "Version": "$Latest"},
        VPCZoneIdentifier=",".join(net["subnets"]),
        HealthCheckType="EC2",
        Tags=_asg_tags(
            world.runner_asg,
            Name=f"asg-{env}-gitlab-env-runner",
            **common,
            gitlab_runner_pool_name="env-runner",
            allow_untagged_jobs="false",
            is_it_an_env_runner="true",
            gitlab_ecr_repo_accountid=env_facts.TOOLING_ACCOUNT,
            only_on_protected_branch="false",
            gitlab_hostname=env_facts.GITLAB_HOST,
            gitlab_config_s3_bucket=world.bucket("gitlabconfig"),
        ),
    )
    # outbound_proxy: the env runner's pool by name_prefix, tagged proxy_for, behind the NLB; the IdP's by name.
    pool_lt = _launch_template(
        ec2,
        f"{env}-env-runner-outboundproxy",
        [groups["runner_proxy"], groups["base"]],
        TagSpecifications=[{"ResourceType": "instance", "Tags": aws_tags(proxy_for="env-runner")}],
    )
    pool = f"{world.runner_proxy_asg_prefix}{name_suffix()}"
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=pool,
        MinSize=1,
        MaxSize=2,
        DesiredCapacity=1,
        LaunchTemplate={"LaunchTemplateId": pool_lt, "Version": "$Latest"},
        VPCZoneIdentifier=",".join(net["subnets"]),
        HealthCheckType="ELB",
        TargetGroupARNs=[net["nlb"]["target_group"]],
        Tags=_asg_tags(pool, Name=f"asg-{env}-env-runner-outboundproxy", **common),
    )
    idp_proxy_lt = _launch_template(
        ec2,
        f"{env}-outboundproxy",
        [groups["idp_proxy"], groups["base"]],
        IamInstanceProfile={"Name": f"{env}_obproxy_iam_role"},
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=world.proxy_asg,
        MinSize=1,
        MaxSize=2,
        DesiredCapacity=1,
        LaunchTemplate={"LaunchTemplateId": idp_proxy_lt, "Version": "$Latest"},
        VPCZoneIdentifier=",".join(net["subnets"]),
        HealthCheckType="ELB",
        Tags=_asg_tags(world.proxy_asg, Name=f"asg-{env}-outboundproxy", **common),
    )
    found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[world.runner_asg, pool, world.proxy_asg])
    return {g["AutoScalingGroupName"]: [i["InstanceId"] for i in g["Instances"]] for g in found["AutoScalingGroups"]}
