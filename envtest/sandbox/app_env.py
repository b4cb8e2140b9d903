"""The sandbox's application hosts, as data and as seeded AWS state.

Beside the env runner and the proxy, an environment has idp, worker, app,
pivcac and elk hosts, a Redis cluster, the attempts-API and escrow buckets
with their roles' permissions, and an edge (CloudFront) in front of the IdP.
Everything here agrees with policy/default.toml, so the clean sandbox passes;
each fault in faults/ breaks one thing.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from envtest.sandbox import env_facts, runner_env

APP_ROLES = ["idp", "worker", "app", "pivcac", "elk"]
REDIS_IP = "10.42.3.10"
# The Go suite's DNSSEC test asks for www.dnssec-failed.org (tests/identity_system_test.go).
BROKEN_DNSSEC_NAME = "www.dnssec-failed.org"
# EscrowRead: a role the escrow bucket policy names besides idp and worker (terraform/app escrow bucket).
ESCROW_READ_ROLE = "EscrowRead"
# An address inside the VPC the IdP name resolves to for the instances (nothing need answer there).
IDP_INTERNAL_IP = "10.42.0.80"


def role_name(env: str, role: str) -> str:
    """<env>_<role>_iam_role; the IdP proxy's is <env>_obproxy_iam_role (application_iam_roles)."""
    return f"{env}_{'obproxy' if role == 'outboundproxy' else role}_iam_role"


def role_arn(env: str, role: str) -> str:
    return f"arn:aws:iam::{env_facts.ACCOUNT}:role/{role_name(env, role)}"


def buckets(env: str) -> dict[str, str]:
    """terraform/app: idp-attempts-s3-bucket.tf and the escrow bucket (environment.md, "S3 access")."""
    return {
        "attempts": f"login-gov-attempts-{env}.{env_facts.ACCOUNT}-{env_facts.REGION}",
        "escrow": f"login-gov-escrow-{env}.{env_facts.ACCOUNT}-{env_facts.REGION}",
    }


