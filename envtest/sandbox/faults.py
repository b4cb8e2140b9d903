"""The fault catalogue as data: how to seed each fault into the sandbox, and what must catch it.

Adding a fault is adding a row: an id from design/checks.md, a seed function
that changes the running sandbox (or an environment override), the checks
that must fail, and the checks that may legitimately be unable to evaluate
while the fault is in place.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from envtest import catalogue
from envtest.sandbox import app_env, runner_env
from envtest.sandbox.processes import free_port
from envtest.sandbox.running import PROXY_ROLE, Sandbox


@dataclass(frozen=True)
class Fault:
    id: str
    title: str
    seed: Callable[[Sandbox], None]
    caught_by: tuple[str, ...] = ()
    # Checks that depend on what the fault broke: they error (no verdict), never pass or fail.
    cannot_evaluate: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    exit_code: int = 1
    # For a fault that must stop the run (exit 2): the preflight check that must say so.
    stop_check: str = "wrong_environment"
    # Seeded on an emulated instance (or its firewall): needs a sandbox that can host them.
    needs_instances: bool = False
    # The sandbox's allowed-images era (ENVTEST_SANDBOX_ERA): "file" (the runbook's) or "pattern" (since 2023-08).
    era: str = "file"


def _no_change(_: Sandbox) -> None:
    pass


def empty_token(sandbox: Sandbox) -> None:
    sandbox.client("s3").put_object(Bucket=sandbox.world.bucket("gitlabconfig"), Key="gitlab_runner_token", Body=b"")


def no_in_service_runner(sandbox: Sandbox) -> None:
    autoscaling = sandbox.client("autoscaling")
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=sandbox.world.runner_asg, MinSize=0)
    instances = sandbox.state["instances"][sandbox.world.runner_asg]
    autoscaling.enter_standby(
        AutoScalingGroupName=sandbox.world.runner_asg, InstanceIds=instances, ShouldDecrementDesiredCapacity=True
    )


def token_wrong_shape(sandbox: Sandbox) -> None:
    sandbox.client("s3").put_object(
        Bucket=sandbox.world.bucket("gitlabconfig"), Key="gitlab_runner_token", Body=b"paste the token here\n"
    )


def runner_config_token_empty(sandbox: Sandbox) -> None:
    path = sandbox.host_path("env-runner", "/etc/gitlab-runner/config.toml")
    lines = ['  token = ""' if line.strip().startswith("token =") else line for line in path.read_text().splitlines()]
    path.write_text("\n".join(lines) + "\n")


def runner_unhealthy(sandbox: Sandbox) -> None:
    for instance in sandbox.state["instances"][sandbox.world.runner_asg]:
        sandbox.client("autoscaling").set_instance_health(InstanceId=instance, HealthStatus="Unhealthy")


def runner_group_deleted(sandbox: Sandbox) -> None:
    sandbox.client("autoscaling").delete_auto_scaling_group(
        AutoScalingGroupName=sandbox.world.runner_asg, ForceDelete=True
    )


def config_bucket_tag_names_a_missing_bucket(sandbox: Sandbox) -> None:
    wrong = sandbox.world.bucket("gitlabconfig") + "-typo"
    sandbox.client("autoscaling").create_or_update_tags(
        Tags=[
            {
                "ResourceId": sandbox.world.runner_asg,
                "ResourceType": "auto-scaling-group",
                "Key": "gitlab_config_s3_bucket",
                "Value": wrong,
                "PropagateAtLaunch": True,
            }
        ]
    )
    sandbox.client("ec2").create_tags(
        Resources=sandbox.state["instances"][sandbox.world.runner_asg],
        Tags=[{"Key": "gitlab_config_s3_bucket", "Value": wrong}],
    )


def _edit_tf_state(sandbox: Sandbox, old: str, new: str) -> None:
    """Replace the first occurrence of `old` in the env's terraform state object."""
    s3, bucket, key = sandbox.client("s3"), sandbox.world.bucket("tfstate"), sandbox.world.tf_state_key
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    if old.encode() not in body:
        raise AssertionError(f"the fault found no {old!r} in the state to change")
    s3.put_object(Bucket=bucket, Key=key, Body=body.replace(old.encode(), new.encode(), 1))


def terraform_region_drift(sandbox: Sandbox) -> None:
    _edit_tf_state(sandbox, f'"value": "{runner_env.REGION}"', '"value": "us-east-1"')


