"""The fault catalogue as data: how to seed each fault into the sandbox, and what must catch it.

Adding a fault is adding a row: an id from design/checks.md, a seed function
that changes the running sandbox (or an environment override), the checks
that must fail, and the checks that may legitimately be unable to evaluate
while the fault is in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from envtest.sandbox import world as w
from envtest.sandbox.handle import Sandbox


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


def _no_change(_: Sandbox) -> None:
    pass


def empty_token(sandbox: Sandbox) -> None:
    sandbox.client("s3").put_object(Bucket=w.bucket("gitlabconfig"), Key="gitlab_runner_token", Body=b"")


def no_in_service_runner(sandbox: Sandbox) -> None:
    autoscaling = sandbox.client("autoscaling")
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=w.RUNNER_ASG, MinSize=0)
    instances = sandbox.state["instances"][w.RUNNER_ASG]
    autoscaling.enter_standby(
        AutoScalingGroupName=w.RUNNER_ASG, InstanceIds=instances, ShouldDecrementDesiredCapacity=True
    )


def missing_config_bucket_tag(sandbox: Sandbox) -> None:
    autoscaling = sandbox.client("autoscaling")
    autoscaling.delete_tags(
        Tags=[{"ResourceId": w.RUNNER_ASG, "ResourceType": "auto-scaling-group", "Key": "gitlab_config_s3_bucket"}]
    )
    sandbox.client("ec2").delete_tags(
        Resources=sandbox.state["instances"][w.RUNNER_ASG], Tags=[{"Key": "gitlab_config_s3_bucket"}]
    )


def gitlab_host_not_allowlisted(sandbox: Sandbox) -> None:
    path = sandbox.host_path("outboundproxy", "/etc/squid/domain-allowlist.conf")
    lines = [line for line in path.read_text().splitlines() if line.strip() != w.GITLAB_HOST]
    path.write_text("\n".join(lines) + "\n")
    sandbox.reload_squid()


def terraform_says_another_env(sandbox: Sandbox) -> None:
    s3 = sandbox.client("s3")
    body = s3.get_object(Bucket=w.bucket("tfstate"), Key=w.TF_STATE_KEY)["Body"].read()
    s3.put_object(
        Bucket=w.bucket("tfstate"),
        Key=w.TF_STATE_KEY,
        Body=body.replace(f'"value": "{w.ENV}"'.encode(), b'"value": "other"', 1),
    )


TOKEN_CHECKS = ("test_runner_registration_token_is_present_and_token_shaped",)
TAG_DEPENDENT = ("test_gitlab_config_bucket_is_the_envs_and_exists", *TOKEN_CHECKS)
RUNNER_DEPENDENT = (
    "test_env_runner_instances_carry_the_boot_tags",
    "test_gitlab_host_answers_through_the_proxy",
    "test_terraform_outputs_agree_with_the_running_env_runner",
    *TAG_DEPENDENT,
)

FAULTS: dict[str, Fault] = {
    f.id: f
    for f in [
        Fault(
            "F7",
            "proxy allowlist loses the GitLab host",
            gitlab_host_not_allowlisted,
            caught_by=("test_gitlab_host_answers_through_the_proxy",),
        ),
        Fault("F15", "registration token object empty", empty_token, caught_by=TOKEN_CHECKS),
        Fault(
            "F16",
            "env-runner group with no InService instance",
            no_in_service_runner,
            caught_by=("test_every_desired_env_runner_instance_is_in_service",),
            cannot_evaluate=RUNNER_DEPENDENT,
        ),
        Fault(
            "F17",
            "instance tag gitlab_config_s3_bucket missing",
            missing_config_bucket_tag,
            caught_by=("test_env_runner_instances_carry_the_boot_tags",),
            cannot_evaluate=TAG_DEPENDENT,
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
}
