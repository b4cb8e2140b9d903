"""A running sandbox, opened from its directory: reset it, or change it to seed a fault."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import time
import urllib.parse
import urllib.request
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3

from envtest_double import env_facts, paging, proxy_lists, runner_env
from envtest_double.fleet.instances import write_fleet_config
from envtest_double.seed import seed

ALLOWLIST_PATH = proxy_lists.ALLOWLIST_PATH
IDP_PROXY_ROLE, IDP_SQUID = "outboundproxy", "squid-idp"  # the IdP's proxy pool, and the squid loading its lists
PROXY_ROLE = "env-runner-proxy"  # the env runner's own proxy pool: its allowlist is what the sandbox's squid loads
# What a fault may change on disk, relative to the sandbox directory; reset puts it back from DIR/clean/.
MUTABLE = ("hosts", "edge", "gitlab-ci.yml", "gitlab-runners.json", "instances.json", "policy-override.toml")


def _files(root: Path) -> dict[str, Path]:
    """Every file under root's MUTABLE entries, by path relative to root."""
    found: dict[str, Path] = {}
    for entry in MUTABLE:
        base = root / entry
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []
        found.update({str(p.relative_to(root)): p for p in paths})
    return found


def moto_dump(endpoint: str) -> bytes:
    """moto's whole state (its /moto-api/data.json)."""
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=10) as answer:
        return bytes(answer.read())


def moto_writes(endpoint: str) -> int:
    """How many requests that may write moto has served (envtest_double/moto_server.py counts them)."""
    with urllib.request.urlopen(f"{endpoint}/moto-api/envtest/writes", timeout=10) as answer:
        return int(answer.read())


def copy_clean_files(directory: Path) -> None:
    clean = directory / "clean"
    shutil.rmtree(clean, ignore_errors=True)
    for relative, path in _files(directory).items():
        target = clean / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def restore_files(directory: Path) -> list[str]:
    """Put every MUTABLE file back as the clean copy has it (and remove files a fault added); what changed."""
    clean, now = _files(directory / "clean"), _files(directory)
    changed = []
    for relative in sorted(set(clean) | set(now)):
        if relative not in clean:
            now[relative].unlink()
        elif relative in now and now[relative].read_bytes() == clean[relative].read_bytes():
            continue
        else:
            target = directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(clean[relative], target)
        changed.append(relative)
    return changed


class Sandbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.state: dict[str, Any] = json.loads((self.directory / "sandbox.json").read_text())
        self.environ: dict[str, str] = json.loads((self.directory / "env.json").read_text())
        self.canaries = runner_env.Canaries(**json.loads((self.directory / "canaries.json").read_text()))
        self._listeners: list[socket.socket] = []
        self.world = runner_env.World(
            self.environ["ENV_NAME"],
            int(self.environ.get("ENVTEST_SANDBOX_SCALE", "1")),
            self.environ.get("ENVTEST_SANDBOX_ERA", "file"),
            revision=self.environ.get("ENVTEST_SANDBOX_REVISION") or None,
        )

    @property
    def endpoint(self) -> str:
        return str(self.state["moto_endpoint"])

    @cached_property
    def _session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=env_facts.REGION
        )

    def client(self, service: str, account: str | None = None) -> Any:
        """An unguarded client (sandbox set-up and fault seeding write on purpose); `account`: another moto account."""
        client = self._session.client(service, endpoint_url=self.endpoint)
        if account:
            client.meta.events.register(
                "before-send.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
            )
        return client

    @property
    def front_endpoint(self) -> str:
        """The instances' endpoint: SSM, IAM's simulator, cross-account ECR and Logs' TestMetricFilter answered
        there (instances_endpoint/), everything else passed on to moto."""
        return self.environ["AWS_ENDPOINT_URL_SSM"]

    def through(self, url: str) -> dict[str, str]:
        """The run environment's endpoint variables, all pointed at `url` (a proxy in front of front_endpoint)."""
        return {k: url for k in self.environ if k == "AWS_ENDPOINT_URL" or k.startswith("AWS_ENDPOINT_URL_")}

    def host_path(self, role: str, path: str) -> Path:
        return self.directory / "hosts" / role / path.lstrip("/")

    def moto_state(self) -> bytes:
        return moto_dump(self.endpoint)

    def reload_squid(self, timeout: float = 20.0, name: str = "squid") -> None:
        """SIGHUP makes squid re-read its configuration and allowlist, as `squid -k reconfigure` does.

        Returns once squid logs that it accepts connections again (or raises if
        it died: a configuration squid rejects stops it, as on a real proxy).
        """
        log = self.directory / name / "cache.log"
        ready = "Accepting HTTP Socket connections"
        before = log.read_text(errors="replace").count(ready)
        pid = int((self.directory / "pids" / f"{name}.pid").read_text())
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

    def set_page_size(self, size: int) -> int:
        """How many items a page of the suite's lists holds (0: whole lists), on moto and on the SSM double; the
        size before (paging.py). For comparing paged and whole answers on one running sandbox."""
        previous = 0
        for endpoint in (self.endpoint, self.front_endpoint):
            request = urllib.request.Request(f"{endpoint}{paging.CONTROL_PATH}", data=str(size).encode(), method="POST")
            before = urllib.request.Request(f"{endpoint}{paging.CONTROL_PATH}", method="GET")
            with urllib.request.urlopen(before, timeout=10) as answer:
                previous = int(answer.read() or b"0")
            with urllib.request.urlopen(request, timeout=10):
                pass
        return previous

    def reset(self) -> None:
        """Back to the clean, seeded state (same canaries, same processes).

        moto is reset and reseeded only when its state dump differs from the one
        taken right after seeding (a fault wrote to AWS); the files a fault may
        change (hosts, edge, pipeline, fleet config, squid) are put back from the
        clean copy taken at the same moment. Most faults change one file: their
        reset takes milliseconds, not a reseed.
        """
        while self._listeners:
            self._listeners.pop().close()
        changed = restore_files(self.directory)
        self.reset_gitlab()
        # moto's own count of requests that may write (moto_server.py): unchanged means nothing wrote to AWS.
        if moto_writes(self.endpoint) != self.state.get("moto_writes"):
            request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
            with urllib.request.urlopen(request, timeout=10):
                pass
            seeded = seed(self.endpoint, self.directory, self.canaries, self.environ["PROXY_URL"], self.world)
            self.state.update(seeded)
            if "ENVTEST_NO_INSTANCES" not in self.environ:
                # New instances, groups and Redis names: the emulated instances follow.
                write_fleet_config(self.directory, seeded["estate"])
            self.take_clean_copy()
            (self.directory / "sandbox.json").write_text(json.dumps(self.state, indent=2))
            changed.append("moto")
        allowlist = self.host_path(PROXY_ROLE, ALLOWLIST_PATH)
        clean_conf = self.squid_conf.with_suffix(".conf.clean").read_text()
        if self.squid_conf.read_text() != clean_conf or any(c.startswith(f"hosts/{PROXY_ROLE}") for c in changed):
            self.squid_conf.write_text(clean_conf)
            allowlist.chmod(0o644)
            self.reload_squid()
        idp_conf = self.directory / IDP_SQUID / "squid.conf"
        clean_idp = idp_conf.with_suffix(".conf.clean").read_text()
        if idp_conf.read_text() != clean_idp or any(c.startswith(f"hosts/{IDP_PROXY_ROLE}") for c in changed):
            idp_conf.write_text(clean_idp)
            self.reload_squid(name=IDP_SQUID)
        if "ENVTEST_NO_INSTANCES" not in self.environ and ("moto" in changed or "instances.json" in changed):
            self.wait_for_instances()

    def reset_gitlab(self) -> None:
        """The GitLab double forgets its jobs: the pipeline is rebuilt from the files at its next request."""
        url = self.environ.get("GITLAB_URL")
        if not url:
            return
        # By address: GitLab's name resolves nowhere here (the probe's client connects with GITLAB_CONNECT_TO).
        port = urllib.parse.urlsplit(url).port
        address = self.environ.get("GITLAB_CONNECT_TO", "127.0.0.1")
        request = urllib.request.Request(
            f"https://{address}:{port}/-/envtest/reset",
            method="POST",
            headers={"PRIVATE-TOKEN": self.environ["GITLAB_API_TOKEN"]},
        )
        context = ssl.create_default_context(cafile=self.environ["ENVTEST_CA_BUNDLE"])
        with urllib.request.urlopen(request, timeout=10, context=context):
            pass

    def take_clean_copy(self) -> None:
        """Remember the clean state: moto's write count, and a copy of every file a fault may change."""
        self.state["moto_writes"] = moto_writes(self.endpoint)
        copy_clean_files(self.directory)

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
        (self.directory / "fleet" / "poke").touch()  # sync now, not at the fleet's next tick
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
