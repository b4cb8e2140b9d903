"""The sandbox's instances: moto's running instances, each a Linux network namespace that really runs commands.

moto records instances but runs nothing. Here every running moto instance of a
group the sandbox knows becomes:
- a network namespace holding the instance's own private address, joined to
  the others by a bridge in a "vpc" namespace (nothing is added to the
  machine's own network namespace);
- nftables rules compiled from its security groups as moto holds them right
  now (ingress and egress, stateful, default drop), so reachability meets a
  real refused or dropped connection; the VPC resolver is outside security
  groups, as in AWS;
- its role's files from `DIR/hosts/<role>/`, mounted at their real paths in a
  private mount namespace for each command (bind mounts over paths the machine
  has, read-only overlays where it lacks them).

Beside them: Redis (Debian's redis-server) in its own namespace, and a DNS
stand-in for the VPC's validating resolver (dns.py). Needs root.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.exceptions

from envtest.sandbox.processes import MARKER

RESOLVER_IP = "10.42.0.2"  # the VPC resolver: base of the VPC CIDR plus two, as in AWS
PREFIX_LEN = 16
STATS_PORTS = {"filebeat": 5066, "logstash": 9600}


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


def _run(*args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), input=stdin, capture_output=True, text=True, check=False, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")
    return done


def teardown(directory: Path) -> list[str]:
    """Delete every namespace this sandbox made (their processes are stopped by the marker sweep)."""
    prefix = netns_prefix(directory) + "-"
    if shutil.which("ip") is None:
        return []
    listed = _run("ip", "netns", "list", check=False).stdout.split("\n")
    removed = []
    for line in listed:
        name = line.split(" ", 1)[0]
        if name.startswith(prefix):
            _run("ip", "netns", "del", name, check=False)
            removed.append(name)
    return removed


def write_fleet_config(directory: Path, estate: dict[str, Any]) -> Path:
    """DIR/instances.json: what the fleet follows (groups to roles, Redis, DNS names); re-read when it changes."""
    path = directory / "instances.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(estate, indent=1))
    tmp.replace(path)
    return path


def mount_plan(*roots: Path) -> list[list[str]]:
    """mount(8) argument lists that put the files under `roots` at their real paths, the first root winning.

    Roots are an instance's own files (DIR/hosts/@<instance id>/, where a fault makes one instance differ) over
    its role's (DIR/hosts/<role>/). A path the machine has gets a bind mount; where it lacks a path, the nearest
    directory it has gets a read-only overlay of the roots' directories on top of its own, so the machine's
    other files stay visible.
    """
    plan: list[list[str]] = []
    roots = tuple(r for r in roots if r.is_dir())

    def walk(relative: Path) -> None:
        real_dir = Path("/") / relative
        names = sorted(
            {child.name for root in roots if (root / relative).is_dir() for child in (root / relative).iterdir()}
        )
        for name in names:
            real = real_dir / name
            sources = [root / relative / name for root in roots if (root / relative / name).exists()]
            if all(s.is_dir() for s in sources) and real.is_dir() and not real.is_symlink():
                walk(relative / name)
            elif sources[0].is_file() and real.is_file() and not real.is_symlink():
                plan.append(["--bind", str(sources[0]), str(real)])
            else:
                layers = [str(root / relative) for root in roots if (root / relative).is_dir()]
                plan.append(
                    ["-t", "overlay", "overlay", "-o", f"lowerdir={':'.join(layers)}:{real_dir}", str(real_dir)]
                )
                return

    if roots:
        walk(Path())
    return plan


@dataclass
class Member:
    """A namespace the security groups apply to: an instance, or Redis."""

    name: str  # instance id or "redis"
    netns: str
    ip: str
    groups: list[str]
    role: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)


class Fleet:
    def __init__(self, directory: Path, ec2: Any) -> None:
        self.directory = directory.resolve()
        self.ec2 = ec2
        self.config_file = self.directory / "instances.json"
        self._config_mtime = 0.0
        self.roles: dict[str, str] = {}  # Auto Scaling group name -> role
        self.redis: dict[str, Any] = {}
        self.members: dict[str, Member] = {}
        self._read_config()
        self.prefix = netns_prefix(self.directory)
        self.vpc_ns = f"{self.prefix}-vpc"
        self.lock = threading.RLock()
        self.state = self.directory / "fleet"
        self.logs = self.directory / "logs"
        self._rules_digest = ""

    # ---- the network ----------------------------------------------------------------------
    def _ns(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    def _marked_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env[MARKER] = str(self.directory)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")])
        )
        return env

    def _spawn(self, member: Member, name: str, argv: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", member.netns, *argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self._marked_env(),
            start_new_session=True,
        )
        member.processes.append(proc)
        # Recorded like every sandbox process: redis-server rewrites its own environment, so the
        # marker alone would not find it at --sandbox-down.
        pids = self.directory / "pids"
        pids.mkdir(exist_ok=True)
        (pids / f"fleet-{name}.pid").write_text(str(proc.pid))

    def _add_namespace(self, member: Member) -> None:
        veth = "v" + hashlib.sha256(member.netns.encode()).hexdigest()[:10]
        _run("ip", "netns", "add", member.netns)
        _run(
            "ip", "-n", self.vpc_ns, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", member.netns
        )
        _run("ip", "-n", self.vpc_ns, "link", "set", veth, "master", "br0", "up")
        _run("ip", "-n", member.netns, "addr", "add", f"{member.ip}/{PREFIX_LEN}", "dev", "eth0")
        _run("ip", "-n", member.netns, "link", "set", "eth0", "up")
        _run("ip", "-n", member.netns, "link", "set", "lo", "up")

    def start(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        _run("ip", "netns", "add", self.vpc_ns)
        _run("ip", "-n", self.vpc_ns, "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", self.vpc_ns, "link", "set", "br0", "up")
        resolver = Member("resolver", self._ns("dns"), RESOLVER_IP, [])
        self._add_namespace(resolver)
        self._write_dns()
        self._spawn(resolver, "dns", [sys.executable, "-m", "envtest.sandbox.dns", RESOLVER_IP, str(self.dns_file)])
        self.members["resolver"] = resolver
        redis = Member("redis", self._ns("redis"), self.redis["ip"], list(self.redis["groups"]), role="redis")
        self._add_namespace(redis)
        redis_dir = self.state / "redis"
        redis_dir.mkdir(exist_ok=True)
        self._spawn(
            redis,
            "redis",
            [
                "redis-server",
                "--bind",
                redis.ip,
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(redis_dir),
                "--protected-mode",
                "no",
            ],
        )
        self.members["redis"] = redis
        self.sync()

    @property
    def dns_file(self) -> Path:
        return self.state / "dns.json"

    def _read_config(self) -> bool:
        """Load DIR/instances.json if it changed (a sandbox reset rewrites it); True when it did."""
        mtime = self.config_file.stat().st_mtime
        if mtime == self._config_mtime:
            return False
        config = json.loads(self.config_file.read_text())
        self._config_mtime = mtime
        self.roles = dict(config["roles"])
        self.redis = dict(config["redis"])
        self.dns = {"records": config["dns_records"], "servfail": config["dnssec_broken"]}
        if "redis" in self.members:
            self.members["redis"].groups = list(self.redis["groups"])
        return True

    def _write_dns(self) -> None:
        tmp = self.dns_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.dns))
        tmp.replace(self.dns_file)

    # ---- instances ------------------------------------------------------------------------
    def _running_instances(self) -> list[dict[str, Any]]:
        found = []
        for page in self.ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "instance-state-name", "Values": ["running"]}]
        ):
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                    role = self.roles.get(tags.get("aws:autoscaling:groupName", ""))
                    if role and instance.get("PrivateIpAddress"):
                        instance["envtest_role"] = role
                        found.append(instance)
        return found

    def sync(self) -> None:
        """Make the namespaces match moto's running instances, and the firewall match the security groups."""
        with self.lock:
            if self._read_config():
                self._write_dns()
                self._rules_digest = ""
            running = {i["InstanceId"]: i for i in self._running_instances()}
            for instance_id in [m for m in self.members if m.startswith("i-") and m not in running]:
                self._remove(self.members.pop(instance_id))
            for instance_id, instance in running.items():
                if instance_id not in self.members:
                    member = Member(
                        instance_id,
                        self._ns(instance_id.removeprefix("i-")[-8:]),
                        instance["PrivateIpAddress"],
                        [g["GroupId"] for g in instance.get("SecurityGroups", [])],
                        role=instance["envtest_role"],
                    )
                    self._add_namespace(member)
                    self.members[instance_id] = member
                    self._write_etc(member)
                    if member.role == "elk":
                        self._spawn(member, f"stats-{instance_id}", self._stats_argv(member))
            self._firewall()
            # What the sandbox's reset waits for: this config, these instances, rules applied.
            synced = {
                "config_mtime": self._config_mtime,
                "instances": sorted(m for m in self.members if m.startswith("i-")),
            }
            (self.state / "synced.json").write_text(json.dumps(synced))

    def _stats_argv(self, member: Member) -> list[str]:
        stats = self.directory / "hosts" / member.role / "var/lib/envtest-sandbox"
        return [sys.executable, "-m", "envtest.sandbox.stats_api", str(stats), *(str(p) for p in STATS_PORTS.values())]

    def _remove(self, member: Member) -> None:
        for proc in member.processes:
            proc.kill()
            proc.wait()
        for pid_file in (self.directory / "pids").glob(f"fleet-*-{member.name}.pid"):
            pid_file.unlink(missing_ok=True)
        _run("ip", "netns", "del", member.netns, check=False)

    def _write_etc(self, member: Member) -> None:
        etc = self.state / member.name
        etc.mkdir(parents=True, exist_ok=True)
        hostname = "ip-" + member.ip.replace(".", "-")
        (etc / "hosts").write_text(f"127.0.0.1 localhost\n{member.ip} {hostname}\n")
        (etc / "resolv.conf").write_text(f"nameserver {RESOLVER_IP}\noptions timeout:2 attempts:1\n")
        (etc / "hostname").write_text(hostname + "\n")

    # ---- security groups as nftables ------------------------------------------------------
    def _firewall(self) -> None:
        # Only the members' own groups: a rule can reach a peer only through a group some member has. (A VPC
        # with hundreds of other groups, the benchmark's scale 100, would otherwise be read every second.)
        wanted = sorted({group_id for member in self.members.values() for group_id in member.groups})
        groups: dict[str, dict[str, Any]] = {}
        try:
            pages = list(self.ec2.get_paginator("describe_security_groups").paginate(GroupIds=wanted)) if wanted else []
        except botocore.exceptions.ClientError:  # a member's group was deleted: read them all
            pages = list(self.ec2.get_paginator("describe_security_groups").paginate())
        for page in pages:
            for group in page["SecurityGroups"]:
                groups[group["GroupId"]] = group
        members_of: dict[str, list[str]] = {}
        for member in self.members.values():
            for group_id in member.groups:
                members_of.setdefault(group_id, []).append(member.ip)
        rulesets = {m.netns: nft_ruleset(m.groups, groups, members_of) for m in self.members.values() if m.groups}
        digest = hashlib.sha256(json.dumps(rulesets, sort_keys=True).encode()).hexdigest()
        if digest == self._rules_digest:
            return
        for netns, ruleset in rulesets.items():
            _run("ip", "netns", "exec", netns, "nft", "-f", "-", stdin=ruleset)
        (self.state / "nft.json").write_text(json.dumps(rulesets, indent=1))
        self._rules_digest = digest

    # ---- commands -------------------------------------------------------------------------
    def run(self, instance_id: str, command: str, timeout: float) -> tuple[str, int, str, str]:
        """(status, exit code, stdout, stderr) of `command` run as root on the instance."""
        with self.lock:
            member = self.members.get(instance_id)
        if member is None:
            return "Failed", 1, "", f"instance {instance_id} is not running"
        hosts = self.directory / "hosts"
        etc = self.state / member.name
        prelude = [f"mount {shlex.join(args)}" for args in mount_plan(hosts / f"@{instance_id}", hosts / member.role)]
        prelude += [f"mount --bind {shlex.quote(str(etc / n))} /etc/{n}" for n in ("hosts", "resolv.conf", "hostname")]
        prelude.append(f"hostname {shlex.quote((etc / 'hostname').read_text().strip())}")
        script = " && ".join(prelude) + ' && cd / && exec bash -c "$0"'
        argv = ["ip", "netns", "exec", member.netns, "unshare", "--mount", "--uts", "--propagation", "private"]
        argv += ["sh", "-c", script, command]
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
            "LANG": "C.UTF-8",
        }
        try:
            done = subprocess.run(
                argv, capture_output=True, timeout=timeout, env=env, check=False, start_new_session=True
            )
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode("utf-8", "replace")
            return "TimedOut", -1, out, f"execution timed out after {timeout:.0f} s"
        status = "Success" if done.returncode == 0 else "Failed"
        return status, done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")

    def describe(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {
                    "InstanceId": m.name,
                    "IPAddress": m.ip,
                    "ComputerName": "ip-" + m.ip.replace(".", "-"),
                    "Role": m.role,
                }
                for m in self.members.values()
                if m.name.startswith("i-")
            ]

    @property
    def poke_file(self) -> Path:
        """Touched by the sandbox's handle after it changed moto: sync now, not at the next tick."""
        return self.state / "poke"

    def _marks(self) -> tuple[float, float]:
        poke = self.poke_file.stat().st_mtime if self.poke_file.exists() else 0.0
        return self.config_file.stat().st_mtime, poke

    def sync_forever(self, interval: float = 1.0, watch: float = 0.05) -> None:
        """Sync every `interval`, and within `watch` of a changed config or a poke (a reset, a seeded fault)."""
        marks = self._marks()
        last = time.monotonic()
        while True:
            time.sleep(watch)
            now_marks = self._marks()
            if now_marks == marks and time.monotonic() - last < interval:
                continue
            marks, last = now_marks, time.monotonic()
            try:
                self.sync()
            except Exception as exc:
                print(f"fleet sync failed: {exc}", file=sys.stderr, flush=True)


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
