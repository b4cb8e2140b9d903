"""A real squid configured like an outbound proxy (the env runner's, or the IdP's), on loopback.

The access rules are the outbound proxy's (squid.conf.erb: the denylist's dstdomain refused, then the
allowlist's dstdomain and the ip-allowlist's dst addresses allowed from sources in the VPC, CONNECT only to
443, deny everything else); only where it listens
and how it resolves names differ: it listens on a free loopback port, takes
loopback as its "VPC" source range, and resolves upstream names through a
hosts_file that points them at the sandbox's local upstream.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from envtest.gather import squid_judge
from envtest_double.processes import SandboxError

INSTALL_HINT = "install it with: apt-get update && apt-get install -y squid   (or put a squid binary on PATH)"


def find_squid() -> str:
    """The squid binary (see gather.squid_judge.find_squid), or a SandboxError that says how to install one."""
    binary = squid_judge.find_squid()
    if binary is None:
        chosen = os.environ.get("ENVTEST_SQUID")
        what = (
            f"ENVTEST_SQUID={chosen} is not an executable squid"
            if chosen
            else ("the sandbox's outbound proxy needs squid, and none was found")
        )
        raise SandboxError(f"{what}; {INSTALL_HINT}")
    return binary


def squid_conf(
    *,
    port: int,
    allowlist: Path,
    denylist: Path,
    ip_allowlist: Path,
    hosts_file: Path,
    state_dir: Path,
    run_as: str | None,
    name: str = "env-runner",
) -> str:
    user = f"cache_effective_user {run_as}\n" if run_as else ""
    return f"""\
# envtest sandbox: an outbound proxy ({name})
http_port 127.0.0.1:{port}
visible_hostname obproxy-{name}.sandbox
{user}
acl localnet src 127.0.0.0/8
acl SSL_ports port 443
acl Safe_ports port 80
acl Safe_ports port 443
acl CONNECT method CONNECT
acl allowed_domains dstdomain "{allowlist}"
acl denied_domains dstdomain "{denylist}"
acl allowed_ips dst "{ip_allowlist}"

http_access deny !Safe_ports
http_access deny CONNECT !SSL_ports
# squid.conf.erb's order: the denylist first, then the domain allowlist, then the addresses.
http_access deny localnet denied_domains
http_access allow localnet allowed_domains
http_access allow localnet allowed_ips
http_access deny all

hosts_file {hosts_file}
# Nothing answers DNS here: names outside hosts_file fail at once.
dns_nameservers 127.0.0.1
dns_timeout 2 seconds
connect_timeout 5 seconds

cache deny all
# squid's pinger runs in a session of its own; the sandbox has no use for it.
pinger_enable off
cache_mem 8 MB
pid_filename none
netdb_filename none
coredump_dir {state_dir}
access_log stdio:{state_dir}/access.log squid
cache_log {state_dir}/cache.log
shutdown_lifetime 1 second
"""


def proxy_user() -> str | None:
    """When root, squid drops to an unprivileged user; Debian's package creates `proxy`."""
    if os.geteuid() != 0:
        return None
    for name in ("proxy", "squid", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


def prepare(state_dir: Path, user: str | None, readable: list[Path]) -> None:
    """squid reads the allowlist and writes its logs after dropping privileges to `user`."""
    state_dir.mkdir(parents=True, exist_ok=True)
    if not user:
        return
    entry = pwd.getpwnam(user)
    os.chown(state_dir, entry.pw_uid, entry.pw_gid)
    for path in [state_dir, *readable]:
        for parent in path.resolve().parents:
            info = parent.stat()
            if not (info.st_mode & stat.S_IXOTH or info.st_uid == entry.pw_uid):
                raise SandboxError(
                    f"squid runs as user {user} and cannot reach {path}: {parent} is mode "
                    f"{stat.filemode(info.st_mode)}. Choose a sandbox directory whose parents are all "
                    "world-searchable, such as /tmp/envtest-sandbox."
                )
