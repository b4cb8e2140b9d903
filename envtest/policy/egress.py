"""Security group egress against the declared rules: pure functions over DescribeSecurityGroups data.

AWS folds several destinations into one permission; `flatten` splits them so
each found rule is one (protocol, ports, destination), with its description.

A declared rule names its destinations by what identifies them, because many
change over time in the real world (GitHub's ranges, AWS's EC2 ranges, the
proxy's load balancer addresses):
- `cidrs`: CIDRs written in the policy (or a named set of them);
- `groups`: security groups, by id, resolved from name patterns;
- `prefix_lists`: prefix lists, by id, resolved from their names;
- `published`: a list someone else publishes (GitHub's git addresses, AWS's
  EC2 ranges), as a committed snapshot of a date: any of its entries, single
  addresses included, none of them required;
- `any_cidr_with_description`: any CIDR, when the rule carries this exact
  description.
A declared `description` must also be on the found rule.

A found rule is allowed when a declared rule has the same protocol and port
range and its destination is one of the declared ones (a CIDR inside a
declared CIDR). Rules to 0.0.0.0/0 or ::/0, all protocols or all ports are
flagged whatever the policy says. A rule that matches nothing but is shaped
like a published list's (same protocol and ports, the line's description or,
without one, beside the list's entries in the same group with the same
description; a public address no wider than the list's widest entry) is
"unlisted": the snapshot is older than the list, or the rule is not GitHub's
or AWS's at all; either way a person decides, and it is not an open door. A required declared rule is present when
some found rule reaches each of its destinations (for a description-only rule:
some rule with that description).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from envtest.gather.services.ec2 import SecurityGroup
    from envtest.parsers.published_lists import PublishedList

# The words an [[egress.allow]] entry may use (envtest/fixtures/runner_network.py reads them; the policy loader refuses
# any other, so a misspelt `requried = true` stops the run instead of making the rule optional).
ALLOW_KEYS = frozenset(
    {
        "reason",
        "protocol",
        "ports",
        "cidrs",
        "cidr_set",
        "vpc_cidrs",
        "load_balancer_of",
        "interface_endpoint_groups",
        "groups",
        "prefix_lists",
        "any_cidr_with_description",
        "published_list",
        "description",
        "required",
    }
)

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
    description: str = ""

    def ports(self) -> str:
        if self.protocol == "all" or self.from_port is None:
            return "all ports"
        if self.from_port == self.to_port:
            return str(self.from_port)
        return f"{self.from_port}-{self.to_port}"

    def __str__(self) -> str:
        said = f" ({self.description!r})" if self.description else ""
        return f"{self.group_name} ({self.group_id}) egress {self.protocol} {self.ports()} to {self.destination}{said}"


@dataclass(frozen=True)
class Declared:
    """One declared rule from the policy, its destinations resolved to what AWS shows."""

    reason: str
    protocol: str
    from_port: int | None
    to_port: int | None
    cidrs: tuple[str, ...] = ()
    groups: Mapping[str, str] = field(default_factory=dict)  # group id -> name
    prefix_lists: Mapping[str, str] = field(default_factory=dict)  # prefix list id -> name
    any_cidr_with_description: str | None = None
    description: str | None = None
    required: bool = False
    published: PublishedList | None = None

    def ports(self) -> str:
        if self.protocol == "all" or self.from_port is None:
            return "all ports"
        return str(self.from_port) if self.from_port == self.to_port else f"{self.from_port}-{self.to_port}"

    def describe(self) -> str:
        destinations = [
            *self.cidrs,
            *(f"group {name}" for name in self.groups.values()),
            *(f"prefix list {name}" for name in self.prefix_lists.values()),
            *([f"any CIDR described {self.any_cidr_with_description!r}"] if self.any_cidr_with_description else []),
            *([f"any entry of {self.published.title} as of {self.published.date}"] if self.published else []),
        ]
        return f"[[egress.allow]] {self.reason!r}: {self.protocol} {self.ports()} to {', '.join(destinations) or '?'}"


def _protocol(value: str) -> str:
    value = str(value).lower()
    return PROTOCOLS.get(value, value)


def flatten(group: SecurityGroup) -> list[Rule]:
    """The group's egress, one Rule per destination."""
    rules = []
    for permission in group.egress:
        protocol = _protocol(permission.protocol)
        from_port, to_port = permission.from_port, permission.to_port
        if protocol == "all":
            from_port = to_port = None

        for kind, destinations in (
            ("cidr", permission.ipv4),
            ("cidr", permission.ipv6),
            ("prefix-list", permission.prefix_lists),
            ("group", permission.groups),
        ):
            rules += [
                Rule(group.group_id, group.name, protocol, from_port, to_port, kind, destination, description)
                for destination, description in destinations
            ]
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


