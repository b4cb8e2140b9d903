"""Faults on the application hosts: Redis reachability, the buckets' access, boot, logs, DNS."""

from __future__ import annotations

import json
from typing import Any

from envtest_double import app_access, app_host_files, env_facts
from envtest_double.running import Sandbox
from envtest_double.seed import app_hosts


def bucket_policy_names_the_account(sandbox: Sandbox) -> None:
    """An Allow naming the account grants the roles nothing by itself (IAM): no cell may change."""
    _add_bucket_statement(sandbox, "escrow", f"arn:aws:iam::{env_facts.ACCOUNT}:root", "s3:GetObject")


def bucket_policy_names_a_role(sandbox: Sandbox) -> None:
    """An Allow naming the app role grants it the read: the matrix cell must fail."""
    _add_bucket_statement(sandbox, "attempts", app_access.role_arn(sandbox.world.env, "app"), "s3:GetObject")


def _add_bucket_statement(sandbox: Sandbox, kind: str, principal: str, action: str) -> None:
    bucket = app_access.buckets(sandbox.world.env)[kind]
    s3 = sandbox.client("s3")
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError:
        policy = {"Version": "2012-10-17", "Statement": []}
    policy["Statement"].append(
        {
            "Sid": "AddedByHand",
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": action,
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


# ---- the application hosts (issue 5) -------------------------------------------------------
REDIS_RULE = {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379}


def app_reaches_redis(sandbox: Sandbox) -> None:
    groups = sandbox.state["estate"]["groups"]
    ec2 = sandbox.client("ec2")
    ec2.authorize_security_group_ingress(
        GroupId=groups["cache"], IpPermissions=[{**REDIS_RULE, "UserIdGroupPairs": [{"GroupId": groups["app"]}]}]
    )
    ec2.authorize_security_group_egress(
        GroupId=groups["app"], IpPermissions=[{**REDIS_RULE, "UserIdGroupPairs": [{"GroupId": groups["cache"]}]}]
    )
    sandbox.wait_for_firewall()


def idp_loses_redis(sandbox: Sandbox) -> None:
    groups = sandbox.state["estate"]["groups"]
    sandbox.client("ec2").revoke_security_group_ingress(
        GroupId=groups["cache"], IpPermissions=[{**REDIS_RULE, "UserIdGroupPairs": [{"GroupId": groups["idp"]}]}]
    )
    sandbox.wait_for_firewall()


def grant_role(sandbox: Sandbox, role: str, action: str, resource: str, policy_name: str = "added-by-hand") -> None:
    """An inline policy on an instance role allowing one action on one resource: a grant made by hand."""
    statement = {"Effect": "Allow", "Action": [action], "Resource": resource}
    sandbox.client("iam").put_role_policy(
        RoleName=role,
        PolicyName=policy_name,
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )


def worker_may_delete_from_escrow(sandbox: Sandbox) -> None:
    env = sandbox.world.env
    escrow = app_access.buckets(env)["escrow"]
    grant_role(sandbox, f"{env}_worker_iam_role", "s3:DeleteObject", f"arn:aws:s3:::{escrow}/*", "cleanup")
    sandbox.client("s3").delete_bucket_policy(Bucket=escrow)


def app_may_read_attempts(sandbox: Sandbox) -> None:
    env = sandbox.world.env
    bucket = app_access.buckets(env)["attempts"]
    grant_role(sandbox, f"{env}_app_iam_role", "s3:GetObject", f"arn:aws:s3:::{bucket}/*", "debugging")


def elk_cloud_init_errors(sandbox: Sandbox) -> None:
    errors = ["('scripts_user', RuntimeError('Runcmd failed: chef-client exited 1'))"]
    sandbox.host_path("elk", app_host_files.CLOUD_INIT_PATH).write_text(app_host_files.cloud_init_status(errors))


def logstash_red(sandbox: Sandbox) -> None:
    sandbox.host_path("elk", app_host_files.LOGSTASH_STATS).write_text(
        app_host_files.logstash_stats(status="red", events_out=0)
    )


def filebeat_write_errors(sandbox: Sandbox) -> None:
    sandbox.host_path("elk", app_host_files.FILEBEAT_STATS).write_text(app_host_files.filebeat_stats(write_errors=17))


def resolver_loses_the_idp_name(sandbox: Sandbox) -> None:
    sandbox.edit_fleet_config(lambda config: config["dns_records"].pop(sandbox.world.idp_host))


def dnssec_not_validated(sandbox: Sandbox) -> None:
    def change(config: dict[str, Any]) -> None:
        config["dnssec_broken"] = []
        config["dns_records"][app_hosts.BROKEN_DNSSEC_NAME] = "192.0.2.7"

    sandbox.edit_fleet_config(change)
