"""The fleet: moto's running instances of the groups the sandbox knows, each a network namespace that runs
commands, its firewall kept to its security groups (the package's docstring says how).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import botocore.exceptions

from envtest_double.fleet.commands import run_as_root
from envtest_double.fleet.firewall import nft_ruleset
from envtest_double.fleet.network import RESOLVER_IP, Member, add_namespace, netns_prefix, run_tool
from envtest_double.processes import MARKER

STATS_PORTS = {"filebeat": 5066, "logstash": 9600}


def write_fleet_config(directory: Path, estate: dict[str, Any]) -> Path:
    """DIR/instances.json: what the fleet follows (groups to roles, Redis, DNS names); re-read when it changes."""
    path = directory / "instances.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(estate, indent=1))
    tmp.replace(path)
    return path


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

    def start(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        run_tool("ip", "netns", "add", self.vpc_ns)
        run_tool("ip", "-n", self.vpc_ns, "link", "add", "br0", "type", "bridge")
        run_tool("ip", "-n", self.vpc_ns, "link", "set", "br0", "up")
        resolver = Member("resolver", self._ns("dns"), RESOLVER_IP, [])
        add_namespace(self.vpc_ns, resolver)
        self._write_dns()
        self._spawn(resolver, "dns", [sys.executable, "-m", "envtest_double.dns", RESOLVER_IP, str(self.dns_file)])
        self.members["resolver"] = resolver
        redis = Member("redis", self._ns("redis"), self.redis["ip"], list(self.redis["groups"]), role="redis")
        add_namespace(self.vpc_ns, redis)
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
                    add_namespace(self.vpc_ns, member)
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
        return [sys.executable, "-m", "envtest_double.stats_api", str(stats), *(str(p) for p in STATS_PORTS.values())]

    def _remove(self, member: Member) -> None:
        for proc in member.processes:
            proc.kill()
            proc.wait()
        for pid_file in (self.directory / "pids").glob(f"fleet-*-{member.name}.pid"):
            pid_file.unlink(missing_ok=True)
        run_tool("ip", "netns", "del", member.netns, check=False)

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
            run_tool("ip", "netns", "exec", netns, "nft", "-f", "-", stdin=ruleset)
        (self.state / "nft.json").write_text(json.dumps(rulesets, indent=1))
        self._rules_digest = digest

    # ---- commands -------------------------------------------------------------------------
    def run(self, instance_id: str, command: str, timeout: float) -> tuple[str, int, str, str]:
        """(status, exit code, stdout, stderr) of `command` run as root on the instance."""
        with self.lock:
            member = self.members.get(instance_id)
        if member is None:
            return "Failed", 1, "", f"instance {instance_id} is not running"
        return run_as_root(member, self.directory / "hosts", self.state / member.name, command, timeout)

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
