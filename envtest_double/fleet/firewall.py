"""Security groups as nftables: what a host's groups allow, stateful, default drop; the VPC resolver is outside
security groups, as in AWS.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from envtest_double.fleet.network import RESOLVER_IP


def _ports(permission: dict[str, Any]) -> str:
    protocol = str(permission.get("IpProtocol", "-1"))
    if protocol in {"-1", "all"}:
        return ""
    name = {"6": "tcp", "17": "udp"}.get(protocol, protocol)
    low, high = permission.get("FromPort"), permission.get("ToPort")
    if name not in {"tcp", "udp"}:
        return f"meta l4proto {name}"
    if low is None or low == -1 or (low == 0 and high == 65535):
        return f"meta l4proto {name}"
    return f"{name} dport {low}" if low == high else f"{name} dport {low}-{high}"


def _rules(permissions: list[dict[str, Any]], direction: str, members_of: dict[str, list[str]]) -> list[str]:
    field_name = "saddr" if direction == "in" else "daddr"
    rules = []
    for permission in permissions:
        match = _ports(permission)
        peers = [r["CidrIp"] for r in permission.get("IpRanges", [])]
        for pair in permission.get("UserIdGroupPairs", []):
            peers += [f"{ip}/32" for ip in members_of.get(pair.get("GroupId", ""), [])]
        for peer in sorted(set(peers)):
            network = ipaddress.ip_network(peer, strict=False)
            address = "" if network.prefixlen == 0 else f"ip {field_name} {network} "
            rules.append(f"    {address}{match} accept".replace("  accept", " accept"))
    return rules


def nft_ruleset(member_groups: list[str], groups: dict[str, dict[str, Any]], members_of: dict[str, list[str]]) -> str:
    """The nftables ruleset for a host with these security groups: what the groups allow, nothing else."""
    ingress: list[str] = []
    egress: list[str] = []
    for group_id in member_groups:
        group = groups.get(group_id, {})
        ingress += _rules(group.get("IpPermissions", []), "in", members_of)
        egress += _rules(group.get("IpPermissionsEgress", []), "out", members_of)
    head = "    ct state established,related accept\n"
    return (
        "add table inet envtest_sg\ndelete table inet envtest_sg\ntable inet envtest_sg {\n"
        "  chain input {\n    type filter hook input priority 0; policy drop;\n"
        + head
        + '    iif "lo" accept\n'
        + "".join(r + "\n" for r in ingress)
        + "  }\n  chain output {\n    type filter hook output priority 0; policy drop;\n"
        + head
        + '    oif "lo" accept\n'
        + f"    ip daddr {RESOLVER_IP} udp dport 53 accept\n    ip daddr {RESOLVER_IP} tcp dport 53 accept\n"
        + "".join(r + "\n" for r in egress)
        + "  }\n}\n"
    )