def missing_config_bucket_tag(sandbox: Sandbox) -> None:
    autoscaling = sandbox.client("autoscaling")
    autoscaling.delete_tags(
        Tags=[
            {
                "ResourceId": sandbox.world.runner_asg,
                "ResourceType": "auto-scaling-group",
                "Key": "gitlab_config_s3_bucket",
            }
        ]
    )
    sandbox.client("ec2").delete_tags(
        Resources=sandbox.state["instances"][sandbox.world.runner_asg], Tags=[{"Key": "gitlab_config_s3_bucket"}]
    )


def gitlab_host_not_allowlisted(sandbox: Sandbox) -> None:
    path = sandbox.host_path(PROXY_ROLE, runner_env.ALLOWLIST_PATH)
    lines = [line for line in path.read_text().splitlines() if line.strip() != runner_env.GITLAB_HOST]
    path.write_text("\n".join(lines) + "\n")
    sandbox.reload_squid()


def terraform_says_another_env(sandbox: Sandbox) -> None:
    _edit_tf_state(sandbox, f'"value": "{sandbox.world.env}"', '"value": "other"')


def _runner_group(sandbox: Sandbox) -> str:
    return str(sandbox.state["network"]["groups"]["runner"])


def _endpoint(sandbox: Sandbox, service: str) -> dict[str, Any]:
    endpoints = sandbox.client("ec2").describe_vpc_endpoints(
        Filters=[{"Name": "service-name", "Values": [f"com.amazonaws.{runner_env.REGION}.{service}"]}]
    )["VpcEndpoints"]
    return endpoints[0]


def egress_all_to_internet(sandbox: Sandbox) -> None:
    sandbox.client("ec2").authorize_security_group_egress(
        GroupId=_runner_group(sandbox), IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )


def egress_https_to_internet(sandbox: Sandbox) -> None:
    sandbox.client("ec2").authorize_security_group_egress(
        GroupId=_runner_group(sandbox),
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )


def _permission(sandbox: Sandbox, group_id: str, key: str, port: int) -> dict[str, Any]:
    """A permission exactly as AWS shows it (moto revokes only an exact match)."""
    group = sandbox.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return next(p for p in group[key] if p.get("FromPort") == port)


def proxy_rule_widened(sandbox: Sandbox) -> None:
    ec2 = sandbox.client("ec2")
    runner = _runner_group(sandbox)
    rule = _permission(sandbox, runner, "IpPermissionsEgress", 3128)
    ec2.revoke_security_group_egress(GroupId=runner, IpPermissions=[rule])
    ec2.authorize_security_group_egress(GroupId=runner, IpPermissions=[{**rule, "ToPort": 3200}])


def endpoint_missing(sandbox: Sandbox) -> None:
    sandbox.client("ec2").delete_vpc_endpoints(VpcEndpointIds=[_endpoint(sandbox, "kms")["VpcEndpointId"]])


def endpoint_private_dns_off(sandbox: Sandbox) -> None:
    # moto's ModifyVpcEndpoint ignores PrivateDnsEnabled: recreate the endpoint with it off.
    ec2 = sandbox.client("ec2")
    endpoint = _endpoint(sandbox, "ssm")
    ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint["VpcEndpointId"]])
    ec2.create_vpc_endpoint(
        VpcId=endpoint["VpcId"],
        ServiceName=endpoint["ServiceName"],
        VpcEndpointType="Interface",
        SubnetIds=endpoint["SubnetIds"],
        SecurityGroupIds=[g["GroupId"] for g in endpoint["Groups"]],
        PrivateDnsEnabled=False,
    )


def endpoint_one_az_only(sandbox: Sandbox) -> None:
    endpoint = _endpoint(sandbox, "logs")
    sandbox.client("ec2").modify_vpc_endpoint(
        VpcEndpointId=endpoint["VpcEndpointId"], RemoveSubnetIds=endpoint["SubnetIds"][1:]
    )


def endpoint_group_closed(sandbox: Sandbox) -> None:
    """The kms endpoint's group loses both ways in: from the base group and from the app subnets."""
    group = sandbox.state["network"]["groups"]["endpoints"]["kms"]
    ec2 = sandbox.client("ec2")
    found = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
    ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[p for p in found if p.get("FromPort") == 443])


def s3_gateway_unrouted(sandbox: Sandbox) -> None:
    endpoint = _endpoint(sandbox, "s3")
    sandbox.client("ec2").modify_vpc_endpoint(
        VpcEndpointId=endpoint["VpcEndpointId"], RemoveRouteTableIds=endpoint["RouteTableIds"]
    )


