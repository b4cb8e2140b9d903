"""The VPC as the vpc_module and outbound_proxy_net build it: subnets, security groups and their rules, the
env runner's proxy NLB, the interface and gateway endpoints.
"""

from __future__ import annotations

from typing import Any

from envtest_double import env_facts, runner_env
from envtest_double.seed.naming import aws_tags, name_suffix

ARGO_RULES = 120  # gitlab_runner_pool/net.tf: locals.security_group_max_rules


def _tcp(port: int, *, cidrs: list[str] = (), groups: list[str] = (), why: str = "") -> dict[str, Any]:
    said = {"Description": why} if why else {}
    return {
        "IpProtocol": "tcp",
        "FromPort": port,
        "ToPort": port,
        "IpRanges": [{"CidrIp": c, **said} for c in cidrs],
        "UserIdGroupPairs": [{"GroupId": g, **said} for g in groups],
    }


# The interface endpoint seeded as replaced: an old copy, deleted, listed beside the live one.
REPLACED_ENDPOINT = "kms"


def seed_network(c: dict[str, Any], world: runner_env.World) -> dict[str, Any]:
    ec2, elbv2 = c["ec2"], c["elbv2"]
    vpc = ec2.create_vpc(
        CidrBlock=env_facts.VPC_CIDR,
        TagSpecifications=[{"ResourceType": "vpc", "Tags": aws_tags(Name=f"login-vpc-{world.env}")}],
    )["Vpc"]["VpcId"]
    ec2.associate_vpc_cidr_block(VpcId=vpc, CidrBlock=env_facts.SECONDARY_CIDR)
    subnets = [
        ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=cidr,
            AvailabilityZone=az,
            TagSpecifications=[{"ResourceType": "subnet", "Tags": aws_tags(Name=f"login-app-{world.env}-{az}")}],
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
            TagSpecifications=[{"ResourceType": "security-group", "Tags": aws_tags(**tags)}] if tags else [],
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
        f"login-obproxy-{env}{name_suffix()}", "outbound proxy", Name=f"login-obproxy-{env}", role="outboundproxy"
    )
    # vpc_module endpoints.tf: one group per service, exact name "login-<svc>-endpoint-<env>".
    shapes = world.shapes
    chosen = shapes.endpoints if shapes else world.endpoints
    if isinstance(chosen, tuple):
        services = list(chosen)
    else:
        services = env_facts.REQUIRED_ENDPOINTS if chosen == "required" else env_facts.ALL_ENDPOINTS
    naming = shapes.endpoint_group_name if shapes else "login-{svc}-endpoint-{env}"
    unnamed = shapes.unnamed_endpoint_groups if shapes else ()

    def endpoint_group(svc: str) -> str:
        if svc in unnamed:  # no name in terraform: AWS gets terraform's generated one, and no Name tag
            return group(f"terraform-{name_suffix()}", "Allow inbound from all servers")
        name = naming.format(svc=svc, env=env)
        return group(name, "Allow inbound from all servers", Name=name)

    endpoint_groups = {svc: endpoint_group(svc) for svc in services}
    # gitlab_runner_pool net.tf: name_prefix "login-gitlabrunner-<env>", and the argo groups from N = 2.
    runner = group(
        f"login-gitlabrunner-{env}{name_suffix()}",
        "gitlab runner security group",
        Name=f"login-gitlab_runner_security_group-{env}",
        role="gitlab",
    )
    # net.tf: one argo group per chunk of 120 of AWS's EC2 ranges for the region (chunklist, security_group_max_rules
    # = 120, the account's raised rules quota: moto_server.py), named from N = 2.
    chunks = [env_facts.EC2_RANGES[i : i + ARGO_RULES] for i in range(0, len(env_facts.EC2_RANGES), ARGO_RULES)]
    argo = [
        group(
            f"login-gitlabrunner{n + 2}-{env}{name_suffix()}",
            "gitlab runner security group argo access",
            Name=f"login-gitlab_runner_security_group{n + 2}-{env}",
            role="gitlab",
        )
        for n in range(len(chunks))
    ]

    # The env runner's proxy: an internal NLB on 3128 (outbound_proxy/outboundproxy-lb.tf: name_prefix
    # substr("<env>-obproxy", 0, 6), tag Name "<env>-obproxy"), a target group the pool registers in.
    nlb = elbv2.create_load_balancer(
        Name=f"{f'{env}-obproxy'[:6]}{name_suffix()}",
        Subnets=subnets,
        Scheme="internal",
        Type="network",
        Tags=aws_tags(Name=f"{env}-obproxy"),
    )["LoadBalancers"][0]
    target_group = elbv2.create_target_group(
        Name=f"{env[:12]}-obproxy-{name_suffix()[:6]}", Protocol="TCP", Port=3128, VpcId=vpc, TargetType="instance"
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

    # <env>-base's ICMP: to the secondary CIDR (vpc_module sg.tf), or to both (terraform/app/net.tf in 2022).
    both = shapes is not None and shapes.base_icmp == "both"
    icmp_cidrs = [env_facts.VPC_CIDR, env_facts.SECONDARY_CIDR] if both else [env_facts.SECONDARY_CIDR]
    prefix_lists = {p["PrefixListName"]: p["PrefixListId"] for p in ec2.describe_prefix_lists()["PrefixLists"]}
    s3_prefix_list = prefix_lists[f"com.amazonaws.{env_facts.REGION}.s3"]
    ec2.authorize_security_group_egress(
        GroupId=base,
        IpPermissions=[
            _tcp(3128, groups=[idp_proxy], why="allow egress to outbound proxy"),
            {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": c} for c in icmp_cidrs]},
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
    # GitHub's git list as the revision's source has it, single addresses included (revisions.py).
    github = list(shapes.github_git) if shapes and shapes.github_git else env_facts.GITHUB_CIDRS
    ec2.authorize_security_group_egress(
        GroupId=runner,
        IpPermissions=[
            _tcp(22, cidrs=github),
            _tcp(443, cidrs=github),
            _tcp(3128, cidrs=[f"{ip}/32" for ip in nlb_ips]),
            _tcp(8834, cidrs=[env_facts.NESSUS_CIDR]),
            _tcp(22, cidrs=env_facts.GITLAB_NLB_CIDRS, why="Allow connection from NLB"),
            _tcp(443, cidrs=env_facts.GITLAB_NLB_CIDRS, why="Allow connection from NLB"),
            _tcp(443, groups=list(endpoint_groups.values()), why="Allow connection to vpc endpoints"),
        ],
    )
    for group_id, chunk in zip(argo, chunks, strict=True):
        ec2.authorize_security_group_egress(
            GroupId=group_id, IpPermissions=[_tcp(443, cidrs=chunk, why="Allow connection to ec2 (argocd)")]
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
        endpoint = {
            "VpcId": vpc,
            "ServiceName": f"com.amazonaws.{env_facts.REGION}.{svc}",
            "VpcEndpointType": "Interface",
            "SubnetIds": subnets,
            "SecurityGroupIds": [group_id],
            "PrivateDnsEnabled": True,
        }
        if svc == REPLACED_ENDPOINT:
            # One endpoint terraform replaced (create_before_destroy): EC2 keeps listing the old one, state deleted,
            # beside the new one, for a while after (ec2 API reference, VpcEndpoint State: ... Deleting | Deleted);
            # moto keeps it too. The checks must judge the live one.
            old = ec2.create_vpc_endpoint(**endpoint)["VpcEndpoint"]["VpcEndpointId"]
            ec2.delete_vpc_endpoints(VpcEndpointIds=[old])
        ec2.create_vpc_endpoint(**endpoint)
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
