"""The env runner's bring-up chain, in the order the runbook debugs it:
the group and its instances, the boot tags, the config bucket and its token,
the proxy, and GitLab through the proxy."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from envtest.fixtures.runner import RunnerConfigCopy
from envtest.policy import Policy
from envtest.problems import Problem, check, fail

if TYPE_CHECKING:
    from envtest.gather.probes import Probe
    from envtest.gather.services.autoscaling import AutoScalingGroup
    from envtest.gather.services.s3 import SecretFacts

RUNBOOK_DEBUG = "runbook, 'Debugging env_runner issues'"


@pytest.mark.catches("F16-group: no env-runner group at all")
def test_env_runner_group_exists(env_runner_group: AutoScalingGroup | None, name: Callable[[str], str]) -> None:
    """The env runner's Auto Scaling group (`<env>-gitlab-env-runner`) exists.

    Why: without it no job of the env's pipeline can run; every later runner check depends on it.
    Fails on: no such group.
    Fix: terraform the env with `gitlab_runner_enabled = true` in `vars/<env>.tfvars`.
    """
    if env_runner_group is None:
        fail(
            Problem(
                resource=f"Auto Scaling group {name('env_runner_asg')}",
                expected="the group exists",
                found="no such group",
                fix="terraform the environment with gitlab_runner_enabled = true in vars/<env>.tfvars",
            )
        )


@pytest.mark.catches(
    "F16: env-runner group with no InService instance",
    "F16-unhealthy: the env runner's instance is Unhealthy",
    "F16-group",
)
def test_every_desired_env_runner_instance_is_in_service(
    env_runner_group: AutoScalingGroup | None, name: Callable[[str], str]
) -> None:
    """Every instance the env runner's group wants is InService and Healthy.

    Why: a runner that fails to launch or sits out of service leaves deploys queued with no error in GitLab.
    Fails on: instances failing to launch, in Standby, Unhealthy, or fewer InService than desired.
    Fix: read the group's activity history, then `/var/log/cloud-init-output.log` on the newest instance
    (runbook, 'Debugging env_runner issues').
    """
    if env_runner_group is None:
        fail(
            Problem(
                f"Auto Scaling group {name('env_runner_asg')}",
                "the group exists",
                "no such group",
                "see test_env_runner_group_exists",
            )
        )
    group = env_runner_group.name
    states = {m.instance_id: f"{m.lifecycle}/{m.health}" for m in env_runner_group.members}
    in_service = sorted(i for i, s in states.items() if s == "InService/Healthy")
    wanted = max(1, env_runner_group.desired)
    if len(in_service) < wanted:
        others = ", ".join(f"{i} {s}" for i, s in sorted(states.items()) if s != "InService/Healthy") or "no instances"
        fail(
            Problem(
                resource=f"Auto Scaling group {group} (desired {env_runner_group.desired}, "
                f"min {env_runner_group.min_size})",
                expected=f"at least {wanted} InService, Healthy instance(s)",
                found=f"{len(in_service)} InService and Healthy; {others}",
                fix="check the group's activity history for launch failures, then tail "
                f"/var/log/cloud-init-output.log on the newest instance ({RUNBOOK_DEBUG})",
            )
        )


@pytest.mark.catches(
    "F17: instance tag gitlab_config_s3_bucket missing",
    "F17-empty: instance tag gitlab_config_s3_bucket present but empty",
)
@pytest.mark.blinded_by("F16", "F16-group")
def test_env_runner_instances_carry_the_boot_tags(runner_tags: dict[str, dict[str, str]], policy: Policy) -> None:
    """The env runner's instances carry the tags their boot code reads.

    Why: the boot code finds its config bucket, GitLab host and ECR account from these tags; a missing one
    leaves a runner that never registers.
    Fails on: a boot tag missing, empty or different from the policy, e.g. `gitlab_config_s3_bucket`.
    Fix: set the tag in the gitlab_runner_pool module's launch template and recycle the env runner.
    """
    runner = policy.runner
    problems = []
    for instance_id, tags in sorted(runner_tags.items()):
        missing = [key for key in runner.boot_tags if key not in tags]
        empty = [key for key in runner.boot_tags if key in tags and not tags[key]]
        if missing or empty:
            found = [
                *(["missing: " + ", ".join(missing)] if missing else []),
                *(["empty: " + ", ".join(empty)] if empty else []),
            ]
            if "gitlab_config_s3_bucket" in empty:
                # environment.md: the recipe falls back to the default bucket only when the tag is nil.
                found.append("an empty gitlab_config_s3_bucket makes the runner read s3:///gitlab_runner_token")
            problems.append(
                Problem(
                    resource=f"instance {instance_id}",
                    expected=f"boot tags {', '.join(runner.boot_tags)} all set",
                    found="; ".join(found),
                    fix="set the tags in the gitlab_runner_pool module's launch template and recycle the env runner; "
                    "without gitlab_config_s3_bucket the runner cannot find its registration token",
                )
            )
        for key, value in sorted(runner.tag_values.items()):
            if tags.get(key) and tags[key] != value:
                problems.append(
                    Problem(
                        f"instance {instance_id} tag {key}",
                        repr(value),
                        repr(tags[key]),
                        "fix the tag in the gitlab_runner_pool module and recycle",
                    )
                )
    check(problems)


@pytest.mark.catches("F17-bucket: the runner's tag names a bucket that does not exist")
@pytest.mark.blinded_by("F16", "F16-group", "F17", "F17-empty")
def test_gitlab_config_bucket_named_by_the_runner_exists(
    gitlab_config_bucket: str, gitlab_config_bucket_exists: bool
) -> None:
    # The tag may name another bucket than the default (environment.md); it must exist.
    """The bucket the runner's `gitlab_config_s3_bucket` tag names exists.

    Why: the runner reads its registration token from it at boot; a typo in the tag is a runner that never
    registers.
    Fails on: the tag naming a bucket that does not exist.
    Fix: correct the tag in the launch template (or create the bucket in terraform), then recycle.
    """
    if not gitlab_config_bucket_exists:
        fail(
            Problem(
                f"bucket {gitlab_config_bucket} (the env runner's gitlab_config_s3_bucket tag)",
                "the bucket exists",
                "no such bucket",
                "terraform the env's gitlab config bucket, or point the tag at the right one "
                f"({RUNBOOK_DEBUG}: 'Get the runner registration token from the gitlab-config s3 bucket')",
            )
        )


@pytest.mark.catches("F15: registration token object empty", "F15-shape: registration token is not token-shaped")
@pytest.mark.blinded_by("F16", "F16-group", "F17-bucket", "F17", "F17-empty")
def test_runner_registration_token_is_present_and_token_shaped(
    runner_token_facts: SecretFacts, gitlab_config_bucket: str, name: Callable[[str], str], policy: Policy
) -> None:
    """The registration token object is present and shaped like a token.

    Why: an empty or mangled token registers nothing; only its size and shape are read, never its value.
    Fails on: the object missing, empty, or not token-shaped.
    Fix: put a fresh token from GitLab (Settings > CI/CD > Runners) into the config bucket, then recycle.
    """
    token = policy.token
    where = f"s3://{gitlab_config_bucket}/{name('gitlab_runner_token_key')}"
    facts = runner_token_facts
    fix = (
        f"upload the runner registration token to {where}; an empty token makes registration fail "
        f"({RUNBOOK_DEBUG}: 'make sure it's actually a real string, not empty')"
    )
    if not facts.exists:
        fail(Problem(where, "the object exists", "no such object", fix))
    if facts.stripped_length == 0:
        fail(Problem(where, "a non-empty token", f"{facts.size} bytes, blank", fix))
    problems = []
    if not token.min_length <= facts.stripped_length <= token.max_length:
        problems.append(
            Problem(
                where,
                f"a token of {token.min_length}-{token.max_length} characters",
                f"{facts.stripped_length} characters",
                fix,
            )
        )
    if facts.lines != 1 or not facts.matches_pattern:
        problems.append(
            Problem(
                where,
                f"one line matching {token.pattern}",
                f"{facts.lines} line(s), {'matching' if facts.matches_pattern else 'not matching'} (value not shown)",
                fix,
            )
        )
    check(problems)


@pytest.mark.catches("F15-config: the runner registered with an empty token")
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_registered_with_a_token_at_the_gitlab_host(
    runner_config: list[RunnerConfigCopy], gitlab_hostname: str
) -> None:
    """The runner's config.toml registers it at the env's GitLab host, with a token.

    Why: a runner registered elsewhere, or with an empty token, takes no job from this env's pipeline.
    Fails on: config.toml (read through the host layer) unreadable, registered to another URL, or with an empty
    token; the token itself is never kept.
    Fix: put a valid token in the config bucket and recycle the runner so it registers again.
    """
    expected_url = f"https://{gitlab_hostname}"
    fix = (
        f"recycle the env runner; if it recurs, read the registration command in cloud-init's output: "
        f"'make sure it's actually a real string, not empty' and 'the gitlab url ... is proper' ({RUNBOOK_DEBUG})"
    )
    problems = []
    for where, config in ((c.where, c.config) for c in runner_config):
        problems += [Problem(where, "a config.toml gitlab-runner can load", p, fix) for p in config.problems]
        for runner in config.runners:
            if runner.url.rstrip("/") != expected_url:
                problems.append(Problem(f"{where} runner {runner.name!r} url", expected_url, repr(runner.url), fix))
            if runner.token_length == 0:
                problems.append(
                    Problem(
                        f"{where} runner {runner.name!r} token", "a non-empty token (value not shown)", "empty", fix
                    )
                )
    check(problems)


@pytest.mark.catches("F7-down: the outbound proxy accepts no connection")
def test_outbound_proxy_accepts_connections(proxy_tcp_probe: Probe, proxy_url: str) -> None:
    """The outbound proxy accepts connections on its port.

    Why: the runner reaches GitLab and everything outside only through it (runbook, 'Be able to talk to the
    proxy').
    Fails on: the proxy unreachable or refusing connections.
    Fix: check the runner's group allows tcp 3128 to the proxy's group and the outboundproxy instances are
    InService.
    """
    if not proxy_tcp_probe.ok:
        fail(
            Problem(
                resource=f"outbound proxy {proxy_url}",
                expected="a TCP connection opens",
                found=f"{proxy_tcp_probe.outcome}: {proxy_tcp_probe.detail} after {proxy_tcp_probe.seconds:.1f} s",
                fix="check the runner's security group allows tcp 3128 to the proxy's group, and that the "
                f"outboundproxy instances are InService ({RUNBOOK_DEBUG}: 'Be able to talk to the proxy')",
            )
        )


@pytest.mark.catches("F7", "F7-down")
@pytest.mark.blinded_by("F16", "F16-group")
def test_gitlab_host_answers_through_the_proxy(
    gitlab_probe: Probe, gitlab_hostname: str, proxy_url: str, policy: Policy
) -> None:
    """GitLab answers through the outbound proxy.

    Why: a runner that cannot reach GitLab takes no job, and the pipeline waits silently.
    Fails on: GitLab not allowlisted, the proxy unable to reach it, or a hang.
    Fix: the failure says which: allowlist the GitLab host, or check the proxy's own egress and DNS.
    """
    if gitlab_probe.ok:
        return
    fixes = {
        "refused-by-proxy": f"add {gitlab_hostname} to {policy.proxy.allowlist_path} on the outbound proxy",
        "proxy-could-not-connect": "the proxy cannot reach GitLab: check the GitLab VPC endpoint and its private "
        "DNS name in the env's zone",
        "hung": "look at the network path between the runner, the proxy and the GitLab VPC endpoint",
    }
    fail(
        Problem(
            resource=f"GitLab host {gitlab_hostname} through {proxy_url}",
            expected="an HTTP answer from GitLab",
            found=f"{gitlab_probe.outcome}: {gitlab_probe.detail} "
            f"({gitlab_probe.target}, {gitlab_probe.seconds:.1f} s)",
            fix=fixes.get(gitlab_probe.outcome, "see the detail above") + f" ({RUNBOOK_DEBUG})",
        )
    )
