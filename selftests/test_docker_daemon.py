"""The Docker daemon's configuration as dockerd takes it: its systemd unit's ExecStart flags over daemon.json."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest.parsers.docker_daemon import daemon_config, exec_start, read_flags

# The unit identity-gitlab's runner.rb has the docker cookbook write (docker_service 'default', its properties as
# dockerd flags; sous-chefs/docker templates/default/systemd/docker.service-override.erb).
COOKBOOK_UNIT = """\
[Unit]
Description=Docker Application Container Engine
Requires=docker.socket

[Service]
Type=notify
Environment="HTTP_PROXY=http://obproxy.example:3128"
# the default is not to use systemd for cgroups
ExecStart=/usr/bin/dockerd  --default-ulimit=nproc=16384:16384 --icc=false --ipv6=false --log-level=debug \
--userland-proxy=false --userns-remap=default --live-restore --no-new-privileges \
--containerd=/run/containerd/containerd.sock
ExecReload=/bin/kill -s HUP $MAINPID
Restart=always

[Install]
WantedBy=multi-user.target
"""


def test_the_cookbooks_unit_gives_the_recipes_settings() -> None:
    config = daemon_config(COOKBOOK_UNIT, None)
    assert config.problems == () and config.unknown == ()
    assert config.setting("icc") == (False, "flag --icc=false")
    assert config.setting("userns-remap") == ("default", "flag --userns-remap=default")
    assert config.setting("no-new-privileges")[0] is True
    assert config.setting("live-restore")[0] is True
    assert config.tcp_hosts() == []
    assert config.setting("hosts") == (["unix:///var/run/docker.sock"], "dockerd's default")


def test_daemon_json_sets_what_the_flags_leave_unset() -> None:
    unit = COOKBOOK_UNIT.replace(" --icc=false", "")
    config = daemon_config(
        unit, json.dumps({"icc": True, "hosts": ["tcp://0.0.0.0:2375", "unix:///var/run/docker.sock"]})
    )
    assert config.problems == ()
    assert config.setting("icc") == (True, "daemon.json")
    assert config.tcp_hosts() == [("tcp://0.0.0.0:2375", "daemon.json")]


def test_an_unset_directive_takes_dockerds_default() -> None:
    config = daemon_config("[Service]\nExecStart=/usr/bin/dockerd -H fd://\n", "{}")
    assert config.setting("icc") == (True, "dockerd's default")
    assert config.setting("live-restore") == (False, "dockerd's default")
    assert config.setting("userns-remap") == ("", "dockerd's default")
    assert config.tcp_hosts() == []


def test_a_directive_set_both_ways_stops_dockerd() -> None:
    config = daemon_config(COOKBOOK_UNIT, '{"icc": true, "default-ulimits": {}}')
    assert any("icc" in p and "refuses to start" in p for p in config.problems)
    assert any("default-ulimits" in p for p in config.problems)


@pytest.mark.parametrize(
    ("argv", "hosts"),
    [
        (["dockerd", "-H", "tcp://0.0.0.0:2375"], ["tcp://0.0.0.0:2375"]),
        (["dockerd", "-Htcp://1.2.3.4:2376"], ["tcp://1.2.3.4:2376"]),
        (["dockerd", "-H=0.0.0.0:2375"], ["0.0.0.0:2375"]),
        (
            ["dockerd", "--host", "unix:///var/run/docker.sock", "--host=tcp://:2375"],
            ["unix:///var/run/docker.sock", "tcp://:2375"],
        ),
        (["dockerd", "-DH", "tcp://127.0.0.1:2375"], ["tcp://127.0.0.1:2375"]),
    ],
)
def test_host_flags_in_every_spelling(argv: list[str], hosts: list[str]) -> None:
    flags, problems = read_flags(argv)
    assert problems == [] and flags["hosts"] == hosts


def test_a_host_without_a_scheme_is_tcp() -> None:
    config = daemon_config("[Service]\nExecStart=/usr/bin/dockerd -H 0.0.0.0:2375 -H fd://\n", None)
    assert [h for h, _ in config.tcp_hosts()] == ["0.0.0.0:2375"]


def test_bool_flags_as_pflag_reads_them() -> None:
    assert read_flags(["dockerd", "--icc=0", "--live-restore=T"])[0] == {"icc": False, "live-restore": True}
    flags, problems = read_flags(["dockerd", "--icc", "false"])
    # pflag takes "--icc" as true and "false" as a stray argument: dockerd refuses to start.
    assert flags["icc"] is True and any("false" in p for p in problems)
    assert read_flags(["dockerd", "--icc=maybe"])[1]
    # An unknown flag's value is skipped, not read as a flag of ours.
    assert read_flags(["dockerd", "--log-opt", "max-size=1m", "--icc=false"])[0] == {
        "log-opts": ["max-size=1m"],
        "icc": False,
    }
    assert read_flags(["dockerd", "--userns-remap"])[1]


def test_exec_start_follows_systemds_rules() -> None:
    assert exec_start("[Service]\nExecStart=-/usr/bin/dockerd --icc=false\n")[0] == ["/usr/bin/dockerd", "--icc=false"]
    # An empty assignment resets the list; the last command stands.
    reset = "[Service]\nExecStart=/usr/bin/dockerd -H fd://\nExecStart=\nExecStart=/usr/bin/dockerd --icc=false\n"
    assert exec_start(reset)[0] == ["/usr/bin/dockerd", "--icc=false"]
    argv, problems = exec_start("[Service]\nExecStart=/usr/bin/dockerd\nExecStart=/usr/bin/dockerd -D\n")
    assert argv is None and "more than one ExecStart" in problems[0]
    assert exec_start("[Unit]\nExecStart=/usr/bin/dockerd\n")[0] is None
    assert exec_start('[Service]\nExecStart=/usr/bin/dockerd "--userns-remap=a b"\n')[0] == [
        "/usr/bin/dockerd",
        "--userns-remap=a b",
    ]


def test_a_drop_in_replaces_exec_start_as_systemctl_edit_writes_it() -> None:
    drop_in = "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375\n"
    config = daemon_config([COOKBOOK_UNIT, drop_in], None)
    assert config.tcp_hosts() == [("tcp://0.0.0.0:2375", "flag -H tcp://0.0.0.0:2375")]
    assert config.setting("icc") == (True, "dockerd's default")


def test_what_the_suite_cannot_read_is_said() -> None:
    config = daemon_config("[Service]\nExecStart=/usr/bin/dockerd $DOCKER_OPTS\n", None)
    assert config.unknown and "DOCKER_OPTS" in config.unknown[0]
    moved = daemon_config("[Service]\nExecStart=/usr/bin/dockerd --config-file /etc/docker/other.json\n", None)
    assert moved.unknown and "/etc/docker/other.json" in moved.unknown[0]


@pytest.mark.parametrize(
    "text", ["{", "[]", '{"icc": "false"}', '{"hosts": "tcp://0.0.0.0:2375"}', '{"userns-remap": 1}']
)
def test_a_daemon_json_dockerd_would_refuse_is_a_problem(text: str) -> None:
    assert daemon_config(COOKBOOK_UNIT.replace(" --icc=false", ""), text).problems


@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=200)))
def test_any_input_gives_a_configuration_never_a_crash(unit: str, file: str | None) -> None:
    config = daemon_config(unit, file)
    for directive in ("icc", "userns-remap", "no-new-privileges", "live-restore", "hosts"):
        config.setting(directive)
    config.tcp_hosts()


@given(
    st.lists(
        st.sampled_from(
            [
                "--icc=false",
                "--icc",
                "-D",
                "--live-restore",
                "-H",
                "tcp://:1",
                "--log-level",
                "debug",
                "--userns-remap=default",
                "x",
                "--",
                "-Hfd://",
                "--host=unix:///s",
            ]
        )
    )
)
def test_any_argument_list_reads_without_a_crash(argv: list[str]) -> None:
    flags, problems = read_flags(["dockerd", *argv])
    assert isinstance(flags, dict) and isinstance(problems, list)