def _edit_allowlist(sandbox: Sandbox, edit: Callable[[list[str]], list[str]]) -> None:
    path = sandbox.host_path(PROXY_ROLE, runner_env.ALLOWLIST_PATH)
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    sandbox.reload_squid()


def allowlist_provider_wildcard(sandbox: Sandbox) -> None:
    # At the top, so squid ignores the entries inside it (a warning) instead of refusing to start.
    _edit_allowlist(sandbox, lambda lines: [".amazonaws.com", *lines])


def allowlist_shadowed_entries(sandbox: Sandbox) -> None:
    _edit_allowlist(sandbox, lambda lines: [".newrelic.com", *lines])


def allowlist_drifted(sandbox: Sandbox) -> None:
    _edit_allowlist(sandbox, lambda lines: [*lines, "# hand edit on the proxy host"])


def proxy_lets_a_denied_name_through(sandbox: Sandbox) -> None:
    """An http_access rule in squid.conf, not the allowlist file: only the live probe can see it."""
    conf = sandbox.squid_conf.read_text()
    extra = "acl hand_added dstdomain example.com\nhttp_access allow localnet hand_added\n"
    sandbox.squid_conf.write_text(conf.replace("http_access deny all", extra + "http_access deny all", 1))
    sandbox.reload_squid()


def direct_path_open(sandbox: Sandbox) -> None:
    host, port = sandbox.state["direct_probe"]
    sandbox.listen(str(host), int(port))


IMAGES_KEY = "gitlab_env_runner_allowed_images"


def _runner_config(sandbox: Sandbox, edit: Callable[[str], str], *, must_change: bool = True) -> None:
    path = sandbox.host_path("env-runner", "/etc/gitlab-runner/config.toml")
    before = path.read_text()
    after = "\n".join(edit(line) for line in before.splitlines()) + "\n"
    if must_change and after == before:
        raise AssertionError("the fault changed nothing in config.toml")
    path.write_text(after)


def _runner_allows(sandbox: Sandbox, images: list[str]) -> None:
    """As if the runner was recycled with this list (registration writes one entry per reference)."""
    listed = ", ".join(json.dumps(i) for i in images)
    _runner_config(
        sandbox,
        lambda line: f"    allowed_images = [{listed}]" if line.strip().startswith("allowed_images =") else line,
        must_change=False,
    )


def _images_file(sandbox: Sandbox) -> str:
    body = (
        sandbox.client("s3")
        .get_object(Bucket=sandbox.world.bucket("secrets"), Key=f"common/{IMAGES_KEY}")["Body"]
        .read()
    )
    return str(body.decode())


def _put_images_file(sandbox: Sandbox, text: str, key: str = f"common/{IMAGES_KEY}") -> None:
    """A new file in force, and the runner recycled onto it (the recipe registers every white-space token)."""
    sandbox.client("s3").put_object(Bucket=sandbox.world.bucket("secrets"), Key=key, Body=text.encode())
    _runner_allows(sandbox, runner_env.recipe_allowed_images(text))


def image_by_tag(sandbox: Sandbox) -> None:
    _put_images_file(
        sandbox, _images_file(sandbox) + runner_env.image_ref("cd/env_deploy", "").rstrip("@") + ":latest\n"
    )


def image_digest_63_hex(sandbox: Sandbox) -> None:
    # In the older block: the pipeline deploys the newest, and must stay unaffected.
    text = _images_file(sandbox)
    oldest = text.splitlines()[1]
    _put_images_file(sandbox, text.replace(oldest, oldest[:-1]))


def env_override_unpinned(sandbox: Sandbox) -> None:
    text = _images_file(sandbox) + runner_env.image_ref("cd/env_test", "").rstrip("@") + ":build-3\n"
    _put_images_file(sandbox, text, key=f"{sandbox.world.env}/{IMAGES_KEY}")


def images_with_comment_separators(sandbox: Sandbox) -> None:
    """The new separator spelling, while the running boot code still splits on white space."""
    text = _images_file(sandbox).replace("XXXXXdate_separatorXXXXX", "# images built on")
    _put_images_file(sandbox, text)


def runner_allows_every_service(sandbox: Sandbox) -> None:
    _runner_config(sandbox, lambda line: line.replace('allowed_services = [""]', "allowed_services = []"))


def runner_entrypoint_overwrite_allowed(sandbox: Sandbox) -> None:
    _runner_config(
        sandbox,
        lambda line: line.replace("disable_entrypoint_overwrite = true", "disable_entrypoint_overwrite = false"),
    )


