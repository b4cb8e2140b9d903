"""The application hosts, asked through SSM RunCommand: boot, logs, Redis, DNSSEC.

Ports of the Go suite's SSM tests. Each command only reads; the results of one
command are shared by every check that needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.parsers.host_status import DigResult, cloud_init_errors, filebeat_output, logstash_summary
from envtest.policy import Policy
from envtest.problems import Problem, check

if TYPE_CHECKING:
    from envtest.gather.services.elasticache import RedisEndpoint


def _parsed(parse: Callable[[str], Any], text: str, where: str) -> Any:
    try:
        return parse(text)
    except ValueError as exc:
        raise CouldNotEvaluate(f"{where}: {exc}") from None


@pytest.mark.catches("H3: cloud-init errors on the ELK host")
def test_cloud_init_finished_without_errors(cloud_init_status: Callable[[str], dict[str, str]], policy: Policy) -> None:
    """cloud-init finished without errors on the hosts the policy names.

    Why: a boot that failed halfway leaves a host in service that is not configured.
    Fails on: through SSM on the ELK hosts (policy `[cloud_init] roles`): any stage of
    `/var/lib/cloud/data/status.json` with errors.
    Fix: read `/var/log/cloud-init-output.log` on the instance, fix the step, recycle the group.
    """
    path = policy.cloud_init.status_path
    roles = list(policy.cloud_init.roles)
    problems = []
    for role, instance_id, text in [(r, i, t) for r in roles for i, t in sorted(cloud_init_status(r).items())]:
        errors = _parsed(cloud_init_errors, text, f"{path} on {instance_id}")
        if errors:
            problems.append(
                Problem(
                    resource=f"{role} instance {instance_id} ({path})",
                    expected="cloud-init recorded no errors in any stage",
                    found="; ".join(errors[:5]) + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""),
                    fix="read /var/log/cloud-init-output.log on the instance (runbook: 'Look at the logs as it "
                    "is booting'), fix the failing step, then recycle the group",
                )
            )
    check(problems)


@pytest.mark.catches("H4-filebeat: filebeat write errors")
def test_filebeat_ships_logs_without_write_errors(log_pipeline_stats: dict[str, dict[str, str]]) -> None:
    """filebeat ships logs without write errors.

    Why: logs that do not arrive are an incident nobody can investigate.
    Fails on: `libbeat.output.write.errors` > 0, or no bytes sent.
    Fix: check logstash is up on the instance; read `journalctl -u filebeat`.
    """
    problems = []
    for instance_id, text in sorted(log_pipeline_stats["filebeat"].items()):
        output = _parsed(filebeat_output, text, f"filebeat stats on {instance_id}")
        if output.write_errors != 0 or output.write_bytes <= 0:
            problems.append(
                Problem(
                    resource=f"filebeat on ELK instance {instance_id}",
                    expected="libbeat.output.write.errors = 0 and libbeat.output.write.bytes > 0",
                    found=f"errors = {output.write_errors}, bytes = {output.write_bytes}",
                    fix="filebeat cannot hand events to logstash: check logstash is up on the instance and "
                    "read `journalctl -u filebeat` there",
                )
            )
    check(problems)


@pytest.mark.catches("H4: logstash status red, no events out")
def test_logstash_passes_events_on_and_is_green(log_pipeline_stats: dict[str, dict[str, str]]) -> None:
    """logstash is green and passes events on.

    Why: a red logstash swallows every host's logs.
    Fails on: status not green, or no events out.
    Fix: read `/var/log/logstash/logstash-plain.log`; usually the output is unreachable or a pipeline failed
    to compile.
    """
    problems = []
    for instance_id, text in sorted(log_pipeline_stats["logstash"].items()):
        summary = _parsed(logstash_summary, text, f"logstash node stats on {instance_id}")
        if summary.status != "green" or summary.events_out <= 0:
            problems.append(
                Problem(
                    resource=f"logstash on ELK instance {instance_id}",
                    expected="status green and events.out > 0",
                    found=f"status {summary.status}, events.out = {summary.events_out}",
                    fix="read /var/log/logstash/logstash-plain.log on the instance; a red status usually means "
                    "a pipeline cannot reach its output (Elasticsearch) or failed to compile",
                )
            )
    check(problems)


def _redis_roles(roles: tuple[str, ...], key: str) -> tuple[str, ...]:
    if not roles:
        raise CouldNotEvaluate(f"policy [redis] {key} lists no role")
    return roles


@pytest.mark.catches("H1-idp: idp hosts cannot reach Redis")
def test_roles_that_need_redis_reach_it(
    redis_reachability: Callable[[str], dict[str, bool]], redis_endpoint: RedisEndpoint, policy: Policy
) -> None:
    """The roles that need Redis reach it.

    Why: the IdP keeps sessions in Redis; without it sign-ins fail.
    Fails on: an instance of such a role unable to open the Redis port within the time limit.
    Fix: the Redis group must admit the role's group, and the role's egress must allow the Redis group.
    """
    target = str(redis_endpoint)
    timeout = policy.redis.timeout
    check(
        [
            Problem(
                resource=f"{role} instance {instance_id}",
                expected=f"a TCP connection to Redis {target} within {timeout} s",
                found="no connection (refused, dropped or timed out)",
                fix=f"the Redis security group must allow tcp {redis_endpoint.port} from the {role} group, and "
                f"the {role} group's egress must allow it to the Redis group",
            )
            for role in _redis_roles(policy.redis.must_reach, "must_reach")
            for instance_id, reached in sorted(redis_reachability(role).items())
            if not reached
        ]
    )


@pytest.mark.catches("H1: app hosts can reach Redis")
def test_roles_that_must_not_reach_redis_cannot(
    redis_reachability: Callable[[str], dict[str, bool]], redis_endpoint: RedisEndpoint, policy: Policy
) -> None:
    """The roles that must not reach Redis cannot.

    Why: Redis holds session data; only the roles that need it may connect.
    Fails on: an instance of such a role opening the Redis port.
    Fix: remove the rule that lets the role's group reach the Redis group.
    """
    target = str(redis_endpoint)
    check(
        [
            Problem(
                resource=f"{role} instance {instance_id}",
                expected=f"no TCP connection to Redis {target}",
                found="the connection opened",
                fix=f"remove the rule that lets the {role} group reach the Redis group on {redis_endpoint.port} "
                "(the Redis group's ingress and the role group's egress)",
            )
            for role in _redis_roles(policy.redis.must_not_reach, "must_not_reach")
            for instance_id, reached in sorted(redis_reachability(role).items())
            if reached
        ]
    )


@pytest.mark.catches("H6: the resolver does not validate DNSSEC")
def test_idp_hosts_refuse_a_name_with_broken_dnssec(
    dns_on_role: Callable[[str, str], dict[str, DigResult]], policy: Policy
) -> None:
    """The IdP hosts' resolver refuses a name with broken DNSSEC.

    Why: without validation, a forged DNS answer can send the IdP's outbound calls elsewhere.
    Fails on: the idp hosts' resolver returns an address (or anything but SERVFAIL) for `dnssec-failed.org`.
    Fix: turn DNSSEC validation on for the VPC's resolver.
    """
    role, name = policy.dnssec.role, policy.dnssec.broken_name
    problems = []
    for instance_id, result in sorted(dns_on_role(role, name).items()):
        if result.status == "NO ANSWER":
            raise CouldNotEvaluate(f"{instance_id}: its resolver did not answer for {name}")
        if result.answers or result.status != "SERVFAIL":
            problems.append(
                Problem(
                    resource=f"{role} instance {instance_id}: the resolver's answer for {name}",
                    expected="SERVFAIL and no address (DNSSEC validation rejects the bogus signature)",
                    found=f"status {result.status}, answers {result.answers or 'none'}",
                    fix="turn DNSSEC validation on for the VPC's resolver (Route 53 Resolver DNSSEC validation) "
                    "or in the host's resolver configuration",
                )
            )
    check(problems)


@pytest.mark.catches("H6-name: the resolver lost the IdP's own name")
def test_idp_hosts_resolve_the_idp_hostname(
    dns_on_role: Callable[[str, str], dict[str, DigResult]], policy: Policy, idp_hostname: str
) -> None:
    """The IdP hosts resolve the IdP's own name.

    Why: the IdP calls itself by name; the control for the DNSSEC check above.
    Fails on: the name not resolving on the idp hosts.
    Fix: check the IdP's DNS records and their signing.
    """
    role = policy.dnssec.role
    problems = []
    for instance_id, result in sorted(dns_on_role(role, idp_hostname).items()):
        if result.status != "NOERROR" or not any(a.startswith(("A ", "CNAME ")) for a in result.answers):
            problems.append(
                Problem(
                    resource=f"{role} instance {instance_id}: the resolver's answer for {idp_hostname}",
                    expected="NOERROR with an address",
                    found=f"status {result.status}, answers {result.answers or 'none'}",
                    fix="check the IdP's DNS records (and, if DNSSEC fails for it, its signing)",
                )
            )
    check(problems)
