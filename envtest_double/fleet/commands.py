"""A command on an instance: run as root in its namespace, its files mounted at their real paths."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from envtest_double.fleet.network import Member


def mount_plan(*roots: Path) -> list[list[str]]:
    """mount(8) argument lists that put the files under `roots` at their real paths, the first root winning.

    Roots are an instance's own files (DIR/hosts/@<instance id>/, where a fault makes one instance differ) over
    its role's (DIR/hosts/<role>/). A path the machine has gets a bind mount; where it lacks a path, the nearest
    directory it has gets a read-only overlay of the roots' directories on top of its own, so the machine's
    other files stay visible.
    """
    plan: list[list[str]] = []
    roots = tuple(r for r in roots if r.is_dir())

    def walk(relative: Path) -> None:
        real_dir = Path("/") / relative
        names = sorted(
            {child.name for root in roots if (root / relative).is_dir() for child in (root / relative).iterdir()}
        )
        for name in names:
            real = real_dir / name
            sources = [root / relative / name for root in roots if (root / relative / name).exists()]
            if all(s.is_dir() for s in sources) and real.is_dir() and not real.is_symlink():
                walk(relative / name)
            elif sources[0].is_file() and real.is_file() and not real.is_symlink():
                plan.append(["--bind", str(sources[0]), str(real)])
            else:
                layers = [str(root / relative) for root in roots if (root / relative).is_dir()]
                plan.append(
                    ["-t", "overlay", "overlay", "-o", f"lowerdir={':'.join(layers)}:{real_dir}", str(real_dir)]
                )
                return

    if roots:
        walk(Path())
    return plan


def run_as_root(member: Member, hosts: Path, etc: Path, command: str, timeout: float) -> tuple[str, int, str, str]:
    """(status, exit code, stdout, stderr) of `command` run as root in the member's namespace, its own files
    (hosts/@<instance id>/) over its role's (hosts/<role>/), and its /etc files from `etc`."""
    prelude = [f"mount {shlex.join(args)}" for args in mount_plan(hosts / f"@{member.name}", hosts / member.role)]
    prelude += [f"mount --bind {shlex.quote(str(etc / n))} /etc/{n}" for n in ("hosts", "resolv.conf", "hostname")]
    prelude.append(f"hostname {shlex.quote((etc / 'hostname').read_text().strip())}")
    script = " && ".join(prelude) + ' && cd / && exec bash -c "$0"'
    argv = ["ip", "netns", "exec", member.netns, "unshare", "--mount", "--uts", "--propagation", "private"]
    argv += ["sh", "-c", script, command]
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
    }
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, env=env, check=False, start_new_session=True)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode("utf-8", "replace")
        return "TimedOut", -1, out, f"execution timed out after {timeout:.0f} s"
    status = "Success" if done.returncode == 0 else "Failed"
    return status, done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