def _same_ports(rule: Rule, declared: Declared) -> bool:
    return rule.protocol == declared.protocol and (rule.from_port, rule.to_port) == (
        declared.from_port,
        declared.to_port,
    )


def matches(rule: Rule, declared: Declared) -> bool:
    if not _same_ports(rule, declared):
        return False
    if declared.description is not None and rule.description != declared.description:
        return False
    if rule.kind == "cidr":
        if _inside(rule.destination, declared.cidrs):
            return True
        if declared.published is not None and declared.published.holds(rule.destination):
            return True
        wanted = declared.any_cidr_with_description
        return wanted is not None and rule.description == wanted
    if rule.kind == "group":
        return rule.destination in declared.groups
    return rule.destination in declared.prefix_lists


def came_from_list(rule: Rule, declared: Declared, found: Iterable[Rule]) -> bool:
    """Is `rule` shaped like the rules terraform fills from `declared`'s published list (see the module's doc)?"""
    listed = declared.published
    network = _network(rule.destination) if rule.kind == "cidr" else None
    if listed is None or network is None or not network.is_global or not _same_ports(rule, declared):
        return False
    widest = min((n.prefixlen for n in (_network(c) for c in listed.cidrs) if n is not None), default=33)
    if network.version != 4 or network.prefixlen < widest:
        return False
    if declared.description is not None:
        return rule.description == declared.description
    return any(
        other.group_id == rule.group_id
        and other.kind == "cidr"
        and other.description == rule.description
        and _same_ports(other, declared)
        and listed.holds(other.destination)
        for other in found
    )


@dataclass(frozen=True)
class Finding:
    what: str  # "undeclared", "unlisted" (outside a published list's snapshot) or "missing"
    rule: str
    detail: str


def _reaches(rule: Rule, kind: str, destination: str) -> bool:
    if rule.kind != kind:
        return False
    if kind == "cidr":
        return rule.destination == destination or _same_net(rule.destination, destination)
    return rule.destination == destination


def evaluate(found: list[Rule], declared: list[Declared]) -> list[Finding]:
    findings = []
    for rule in found:
        broad = broad_reasons(rule)
        allowed = next((d for d in declared if matches(rule, d)), None)
        listed = None if broad or allowed else next((d for d in declared if came_from_list(rule, d, found)), None)
        if listed is not None and listed.published is not None:
            where = listed.published
            findings.append(Finding("unlisted", str(rule), f"not in {where.title} as of {where.date}"))
        elif broad or allowed is None:
            why = (
                ", ".join(broad)
                if broad
                else {
                    "prefix-list": "a prefix list no policy line declares for this protocol and port",
                    "group": "a group no policy line declares for this protocol and port",
                    "cidr": "a destination no policy line declares for this protocol and port",
                }[rule.kind]
            )
            findings.append(Finding("undeclared", str(rule), why))
    for d in declared:
        if not d.required:
            continue
        candidates = [
            r for r in found if _same_ports(r, d) and (d.description is None or r.description == d.description)
        ]
        wanted = [
            *((c, "cidr", c) for c in d.cidrs),
            *((g, "group", f"group {name} ({g})") for g, name in d.groups.items()),
            *((p, "prefix-list", f"prefix list {name} ({p})") for p, name in d.prefix_lists.items()),
        ]
        for destination, kind, label in wanted:
            if not any(_reaches(r, kind, destination) for r in candidates):
                findings.append(Finding("missing", d.describe(), f"no rule reaches {label}"))
        if d.any_cidr_with_description and not any(
            r.kind == "cidr" and r.description == d.any_cidr_with_description for r in candidates
        ):
            findings.append(Finding("missing", d.describe(), f"no rule described {d.any_cidr_with_description!r}"))
        published = d.published
        if (
            published
            and not d.cidrs
            and not any(r.kind == "cidr" and published.holds(r.destination) for r in candidates)
        ):
            findings.append(Finding("missing", d.describe(), f"no rule reaches an entry of {published.title}"))
        if not wanted and not d.any_cidr_with_description and not published:
            findings.append(Finding("missing", d.describe(), "the policy line resolves to no destination"))
    return findings


def _same_net(a: str, b: str) -> bool:
    na, nb = _network(a), _network(b)
    return na is not None and na == nb
