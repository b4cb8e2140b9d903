"""The env runner's Docker daemon, as its recipe configures it: job containers kept apart from each other and
from the host, and no TCP socket."""

from __future__ import annotations

import json

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.fixtures.docker_daemon import RunnerDockerDaemon
from envtest.policy import Policy
from envtest.problems import Problem, check

RECIPE = "identity-gitlab's runner.rb docker_service 'default'"
# policy [docker_daemon] key -> (dockerd's directive, the recipe's property as runner.rb writes it)
ISOLATION = {
    "icc": ("icc", "icc false"),
    "userns_remap": ("userns-remap", "userns_remap 'default'"),
    "no_new_privileges": ("no-new-privileges", "misc_opts '--no-new-privileges'"),
    "live_restore": ("live-restore", "live_restore true"),
}


def _readable(daemons: list[RunnerDockerDaemon]) -> None:
    unknown = [f"{d.where}: {why}" for d in daemons for why in d.config.unknown]
    if unknown:
        raise CouldNotEvaluate("; ".join(unknown))
    if not daemons:
        raise CouldNotEvaluate("no env runner instance answered for its Docker daemon")


def _refused(daemon: RunnerDockerDaemon) -> list[Problem]:
    return [
        Problem(
            daemon.where,
            "a configuration dockerd starts with",
            problem,
            "remove the directive from /etc/docker/daemon.json or the unit's drop-in (the recipe sets it as a flag), "
            "then restart docker",
        )
        for problem in daemon.config.problems
    ]


@pytest.mark.catches(
    "F13-icc: the env runner's Docker daemon lets containers talk to each other (icc: true)", "F13-tcp-dropin"
)
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_docker_daemon_keeps_the_recipes_isolation(
    runner_docker_daemons: list[RunnerDockerDaemon], policy: Policy
) -> None:
    """The env runner's Docker daemon keeps its job containers apart: no inter-container traffic, user namespaces,
    no new privileges, live restore.

    Why: jobs run images on a host that holds the deploy's credentials; with `icc` on a job's container reaches
    any other on the bridge, and without `userns-remap` root in a container is root on the host.
    Fails on: a setting other than the recipe's (policy `[docker_daemon]`) in the systemd unit dockerd starts from
    (its drop-ins included) or /etc/docker/daemon.json, e.g. `"icc": true`, or the recipe's flag missing (a
    drop-in that replaces ExecStart drops them all); a configuration dockerd refuses (a directive set both as a
    flag and in daemon.json).
    Fix: restore the properties of identity-gitlab's runner.rb `docker_service 'default'` (icc false, userns_remap
    'default', misc_opts '--no-new-privileges', live_restore true) as flags on ExecStart, remove the override
    from daemon.json or the drop-in, and recycle the env runner.
    """
    _readable(runner_docker_daemons)
    # The recipe's settings, by ISOLATION's keys (the typed section's field names).
    expected = {key: getattr(policy.docker_daemon, key) for key in ISOLATION}
    problems = []
    for daemon in runner_docker_daemons:
        problems += _refused(daemon)
        wrong = []
        for key, (directive, recipe) in ISOLATION.items():
            found, source = daemon.config.setting(directive)
            if found != expected[key]:
                where = daemon.config_path if source == "daemon.json" else source
                wrong.append((directive, recipe, f"{directive} {json.dumps(found)} ({where})", source))
        if wrong:
            flags = " ".join(_flag(d, expected[k]) for k, (d, _) in ISOLATION.items() if d in {w[0] for w in wrong})
            problems.append(
                Problem(
                    daemon.where,
                    "; ".join(f"{d} {json.dumps(expected[k])}" for k, (d, _) in ISOLATION.items())
                    + f" ({RECIPE}: {', '.join(w[1] for w in wrong)})",
                    "; ".join(w[2] for w in wrong),
                    _isolation_fix(daemon, flags, {w[3] for w in wrong}),
                )
            )
    check(problems)


def _flag(directive: str, value: object) -> str:
    """The recipe's value as the docker cookbook writes it on ExecStart."""
    if value is True:
        return f"--{directive}"
    return f"--{directive}={str(value).lower() if isinstance(value, bool) else value}"


def _isolation_fix(daemon: RunnerDockerDaemon, flags: str, sources: set[str]) -> str:
    steps = []
    if "daemon.json" in sources:
        steps.append(f"remove those directives from {daemon.config_path}")
    if "dockerd's default" in sources:
        steps.append(
            f"put {flags} back on the ExecStart systemd runs ({' + '.join(daemon.unit_files)}; a drop-in that "
            "replaces ExecStart drops the recipe's flags)"
        )
    if any(s.startswith("flag") for s in sources):
        steps.append(f"correct the flags on ExecStart to {flags}")
    return "; ".join(steps) + "; then recycle the env runner so chef writes the unit again"


@pytest.mark.catches(
    "F13-tcp: the env runner's Docker daemon listens on a TCP socket",
    "F13-tcp-dropin: a drop-in replaces the runner's dockerd command line with one listening on TCP",
)
@pytest.mark.blinded_by("F16", "F16-group")
def test_runner_docker_daemon_listens_on_no_tcp_socket(runner_docker_daemons: list[RunnerDockerDaemon]) -> None:
    """The env runner's Docker daemon listens on its unix socket only, never on TCP.

    Why: dockerd's API is root on the host; on TCP (2375 has no TLS at all) anyone who reaches the port from a
    job's container or the VPC runs any container, privileged, with the runner's credentials.
    Fails on: a TCP host (`tcp://...`, or an address without a scheme) in `-H`/`--host` on ExecStart of the unit
    systemd loads or a drop-in (what `systemctl edit docker` writes), or in daemon.json's `"hosts"`.
    Fix: remove the TCP host (the recipe's docker_service sets none), restart docker, and recycle the env runner.
    """
    _readable(runner_docker_daemons)
    check(
        [
            Problem(
                daemon.where,
                f"the unix socket only ({RECIPE} sets no host)",
                f"TCP socket {host}, from {daemon.config_path if source == 'daemon.json' else source}",
                "remove it from the unit's drop-in or daemon.json, restart docker, and recycle the env runner",
            )
            for daemon in runner_docker_daemons
            for host, source in daemon.config.tcp_hosts()
        ]
    )
