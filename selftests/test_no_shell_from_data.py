"""No shell from data: every command the suite builds for a host, fed hostile values, executes none of them.

The commands run as root on the env's hosts. Their values come from AWS (Redis's address), the command line
(the IdP's name), the policy (paths, keys, URLs; the policy directory can be moved by a job variable) and
S3 names. Each builder's command is run here by a real `sh` (dash, as Ubuntu's /bin/sh), with the network
tools stubbed out, and every hostile value tries to create a marker file; the marker must never appear.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envtest.errors import CouldNotEvaluate, UsageError
from envtest.fixtures.s3_live_script import probe_script, put_command
from envtest.gather.services.elasticache import RedisEndpoint
from envtest.hosts.frames import compose, file_read
from envtest.hosts.optional_reads import optional_file_read, systemd_unit_read
from envtest.hosts.reads import dig_read, local_stats_read, redis_reads
from envtest.hosts.transports import chunk_read_command, first_read_command
from envtest.policy import load_policy

# Each tries to run `touch MARKER` the way a value can break out of a command line.
BREAKOUTS = [
    "x; touch {m}",
    "x' ; touch {m} ; '",
    'x" ; touch {m} ; "',
    "$(touch {m})",
    "`touch {m}`",
    "x\ntouch {m}",
    "x && touch {m}",
    "x | touch {m}",
    "x'$(touch {m})'",
    "}}; touch {m}; {{",
    "-x; touch {m}",
    "x\\'; touch {m}; echo \\'",
    "${{IFS}}$(touch {m})",
]
NOISE = st.text(alphabet="ab.-_/ '\"$`;|&(){}\\\n\t*?[]<>#=~!", max_size=8)
STUBS = {"getent": 2, "nc": 1, "dig": 0, "curl": 0, "aws": 0}


@pytest.fixture(scope="module")
def stub_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The network tools as stubs that do nothing (the hostile value must not need them to be caught)."""
    directory = tmp_path_factory.mktemp("stub-bin")
    for name, code in STUBS.items():
        path = directory / name
        path.write_text(f"#!/bin/sh\nexit {code}\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return directory


def _runs_clean(command: str, where: Path, stub_bin: Path) -> None:
    subprocess.run(
        ["sh", "-c", command],
        cwd=where,
        env={"PATH": f"{stub_bin}:/usr/bin:/bin", "HOME": str(where), "LC_ALL": "C"},
        capture_output=True,
        timeout=20,
        check=False,
    )


def _hostile(marker: Path) -> st.SearchStrategy[str]:
    return st.builds(
        lambda b, pre, post: pre + b.format(m=shlex.quote(str(marker))) + post, st.sampled_from(BREAKOUTS), NOISE, NOISE
    )


BUILDERS: dict[str, Callable[[str], list[str]]] = {
    "redis probe (address from ElastiCache)": lambda v: [
        r.command for r in redis_reads(load_policy("dev"), RedisEndpoint("dev-idp-001", v, 6379)).values()
    ],
    "dig (the IdP's name)": lambda v: [dig_read("idp", v).command],
    "file read (path from policy)": lambda v: [file_read("env-runner", v).command],
    "masked file read (path and keys from policy)": lambda v: [
        file_read("env-runner", v, secret_keys=(v, "token")).command
    ],
    "large file read, first and chunk (path and keys)": lambda v: [
        first_read_command(v, (v,)),
        chunk_read_command(v, ("token",), 17000),
    ],
    "the framed script of a role's reads": lambda v: [compose([dig_read("idp", v), file_read("idp", v)], "n0nce")],
    "optional file read (path from policy)": lambda v: [optional_file_read("env-runner", v).command],
    "systemd unit read (unit name and masked keys from policy)": lambda v: [
        systemd_unit_read("env-runner", v, (v, "Environment")).command,
        systemd_unit_read("env-runner", v).command,
    ],
    "live S3 probes (bucket and keys)": lambda v: [
        put_command(v, v),
        probe_script(v, target=v, put_refused=True, delete_key=v),
    ],
}


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_a_hostile_value_never_executes(builder: str, stub_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    where = tmp_path_factory.mktemp("host")
    marker = where / "EXECUTED"

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(value=_hostile(marker))
    def run(value: str) -> None:
        for command in BUILDERS[builder](value):
            _runs_clean(command, where, stub_bin)
        assert not marker.exists(), f"{builder}: {value!r} executed"

    run()


def test_the_marker_is_seen_when_a_value_does_execute(stub_bin: Path, tmp_path: Path) -> None:
    """The control: the same run of an unquoted value does create the marker."""
    marker = tmp_path / "EXECUTED"
    _runs_clean(f"getent hosts x; touch {marker}", tmp_path, stub_bin)
    assert marker.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:5066/stats?pretty; touch /tmp/x",
        "http://evil.example:5066/stats",
        "file:///etc/shadow",
        "http://localhost:5066/$(id)",
        "-o /etc/passwd http://localhost:5066/",
    ],
)
def test_a_stats_url_from_policy_is_refused_unless_local_and_plain(url: str) -> None:
    with pytest.raises(CouldNotEvaluate, match="only a local stats URL"):
        local_stats_read("elk", "filebeat_stats_url", url)


def test_a_command_from_policy_is_refused_when_the_policy_loads(tmp_path: Path) -> None:
    override = tmp_path / "override.toml"
    override.write_text('[log_pipeline]\nfilebeat_command = "curl localhost:5066/stats; touch /tmp/owned"\n')
    with pytest.raises(UsageError, match=r"override.toml:2: policy key 'log_pipeline.filebeat_command': commands are"):
        load_policy("dev", None, override)


def test_the_default_stats_urls_are_accepted() -> None:
    from envtest.hosts.reads import log_pipeline_reads

    reads = log_pipeline_reads(load_policy("dev"))
    assert reads["filebeat"].command == "curl -sS --max-time 10 -- 'http://localhost:5066/stats?pretty'"


def test_stubs_are_not_on_the_real_path() -> None:
    """The stubs shadow only the network tools; the shell's own builtins and coreutils are the real ones."""
    assert not set(STUBS) & {"sh", "touch", "awk", "gzip", "cat", "timeout"}
    assert os.path.exists("/usr/bin/touch") or os.path.exists("/bin/touch")
