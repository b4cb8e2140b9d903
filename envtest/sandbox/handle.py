"""A running sandbox, opened from its directory: reset it, or change it to seed a fault."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.request
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3

from envtest.sandbox import world as w
from envtest.sandbox.fleet import write_fleet_config
from envtest.sandbox.seed import seed, write_host_file

ALLOWLIST_PATH = "/etc/squid/domain-allowlist.conf"


class Sandbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.state: dict[str, Any] = json.loads((self.directory / "sandbox.json").read_text())
        self.environ: dict[str, str] = json.loads((self.directory / "env.json").read_text())
        self.canaries = w.Canaries(**json.loads((self.directory / "canaries.json").read_text()))
        self._listeners: list[socket.socket] = []
        self.world = w.World(self.environ["ENV_NAME"], int(self.environ.get("ENVTEST_SANDBOX_SCALE", "1")))

    @property
    def endpoint(self) -> str:
        return str(self.state["moto_endpoint"])

    @cached_property
    def _session(self) -> boto3.session.Session:
        return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=w.REGION)

    def client(self, service: str) -> Any:
        """An unguarded client: sandbox set-up and fault seeding write on purpose."""
        return self._session.client(service, endpoint_url=self.endpoint)

    def host_path(self, role: str, path: str) -> Path:
        return self.directory / "hosts" / role / path.lstrip("/")

    def moto_state(self) -> bytes:
        with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=10) as answer:
            return bytes(answer.read())

    def reload_squid(self, timeout: float = 20.0) -> None:
        """SIGHUP makes squid re-read its configuration and allowlist, as `squid -k reconfigure` does.

        Returns once squid logs that it accepts connections again (or raises if
        it died: a configuration squid rejects stops it, as on a real proxy).
        """
        log = self.directory / "squid" / "cache.log"
        ready = "Accepting HTTP Socket connections"
        before = log.read_text(errors="replace").count(ready)
        pid = int((self.directory / "pids" / "squid.pid").read_text())
        os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if log.read_text(errors="replace").count(ready) > before:
                return
            time.sleep(0.05)
        raise RuntimeError(f"squid did not come back within {timeout:.0f} s of SIGHUP; see {log}")

    @property
    def squid_conf(self) -> Path:
        return self.directory / "squid" / "squid.conf"

    def listen(self, host: str, port: int) -> None:
        """Hold a listening socket open until reset (a path around the proxy, for a fault)."""
        sock = socket.create_server((host, port))
        self._listeners.append(sock)

    def reset(self) -> None:
        """Back to the clean, seeded state (same canaries, same processes)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        while self._listeners:
            self._listeners.pop().close()
        allowlist = self.host_path("outboundproxy", ALLOWLIST_PATH)
        clean_conf = self.squid_conf.with_suffix(".conf.clean").read_text()
        if allowlist.read_text() != self.world.allowlist or self.squid_conf.read_text() != clean_conf:
            write_host_file(self.directory / "hosts", "outboundproxy", ALLOWLIST_PATH, self.world.allowlist)
            self.squid_conf.write_text(clean_conf)
            self.reload_squid()
        seeded = seed(self.endpoint, self.directory, self.canaries, self.environ["PROXY_URL"], self.world)
        self.state.update(seeded)
        (self.directory / "sandbox.json").write_text(json.dumps(self.state, indent=2))
        if "ENVTEST_NO_INSTANCES" not in self.environ:
            # New instances, groups and Redis names: the emulated instances follow.
            write_fleet_config(self.directory, seeded["estate"])
            self.wait_for_instances()

    def edit_fleet_config(self, change: Any) -> None:
        """Change DIR/instances.json (Redis, DNS names) and wait until the instances follow."""
        config = json.loads((self.directory / "instances.json").read_text())
        change(config)
        write_fleet_config(self.directory, config)
        self.wait_for_instances()

    def wait_for_firewall(self, timeout: float = 15.0) -> None:
        """Return once the instances' nftables rules were rebuilt after a security group change."""
        rules = self.directory / "fleet" / "nft.json"
        before = rules.stat().st_mtime_ns
        deadline = time.monotonic() + timeout
        while rules.stat().st_mtime_ns == before:
            if time.monotonic() > deadline:
                raise RuntimeError("the emulated instances' firewall did not follow the security group change")
            time.sleep(0.1)

    def wait_for_instances(self, timeout: float = 30.0) -> None:
        """Return once every running instance of the sandbox's groups answers SSM."""
        config_file = self.directory / "instances.json"
        config = json.loads(config_file.read_text())
        autoscaling = self.client("autoscaling")
        synced_file = self.directory / "fleet" / "synced.json"
        deadline = time.monotonic() + timeout
        while True:
            groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=list(config["roles"]))
            wanted = {i["InstanceId"] for g in groups["AutoScalingGroups"] for i in g["Instances"]}
            try:
                synced = json.loads(synced_file.read_text())
            except (OSError, ValueError):
                synced = {"config_mtime": 0, "instances": []}
            online = set(synced["instances"])
            if wanted == online and synced["config_mtime"] == config_file.stat().st_mtime:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"emulated instances did not follow moto: want {sorted(wanted)}, have {sorted(online)}"
                )
            time.sleep(0.2)
