"""Seed the sandbox's moto server with one environment, named as the real ones are.

These calls write, so they use their own plain boto3 clients, outside the
suite's read-only guard: the sandbox is set-up, not a check.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import boto3

from envtest.sandbox import world as w
from envtest.sandbox.estate import seed_estate

INTERFACE_ENDPOINTS = [
    "ssm",
    "ssmmessages",
    "ec2messages",
    "ecr.api",
    "ecr.dkr",
    "sts",
    "logs",
    "kms",
    "ec2",
    "autoscaling",
    "secretsmanager",
]


def _clients(endpoint: str) -> dict[str, Any]:
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=w.REGION)
    return {
        name: session.client(name, endpoint_url=endpoint)
        for name in ("ec2", "autoscaling", "s3", "ecr", "iam", "elasticache")
    }


def _tags(**tags: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def seed_network(ec2: Any, world: w.World) -> dict[str, Any]:
    vpc = ec2.create_vpc(
        CidrBlock=w.VPC_CIDR, TagSpecifications=[{"ResourceType": "vpc", "Tags": _tags(Name=f"login-vpc-{world.env}")}]
    )["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=cidr,
            AvailabilityZone=az,
            TagSpecifications=[{"ResourceType": "subnet", "Tags": _tags(Name=f"{world.env}-private-{az}")}],
        )["Subnet"]["SubnetId"]
        for cidr, az in (("10.42.1.0/24", f"{w.REGION}a"), ("10.42.2.0/24", f"{w.REGION}b"))
    ]

    def group(name: str, description: str, **tags: str) -> str:
        group_id = ec2.create_security_group(
            GroupName=name,
            Description=description,
            VpcId=vpc,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": _tags(**tags)}],
        )["GroupId"]
        # Security groups start with "all traffic to 0.0.0.0/0"; terraform removes it.
        ec2.revoke_security_group_egress(
            GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        )
        return group_id

    base = group(f"{world.env}-base", "base group for every host", Name=f"{world.env}-base")
    proxy = group(f"{world.env}-obproxy", "outbound proxy", Name=f"{world.env}-obproxy")
    endpoints = group(f"{world.env}-endpoints", "VPC interface endpoints", Name=f"{world.env}-endpoints")
    runner = group(
        f"login-gov-gitlabrunner-{world.env}",
        "env runner",
        Name=f"login-gov-gitlab_runner_security_group-{world.env}",
        role="gitlab",
    )

    def tcp(port: int, *, cidrs: list[str] = (), groups: list[str] = (), why: str) -> dict[str, Any]:
        return {
            "IpProtocol": "tcp",
            "FromPort": port,
            "ToPort": port,
            "IpRanges": [{"CidrIp": c, "Description": why} for c in cidrs],
            "UserIdGroupPairs": [{"GroupId": g, "Description": why} for g in groups],
        }

    ec2.authorize_security_group_egress(
        GroupId=runner,
        IpPermissions=[
            tcp(3128, groups=[proxy], why="outbound proxy"),
            tcp(22, cidrs=w.GITHUB_CIDRS, why="github"),
            tcp(8834, cidrs=[w.NESSUS_IP], why="nessus"),
            tcp(22, cidrs=w.GITLAB_NLB_CIDRS, why="gitlab nlb"),
            tcp(443, cidrs=w.GITLAB_NLB_CIDRS, why="gitlab nlb"),
        ],
    )
    ec2.authorize_security_group_egress(
        GroupId=base, IpPermissions=[tcp(443, groups=[endpoints], why="vpc interface endpoints")]
    )
    ec2.authorize_security_group_ingress(
        GroupId=endpoints, IpPermissions=[tcp(443, groups=[base, runner], why="hosts to vpc endpoints")]
    )
    ec2.authorize_security_group_ingress(
        GroupId=proxy, IpPermissions=[tcp(3128, groups=[runner], why="env runner to proxy")]
    )

    route_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    for subnet in subnets:
        ec2.associate_route_table(RouteTableId=route_table, SubnetId=subnet)
    for service in INTERFACE_ENDPOINTS:
        ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName=f"com.amazonaws.{w.REGION}.{service}",
            VpcEndpointType="Interface",
            SubnetIds=subnets,
            SecurityGroupIds=[endpoints],
            PrivateDnsEnabled=True,
        )
    ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{w.REGION}.s3", VpcEndpointType="Gateway", RouteTableIds=[route_table]
    )
    return {
        "vpc": vpc,
        "subnets": subnets,
        "groups": {"base": base, "proxy": proxy, "endpoints": endpoints, "runner": runner},
    }


def seed_groups(ec2: Any, autoscaling: Any, net: dict[str, Any], world: w.World) -> dict[str, list[str]]:
    def template(name: str, groups: list[str]) -> str:
        return ec2.create_launch_template(
            LaunchTemplateName=name,
            LaunchTemplateData={
                "ImageId": "ami-12c6146b",
                "InstanceType": "t3.medium",
                "SecurityGroupIds": groups,
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
                "BlockDeviceMappings": [
                    {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 40, "Encrypted": True, "VolumeType": "gp3"}}
                ],
            },
        )["LaunchTemplate"]["LaunchTemplateId"]

    runner_lt = template(f"{world.env}-gitlab-env-runner", [net["groups"]["runner"], net["groups"]["base"]])
    proxy_lt = template(f"{world.env}-outboundproxy", [net["groups"]["proxy"], net["groups"]["base"]])

    def tags(group: str, **values: str) -> list[dict[str, Any]]:
        return [
            {"ResourceId": group, "ResourceType": "auto-scaling-group", "Key": k, "Value": v, "PropagateAtLaunch": True}
            for k, v in values.items()
        ]

    common = {"domain": f"{world.env}.{w.ROOT_DOMAIN}", "environment": world.env, "fisma": "moderate"}
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=world.runner_asg,
        MinSize=1,
        MaxSize=2,
        DesiredCapacity=1,
        LaunchTemplate={"LaunchTemplateId": runner_lt, "Version": "$Latest"},
        VPCZoneIdentifier=",".join(net["subnets"]),
        HealthCheckType="EC2",
        Tags=tags(
            world.runner_asg,
            Name=f"asg-{world.runner_asg}",
            **common,
            gitlab_runner_pool_name="env-runner",
            allow_untagged_jobs="false",
            is_it_an_env_runner="true",
            gitlab_ecr_repo_accountid=w.ACCOUNT,
            only_on_protected_branch="true",
            gitlab_hostname=w.GITLAB_HOST,
            gitlab_config_s3_bucket=world.bucket("gitlabconfig"),
        ),
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=world.proxy_asg,
        MinSize=1,
        MaxSize=2,
        DesiredCapacity=1,
        LaunchTemplate={"LaunchTemplateId": proxy_lt, "Version": "$Latest"},
        VPCZoneIdentifier=",".join(net["subnets"]),
        HealthCheckType="EC2",
        Tags=tags(world.proxy_asg, Name=f"asg-{world.proxy_asg}", **common),
    )
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[world.runner_asg, world.proxy_asg])
    return {g["AutoScalingGroupName"]: [i["InstanceId"] for i in g["Instances"]] for g in groups["AutoScalingGroups"]}


def seed_images(ecr: Any, count: int) -> list[tuple[str, list[str]]]:
    """Blocks of images, oldest first, the newest dated 2026-11-01 (the file keeps older blocks around)."""
    blocks = []
    newest = datetime.date(2026, 11, 1)
    for n in range(1, count + 1):
        date = (newest - datetime.timedelta(days=30 * (count - n))).isoformat()
        refs = []
        for repo in w.IMAGE_REPOS:
            if n == 1:
                ecr.create_repository(repositoryName=repo)
            manifest = w.fake_manifest(repo, n)
            digest = w.manifest_digest(manifest)
            ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=f"build-{n}", imageDigest=digest)
            refs.append(w.image_ref(repo, digest))
        blocks.append((date, refs))
    return blocks


def seed_scale(ec2: Any, autoscaling: Any, s3: Any, net: dict[str, Any], world: w.World) -> None:
    """What a bigger env has more of, none of it attached to the runner: the checks must still pass."""
    extra = world.scale - 1
    for i in range(3 * extra):
        group = ec2.create_security_group(GroupName=f"{world.env}-app-{i}", Description="scale", VpcId=net["vpc"])
        ec2.authorize_security_group_egress(
            GroupId=group["GroupId"],
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": w.VPC_CIDR}]}
                for port in (5432, 6379, 8080, 9200)
            ],
        )
    for i in range(extra):
        s3.create_bucket(
            Bucket=f"login-gov-{world.env}-scale-{i}-{w.ACCOUNT}-{w.REGION}",
            CreateBucketConfiguration={"LocationConstraint": w.REGION},
        )
    if extra:
        template = ec2.describe_launch_templates(LaunchTemplateNames=[world.proxy_asg])["LaunchTemplates"][0]
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=f"{world.env}-idp",
            MinSize=0,
            MaxSize=world.scale,
            DesiredCapacity=min(extra, 100),
            LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "$Latest"},
            VPCZoneIdentifier=",".join(net["subnets"]),
        )


def tf_state(canaries: w.Canaries, proxy_url: str, world: w.World) -> str:
    def out(value: Any, sensitive: bool = False) -> dict[str, Any]:
        return {"value": value, "type": "string", **({"sensitive": True} if sensitive else {})}

    return json.dumps(
        {
            "version": 4,
            "terraform_version": "1.9.8",
            "serial": 42,
            "lineage": "5d3c1b1e-envtest-sandbox",
            "outputs": {
                "env_name": out(world.env),
                "region": out(w.REGION),
                "env_runner_asg_name": out(world.runner_asg),
                "gitlab_hostname": out(w.GITLAB_HOST),
                "idp_hostname": out(world.idp_host),
                "outbound_proxy_url": out(proxy_url),
                "gitlab_nlb_cidrs": {"value": w.GITLAB_NLB_CIDRS, "type": ["list", "string"]},
                "nessus_cidrs": {"value": [w.NESSUS_IP], "type": ["list", "string"]},
                "rds_admin_password": out(canaries.tf_sensitive_output, sensitive=True),
            },
            "resources": [],
        },
        indent=2,
    )


def write_host_file(hosts: Path, role: str, path: str, content: str, mode: int = 0o644) -> Path:
    target = hosts / role / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    target.chmod(mode)
    return target


def seed(endpoint: str, directory: Path, canaries: w.Canaries, proxy_url: str, world: w.World) -> dict[str, Any]:
    c = _clients(endpoint)
    net = seed_network(c["ec2"], world)
    instances = seed_groups(c["ec2"], c["autoscaling"], net, world)
    blocks = seed_images(c["ecr"], world.image_blocks)
    s3 = c["s3"]
    for kind in ("secrets", "gitlabconfig", "gitlabcache", "tfstate"):
        s3.create_bucket(Bucket=world.bucket(kind), CreateBucketConfiguration={"LocationConstraint": w.REGION})
    s3.put_object(
        Bucket=world.bucket("secrets"),
        Key="common/gitlab_env_runner_allowed_images",
        Body=w.allowed_images_file(blocks).encode(),
    )
    s3.put_object(
        Bucket=world.bucket("gitlabconfig"),
        Key="gitlab_runner_token",
        Body=(canaries.registration_token + "\n").encode(),
    )
    s3.put_object(
        Bucket=world.bucket("tfstate"), Key=world.tf_state_key, Body=tf_state(canaries, proxy_url, world).encode()
    )

    seed_scale(c["ec2"], c["autoscaling"], s3, net, world)
    estate = seed_estate(c, net, world, directory, write_host_file)
    hosts = directory / "hosts"
    allowed = [ref for _, refs in blocks for ref in refs]
    runner_id = instances[world.runner_asg][0]
    write_host_file(
        hosts,
        "env-runner",
        "/etc/gitlab-runner/config.toml",
        world.runner_config_toml(
            runner_token=canaries.runner_token, proxy_url=proxy_url, allowed_images=allowed, instance_id=runner_id
        ),
        mode=0o600,
    )
    newest = {ref.split("@")[0].rsplit("/", 1)[-1]: ref.split("@")[1] for ref in blocks[-1][1]}
    (directory / "gitlab-ci.yml").write_text(
        world.pipeline_yaml(newest["env_deploy"], newest["env_test"], newest["env_stop"])
    )
    return {"network": net, "instances": instances, "allowed_images": allowed, "estate": estate}
