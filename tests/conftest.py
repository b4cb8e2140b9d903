"""Gathered facts the runner bring-up checks share (each read once per run)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.gather.inventory import Inventory, tags_of
from envtest.gather.network import Probe, https_through_proxy, split_proxy_url, tcp_connect
from envtest.policy import Policy
from envtest.settings import Settings


@pytest.fixture(scope="session")
def runner_tags(env_runner_instances: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Tags of each InService env-runner instance, by instance id."""
    return {inst["InstanceId"]: tags_of(inst) for inst in env_runner_instances}


def _agreed_tag(runner_tags: dict[str, dict[str, str]], key: str) -> str:
    values = {tags.get(key, "") for tags in runner_tags.values()}
    if values == {""}:
        raise CouldNotEvaluate(f"no env-runner instance carries the {key} tag (see the boot-tags check)")
    if len(values) > 1:
        raise CouldNotEvaluate(f"env-runner instances disagree on the {key} tag: {sorted(values)}")
    return values.pop()


@pytest.fixture(scope="session")
def gitlab_config_bucket(runner_tags: dict[str, dict[str, str]]) -> str:
    """The bucket the runner reads its token from: its gitlab_config_s3_bucket tag."""
    return _agreed_tag(runner_tags, "gitlab_config_s3_bucket")


@pytest.fixture(scope="session")
def gitlab_hostname(runner_tags: dict[str, dict[str, str]]) -> str:
    """The GitLab host the runner registers with: its gitlab_hostname tag."""
    return _agreed_tag(runner_tags, "gitlab_hostname")


@pytest.fixture(scope="session")
def runner_token_facts(
    inventory: Inventory, gitlab_config_bucket: str, name: Callable[[str], str], policy: Policy
) -> dict[str, Any]:
    if not inventory.bucket_exists(gitlab_config_bucket):
        raise CouldNotEvaluate(f"bucket {gitlab_config_bucket} does not exist (see the config-bucket check)")
    return inventory.secret_object_facts(
        gitlab_config_bucket,
        name("gitlab_runner_token_key"),
        label="gitlab runner token",
        pattern=policy.section("token")["pattern"],
    )


@pytest.fixture(scope="session")
def proxy_url(settings: Settings, name: Callable[[str], str]) -> str:
    return settings.proxy_url or name("proxy_url")


@pytest.fixture(scope="session")
def proxy_tcp_probe(proxy_url: str, policy: Policy) -> Probe:
    host, port = split_proxy_url(proxy_url)
    return tcp_connect(host, port, timeout=float(policy.section("network")["connect_timeout"]))


@pytest.fixture(scope="session")
def gitlab_probe(gitlab_hostname: str, proxy_url: str, policy: Policy, settings: Settings) -> Probe:
    network = policy.section("network")
    return https_through_proxy(
        f"https://{gitlab_hostname}{network['gitlab_probe_path']}",
        proxy_url,
        connect_timeout=float(network["connect_timeout"]),
        read_timeout=float(network["read_timeout"]),
        ca_bundle=settings.ca_bundle,
    )
