"""The env's terraform outputs describe this env and agree with what is running."""

from __future__ import annotations

from collections.abc import Callable

from envtest.checks import Problem, check
from envtest.gather.terraform import TerraformOutputs
from envtest.settings import Settings


def test_terraform_outputs_name_this_environment(tf_outputs: TerraformOutputs, settings: Settings) -> None:
    expected = {"env_name": settings.env_name, "region": settings.region}
    check(
        [
            Problem(
                f"terraform output {key} ({tf_outputs.source})",
                repr(value),
                repr(tf_outputs.get(key)),
                "run the suite against the state of the env under test (TF_STATE_KEY, TF_OUTPUTS_JSON or TF_DIR)",
            )
            for key, value in expected.items()
            if tf_outputs.require(key) != value
        ]
    )


def test_terraform_outputs_agree_with_the_running_env_runner(
    tf_outputs: TerraformOutputs, runner_tags: dict[str, dict[str, str]], name: Callable[[str], str]
) -> None:
    problems = []
    if tf_outputs.require("env_runner_asg_name") != name("env_runner_asg"):
        problems.append(
            Problem(
                f"terraform output env_runner_asg_name ({tf_outputs.source})",
                repr(name("env_runner_asg")),
                repr(tf_outputs.get("env_runner_asg_name")),
                "the policy's names.env_runner_asg and the gitlab_runner_pool module disagree: fix whichever is wrong",
            )
        )
    gitlab = tf_outputs.require("gitlab_hostname")
    for instance_id, tags in sorted(runner_tags.items()):
        if tags.get("gitlab_hostname") != gitlab:
            problems.append(
                Problem(
                    f"instance {instance_id} tag gitlab_hostname",
                    repr(gitlab),
                    repr(tags.get("gitlab_hostname")),
                    "recycle the env runner so it boots with the tags terraform now sets",
                )
            )
    check(problems)
