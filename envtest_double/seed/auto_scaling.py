"""The Auto Scaling groups: the env runner's, its proxy pool behind the NLB, and the IdP's proxy."""

from __future__ import annotations

from typing import Any

from envtest_double import env_facts, runner_env
from envtest_double.seed.naming import aws_tags, name_suffix


def launch_template(ec2: Any, prefix: str, groups: list[str], **extra: Any) -> str:
    """identity-terraform launch_template: name_prefix "<env>-<role>", IMDSv2 required, hop limit 2. Every
    role's template comes from it (terraform/app idp.tf: module "idp_launch_template", and the other roles')."""
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


def create_group(
    autoscaling: Any,
    name: str,
    template: str,
    subnets: list[str],
    *,
    health: str,
    tags: dict[str, str],
    desired: int = 1,
    **extra: Any,
) -> None:
    """One role's group as the modules make it: 1 to 2 instances, `desired` wanted (one unless the source says
    more), the latest template, tags that propagate to the instances."""
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        MinSize=1,
        MaxSize=2,
        DesiredCapacity=desired,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"},
        VPCZoneIdentifier=",".join(subnets),
        HealthCheckType=health,
        Tags=[
            {"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": k, "Value": v, "PropagateAtLaunch": True}
            for k, v in tags.items()
        ],
        **extra,
    )


def seed_groups(c: dict[str, Any], net: dict[str, Any], world: runner_env.World) -> dict[str, list[str]]:
    """The env runner's group, its proxy pool, and the IdP's proxy."""
    ec2, autoscaling = c["ec2"], c["autoscaling"]
    env, groups = world.env, net["groups"]
    common = {"domain": f"{env}.{env_facts.ROOT_DOMAIN}", "environment": env, "fisma": "moderate"}
    runner_lt = launch_template(
        ec2,
        f"{env}-gitlab-env-runner",
        # The argo group only where the revision's launch template attaches one (revisions.py).
        [groups["runner"], groups["base"], *(groups["argo"] if not world.shapes or world.shapes.argo else [])],
        IamInstanceProfile={"Name": f"{env}_env-runner_gitlab_runner_instance_profile"},
    )
    # gitlab_runner_pool/gitlab-runner.tf: the seven instance tags the runner recipe reads.
    create_group(
        autoscaling,
        world.runner_asg,
        runner_lt,
        net["subnets"],
        health="EC2",
        tags={
            "Name": f"asg-{env}-gitlab-env-runner",
            **common,
            "gitlab_runner_pool_name": "env-runner",
            "allow_untagged_jobs": "false",
            "is_it_an_env_runner": "true",
            "gitlab_ecr_repo_accountid": env_facts.TOOLING_ACCOUNT,
            "only_on_protected_branch": "false",
            "gitlab_hostname": env_facts.GITLAB_HOST,
            "gitlab_config_s3_bucket": world.bucket("gitlabconfig"),
        },
    )
    # outbound_proxy: the env runner's pool by name_prefix, tagged proxy_for, behind the NLB; the IdP's by name.
    pool_lt = launch_template(
        ec2,
        f"{env}-env-runner-outboundproxy",
        [groups["runner_proxy"], groups["base"]],
        TagSpecifications=[{"ResourceType": "instance", "Tags": aws_tags(proxy_for="env-runner")}],
    )
    pool = f"{world.runner_proxy_asg_prefix}{name_suffix()}"
    create_group(
        autoscaling,
        pool,
        pool_lt,
        net["subnets"],
        health="ELB",
        tags={"Name": f"asg-{env}-env-runner-outboundproxy", **common},
        TargetGroupARNs=[net["nlb"]["target_group"]],
    )
    idp_proxy_lt = launch_template(
        ec2,
        f"{env}-outboundproxy",
        [groups["idp_proxy"], groups["base"]],
        IamInstanceProfile={"Name": f"{env}_obproxy_iam_role"},
    )
    create_group(
        autoscaling,
        world.proxy_asg,
        idp_proxy_lt,
        net["subnets"],
        health="ELB",
        tags={"Name": f"asg-{env}-outboundproxy", **common},
    )
    # The runner an earlier recycle replaced: terminated, no longer the group's, and still listed by EC2 (for about
    # an hour: ec2 API reference, DescribeInstances: "Terminated instances remain visible after termination
    # (for approximately one hour)"), with the runner's tags. The checks must judge the group's live instances.
    retired = ec2.run_instances(
        LaunchTemplate={"LaunchTemplateId": runner_lt, "Version": "$Latest"},
        MinCount=1,
        MaxCount=1,
        SubnetId=net["subnets"][0],
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": aws_tags(Name=f"asg-{env}-gitlab-env-runner", **common)}
        ],
    )["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[retired])
    found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[world.runner_asg, pool, world.proxy_asg])
    return {g["AutoScalingGroupName"]: [i["InstanceId"] for i in g["Instances"]] for g in found["AutoScalingGroups"]}
