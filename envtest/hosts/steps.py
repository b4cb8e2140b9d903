"""The gather plan's steps that the host reads wait on, and the host-read plan itself, declared without pytest.

The run's start (early_start.py) sends the host reads before pytest is imported: it needs the account (a role's
group may be named from it), each role's group, Redis's address (the Redis probe's reads hold it) and the
`HostReads` that sends them. They are steps like any other (envtest/plan.py), and the session serves them to the
checks as fixtures (fixtures/hosts.py, pytest_plugin.py `fixture_of`).
"""

from __future__ import annotations

from collections.abc import Callable

from envtest import early_start
from envtest.errors import CouldNotEvaluate
from envtest.gather.aws import Aws
from envtest.gather.inventory import Inventory
from envtest.gather.services.elasticache import RedisEndpoint
from envtest.hosts.plan import HostReads, LocalReads
from envtest.plan import declare
from envtest.policy import Policy
from envtest.settings import Settings


def account(inventory: Inventory) -> str:
    return inventory.caller_identity().account


def group_for_role(policy: Policy, settings: Settings, account: str, inventory: Inventory) -> Callable[[str], str]:
    """group(role) -> the role's Auto Scaling group name, from policy [hosts.asg].

    A role's group is named exactly ("{env}-outboundproxy") or by the name_prefix terraform gave it
    ({name_prefix = "{env}-env-runner-obproxy"}: terraform adds a random suffix), then found in AWS.
    """
    templates = policy.section("hosts").get("asg", {})
    values = {"env": settings.env_name, "account": account, "region": settings.region}

    def group(role: str) -> str:
        if role not in templates:
            raise CouldNotEvaluate(f"policy [hosts.asg] names no Auto Scaling group for role {role!r}")
        spec = templates[role]
        if not isinstance(spec, dict):
            return str(spec).format(**values)
        prefix = str(spec["name_prefix"]).format(**values)
        found = [name for name in inventory.autoscaling_group_names() if name.startswith(prefix)]
        if len(found) != 1:
            raise CouldNotEvaluate(
                f"role {role!r}: {len(found)} Auto Scaling groups are named {prefix}...; expected one"
                + (f" ({', '.join(found)})" if found else "")
            )
        return found[0]

    return group


def redis_endpoint(inventory: Inventory, policy: Policy, settings: Settings) -> RedisEndpoint:
    """The IdP's Redis member cluster's endpoint, from ElastiCache."""
    group = policy.redis.replication_group.format(env=settings.env_name)
    cluster = policy.redis.cluster.format(env=settings.env_name)
    endpoint = inventory.redis_member_endpoint(group, cluster)
    if endpoint is None:
        raise CouldNotEvaluate(
            f"ElastiCache has no member {cluster} with an endpoint in replication group {group}: "
            "check the names in policy [redis] and that the cluster exists"
        )
    return endpoint


def host_reads(
    settings: Settings, aws: Aws, policy: Policy, group_for_role: Callable[[str], str]
) -> HostReads | LocalReads:
    """Every read of a host file or command output: local directories under HOSTS_ROOT, else planned SSM (the
    early start's, when it sent the run's host reads: one plan, so one command per role, and no second plan racing
    it for the same answers)."""
    if settings.hosts_root is not None:
        return LocalReads(settings.hosts_root)
    sent = early_start.sent_reads()
    if sent is not None and sent.aws is aws:
        return sent
    return HostReads(
        aws,
        settings.run_dir,
        group_for_role,
        online_timeout=policy.instances.online_timeout,
        command_timeout=policy.instances.command_timeout,
    )


for _step in (account, group_for_role, redis_endpoint, host_reads):
    declare(_step)
