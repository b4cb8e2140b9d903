"""The sandbox's processes beside squid, each started and waited for: moto's readiness, the upstream hosts, the
emulated instances' endpoint, the GitLab double.
"""

from __future__ import annotations

import json
import os
import random
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envtest_double import env_facts, runner_env
from envtest_double.fleet.instances import write_fleet_config
from envtest_double.fleet.network import can_host
from envtest_double.processes import SandboxError, free_port, port_open, start, wait_until


def moto_ready(endpoint: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    return ready


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH")]))
    return env


def start_gitlab(
    directory: Path, world: runner_env.World, canaries: runner_env.Canaries, tls: tuple[Path, Path, Path]
) -> dict[str, str]:
    """The GitLab double on a free loopback port, over TLS from the sandbox's CA; its pipeline is DIR/gitlab-ci.yml
    and its runner decides from the env runner's config.toml (DIR/hosts/env-runner/...)."""
    port = free_port()
    config = {
        "port": port,
        "cert": str(tls[1]),
        "key": str(tls[2]),
        "token": canaries.gitlab_api_token,
        "project_id": "52",
        "project_path": "lg/identity-devops",
        "pipeline_id": str(random.randint(100_000, 999_999)),
        "env": world.env,
        "gitlab_host": env_facts.GITLAB_HOST,
        "pipeline_file": str(directory / "gitlab-ci.yml"),
        "runner_config": str(directory / "hosts" / "env-runner" / "etc" / "gitlab-runner" / "config.toml"),
        "runner_tag": f"{world.env}-env-runner",
        # GitLab's record of the runners (gitlab_runners.py), written by the seed from the runner's registration.
        "runners_file": str(directory / "gitlab-runners.json"),
        "probe_jobs": [f"badtest_{world.env}", "run_unallowed_image", "test_unallowed_image"],
        "step": 0.2,
    }
    path = directory / "gitlab.json"
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)  # it holds the API token
    proc = start("gitlab", [sys.executable, "-m", "envtest_double.gitlab", str(path)], directory, env=python_env())
    log = directory / "logs" / "gitlab.log"
    wait_until("the GitLab double", lambda: port_open("127.0.0.1", port), proc, log, timeout=30)
    # Reached by GitLab's name, as the policy requires before the token is sent, connected to loopback (nothing
    # here resolves the name); TLS checks the name, which the sandbox's certificate holds.
    return {
        "url": f"https://{env_facts.GITLAB_HOST}:{port}",
        "connect_to": "127.0.0.1",
        "project_id": "52",
        "pipeline_id": str(config["pipeline_id"]),
    }


def start_upstream(directory: Path, tls: tuple[Path, Path, Path]) -> str:
    """Bind the upstream on :80/:443 of a random 127/8 address (those ports, like the real hosts)."""
    _, cert, key = tls
    last_error = ""
    for _ in range(5):
        ip = f"127.{random.randint(64, 250)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        name = "upstream"
        proc = start(
            name,
            [
                sys.executable,
                "-m",
                "envtest_double.upstream",
                ip,
                str(cert),
                str(key),
                str(directory / "edge" / "site.json"),
            ],
            directory,
            env=python_env(),
        )
        try:
            wait_until(
                "the sandbox upstream",
                lambda ip=ip: port_open(ip, 443) and port_open(ip, 80),
                proc,
                directory / "logs" / f"{name}.log",
                timeout=10,
            )
            return ip
        except SandboxError as exc:
            last_error = str(exc)
            proc.kill()
            proc.wait()
            if "Permission denied" in last_error:
                break
    raise SandboxError(
        "the sandbox's upstream hosts listen on ports 80 and 443 of a loopback address, as the real hosts "
        f"do; that needs root (or net.ipv4.ip_unprivileged_port_start=80).\n{last_error}"
    )


def start_instances(directory: Path, moto_endpoint: str, estate: dict[str, Any]) -> tuple[str, str]:
    """Start the emulated instances and their SSM and IAM endpoint: (endpoint, why no instance runs here or "")."""
    reason = (
        "switched off (ENVTEST_SANDBOX_INSTANCES=off)" if os.environ.get("ENVTEST_SANDBOX_INSTANCES") == "off" else None
    )
    reason = reason or can_host()
    if reason:
        # The endpoint still answers IAM's simulator; it runs no instance.
        print(
            f"sandbox: no emulated instances: {reason}. These checks skip with that reason: tests/test_hosts.py "
            "(all), test_s3_access.py's live cells (-R true) and test_recycle.py (-R true)",
            file=sys.stderr,
        )
    config = write_fleet_config(directory, {**estate, "instances": not reason})
    port = free_port()
    proc = start(
        "instances",
        [
            sys.executable,
            "-m",
            "envtest_double.instances_endpoint",
            str(directory),
            str(port),
            moto_endpoint,
            str(config),
        ],
        directory,
        env=python_env(),
    )
    wait_until(
        "the emulated instances",
        lambda: port_open("127.0.0.1", port),
        proc,
        directory / "logs" / "instances.log",
        timeout=60,
    )
    return f"http://127.0.0.1:{port}", reason or ""
