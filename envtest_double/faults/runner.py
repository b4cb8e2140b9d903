"""Faults in the env runner's bring-up chain: its group, instances, boot tags, token, proxy."""

from __future__ import annotations

from typing import Any

from envtest_double import env_facts
from envtest_double.processes import free_port
from envtest_double.running import Sandbox


def _gitlab_s3(sandbox: Sandbox) -> Any:
    """S3 as the GitLab deployment's account, where the config bucket lives."""
    return sandbox.client("s3", account=env_facts.GITLAB_ACCOUNT)


def empty_token(sandbox: Sandbox) -> None:
    _gitlab_s3(sandbox).put_object(Bucket=sandbox.world.bucket("gitlabconfig"), Key="gitlab_runner_token", Body=b"")


def no_in_service_runner(sandbox: Sandbox) -> None:
    autoscaling = sandbox.client("autoscaling")
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=sandbox.world.runner_asg, MinSize=0)
    instances = sandbox.state["instances"][sandbox.world.runner_asg]
    autoscaling.enter_standby(
        AutoScalingGroupName=sandbox.world.runner_asg, InstanceIds=instances, ShouldDecrementDesiredCapacity=True
    )


def token_wrong_shape(sandbox: Sandbox) -> None:
    _gitlab_s3(sandbox).put_object(
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


def proxy_stops_listening(sandbox: Sandbox) -> None:
    """squid moved off the port the runner uses (the proxy the runner knows accepts no connection)."""
    conf = sandbox.squid_conf.read_text()
    port = sandbox.environ["PROXY_URL"].rsplit(":", 1)[1]
    elsewhere = free_port()
    sandbox.squid_conf.write_text(conf.replace(f"http_port 127.0.0.1:{port}", f"http_port 127.0.0.1:{elsewhere}", 1))
    sandbox.reload_squid()
