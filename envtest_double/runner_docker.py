"""The env runner's Docker daemon configuration, as login.gov's runner recipe has the docker cookbook write it.

kitchen/cookbooks/identity-gitlab/recipes/runner.rb (164-178 at the runbook's and current commits, 165-179 at
era1's; the same properties at all three) declares `docker_service 'default'`; the docker cookbook pinned in
Berksfile.lock (10.1.8, then 11.3.6: the same template and flags) renders
templates/default/systemd/docker.service-override.erb to /etc/systemd/system/docker.service, each property a
dockerd flag in libraries/helpers_service.rb's docker_daemon_opts order. Nothing of theirs writes
/etc/docker/daemon.json: the sandbox writes `{}`, which dockerd reads as no directive at all (as it reads no
file), so that a daemon.json of the machine running the sandbox cannot show through the instance's files.
"""

from __future__ import annotations

UNIT_PATH = "/etc/systemd/system/docker.service"
DAEMON_JSON_PATH = "/etc/docker/daemon.json"
DAEMON_JSON = "{}\n"

# docker_daemon_opts for runner.rb's properties, in the helper's order: default_ulimit, icc, ipv6, log_level,
# userland_proxy, userns_remap, live_restore, misc_opts; then containerd's socket (/usr/bin/containerd exists
# on the runner). docker_daemon_arg is '' for docker >= 1.12, hence the double space.
DOCKERD_FLAGS = (
    "--default-ulimit=nproc=16384:16384 --icc=false --ipv6=false --log-level=debug --userland-proxy=false "
    "--userns-remap=default --live-restore --no-new-privileges --containerd=/run/containerd/containerd.sock"
)


def docker_unit(http_proxy: str, no_proxy: str, flags: str = DOCKERD_FLAGS) -> str:
    """docker.service-override.erb's lines for docker_name "docker", its socket /var/run/docker.sock (no host
    property), containerd present, ipv4_forward and ipv6_forward off, no systemd_opts (the blank lines ERB's
    tags leave are not reproduced)."""
    return f"""\
[Unit]
Description=Docker Application Container Engine
Documentation=https://docs.docker.com
BindsTo=containerd.service
After=network-online.target docker.socket firewalld.service containerd.service
Wants=network-online.target
Requires=docker.socket

[Service]
Type=notify
Environment="HTTP_PROXY={http_proxy}"
Environment="HTTPS_PROXY={http_proxy}"
Environment="NO_PROXY={no_proxy}"

# the default is not to use systemd for cgroups because the delegate issues still
# exists and systemd currently does not support the cgroup feature set required
# for containers run by docker
ExecStart=/usr/bin/dockerd  {flags}
ExecReload=/bin/kill -s HUP $MAINPID
TimeoutSec=0
RestartSec=2
Restart=always

# Note that StartLimit* options were moved from "Service" to "Unit" in systemd 229.
# Both the old, and new location are accepted by systemd 229 and up, so using the old location
# to make them work for either version of systemd.
StartLimitBurst=3

# Note that StartLimitInterval was renamed to StartLimitIntervalSec in systemd 230.
# Both the old, and new name are accepted by systemd 230 and up, so using the old name to make
# this option work for either version of systemd.
StartLimitInterval=60s

# Having non-zero Limit*s causes performance problems due to accounting overhead
# in the kernel. We recommend using cgroups to do container-local accounting.
LimitNOFILE=infinity
LimitNPROC=infinity
LimitCORE=infinity

# Comment TasksMax if your systemd version does not support it.
# Only systemd 226 and above support this option.
TasksMax=infinity

# set delegate yes so that systemd does not reset the cgroups of docker containers
Delegate=yes

# kill only the docker process, not all processes in the cgroup
KillMode=process

[Install]
WantedBy=multi-user.target
"""
