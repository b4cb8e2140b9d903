"""The fleet's network: namespaces joined by a bridge in a "vpc" namespace, the VPC resolver's address, the
tools they need, and their teardown.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

RESOLVER_IP = "10.42.0.2"  # the VPC resolver: base of the VPC CIDR plus two, as in AWS
PREFIX_LEN = 16


def netns_prefix(directory: Path) -> str:
    return "et" + hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:6]


def can_host() -> str | None:
    """Why this machine cannot host the sandbox's instances, or None when it can."""
    if os.geteuid() != 0:
        return "emulated instances need root (network namespaces, nftables, mounts)"
    missing = [tool for tool in ("ip", "nft", "unshare", "redis-server", "dig", "nc") if shutil.which(tool) is None]
    if missing:
        return f"emulated instances need {', '.join(missing)} (scripts/install-system-deps.sh installs them)"
    return None


def run_tool(*args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), input=stdin, capture_output=True, text=True, check=False, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")
    return done


def teardown(directory: Path) -> list[str]:
    """Delete every namespace this sandbox made (their processes are stopped by the marker sweep)."""
    prefix = netns_prefix(directory) + "-"
    if shutil.which("ip") is None:
        return []
    listed = run_tool("ip", "netns", "list", check=False).stdout.split("\n")
    removed = []
    for line in listed:
        name = line.split(" ", 1)[0]
        if name.startswith(prefix):
            run_tool("ip", "netns", "del", name, check=False)
            removed.append(name)
    return removed


@dataclass
class Member:
    """A namespace the security groups apply to: an instance, or Redis."""

    name: str  # instance id or "redis"
    netns: str
    ip: str
    groups: list[str]
    role: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)


def add_namespace(vpc_ns: str, member: Member) -> None:
    """The member's own namespace, its eth0 (with its address) joined to the bridge in `vpc_ns`."""
    veth = "v" + hashlib.sha256(member.netns.encode()).hexdigest()[:10]
    run_tool("ip", "netns", "add", member.netns)
    run_tool("ip", "-n", vpc_ns, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", member.netns)
    run_tool("ip", "-n", vpc_ns, "link", "set", veth, "master", "br0", "up")
    run_tool("ip", "-n", member.netns, "addr", "add", f"{member.ip}/{PREFIX_LEN}", "dev", "eth0")
    run_tool("ip", "-n", member.netns, "link", "set", "eth0", "up")
    run_tool("ip", "-n", member.netns, "link", "set", "lo", "up")