def runner_allowed_images_drift(sandbox: Sandbox) -> None:
    """The file gained a block; the runner was not recycled and still allows the old list."""
    tokens = runner_env.recipe_allowed_images(_images_file(sandbox))
    _runner_allows(sandbox, tokens[: -len(runner_env.IMAGE_REPOS) - 2])


def runner_privileged(sandbox: Sandbox) -> None:
    _runner_config(sandbox, lambda line: line.replace("privileged = false", "privileged = true"))


def pipeline_digest_not_allowed(sandbox: Sandbox) -> None:
    path = Path(sandbox.environ["PIPELINE_FILE"])
    text = path.read_text()
    deploy = next(line for line in text.splitlines() if 'DEPLOY_IMAGE_DIGEST: "sha256:' in line)
    path.write_text(text.replace(deploy, '    DEPLOY_IMAGE_DIGEST: "sha256:' + "0" * 64 + '"', 1))


def allowed_digest_missing_from_ecr(sandbox: Sandbox) -> None:
    repository, digest = sandbox.state["allowed_images"][0].split("/", 1)[1].split("@")
    tooling = sandbox.client("ecr", account=runner_env.TOOLING_ACCOUNT)
    tooling.batch_delete_image(repositoryName=repository, imageIds=[{"imageDigest": digest}])


def lockdown_list_empty(sandbox: Sandbox) -> None:
    """The file in force emptied, and the runner recycled onto it: an empty allowed_images allows every image."""
    _put_images_file(sandbox, "")


def config_bucket_tag_empty(sandbox: Sandbox) -> None:
    """gitlab_config_s3_bucket present but empty: the recipe falls back only when it is nil (environment.md)."""
    _tag_runner(sandbox, "gitlab_config_s3_bucket", "")


def _tag_runner(sandbox: Sandbox, key: str, value: str) -> None:
    sandbox.client("autoscaling").create_or_update_tags(
        Tags=[
            {
                "ResourceId": sandbox.world.runner_asg,
                "ResourceType": "auto-scaling-group",
                "Key": key,
                "Value": value,
                "PropagateAtLaunch": True,
            }
        ]
    )
    instances = sandbox.state["instances"][sandbox.world.runner_asg]
    sandbox.client("ec2").create_tags(Resources=instances, Tags=[{"Key": key, "Value": value}])


def proxy_instance_drifted(sandbox: Sandbox) -> None:
    """The env runner's proxy pool scales to two; one of them carries a hand-edited allowlist."""
    pool = sandbox.state["runner_proxy_asg"]
    sandbox.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName=pool, DesiredCapacity=2)
    sandbox.wait_for_instances()
    group = sandbox.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[pool])
    newest = sorted(set(i["InstanceId"] for i in group["AutoScalingGroups"][0]["Instances"]))[-1]
    drifted = sandbox.host_path(f"@{newest}", runner_env.ALLOWLIST_PATH)
    drifted.parent.mkdir(parents=True, exist_ok=True)
    drifted.write_text(sandbox.world.allowlist + "pastebin.com\n")


def bucket_policy_names_the_account(sandbox: Sandbox) -> None:
    """An Allow naming the account grants the roles nothing by itself (IAM): no cell may change."""
    _add_bucket_statement(sandbox, "escrow", f"arn:aws:iam::{runner_env.ACCOUNT}:root", "s3:GetObject")


def bucket_policy_names_a_role(sandbox: Sandbox) -> None:
    """An Allow naming the app role grants it the read: the matrix cell must fail."""
    _add_bucket_statement(sandbox, "attempts", app_env.role_arn(sandbox.world.env, "app"), "s3:GetObject")


def _add_bucket_statement(sandbox: Sandbox, kind: str, principal: str, action: str) -> None:
    bucket = app_env.buckets(sandbox.world.env)[kind]
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


def worker_may_delete_from_escrow(sandbox: Sandbox) -> None:
    env = sandbox.world.env
    escrow = app_env.buckets(env)["escrow"]
    statement = {"Effect": "Allow", "Action": ["s3:DeleteObject"], "Resource": f"arn:aws:s3:::{escrow}/*"}
    sandbox.client("iam").put_role_policy(
        RoleName=f"{env}_worker_iam_role",
        PolicyName="cleanup",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    sandbox.client("s3").delete_bucket_policy(Bucket=escrow)


def app_may_read_attempts(sandbox: Sandbox) -> None:
    env = sandbox.world.env
    bucket = app_env.buckets(env)["attempts"]
    statement = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"arn:aws:s3:::{bucket}/*"}
    sandbox.client("iam").put_role_policy(
        RoleName=f"{env}_app_iam_role",
        PolicyName="debugging",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )


