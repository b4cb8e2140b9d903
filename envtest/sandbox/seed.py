"""Seed the sandbox's moto server with one environment, shaped as login.gov's are (env_facts.py, proxy_lists.py,
ecr_images.py and runner_env.py name the sources).

These calls write, so they use their own plain boto3 clients, outside the
suite's read-only guard: the sandbox is set-up, not a check.

Where moto lacks a piece, it is built from what moto has, and said so here:
- an NLB's network interfaces: moto creates none, so one ENI per subnet is
  created with the description EC2 gives an NLB's ("ELB <arn suffix>"), which is
  how terraform's outbound_proxy module finds them (data.aws_network_interface);
- the tooling account's ECR: moto keeps one backend per account, chosen by the
  `x-moto-account-id` header; reading it cross-account with `registryId` goes
  through the sandbox's instances endpoint (instances_endpoint/), which checks the
  repository policy as ECR would.
"""

from __future__ import annotations

import datetime
import functools
import json
import secrets
from pathlib import Path
from typing import Any

import boto3

from envtest.sandbox import ecr_images, env_facts, proxy_lists, runner_env
from envtest.sandbox.app_env import seed_estate


@functools.cache
def _clients(endpoint: str, account: str | None = None) -> dict[str, Any]:
    """The seed's clients, built once per endpoint and account (building one costs about 50 ms; a reseed
    after a fault needs the same ones again)."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=env_facts.REGION
    )
    clients = {
        name: session.client(name, endpoint_url=endpoint)
        for name in ("ec2", "autoscaling", "s3", "ecr", "iam", "elasticache", "elbv2", "logs")
    }
    if account:
        # moto picks the account of a request from this header (moto/core/responses.py get_current_account).
        for client in clients.values():
            client.meta.events.register(
                "before-send.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
            )
    return clients


def _tags(**tags: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _suffix() -> str:
    """What terraform appends to a name_prefix (here shorter: 12 hex digits)."""
    return secrets.token_hex(6)


def _tcp(port: int, *, cidrs: list[str] = (), groups: list[str] = (), why: str = "") -> dict[str, Any]:
    said = {"Description": why} if why else {}
    return {
        "IpProtocol": "tcp",
        "FromPort": port,
        "ToPort": port,
        "IpRanges": [{"CidrIp": c, **said} for c in cidrs],
        "UserIdGroupPairs": [{"GroupId": g, **said} for g in groups],
    }


def seed_network(c: dict[str, Any], world: runner_env.World) -> dict[str, Any]:
    ec2, elbv2 = c["ec2"], c["elbv2"]
    vpc = ec2.create_vpc(
        CidrBlock=env_facts.VPC_CIDR,
        TagSpecifications=[{"ResourceType": "vpc", "Tags": _tags(Name=f"login-vpc-{world.env}")}],
    )["Vpc"]["VpcId"]
    ec2.associate_vpc_cidr_block(VpcId=vpc, CidrBlock=env_facts.SECONDARY_CIDR)
    subnets = [
        ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=cidr,
            AvailabilityZone=az,
            TagSpecifications=[{"ResourceType": "subnet", "Tags": _tags(Name=f"login-app-{world.env}-{az}")}],
        )["Subnet"]["SubnetId"]
        for cidr, az in env_facts.APP_SUBNETS
    ]
    main_table = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]["RouteTableId"]

    def group(name: str, description: str, **tags: str) -> str:
        group_id = ec2.create_security_group(
            GroupName=name,
            Description=description,
            VpcId=vpc,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": _tags(**tags)}] if tags else [],
        )["GroupId"]
        # Security groups start with "all traffic to 0.0.0.0/0"; terraform removes it.
        ec2.revoke_security_group_egress(
            GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        )
        return group_id

    env = world.env
    # vpc_module base.tf/sg.tf: exact name, Name tag.
    base = group(f"{env}-base", "Base security group for rules common to all instances", Name=f"{env}-base")
    # outbound_proxy_net: the IdP's proxy group by exact name (use_prefix = false), the env runner's by name_prefix;
    # both carry the same Name tag.
    idp_proxy = group(f"login-obproxy-{env}", "outbound proxy", Name=f"login-obproxy-{env}", role="outboundproxy")
    runner_proxy = group(
        f"login-obproxy-{env}{_suffix()}", "outbound proxy", Name=f"login-obproxy-{env}", role="outboundproxy"
    )
    # vpc_module endpoints.tf: one group per service, exact name "login-<svc>-endpoint-<env>".
    services = env_facts.REQUIRED_ENDPOINTS if world.endpoints == "required" else env_facts.ALL_ENDPOINTS
    endpoint_groups = {
        svc: group(f"login-{svc}-endpoint-{env}", "Allow inbound from all servers", Name=f"login-{svc}-endpoint-{env}")
        for svc in services
    }
    # gitlab_runner_pool net.tf: name_prefix "login-gitlabrunner-<env>", and the argo groups from N = 2.
    runner = group(
        f"login-gitlabrunner-{env}{_suffix()}",
        "gitlab runner security group",
        Name=f"login-gitlab_runner_security_group-{env}",
        role="gitlab",
    )
    argo = group(
        f"login-gitlabrunner2-{env}{_suffix()}",
        "gitlab runner security group argo access",
        Name=f"login-gitlab_runner_security_group2-{env}",
        role="gitlab",
    )

    # The env runner's proxy: an internal NLB on 3128 (outbound_proxy/outboundproxy-lb.tf: name_prefix
    # substr("<env>-obproxy", 0, 6), tag Name "<env>-obproxy"), a target group the pool registers in.
    nlb = elbv2.create_load_balancer(
        Name=f"{f'{env}-obproxy'[:6]}{_suffix()}",
        Subnets=subnets,
        Scheme="internal",
        Type="network",
        Tags=_tags(Name=f"{env}-obproxy"),
    )["LoadBalancers"][0]
    target_group = elbv2.create_target_group(
        Name=f"{env[:12]}-obproxy-{_suffix()[:6]}", Protocol="TCP", Port=3128, VpcId=vpc, TargetType="instance"
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=nlb["LoadBalancerArn"],
        Protocol="TCP",
        Port=3128,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )
    arn_suffix = nlb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    nlb_ips = []
    for n, subnet in enumerate(subnets):
        ip = env_facts.APP_SUBNETS[n][0].rsplit(".", 1)[0] + ".200"
        ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=ip, Description=f"ELB {arn_suffix}")
        nlb_ips.append(ip)

    prefix_lists = {p["PrefixListName"]: p["PrefixListId"] for p in ec2.describe_prefix_lists()["PrefixLists"]}
    s3_prefix_list = prefix_lists[f"com.amazonaws.{env_facts.REGION}.s3"]
    ec2.authorize_security_group_egress(
        GroupId=base,
        IpPermissions=[
            _tcp(3128, groups=[idp_proxy], why="allow egress to outbound proxy"),
            {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": env_facts.SECONDARY_CIDR}]},
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "PrefixListIds": [{"PrefixListId": s3_prefix_list, "Description": "allow egress to VPC S3 endpoint"}],
            },
            _tcp(443, cidrs=[env_facts.SNAPCRAFT_CIDR], why="allow egress to api.snapcraft.io"),
        ],
    )
    ec2.authorize_security_group_ingress(
        GroupId=base,
        IpPermissions=[
            {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": env_facts.SECONDARY_CIDR}]}
        ],
    )
    ec2.authorize_security_group_egress(
        GroupId=runner,
        IpPermissions=[
            _tcp(22, cidrs=env_facts.GITHUB_CIDRS),
            _tcp(443, cidrs=env_facts.GITHUB_CIDRS),
            _tcp(3128, cidrs=[f"{ip}/32" for ip in nlb_ips]),
            _tcp(8834, cidrs=[env_facts.NESSUS_CIDR]),
            _tcp(22, cidrs=env_facts.GITLAB_NLB_CIDRS, why="Allow connection from NLB"),
            _tcp(443, cidrs=env_facts.GITLAB_NLB_CIDRS, why="Allow connection from NLB"),
            _tcp(443, groups=list(endpoint_groups.values()), why="Allow connection to vpc endpoints"),
        ],
    )
    ec2.authorize_security_group_egress(
        GroupId=argo,
        IpPermissions=[_tcp(443, cidrs=env_facts.EC2_RANGES_SAMPLE, why="Allow connection to ec2 (argocd)")],
    )
    subnet_cidrs = [cidr for cidr, _ in env_facts.APP_SUBNETS]
    for svc, group_id in endpoint_groups.items():
        ec2.authorize_security_group_ingress(
            GroupId=group_id, IpPermissions=[_tcp(443, groups=[base]), _tcp(443, cidrs=subnet_cidrs)]
        )
        if svc != "lambda":  # vpc_endpoints.yaml: vpc_cidr_egress true for every service but lambda
            egress = {
                "IpProtocol": "tcp",
                "FromPort": 0,
                "ToPort": 65535,
                "IpRanges": [{"CidrIp": env_facts.SECONDARY_CIDR}],
            }
            ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=[egress])
    # outbound_proxy_net net.tf: ingress 3128 from the VPC CIDR given (here the sandbox's) and app_cidr_block.
    for proxy in (idp_proxy, runner_proxy):
        ec2.authorize_security_group_ingress(
            GroupId=proxy, IpPermissions=[_tcp(3128, cidrs=[env_facts.VPC_CIDR, env_facts.SECONDARY_CIDR])]
        )

    for svc, group_id in endpoint_groups.items():
        ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName=f"com.amazonaws.{env_facts.REGION}.{svc}",
            VpcEndpointType="Interface",
            SubnetIds=subnets,
            SecurityGroupIds=[group_id],
            PrivateDnsEnabled=True,
        )
    # vpc_module main.tf: the S3 gateway endpoint on the VPC's main route table.
    s3_gateway = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{env_facts.REGION}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[main_table],
    )["VpcEndpoint"]["VpcEndpointId"]
    return {
        "vpc": vpc,
        "subnets": subnets,
        "groups": {
            "base": base,
            "idp_proxy": idp_proxy,
            "runner_proxy": runner_proxy,
            "runner": runner,
            "argo": argo,
            "endpoints": endpoint_groups,
        },
        "nlb": {"arn": nlb["LoadBalancerArn"], "ips": nlb_ips, "target_group": target_group},
        "s3_gateway": s3_gateway,
    }


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
        ec2.create_launch_template(LaunchTemplateName=f"{prefix}{_suffix()}", LaunchTemplateData=data)[
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
        TagSpecifications=[{"ResourceType": "instance", "Tags": _tags(proxy_for="env-runner")}],
    )
    pool = f"{world.runner_proxy_asg_prefix}{_suffix()}"
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


def seed_images(tooling: dict[str, Any], count: int, era: str) -> list[tuple[str, list[str]]]:
    """Blocks of images in the tooling account's ECR, oldest first, the newest dated 2026-11-01.

    The repositories' policy lets the env account read them (environment.md: "readable cross-account by the env
    accounts through the repository policy").
    """
    ecr = tooling["ecr"]
    repos = [f"{r}/blessed" if era == "pattern" else r for r in ecr_images.IMAGE_REPOS]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EnvAccountsRead",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{env_facts.ACCOUNT}:root"},
                "Action": ["ecr:ListImages", "ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }
    blocks = []
    newest = datetime.date(2026, 11, 1)
    for n in range(1, count + 1):
        date = (newest - datetime.timedelta(days=30 * (count - n))).isoformat()
        refs = []
        for repo in repos:
            if n == 1:
                ecr.create_repository(repositoryName=repo)
                ecr.set_repository_policy(repositoryName=repo, policyText=json.dumps(policy))
            manifest = ecr_images.fake_manifest(repo, n)
            digest = ecr_images.manifest_digest(manifest)
            ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=f"build-{n}", imageDigest=digest)
            refs.append(ecr_images.image_ref(repo, digest))
        blocks.append((date, refs))
    return blocks


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


# terraform/app outputs.tf: the complete list of root outputs (environment.md, "Terraform"). Nothing about the
# runner, its proxy, endpoints or buckets.
TF_OUTPUTS = (
    "env_name",
    "region",
    "idp_dashboard_arn",
    "idp_alb",
    "idp_cloudfront",
    "elasticache",
    "idp_aurora_uw2",
    "dashboard_aurora_uw2",
    "worker_aurora_uw2",
)


def tf_state(canaries: runner_env.Canaries, world: runner_env.World, redis: dict[str, str]) -> str:
    env, acct, region = world.env, env_facts.ACCOUNT, env_facts.REGION

    def out(value: Any) -> dict[str, Any]:
        return {"value": value, "type": "string" if isinstance(value, str) else ["object", {}]}

    cloudfront = f"d{secrets.token_hex(6)}.cloudfront.net"
    aurora = {"endpoint": f"login-{env}-idp-aurora.cluster-abc.{region}.rds.amazonaws.com", "port": 5432}
    return json.dumps(
        {
            "version": 4,
            "terraform_version": "1.9.8",
            "serial": 42,
            "lineage": "5d3c1b1e-envtest-sandbox",
            "outputs": {
                "env_name": out(env),
                "region": out(region),
                "idp_dashboard_arn": out(f"arn:aws:cloudwatch::{acct}:dashboard/{env}-idp"),
                "idp_alb": out(
                    {"alb_hostname": f"{env}-idp-alb.{region}.elb.amazonaws.com", "origin_dns_name": world.origin_host}
                ),
                "idp_cloudfront": out(
                    {
                        "domain_name": cloudfront,
                        "custom_pages": [
                            f"https://{cloudfront}/5xx-codes/503.html",
                            f"https://{cloudfront}/maintenance/maintenance.html",
                        ],
                    }
                ),
                "elasticache": out({"cluster_address": redis["primary"], "cluster_cache_address": redis["primary"]}),
                "idp_aurora_uw2": out(aurora),
                "dashboard_aurora_uw2": out({**aurora, "endpoint": aurora["endpoint"].replace("idp", "dashboard")}),
                "worker_aurora_uw2": out({**aurora, "endpoint": aurora["endpoint"].replace("idp", "worker")}),
            },
            # State holds secrets in resources too (a database password here): the suite reads outputs only,
            # and the canary proves nothing else leaks.
            "resources": [
                {
                    "mode": "managed",
                    "type": "random_password",
                    "name": "idp_db",
                    "provider": 'provider["registry.terraform.io/hashicorp/random"]',
                    "instances": [{"attributes": {"result": canaries.tf_sensitive_output}, "sensitive_attributes": []}],
                }
            ],
        },
        indent=2,
    )


def write_host_file(hosts: Path, role: str, path: str, content: str, mode: int = 0o644) -> Path:
    target = hosts / role / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    target.chmod(mode)
    return target


def pattern_allowed_images() -> list[str]:
    """Era 2 (runner.rb): the blessed pattern for the production account and gitlab_ecr_repo_accountid, .uniq."""
    return [
        f"{ecr_images.registry(account)}/**/blessed@sha256:*" for account in dict.fromkeys([env_facts.TOOLING_ACCOUNT])
    ]


def env_runner_role_policies(world: runner_env.World) -> dict[str, list[dict[str, Any]]]:
    """gitlab_runner_pool iam-role.tf: the env runner role's S3 policies (the others, ECR, logs, SSM, and the
    AutoTerraform attachments, decide nothing the suite asks about)."""
    secrets, config = world.bucket("secrets"), world.bucket("gitlabconfig")
    return {
        # "gitlab-runner-secrets": List and Get on the secrets bucket's common/ and <env>/ prefixes.
        "gitlab-runner-secrets": [
            {
                "Sid": "AllowBucketAndObjects",
                "Effect": "Allow",
                "Action": ["s3:List*", "s3:Get*"],
                "Resource": [
                    f"arn:aws:s3:::{secrets}/common/*",
                    f"arn:aws:s3:::{secrets}/common/",
                    f"arn:aws:s3:::{secrets}/{world.env}/*",
                    f"arn:aws:s3:::{secrets}/{world.env}/",
                ],
            }
        ],
        # "gitlab-runner-config": GetObject on the config bucket (the registration token).
        "gitlab-runner-config": [
            {
                "Sid": "Config",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{config}/", f"arn:aws:s3:::{config}/*"],
            }
        ],
    }


def seed_lockdown_access(c: dict[str, Any], world: runner_env.World) -> None:
    """Who can reach the token and the file: the env runner's role; the config bucket as the gitlab module makes it
    (terraform/gitlab/module/s3.tf: private ACL, a policy letting the env accounts' roots GetObject, and a public
    access block with all four settings on). The secrets bucket is made elsewhere: no block is assumed for it."""
    iam, s3 = c["iam"], c["s3"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    role = f"{world.env}-env-runner_gitlab_runner_role"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    for name, statements in env_runner_role_policies(world).items():
        document = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(RoleName=role, PolicyName=f"{world.env}-{name}", PolicyDocument=json.dumps(document))
    config = world.bucket("gitlabconfig")
    s3.put_bucket_policy(
        Bucket=config,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "allowEnvRunners",
                        "Effect": "Allow",
                        "Principal": {"AWS": [f"arn:aws:iam::{env_facts.ACCOUNT}:root"]},
                        "Action": "s3:GetObject",
                        "Resource": [f"arn:aws:s3:::{config}", f"arn:aws:s3:::{config}/*"],
                    }
                ],
            }
        ),
    )
    s3.put_public_access_block(
        Bucket=config,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def seed(
    endpoint: str, directory: Path, canaries: runner_env.Canaries, proxy_url: str, world: runner_env.World
) -> dict[str, Any]:
    c = _clients(endpoint)
    tooling = _clients(endpoint, account=env_facts.TOOLING_ACCOUNT)
    net = seed_network(c, world)
    instances = seed_groups(c, net, world)
    blocks = seed_images(tooling, world.image_blocks, world.era)
    s3 = c["s3"]
    for kind in ("secrets", "gitlabconfig", "gitlabcache", "tfstate"):
        s3.create_bucket(Bucket=world.bucket(kind), CreateBucketConfiguration={"LocationConstraint": env_facts.REGION})
    images_file = ecr_images.allowed_images_file(blocks)
    if world.era == "file":
        s3.put_object(
            Bucket=world.bucket("secrets"), Key="common/gitlab_env_runner_allowed_images", Body=images_file.encode()
        )
    s3.put_object(
        Bucket=world.bucket("gitlabconfig"),
        Key="gitlab_runner_token",
        Body=(canaries.registration_token + "\n").encode(),
    )
    seed_lockdown_access(c, world)
    seed_scale(c, net, world)
    estate = seed_estate(c, net, world, directory, write_host_file)
    pool = next(name for name in instances if name.startswith(world.runner_proxy_asg_prefix))
    estate["roles"][pool] = "env-runner-proxy"
    estate.update(vpc=net["vpc"], s3_gateway=net["s3_gateway"])
    s3.put_object(
        Bucket=world.bucket("tfstate"),
        Key=world.tf_state_key,
        Body=tf_state(canaries, world, estate["redis_endpoints"]).encode(),
    )
    hosts = directory / "hosts"
    # era 1: the recipe registers every white-space token of the file; era 2: the blessed pattern.
    allowed = ecr_images.recipe_allowed_images(images_file) if world.era == "file" else pattern_allowed_images()
    runner_id = instances[world.runner_asg][0]
    write_host_file(
        hosts,
        "env-runner",
        "/etc/gitlab-runner/config.toml",
        world.runner_config_toml(
            runner_token=canaries.runner_token,
            proxy_url=proxy_url,
            allowed_images=allowed,
            instance_id=runner_id,
            # runner-register.sh.erb: era 1's --docker-image is the first allowed token; era 2's (template
            # 5aeb9e6f) the env's own ECR mirror of alpine.
            default_image=None
            if world.era == "file"
            else f"{ecr_images.registry(env_facts.ACCOUNT)}/ecr-public/docker/library/alpine:latest",
        ),
        mode=0o600,
    )
    write_host_file(hosts, "env-runner-proxy", proxy_lists.ALLOWLIST_PATH, world.allowlist)
    write_host_file(hosts, "outboundproxy", proxy_lists.ALLOWLIST_PATH, proxy_lists.IDP_PROXY_ALLOWLIST)
    for role in ("env-runner-proxy", "outboundproxy"):
        write_host_file(hosts, role, "/etc/squid/domain-denylist.conf", "\n".join(proxy_lists.DENYLIST) + "\n")
    newest = {ref.split("@")[0].split("/", 1)[1].removesuffix("/blessed"): ref.split("@")[1] for ref in blocks[-1][1]}
    (directory / "gitlab-ci.yml").write_text(
        world.pipeline_yaml(newest["cd/env_deploy"], newest["cd/env_test"], newest["cd/env_stop"])
    )
    return {
        "network": net,
        "instances": instances,
        "runner_proxy_asg": pool,
        "allowed_images": [ref for _, refs in blocks for ref in refs],
        "estate": estate,
    }