def role_policies(env: str) -> dict[str, list[dict[str, Any]]]:
    """Each role's S3 statements, giving the Go suite's matrix (environment.md): idp and worker do everything in
    attempts; in escrow they may list and put only (the identity policy grants s3:ListBucket on the bucket and
    s3:PutObject on objects, which is why get and delete answer 1); the other roles nothing."""
    b = buckets(env)

    def allow(actions: list[str], bucket: str, objects: bool = True) -> dict[str, Any]:
        resource = f"arn:aws:s3:::{bucket}/*" if objects else f"arn:aws:s3:::{bucket}"
        return {"Effect": "Allow", "Action": actions, "Resource": resource}

    writer = [
        allow(["s3:ListBucket"], b["attempts"], objects=False),
        allow(["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], b["attempts"]),
        allow(["s3:ListBucket"], b["escrow"], objects=False),
        allow(["s3:PutObject"], b["escrow"]),
    ]
    return {"idp": writer, "worker": list(writer), "app": [], "pivcac": [], "outboundproxy": []}


def escrow_bucket_policy(env: str) -> dict[str, Any]:
    """terraform/app escrow bucket policy: idp, worker and EscrowRead are denied unless the request comes from
    159.142.0.0/16 or from inside the VPC (aws:VpcSourceIp in the VPC's primary or secondary CIDR)."""
    bucket = buckets(env)["escrow"]
    principals = [
        role_arn(env, "idp"),
        role_arn(env, "worker"),
        f"arn:aws:iam::{env_facts.ACCOUNT}:role/{ESCROW_READ_ROLE}",
    ]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyUnauthorizedAccess",
                "Effect": "Deny",
                "Principal": {"AWS": principals},
                "Action": ["s3:ListBucket", "s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {
                    "NotIpAddress": {
                        "aws:SourceIp": ["159.142.0.0/16"],
                        "aws:VpcSourceIp": [env_facts.VPC_CIDR, env_facts.SECONDARY_CIDR],
                    }
                },
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


# The Go suite's header test (tests/idp_cloudfront_test.go): each value, split on "; ", holds these tokens.
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31556952; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Xss-Protection": "1; mode=block",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Permitted-Cross-Domain-Policies": "none",
}
# terraform/app variables.tf cloudfront_custom_pages: served from the static bucket through CloudFront.
ERROR_PAGES = {
    "5xx-codes/503.html": "<!doctype html><title>Temporarily unavailable | Login.gov</title><h1>Sorry</h1>\n",
    "maintenance/maintenance.html": "<!doctype html><title>Maintenance | Login.gov</title><h1>Be right back</h1>\n",
}


def origin_host(env: str) -> str:
    return f"idp.origin.{env}.identitysandbox.gov"


def static_bucket(env: str) -> str:
    """terraform/app: bucket_name login-gov-idp-static-<env>.<acct>-<region> (the CloudFront custom pages)."""
    return f"login-gov-idp-static-{env}.{env_facts.ACCOUNT}-{env_facts.REGION}"


def edge_site(env: str, idp_host: str) -> dict[str, Any]:
    """What the sandbox edge serves (upstream.py reads it on every request, so faults edit it).

    The origin is blocked: the real ALB admits only CloudFront's origin-facing prefix list, so a request to the
    origin's name from anywhere else gets no answer (here: the connection is reset).
    """
    return {
        "public": idp_host,
        "origin": origin_host(env),
        "origin_blocked": True,
        "headers": dict(SECURITY_HEADERS),
        "health": {"all_checks_healthy": True, "database": {"healthy": True}, "account_reset": {"healthy": True}},
        "pages": dict(ERROR_PAGES),
        # What CloudFront says of an object it fetched from S3 without caching it.
        "page_headers": {"Server": "AmazonS3", "X-Cache": "Miss from cloudfront"},
    }


# CloudWatch Logs (terraform/app cloudwatch-slos.tf): the nginx access log group and its SLI metric filters.
NGINX_LOG_GROUP = "{env}_/var/log/nginx/access.log"
INTERESTING_URIS_FILTER = (
    '{$.request != "GET / HTTP/1.1" && $.uri_path != "/api/health" && $.uri_path != "/favicon-16x16.png" '
    '&& $.uri_path != "/favicon-32x32.png" && $.uri_path != "/apple-touch-icon.png" && $.status != 5*}'
)


def seed_metric_filters(logs: Any, env: str) -> None:
    group = NGINX_LOG_GROUP.format(env=env)
    logs.create_log_group(logGroupName=group)
    for name, pattern in (
        (f"{env}-idp-interesting-uris-success", INTERESTING_URIS_FILTER),
        (f"{env}-idp-interesting-uris-total", INTERESTING_URIS_FILTER.replace(" && $.status != 5*}", "}")),
    ):
        metric = "InterestingUrisSuccess" if name.endswith("success") else "InterestingUrisTotal"
        logs.put_metric_filter(
            logGroupName=group,
            filterName=name,
            filterPattern=pattern,
            metricTransformations=[{"metricName": metric, "metricNamespace": f"{env}/sli", "metricValue": "1"}],
        )


CLOUD_INIT_PATH = "/var/lib/cloud/data/status.json"
FILEBEAT_STATS = "/var/lib/envtest-sandbox/filebeat-stats.json"
LOGSTASH_STATS = "/var/lib/envtest-sandbox/logstash-stats.json"


def write_host_files(hosts: Path, write: Any) -> None:
    """The files the application hosts' checks read."""
    for role in APP_ROLES:
        write(hosts, role, CLOUD_INIT_PATH, cloud_init_status())
    write(hosts, "elk", FILEBEAT_STATS, filebeat_stats())
    write(hosts, "elk", LOGSTASH_STATS, logstash_stats())


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

    groups = {role: group(f"{env}-{role}") for role in APP_ROLES}
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
    iam.create_role(RoleName=ESCROW_READ_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    for kind, bucket in buckets(env).items():
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env_facts.REGION})
        if kind == "escrow":
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(escrow_bucket_policy(env)))
    s3.create_bucket(Bucket=static_bucket(env), CreateBucketConfiguration={"LocationConstraint": env_facts.REGION})
    for key, page in ERROR_PAGES.items():
        s3.put_object(Bucket=static_bucket(env), Key=key, Body=page.encode(), ContentType="text/html")
    seed_metric_filters(c["logs"], env)

    for role in APP_ROLES:
        template = ec2.create_launch_template(
            LaunchTemplateName=f"{env}-{role}{secrets.token_hex(6)}",  # a name_prefix, as the module writes it
            LaunchTemplateData={
                "ImageId": "ami-12c6146b",
                "InstanceType": "t3.medium",
                "SecurityGroupIds": [groups[role], net["groups"]["base"]],
                "IamInstanceProfile": {"Name": role_name(env, role)},
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
