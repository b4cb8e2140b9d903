"""The policy's sections as frozen dataclasses: what a check reads is a typed attribute, not a dict lookup.

load_policy has already held every layer to policy/default.toml's keys and kinds (check_keys: a misspelt key or a
wrong kind stops the run with exit 2, naming file and line). `typed` then builds a section from the merged data by
the field types below, when a check or fixture first asks for it; what only a policy built around load_policy can
hold (a key default.toml lacks, a value of another type) is then "could not evaluate", naming the key, never a
KeyError in the middle of a check or a pass on a wrong value.

A table whose keys are data (a header, a tag, a role) stays a mapping, read-only: `Mapping[str, ...]`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from envtest.errors import CouldNotEvaluate

Strings = tuple[str, ...]


@dataclass(frozen=True)
class Names:
    """Resource-name templates with {env}, {account}, {region} (Policy.name fills them)."""

    env_runner_asg: str
    env_runner_tag: str
    gitlab_runner_token_key: str
    secrets_bucket: str
    tf_state_bucket: str
    tf_state_key: str
    proxy_url: str


@dataclass(frozen=True)
class RunnerConfig:
    path: str


@dataclass(frozen=True)
class RunnerRegistration:
    access_level: str
    run_untagged: bool
    locked: bool
    tag_list: Strings
    active: bool


@dataclass(frozen=True)
class Runner:
    boot_tags: Strings
    tag_values: Mapping[str, str]
    config: RunnerConfig
    gitlab: RunnerRegistration


@dataclass(frozen=True)
class Token:
    min_length: int
    max_length: int
    pattern: str


@dataclass(frozen=True)
class ImagesRunner:
    executor: str
    allowed_services: Strings
    network_mode: str
    security_opt: Strings
    cap_drop: Strings
    concurrent: int


@dataclass(frozen=True)
class LockdownProbe:
    job: str
    pattern_jobs: Strings
    jobs: Strings
    # Seconds: a whole number or not (the sandbox polls every 0.1 s).
    wait: float
    poll: float
    gitlab_host_pattern: str


@dataclass(frozen=True)
class Images:
    mode: str
    file_key: str
    allow_env_override: bool
    loader: str
    approved_registries: Strings
    max_blocks: int
    patterns: Strings
    pipeline_file: str
    runner: ImagesRunner
    lockdown_probe: LockdownProbe


@dataclass(frozen=True)
class DockerDaemon:
    role: str
    unit: str
    config_path: str
    icc: bool
    userns_remap: str
    no_new_privileges: bool
    live_restore: bool


@dataclass(frozen=True)
class Endpoints:
    set: str
    required: Strings
    all: Strings
    gateway: Strings


@dataclass(frozen=True)
class ProxyLists:
    roles: Strings
    ip_allowlist_path: str
    ip_allowlist: Strings
    denylist_path: str
    denylist: Strings


@dataclass(frozen=True)
class ProxyPaths:
    roles: Strings
    port: int
    urls: Mapping[str, str]


@dataclass(frozen=True)
class Proxy:
    host_role: str
    allowlist_path: str
    must_allow: Strings
    must_deny: Strings
    forbidden_wildcards: Strings
    min_wildcard_labels: int
    direct_probe: Strings
    probe_timeout: float
    lists: ProxyLists
    paths: ProxyPaths


@dataclass(frozen=True)
class Edge:
    health_path: str
    health_attempts: int
    health_sleep: float
    origin: str
    error_pages: Strings
    error_pages_bucket: str
    error_page_headers: Mapping[str, str]
    security_headers: Mapping[str, Strings]


@dataclass(frozen=True)
class Network:
    """Timeouts (seconds) of the probes from where the run runs, and the path the GitLab probe asks for."""

    connect_timeout: float
    read_timeout: float
    gitlab_probe_path: str


@dataclass(frozen=True)
class Instances:
    """Seconds to wait for an instance to be Online in SSM, and for a command to finish."""

    online_timeout: float
    command_timeout: float


@dataclass(frozen=True)
class LogPipeline:
    role: str
    filebeat_stats_url: str
    logstash_stats_url: str


@dataclass(frozen=True)
class Recycle:
    groups: Strings
    capacity_timeout: float
    poll_interval: float
    cloud_init_role: str


@dataclass(frozen=True)
class S3Access:
    role_arn: str
    probe_key: str
    operations: Strings
    role_names: Mapping[str, str]
    buckets: Mapping[str, str]
    matrix: Mapping[str, Mapping[str, Strings]]  # bucket key -> role -> the operations it may make


@dataclass(frozen=True)
class CloudInit:
    status_path: str
    roles: Strings


@dataclass(frozen=True)
class Redis:
    replication_group: str
    cluster: str
    port: int
    timeout: float
    must_reach: Strings
    must_not_reach: Strings


@dataclass(frozen=True)
class Dnssec:
    role: str
    broken_name: str


@dataclass(frozen=True)
class MetricFilters:
    log_group: str
    name_prefix: str
    count: int
    must_match: Strings
    must_not_match: Strings


@dataclass(frozen=True)
class Lockdown:
    roles: Strings
    token_readers: Strings
    file_writers: Strings
    gitlab_account: str
    # Unset in default.toml on purpose (envtest/policy UNSET_IN_DEFAULT): a revision or env gives it.
    env_accounts: Strings = field(default=())


T = TypeVar("T")


class WrongValue(CouldNotEvaluate):
    """A policy value its section's type does not take (or a key it lacks); `key` is its dotted name (a.b.c)."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"policy {where} {problem}")
        self.key = where.strip("[]")


class MissingKey(WrongValue):
    """A key the section's type needs and the policy lacks: only a policy directory whose default.toml is partial
    (a self-test's) can lack one, as policy/default.toml defines every key (selftests/test_policy_sections.py)."""


def typed(cls: type[T], data: Mapping[str, Any], where: str) -> T:
    """`data` as a `cls`, every field converted by its type; a missing key or a value of another type cannot be
    evaluated, naming `where` (the section, e.g. "[images.runner]") and the key."""
    if not isinstance(data, Mapping):
        raise WrongValue(where, f"is {type(data).__name__}; it must be a table")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
        if spec.name not in data:
            if spec.default is not dataclasses.MISSING:
                continue
            raise MissingKey(where, f"has no key {spec.name!r} (policy/default.toml defines every key)")
        values[spec.name] = _value(hints[spec.name], data[spec.name], f"{where[:-1]}.{spec.name}]")
    return cls(**values)


def _value(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return typed(hint, value, where)  # type: ignore[arg-type]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        if not isinstance(value, list):
            raise WrongValue(where, f"is {type(value).__name__}; it must be an array")
        return tuple(_value(args[0], item, where) for item in value)
    if origin is Mapping:
        if not isinstance(value, Mapping):
            raise WrongValue(where, f"is {type(value).__name__}; it must be a table")
        return types.MappingProxyType({str(k): _value(args[1], v, f"{where[:-1]}.{k}]") for k, v in value.items()})
    if hint is bool or hint is str:
        if type(value) is not hint:
            raise WrongValue(where, f"is {value!r}; it must be a {hint.__name__}")
        return value
    if hint is int:
        if type(value) is not int:  # a bool is an int to Python, not to the policy
            raise WrongValue(where, f"is {value!r}; it must be a whole number")
        return value
    if hint is float:
        if type(value) not in (int, float):  # TOML's 2 and 2.0 are both a number of seconds
            raise WrongValue(where, f"is {value!r}; it must be a number")
        return value
    raise TypeError(f"sections.py: no conversion for {hint!r} ({where})")
