"""The sandbox's application hosts, as data and as seeded AWS state.

Beside the env runner and the proxy, an environment has idp, worker, app,
pivcac and elk hosts, a Redis cluster, the attempts-API and escrow buckets
with their roles' permissions, and an edge (CloudFront) in front of the IdP.
Everything here agrees with policy/default.toml, so the clean sandbox passes;
each fault in faults.py breaks one thing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from envtest.sandbox import world as w

APP_ROLES = ["idp", "worker", "app", "pivcac", "elk"]
REDIS_IP = "10.42.3.10"
BROKEN_DNSSEC_NAME = "dnssec-failed.org"
# An address inside the VPC the IdP name resolves to for the instances (nothing need answer there).
IDP_INTERNAL_IP = "10.42.0.80"


def role_arn(env: str, role: str) -> str:
    return f"arn:aws:iam::{w.ACCOUNT}:role/{env}_{role}_iam_role"


def buckets(env: str) -> dict[str, str]:
    return {"attempts": f"{env}-idp-attempts-api", "escrow": f"login-gov-escrow-{env}.{w.ACCOUNT}-{w.REGION}"}


def role_policies(env: str) -> dict[str, list[dict[str, Any]]]:
    """Each role's S3 statements, as terraform would write them."""
    b = buckets(env)

    def allow(actions: list[str], bucket: str, objects: bool = True) -> dict[str, Any]:
        resource = f"arn:aws:s3:::{bucket}/*" if objects else f"arn:aws:s3:::{bucket}"
        return {"Effect": "Allow", "Action": actions, "Resource": resource}

    return {
        "idp": [
            allow(["s3:ListBucket"], b["attempts"], objects=False),
            allow(["s3:PutObject", "s3:GetObject"], b["attempts"]),
            allow(["s3:ListBucket"], b["escrow"], objects=False),
            allow(["s3:PutObject"], b["escrow"]),
        ],
        "worker": [
            allow(["s3:ListBucket"], b["attempts"], objects=False),
            allow(["s3:GetObject", "s3:DeleteObject"], b["attempts"]),
            allow(["s3:ListBucket"], b["escrow"], objects=False),
            allow(["s3:PutObject"], b["escrow"]),
        ],
        "app": [],
        "pivcac": [],
        "outboundproxy": [],
    }


def escrow_bucket_policy(env: str) -> dict[str, Any]:
    """Escrow is write-once: nobody deletes or overwrites its history (an explicit deny)."""
    bucket = buckets(env)["escrow"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EscrowIsNeverDeleted",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


def cloud_init_status(errors: list[str] | None = None) -> str:
    stage = {"errors": [], "finished": 1764111600.5, "start": 1764111590.1}
    status = {
        "v1": {
            "datasource": "DataSourceEc2Local",
            "init-local": dict(stage),
            "init": dict(stage),
            "modules-config": dict(stage),
            "modules-final": {**stage, "errors": list(errors or [])},
            "stage": None,
        }
    }
    return json.dumps(status, indent=1)


def filebeat_stats(write_errors: int = 0, write_bytes: int = 1_234_567) -> str:
    return json.dumps(
        {
            "beat": {"info": {"name": "filebeat", "version": "8.15.0"}},
            "libbeat": {
                "output": {
                    "type": "logstash",
                    "write": {"bytes": write_bytes, "errors": write_errors},
                    "events": {"acked": 4200, "failed": 0, "total": 4200},
                }
            },
        },
        indent=1,
    )


def logstash_stats(status: str = "green", events_out: int = 4200) -> str:
    return json.dumps(
        {
            "host": "elk",
            "version": "8.15.0",
            "status": status,
            "events": {"in": 4200, "filtered": 4200, "out": events_out},
        },
        indent=1,
    )


SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31556952; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-XSS-Protection": "1; mode=block",
}
ERROR_PAGE = "<!doctype html><title>Page not found | Login.gov</title><h1>Page not found</h1>\n"


def origin_host(env: str) -> str:
    return f"idp.origin.{env}.identitysandbox.gov"


def error_pages_bucket(env: str) -> str:
    return f"login-gov-idp-error-pages-{env}.{w.ACCOUNT}-{w.REGION}"


def edge_site(env: str, idp_host: str) -> dict[str, Any]:
    """What the sandbox edge serves (upstream.py reads it on every request, so faults edit it)."""
    return {
        "public": idp_host,
        "origin": origin_host(env),
        "headers": dict(SECURITY_HEADERS),
        "health": {"all_checks_healthy": True, "database": {"healthy": True}, "account_reset": {"healthy": True}},
        "error_page": ERROR_PAGE,
        "error_cache_control": "no-cache, no-store, max-age=0",
    }


