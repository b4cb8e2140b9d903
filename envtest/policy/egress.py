"""Security group egress against the declared rules: pure functions over DescribeSecurityGroups data.

AWS folds several destinations into one permission; `flatten` splits them so
each found rule is one (protocol, ports, destination). A found rule is allowed
when a declared rule has the same protocol and port range and its destination
lies inside the declared CIDRs or is one of the declared groups. A required
declared rule is present when some found rule has exactly its protocol, ports
and each of its destinations.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PROTOCOLS = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


@dataclass(frozen=True)
class Rule:
    """One egress rule of one group, as AWS shows it, split to one destination."""

    group_id: str
    group_name: str
    protocol: str  # "tcp", "udp", "icmp", "all", ...
    from_port: int | None
    to_port: int | None
    kind: str  # "cidr", "group", "prefix-list"
    destination: str

    def ports(self) -> str:
        if self.protocol == "all" or self.from_port is None:
            return "all ports"
        if self.from_port == self.to_port:
            return str(self.from_port)
        return f"{self.from_port}-{self.to_port}"

    def __str__(self) -> str:
        return f"{self.group_name} ({self.group_id}) egress {self.protocol} {self.ports()} to {self.destination}"


@dataclass(frozen=True)
class Declared:
    """One declared rule from the policy, with group names resolved to ids."""

    reason: str
    protocol: str
    from_port: int
    to_port: int
    cidrs: tuple[str, ...]
    groups: Mapping[str, str]  # group id -> name
    required: bool

    def describe(self) -> str:
        ports = str(self.from_port) if self.from_port == self.to_port else f"{self.from_port}-{self.to_port}"
        destinations = [*self.cidrs, *(f"group {name}" for name in self.groups.values())]
        return f"[[egress.allow]] {self.reason!r}: {self.protocol} {ports} to {', '.join(destinations)}"


def _protocol(value: str) -> str:
    value = str(value).lower()
    return PROTOCOLS.get(value, value)


def flatten(group: Mapping[str, Any]) -> list[Rule]:
    rules = []
    for permission in group.get("IpPermissionsEgress", []):
        protocol = _protocol(permission.get("IpProtocol", "-1"))
        from_port = permission.get("FromPort")
        to_port = permission.get("ToPort")
        if protocol == "all":
            from_port = to_port = None

        def rule(kind: str, destination: str, protocol: str = protocol, f: Any = from_port, t: Any = to_port) -> Rule:
            return Rule(group["GroupId"], group.get("GroupName", ""), protocol, f, t, kind, destination)

        rules += [rule("cidr", r["CidrIp"]) for r in permission.get("IpRanges", [])]
        rules += [rule("cidr", r["CidrIpv6"]) for r in permission.get("Ipv6Ranges", [])]
        rules += [rule("prefix-list", r["PrefixListId"]) for r in permission.get("PrefixListIds", [])]
        rules += [rule("group", r["GroupId"]) for r in permission.get("UserIdGroupPairs", [])]
    return rules


def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def _inside(cidr: str, declared: Iterable[str]) -> bool:
    found = _network(cidr)
    if found is None:
        return False
    for candidate in declared:
        net = _network(candidate)
        if net is not None and net.version == found.version and found.subnet_of(net):  # type: ignore[arg-type]
            return True
    return False


def broad_reasons(rule: Rule) -> list[str]:
    """Why a rule is dangerous whatever the policy says."""
    reasons = []
    if rule.kind == "cidr" and rule.destination in {"0.0.0.0/0", "::/0"}:
        reasons.append("open to the whole internet")
    if rule.protocol == "all":
        reasons.append("all protocols")
    elif rule.from_port is not None and (rule.from_port, rule.to_port) == (0, 65535):
        reasons.append("all ports")
    return reasons


def matches(rule: Rule, declared: Declared) -> bool:
    if rule.protocol != declared.protocol or (rule.from_port, rule.to_port) != (declared.from_port, declared.to_port):
        return False
    if rule.kind == "cidr":
        return _inside(rule.destination, declared.cidrs)
    if rule.kind == "group":
        return rule.destination in declared.groups
    return False  # prefix lists are never declared: each one is a hole to review


@dataclass(frozen=True)
class Finding:
    what: str  # "undeclared" or "missing"
    rule: str
    detail: str


def evaluate(found: list[Rule], declared: list[Declared]) -> list[Finding]:
    findings = []
    for rule in found:
        broad = broad_reasons(rule)
        allowed = next((d for d in declared if matches(rule, d)), None)
        if broad or allowed is None:
            why = (
                ", ".join(broad)
                if broad
                else {
                    "prefix-list": "a prefix list no policy line declares",
                    "group": "a group no policy line declares for this protocol and port",
                    "cidr": "a destination no policy line declares for this protocol and port",
                }[rule.kind]
            )
            findings.append(Finding("undeclared", str(rule), why))
    for d in declared:
        if not d.required:
            continue
        for destination, kind in [*((c, "cidr") for c in d.cidrs), *((g, "group") for g in d.groups)]:
            present = any(
                r.protocol == d.protocol
                and (r.from_port, r.to_port) == (d.from_port, d.to_port)
                and r.kind == kind
                and (r.destination == destination or (kind == "cidr" and _same_net(r.destination, destination)))
                for r in found
            )
            if not present:
                label = destination if kind == "cidr" else f"group {d.groups[destination]} ({destination})"
                findings.append(Finding("missing", d.describe(), f"no rule reaches {label}"))
    return findings


def _same_net(a: str, b: str) -> bool:
    na, nb = _network(a), _network(b)
    return na is not None and na == nb