def elk_cloud_init_errors(sandbox: Sandbox) -> None:
    errors = ["('scripts_user', RuntimeError('Runcmd failed: chef-client exited 1'))"]
    sandbox.host_path("elk", app_env.CLOUD_INIT_PATH).write_text(app_env.cloud_init_status(errors))


def logstash_red(sandbox: Sandbox) -> None:
    sandbox.host_path("elk", app_env.LOGSTASH_STATS).write_text(app_env.logstash_stats(status="red", events_out=0))


def filebeat_write_errors(sandbox: Sandbox) -> None:
    sandbox.host_path("elk", app_env.FILEBEAT_STATS).write_text(app_env.filebeat_stats(write_errors=17))


def env_override_where_none_is_allowed(sandbox: Sandbox) -> None:
    """The env's own copy of the common file in force, while the env's policy says it uses the common one."""
    _put_images_file(sandbox, _images_file(sandbox), key=f"{sandbox.world.env}/{IMAGES_KEY}")
    override = sandbox.directory / "policy-override.toml"
    override.write_text(override.read_text().replace("[images]\n", "[images]\nallow_env_override = false\n", 1))


def images_file_with_a_stray_word(sandbox: Sandbox) -> None:
    """A note typed into the file: the split-on-white-space boot code registers each word as an image."""
    _put_images_file(sandbox, _images_file(sandbox) + "please keep the newest block last\n")


def image_from_another_registry(sandbox: Sandbox) -> None:
    """A pinned image from a public registry, outside the env's own ECR."""
    _put_images_file(sandbox, _images_file(sandbox) + "public.ecr.aws/docker/library/alpine@sha256:" + "a" * 64 + "\n")


def images_block_dated_in_the_future(sandbox: Sandbox) -> None:
    text = _images_file(sandbox)
    newest = text.rstrip("\n").splitlines()[-1]
    _put_images_file(sandbox, text + f"XXXXXdate_separatorXXXXX 2999-01-01\n{newest}\n")


def terraform_names_another_redis(sandbox: Sandbox) -> None:
    """The state's elasticache.cluster_address is not the replication group's primary endpoint."""
    primary = sandbox.state["estate"]["redis_endpoints"]["primary"]
    _edit_tf_state(sandbox, f'"{primary}"', '"old-idp.cache.example.internal"')


def metric_filter_deleted(sandbox: Sandbox) -> None:
    logs = sandbox.client("logs")
    logs.delete_metric_filter(
        logGroupName=f"{sandbox.world.env}_/var/log/nginx/access.log",
        filterName=f"{sandbox.world.env}-idp-interesting-uris-success",
    )


def metric_filter_counts_errors(sandbox: Sandbox) -> None:
    """The success filter lost its status test: 5xx answers count as successes.

    PutMetricFilter with an existing name replaces that filter in AWS; moto 5.2 adds a second one with the same
    name, so the filter is deleted first (the state AWS would reach).
    """
    logs = sandbox.client("logs")
    metric_filter_deleted(sandbox)
    logs.put_metric_filter(
        logGroupName=f"{sandbox.world.env}_/var/log/nginx/access.log",
        filterName=f"{sandbox.world.env}-idp-interesting-uris-success",
        filterPattern=app_env.INTERESTING_URIS_FILTER.replace(" && $.status != 5*}", "}"),
        metricTransformations=[
            {"metricName": "InterestingUrisSuccess", "metricNamespace": f"{sandbox.world.env}/sli", "metricValue": "1"}
        ],
    )


def proxy_stops_listening(sandbox: Sandbox) -> None:
    """squid moved off the port the runner uses (the proxy the runner knows accepts no connection)."""
    conf = sandbox.squid_conf.read_text()
    port = sandbox.environ["PROXY_URL"].rsplit(":", 1)[1]
    elsewhere = free_port()
    sandbox.squid_conf.write_text(conf.replace(f"http_port 127.0.0.1:{port}", f"http_port 127.0.0.1:{elsewhere}", 1))
    sandbox.reload_squid()


def resolver_loses_the_idp_name(sandbox: Sandbox) -> None:
    sandbox.edit_fleet_config(lambda config: config["dns_records"].pop(sandbox.world.idp_host))


def pattern_runner_allows_every_image(sandbox: Sandbox) -> None:
    """Era 2: the runner registered without its pattern (an empty allowed_images allows every image)."""
    _runner_allows(sandbox, [])


