"""Which proxies the env runner can reach, and what each lets through that the runner's own allowlist does not.

The runner's egress is the union of its groups (its own, `<env>-base`, the argo groups). A proxy is reachable when
one of those rules covers the proxy port towards the proxy's instances (by a group they carry, or by an address
range holding one of their addresses or of the load balancer in front of them) AND the groups of the proxy's
instances admit that port from the runner (its groups or its addresses): both sides of a security group path must
allow it. A network load balancer keeps the client's address for instance targets, so the instances' own ingress
still decides behind it (elbv2 docs, "Client IP preservation").

Pure functions: the fixtures gather the pools and the rules, the checks judge what these return.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from envtest.policy.egress import Rule

if TYPE_CHECKING:
    from envtest.gather.services.ec2 import SecurityGroup
    from envtest.parsers.squid_allowlist import Allowlist, Entry


@dataclass(frozen=True)
class ProxyPool:
    """One proxy role's pool as AWS shows it."""

    role: str
    group_name: str  # its Auto Scaling group
    instance_ids: tuple[str, ...]
    instance_ips: tuple[str, ...]
    instance_groups: tuple[str, ...]  # the security group ids its instances carry
    lb_ips: tuple[str, ...] = ()  # the private addresses of a load balancer in front of it


@dataclass(frozen=True)
class ProxyPath:
    """The runner reaches `pool` on `port` through these egress rules (each admitted by the pool's ingress)."""

    pool: ProxyPool
    port: int
    rules: tuple[Rule, ...]

    def describe(self) -> str:
        by = "; ".join(str(rule) for rule in self.rules)
        return f"the {self.pool.role} proxy ({self.pool.group_name}: {', '.join(self.pool.instance_ids)}) by {by}"


def _covers(rule: Rule, port: int) -> bool:
    if rule.protocol == "all":
        return True
    if rule.protocol != "tcp" or rule.from_port is None or rule.to_port is None:
        return False
    return rule.from_port <= port <= rule.to_port


def _holds(cidr: str, addresses: Iterable[str]) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return any(ipaddress.ip_address(a) in network for a in addresses if a)


def rule_reaches(rule: Rule, pool: ProxyPool, port: int) -> bool:
    """Does this egress rule let the runner open `port` towards the pool (its instances or its load balancer)?"""
    if not _covers(rule, port):
        return False
    if rule.kind == "group":
        return rule.destination in pool.instance_groups
    if rule.kind == "cidr":
        return _holds(rule.destination, [*pool.instance_ips, *pool.lb_ips])
    return False  # a prefix list names AWS services' ranges, never the VPC's own addresses


def admitted(
    pool: ProxyPool, port: int, groups: Mapping[str, SecurityGroup], runner_groups: set[str], runner_ips: list[str]
) -> bool:
    """Does a group the pool's instances carry admit `port` from the runner's groups or from all its addresses?"""
    cidrs = [f"{ip}/32" for ip in runner_ips if ip]
    return any(
        groups[g].admits_tcp(port, from_groups=runner_groups, from_cidrs=cidrs)
        for g in pool.instance_groups
        if g in groups
    )


def reachable(
    rules: list[Rule],
    pools: list[ProxyPool],
    port: int,
    *,
    groups: Mapping[str, SecurityGroup],
    runner_groups: set[str],
    runner_ips: list[str],
) -> list[ProxyPath]:
    """Every proxy pool both sides of the security groups let the runner reach on `port`."""
    paths = []
    for pool in pools:
        by = tuple(rule for rule in rules if rule_reaches(rule, pool, port))
        if by and admitted(pool, port, groups, runner_groups, runner_ips):
            paths.append(ProxyPath(pool, port, by))
    return paths


def _entry_covered(entry: Entry, own: Allowlist) -> bool:
    if not entry.wildcard:
        return own.allows(entry.domain) is not None
    # A wildcard is covered only by a wildcard at it or above it: an exact name covers none of its subdomains.
    return any(o.wildcard and (entry.domain == o.domain or entry.domain.endswith("." + o.domain)) for o in own.entries)


def beyond(other: Allowlist, own_copies: list[Allowlist]) -> list[str]:
    """The other proxy's entries that no copy of the runner's own allowlist lets through, as written there."""
    return sorted({str(e) for e in other.entries if not any(_entry_covered(e, own) for own in own_copies)})


def fingerprint(names: list[str]) -> str:
    """A short digest of a set of names: a waiver pins it, so any name added or removed ends the waiver."""
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:12]
