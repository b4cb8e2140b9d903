"""Host files of squid's other lists on both proxies, and of the env runner's Docker daemon."""

from __future__ import annotations

from pathlib import Path

from envtest_double import proxy_lists, runner_docker
from envtest_double.seed.host_files import write_host_file

# What runner.rb hands docker_service (node['login_dot_gov']['no_proxy']): the runner's own no_proxy.
NO_PROXY = "localhost,127.0.0.1,169.254.169.254,169.254.169.123,.login.gov.internal,metadata.google.internal"


def write_proxy_lists(hosts: Path) -> list[Path]:
    """ip-allowlist.conf and domain-denylist.conf on both proxies, as the recipe renders them."""
    denylist = "\n".join(proxy_lists.DENYLIST) + "\n"
    return [
        path
        for role in proxy_lists.PROXY_ROLES
        for path in (
            write_host_file(hosts, role, proxy_lists.IP_ALLOWLIST_PATH, proxy_lists.IP_ALLOWLIST),
            write_host_file(hosts, role, proxy_lists.DENYLIST_PATH, denylist),
        )
    ]


def write_runner_docker_files(hosts: Path, proxy_url: str) -> None:
    write_host_file(hosts, "env-runner", runner_docker.UNIT_PATH, runner_docker.docker_unit(proxy_url, NO_PROXY))
    write_host_file(hosts, "env-runner", runner_docker.DAEMON_JSON_PATH, runner_docker.DAEMON_JSON)