def pattern_pipeline_image_not_blessed(sandbox: Sandbox) -> None:
    """Era 2: the deploy template pulls its image from outside the blessed path."""
    path = Path(sandbox.environ["PIPELINE_FILE"])
    text = path.read_text()
    if "/cd/env_deploy/blessed@" not in text:
        raise AssertionError("the fault found no blessed deploy image in the pipeline to change")
    path.write_text(text.replace("/cd/env_deploy/blessed@", "/cd/env_deploy@", 1))


def _runner_allowed_now(sandbox: Sandbox) -> list[str]:
    config = tomllib.loads(sandbox.host_path("env-runner", "/etc/gitlab-runner/config.toml").read_text())
    return [str(i) for i in config["runners"][0]["docker"]["allowed_images"]]


def runner_allows_the_debug_image(sandbox: Sandbox) -> None:
    """Someone added alpine:latest to config.toml by hand (to debug a job), and it stayed."""
    _runner_allows(sandbox, [*_runner_allowed_now(sandbox), "alpine:latest"])


def runner_allows_a_pattern_matching_alpine(sandbox: Sandbox) -> None:
    """A pattern that matches the probe's image: `**/` may match no directory at all (doublestar)."""
    _runner_allows(sandbox, [*_runner_allowed_now(sandbox), "**/alpine*"])


def runner_allows_a_pattern_that_misses_bare_alpine(sandbox: Sandbox) -> None:
    """`*/alpine*` needs a `/`: it lets docker.io/library/alpine:latest in, not the probe's `alpine:latest`."""
    _runner_allows(sandbox, [*_runner_allowed_now(sandbox), "*/alpine*"])


def runner_not_recycled_after_the_file_was_fixed(sandbox: Sandbox) -> None:
    """The file once held a debug block with alpine:latest; it was removed, the runner never re-registered."""
    stale = _images_file(sandbox) + "XXXXXdate_separatorXXXXX 2026-11-20\nalpine:latest\n"
    _runner_allows(sandbox, runner_env.recipe_allowed_images(stale))


def images_file_publicly_writable(sandbox: Sandbox) -> None:
    """A statement letting anyone put objects in the secrets bucket's common/ prefix (the file lives there)."""
    bucket = sandbox.world.bucket("secrets")
    statement = {"Sid": "TemporaryUpload", "Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
                 "Resource": f"arn:aws:s3:::{bucket}/common/*"}  # fmt: skip
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    sandbox.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def token_bucket_public_by_acl(sandbox: Sandbox) -> None:
    """The config bucket's public access block removed and its ACL made public-read."""
    s3, bucket = sandbox.client("s3"), sandbox.world.bucket("gitlabconfig")
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")


def _grant_role(sandbox: Sandbox, role: str, action: str, resource: str) -> None:
    statement = {"Effect": "Allow", "Action": [action], "Resource": resource}
    sandbox.client("iam").put_role_policy(
        RoleName=role,
        PolicyName="added-by-hand",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )


def app_role_reads_the_token(sandbox: Sandbox) -> None:
    bucket = sandbox.world.bucket("gitlabconfig")
    _grant_role(sandbox, f"{sandbox.world.env}_app_iam_role", "s3:GetObject", f"arn:aws:s3:::{bucket}/*")


def worker_role_writes_the_images_file(sandbox: Sandbox) -> None:
    bucket = sandbox.world.bucket("secrets")
    _grant_role(sandbox, f"{sandbox.world.env}_worker_iam_role", "s3:PutObject", f"arn:aws:s3:::{bucket}/common/*")


def _edge(sandbox: Sandbox, change: Callable[[dict[str, Any]], None]) -> None:
    path = sandbox.directory / "edge" / "site.json"
    site = json.loads(path.read_text())
    change(site)
    path.write_text(json.dumps(site, indent=1))


def security_header_missing(sandbox: Sandbox) -> None:
    _edge(sandbox, lambda site: site["headers"].pop("X-Frame-Options"))


def hsts_without_preload(sandbox: Sandbox) -> None:
    _edge(sandbox, lambda site: site["headers"].update({"Strict-Transport-Security": "max-age=31556952"}))


def origin_served_directly(sandbox: Sandbox) -> None:
    # The ALB's security group lets anyone in: the origin serves the site around CloudFront.
    _edge(sandbox, lambda site: site.update({"origin_blocked": False}))


def error_page_cached(sandbox: Sandbox) -> None:
    _edge(sandbox, lambda site: site["page_headers"].update({"X-Cache": "Hit from cloudfront"}))


