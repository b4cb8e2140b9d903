"""The sandbox's application hosts, seeded as AWS state.

Beside the env runner and the proxy, an environment has idp, worker, app,
pivcac and elk hosts, a Redis cluster, the attempts-API and escrow buckets
with their roles' permissions, and an edge (CloudFront) in front of the IdP.
Everything here agrees with policy/default.toml, so the clean sandbox passes;
each fault in faults/ breaks one thing.

What it seeds from: app_access.py (roles and buckets), app_host_files.py (status files), cloudfront_edge.py (the
edge); metric_filters.py seeds the SLI metric filters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from envtest_double import env_facts, runner_env
from envtest_double.app_access import (
    APP_ROLES,
    ESCROW_READ_ROLE,
    buckets,
    escrow_bucket_policy,
    role_arn,
    role_name,
    role_policies,
)
from envtest_double.app_host_files import write_host_files
from envtest_double.cloudfront_edge import ERROR_PAGES, edge_site, static_bucket
from envtest_double.seed.auto_scaling import create_group, launch_template
from envtest_double.seed.metric_filters import seed_metric_filters

REDIS_IP = "10.42.3.10"
# The Go suite's DNSSEC test asks for www.dnssec-failed.org (tests/identity_system_test.go).
BROKEN_DNSSEC_NAME = "www.dnssec-failed.org"
# An address inside the VPC the IdP name resolves to for the instances (nothing need answer there).
IDP_INTERNAL_IP = "10.42.0.80"


def seed_estate(
    c: dict[str, Any], net: dict[str, Any], world: runner_env.World, directory: Path, write: Any
) -> dict[str, Any]:
    """Groups, instances, roles, buckets and Redis for the application hosts; the front endpoint's config."""
    ec2, autoscaling, s3, iam, elasticache = c["ec2"], c["autoscaling"], c["s3"], c["iam"], c["elasticache"]
    env = world.env

    def group(name: str) -> str:
        group_id = ec2.create_security_group(GroupName=name, Description=f"{name} hosts", VpcId=net["vpc"])["GroupId"]
        ec2.revoke_security_group_egress(
            GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        )
        return group_id

    app_roles = [*APP_ROLES, *(world.shapes.extra_app_roles if world.shapes else ())]
    groups = {role: group(f"{env}-{role}") for role in app_roles}
    # environment.md, "Redis": group login-cache-<env> admits 6379 from the idp and worker groups.
    cache = group(f"login-cache-{env}")
    redis_rule = {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379}
    for role in ("idp", "worker"):
        ec2.authorize_security_group_egress(
            GroupId=groups[role], IpPermissions=[{**redis_rule, "UserIdGroupPairs": [{"GroupId": cache}]}]
        )
        ec2.authorize_security_group_ingress(
            GroupId=cache, IpPermissions=[{**redis_rule, "UserIdGroupPairs": [{"GroupId": groups[role]}]}]
        )
    elasticache.create_replication_group(
        ReplicationGroupId=f"{env}-idp",
        ReplicationGroupDescription="idp sessions",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=1,
        SecurityGroupIds=[cache],
    )
    replication = elasticache.describe_replication_groups(ReplicationGroupId=f"{env}-idp")["ReplicationGroups"][0]
    redis_names = [
        member["ReadEndpoint"]["Address"]
        for node_group in replication["NodeGroups"]
        for member in node_group["NodeGroupMembers"]
    ] + [node_group["PrimaryEndpoint"]["Address"] for node_group in replication["NodeGroups"]]
    primary = replication["NodeGroups"][0]["PrimaryEndpoint"]["Address"]

    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    for role, statements in role_policies(env).items():
        name = role_name(env, role)
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        iam.create_instance_profile(InstanceProfileName=name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        if statements:
            document = {"Version": "2012-10-17", "Statement": statements}
            iam.put_role_policy(RoleName=name, PolicyName=f"{role}-s3", PolicyDocument=json.dumps(document))
    for role in app_roles[len(APP_ROLES) :]:  # a revision's other roles: an instance profile, no S3 grant
        name = role_name(env, role)
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        iam.create_instance_profile(InstanceProfileName=name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    iam.create_role(RoleName=ESCROW_READ_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    for kind, bucket in buckets(env).items():
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env_facts.REGION})
        if kind == "escrow":
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(escrow_bucket_policy(env)))
    s3.create_bucket(Bucket=static_bucket(env), CreateBucketConfiguration={"LocationConstraint": env_facts.REGION})
    for key, page in ERROR_PAGES.items():
        s3.put_object(Bucket=static_bucket(env), Key=key, Body=page.encode(), ContentType="text/html")
    # The revision's filters (revisions.py), or the first ones when the sandbox names no revision.
    seed_metric_filters(c["logs"], env, *([world.shapes.metric_filters] if world.shapes else []))

    for role in app_roles:
        template = launch_template(
            ec2,
            f"{env}-{role}",
            [groups[role], net["groups"]["base"]],
            IamInstanceProfile={"Name": role_name(env, role)},
        )
        create_group(
            autoscaling,
            f"{env}-{role}",
            template,
            net["subnets"],
            health="EC2",
            tags={"Name": f"asg-{env}-{role}", "environment": env, "role": role},
            # terraform/app/variables.tf (asg_pivcac_desired: default = 2 at each revision's commit, :404 at
            # 5f11cc4b, :455 at a16c3c1f, :480 at 026b5670): a pool of two, as AWS runs it; the rest one each.
            desired=2 if role == "pivcac" else 1,
        )
    write_host_files(directory / "hosts", write, app_roles)
    aws_socket = directory / "fleet" / "aws.sock"
    shim = (Path(__file__).parents[1] / "aws_shim.py").read_text().replace("@SOCKET@", str(aws_socket))
    for role in role_policies(env):
        write(directory / "hosts", role, "/usr/local/bin/aws", shim, mode=0o755)
    edge = directory / "edge"
    edge.mkdir(exist_ok=True)
    origin = world.shapes.origin if world.shapes else "blocked"
    (edge / "site.json").write_text(json.dumps(edge_site(env, world.idp_host, origin), indent=1))
    roles = {f"{env}-{role}": role for role in app_roles}
    roles[world.runner_asg] = "env-runner"
    roles[world.proxy_asg] = "outboundproxy"
    return {
        "region": env_facts.REGION,
        "account": env_facts.ACCOUNT,
        "roles": roles,
        "redis": {"ip": REDIS_IP, "groups": [cache], "names": redis_names},
        "redis_endpoints": {"primary": primary},
        "dns_records": {**{n: REDIS_IP for n in redis_names}, world.idp_host: IDP_INTERNAL_IP},
        "dnssec_broken": [BROKEN_DNSSEC_NAME],
        "groups": {**groups, "cache": cache},
        "role_arns": {role: role_arn(env, role) for role in role_policies(env)},
        "aws_socket": str(aws_socket),
    }