CLOUD_INIT_PATH = "/var/lib/cloud/data/status.json"
FILEBEAT_STATS = "/var/lib/envtest-sandbox/filebeat-stats.json"
LOGSTASH_STATS = "/var/lib/envtest-sandbox/logstash-stats.json"


def write_host_files(hosts: Path, write: Any) -> None:
    """The files the application hosts' checks read."""
    for role in APP_ROLES:
        write(hosts, role, CLOUD_INIT_PATH, cloud_init_status())
    write(hosts, "elk", FILEBEAT_STATS, filebeat_stats())
    write(hosts, "elk", LOGSTASH_STATS, logstash_stats())


def seed_estate(c: dict[str, Any], net: dict[str, Any], world: w.World, directory: Path, write: Any) -> dict[str, Any]:
    """Groups, instances, roles, buckets and Redis for the application hosts; the front endpoint's config."""
    ec2, autoscaling, s3, iam, elasticache = c["ec2"], c["autoscaling"], c["s3"], c["iam"], c["elasticache"]
    env = world.env

    def group(name: str) -> str:
        group_id = ec2.create_security_group(GroupName=name, Description=f"{name} hosts", VpcId=net["vpc"])["GroupId"]
        ec2.revoke_security_group_egress(
            GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        )
        return group_id

    groups = {role: group(f"{env}-{role}") for role in APP_ROLES}
    cache = group(f"{env}-cache")
    redis_rule = {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379}
    ec2.authorize_security_group_egress(
        GroupId=groups["idp"], IpPermissions=[{**redis_rule, "UserIdGroupPairs": [{"GroupId": cache}]}]
    )
    ec2.authorize_security_group_ingress(
        GroupId=cache, IpPermissions=[{**redis_rule, "UserIdGroupPairs": [{"GroupId": groups["idp"]}]}]
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

    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    for role, statements in role_policies(env).items():
        name = f"{env}_{role}_iam_role"
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        iam.create_instance_profile(InstanceProfileName=name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        if statements:
            document = {"Version": "2012-10-17", "Statement": statements}
            iam.put_role_policy(RoleName=name, PolicyName=f"{role}-s3", PolicyDocument=json.dumps(document))
    for kind, bucket in buckets(env).items():
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": w.REGION})
        if kind == "escrow":
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(escrow_bucket_policy(env)))
    s3.create_bucket(Bucket=error_pages_bucket(env), CreateBucketConfiguration={"LocationConstraint": w.REGION})
    s3.put_object(Bucket=error_pages_bucket(env), Key="404.html", Body=ERROR_PAGE.encode(), ContentType="text/html")

    for role in APP_ROLES:
        template = ec2.create_launch_template(
            LaunchTemplateName=f"{env}-{role}",
            LaunchTemplateData={
                "ImageId": "ami-12c6146b",
                "InstanceType": "t3.medium",
                "SecurityGroupIds": [groups[role], net["groups"]["base"]],
                "IamInstanceProfile": {"Name": f"{env}_{role}_iam_role"},
            },
        )["LaunchTemplate"]["LaunchTemplateId"]
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=f"{env}-{role}",
            MinSize=1,
            MaxSize=2,
            DesiredCapacity=1,
            LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"},
            VPCZoneIdentifier=",".join(net["subnets"]),
            HealthCheckType="EC2",
            Tags=[
                {
                    "ResourceId": f"{env}-{role}",
                    "ResourceType": "auto-scaling-group",
                    "Key": k,
                    "Value": v,
                    "PropagateAtLaunch": True,
                }
                for k, v in {"Name": f"asg-{env}-{role}", "environment": env, "role": role}.items()
            ],
        )
    write_host_files(directory / "hosts", write)
    aws_socket = directory / "fleet" / "aws.sock"
    shim = (Path(__file__).with_name("aws_shim.py")).read_text().replace("@SOCKET@", str(aws_socket))
    for role in role_policies(env):
        write(directory / "hosts", role, "/usr/local/bin/aws", shim, mode=0o755)
    edge = directory / "edge"
    edge.mkdir(exist_ok=True)
    (edge / "site.json").write_text(json.dumps(edge_site(env, world.idp_host), indent=1))
    roles = {f"{env}-{role}": role for role in APP_ROLES}
    roles[world.runner_asg] = "env-runner"
    roles[world.proxy_asg] = "outboundproxy"
    return {
        "region": w.REGION,
        "roles": roles,
        "redis": {"ip": REDIS_IP, "groups": [cache], "names": redis_names},
        "dns_records": {**{n: REDIS_IP for n in redis_names}, world.idp_host: IDP_INTERNAL_IP},
        "dnssec_broken": [BROKEN_DNSSEC_NAME],
        "groups": {**groups, "cache": cache},
        "role_arns": {role: role_arn(env, role) for role in role_policies(env)},
        "aws_socket": str(aws_socket),
    }