def idp_unhealthy(sandbox: Sandbox) -> None:
    _edge(sandbox, lambda site: site["health"].update({"all_checks_healthy": False}))


def dnssec_not_validated(sandbox: Sandbox) -> None:
    def change(config: dict[str, Any]) -> None:
        config["dnssec_broken"] = []
        config["dns_records"][app_env.BROKEN_DNSSEC_NAME] = "192.0.2.7"

    sandbox.edit_fleet_config(change)


# id, what is wrong, how to seed it. The checks that must fail, and those that can only report "could not
# evaluate" while it is in place, are marked on the checks themselves (catches, blinded_by; envtest/catalogue.py):
# nothing else may fail or error.
_ROWS: list[Fault] = [
    Fault("F1", "runner egress: all protocols to 0.0.0.0/0", egress_all_to_internet),
    Fault("F2", "runner egress: tcp 443 to 0.0.0.0/0", egress_https_to_internet),
    Fault("F3", "egress to the proxy group widened to 3128-3200", proxy_rule_widened),
    Fault("F4", "the kms interface endpoint missing", endpoint_missing),
    Fault("F5", "the ssm interface endpoint with private DNS off", endpoint_private_dns_off),
    Fault("F5-az", "the logs interface endpoint in one AZ only", endpoint_one_az_only),
    Fault("F5-sg", "the kms endpoint's group admits no 443 from the runner", endpoint_group_closed),
    Fault("F5-s3", "the S3 gateway endpoint in no runner route table", s3_gateway_unrouted),
    Fault("F6", "proxy allowlist gains .amazonaws.com", allowlist_provider_wildcard),
    Fault("F6-shadow", "an allowlist wildcard shadows later entries", allowlist_shadowed_entries),
    Fault("F6-drift", "the deployed allowlist differs from the template", allowlist_drifted),
    Fault(
        "F6-instance",
        "one proxy instance of two holds a hand-edited allowlist",
        proxy_instance_drifted,
        needs_instances=True,
    ),
    Fault("F7", "proxy allowlist loses the GitLab host", gitlab_host_not_allowlisted),
    Fault("F8", "proxy lets through a host that must be denied", proxy_lets_a_denied_name_through),
    Fault("F8-direct", "a path around the proxy: a direct connection opens", direct_path_open),
    Fault("F9", "allowed images: a tag-only reference", image_by_tag),
    Fault("F10", "allowed images: a digest of 63 hex digits", image_digest_63_hex),
    Fault("F11", "an env override holding an image that is not pinned", env_override_unpinned),
    Fault(
        "F11-comments", "comment separators under the split-on-white-space boot code", images_with_comment_separators
    ),
    Fault(
        "F11-policy", "an env override in force where the env's policy allows none", env_override_where_none_is_allowed
    ),
    Fault("F9-word", "a stray word in the allowed-images file", images_file_with_a_stray_word),
    Fault("F9-registry", "a pinned image from outside the env's ECR", image_from_another_registry),
    Fault("F9-date", "an allowed-images block dated in the future", images_block_dated_in_the_future),
    Fault("F12", "runner config: allowed_services = []", runner_allows_every_service),
    Fault("F13", "runner config: entrypoint overwrite not disabled", runner_entrypoint_overwrite_allowed),
    Fault("F13-privileged", "runner config: privileged containers", runner_privileged),
    Fault("F14", "runner config: allowed images differ from the file", runner_allowed_images_drift),
    Fault("F14-empty", "the file in force is empty: the runner allows every image", lockdown_list_empty),
    Fault("F14-alpine", "config.toml also allows alpine:latest (added by hand)", runner_allows_the_debug_image),
    Fault(
        "F14-glob",
        "config.toml also allows **/alpine* (matches the probe's image)",
        runner_allows_a_pattern_matching_alpine,
    ),
    # The probe asks for one image only: a pattern that misses it is the static check's to catch.
    Fault(
        "F14-slash",
        "config.toml also allows */alpine* (not the probe's image: it needs a /)",
        runner_allows_a_pattern_that_misses_bare_alpine,
    ),
    Fault(
        "F14-stale",
        "the file was fixed, the runner still allows its old list (with alpine:latest)",
        runner_not_recycled_after_the_file_was_fixed,
    ),
    Fault("F18", "the pipeline deploys a digest the runner does not allow", pipeline_digest_not_allowed),
    Fault("F19", "an allowed digest that does not exist in ECR", allowed_digest_missing_from_ecr),
    Fault("F15", "registration token object empty", empty_token),
    Fault("F15-shape", "registration token is not token-shaped", token_wrong_shape),
    Fault("F15-config", "the runner registered with an empty token", runner_config_token_empty),
    Fault("F16", "env-runner group with no InService instance", no_in_service_runner),
    Fault("F16-unhealthy", "the env runner's instance is Unhealthy", runner_unhealthy),
    Fault("F16-group", "no env-runner group at all", runner_group_deleted),
    Fault(
        "F17-bucket", "the runner's tag names a bucket that does not exist", config_bucket_tag_names_a_missing_bucket
    ),
    Fault("F-terraform", "terraform outputs of another region", terraform_region_drift),
    Fault(
        "F-terraform-redis", "terraform's elasticache address is not the running Redis", terraform_names_another_redis
    ),
    Fault("F7-down", "the outbound proxy accepts no connection", proxy_stops_listening),
    Fault("L1", "the interesting-URIs metric filter deleted", metric_filter_deleted),
    Fault("L1-pattern", "the success metric filter counts 5xx answers", metric_filter_counts_errors),
    Fault("H6-name", "the resolver lost the IdP's own name", resolver_loses_the_idp_name, needs_instances=True),
    Fault("F17", "instance tag gitlab_config_s3_bucket missing", missing_config_bucket_tag),
    Fault("F17-empty", "instance tag gitlab_config_s3_bucket present but empty", config_bucket_tag_empty),
    Fault("K1", "anyone may put objects where the allowed-images file lives", images_file_publicly_writable),
    Fault(
        "K1-acl", "the token's bucket readable by everyone (ACL, no public access block)", token_bucket_public_by_acl
    ),
    Fault("K2", "the app role may read the registration token", app_role_reads_the_token),
    Fault("K2-write", "the worker role may write the allowed-images file", worker_role_writes_the_images_file),
    Fault("H1", "app hosts can reach Redis", app_reaches_redis, needs_instances=True),
    Fault("H1-idp", "idp hosts cannot reach Redis", idp_loses_redis, needs_instances=True),
    Fault("H2", "a role may delete from escrow", worker_may_delete_from_escrow),
    Fault("H2-read", "the app role may read attempts-API events", app_may_read_attempts),
    Fault("H2-role", "a bucket policy grants the app role a read", bucket_policy_names_a_role),
    Fault(
        "H2-account",
        "a bucket policy Allow naming the account (grants the roles nothing)",
        bucket_policy_names_the_account,
        exit_code=0,
    ),
    Fault("H3", "cloud-init errors on the ELK host", elk_cloud_init_errors, needs_instances=True),
    Fault("H4", "logstash status red, no events out", logstash_red, needs_instances=True),
    Fault("H4-filebeat", "filebeat write errors", filebeat_write_errors, needs_instances=True),
    Fault("H5", "the edge drops X-Frame-Options", security_header_missing),
    Fault("H5-hsts", "HSTS without preload", hsts_without_preload),
    Fault("H5-origin", "the origin serves the site around CloudFront", origin_served_directly),
    Fault("H5-cache", "error pages served from CloudFront's cache", error_page_cached),
    Fault("H5-health", "the IdP health check reports unhealthy", idp_unhealthy),
    Fault("H6", "the resolver does not validate DNSSEC", dnssec_not_validated, needs_instances=True),
    Fault("P14-empty", "era 2: the runner allows every image", pattern_runner_allows_every_image, era="pattern"),
    Fault("P14-alpine", "era 2: the runner also allows alpine:latest", runner_allows_the_debug_image, era="pattern"),
    Fault(
        "P18",
        "era 2: the pipeline deploys an image outside the blessed path",
        pattern_pipeline_image_not_blessed,
        era="pattern",
    ),
    Fault("F20", "MY_ENV names another env", _no_change, env={"MY_ENV": "other"}, exit_code=2),
    Fault(
        "F20-branch",
        "the pipeline's branch is stages/<another env>",
        _no_change,
        env={"CI_COMMIT_BRANCH": "stages/other"},
        exit_code=2,
    ),
    Fault("F20-terraform", "the terraform state is another env's", terraform_says_another_env, exit_code=2),
    Fault(
        "F20-account",
        "the credentials are for another account",
        _no_change,
        env={"EXPECTED_ACCOUNT_ID": "210987654321"},
        exit_code=2,
    ),
]
FAULTS: dict[str, Fault] = {
    fault.id: replace(fault, caught_by=catalogue.caught_by(fault.id), cannot_evaluate=catalogue.blinded_by(fault.id))
    for fault in _ROWS
}
