"""Start, find and stop the sandbox's processes.

Each process runs in its own session (process group); its pid is written to
DIR/pids/<name>.pid, so `--sandbox-down DIR` from another shell stops exactly
what `--sandbox-up DIR` started, and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class SandboxError(Exception):
    """The sandbox could not be started; the message says why and what to do."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


MARKER = "ENVTEST_SANDBOX_PROCESS"


def start(
    name: str, argv: Sequence[str], directory: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a sandbox process in its own session, marked in its environment with the sandbox directory.

    The marker is inherited by anything it spawns, so `stop_all` finds helpers
    that left the process group too.
    """
    env = {**(os.environ if env is None else env), MARKER: str(directory.resolve())}
    logs = directory / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    pids = directory / "pids"
    pids.mkdir(parents=True, exist_ok=True)
    log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            cwd=directory,
        )
    finally:
        log.close()
    (pids / f"{name}.pid").write_text(str(proc.pid))
    return proc


def wait_until(
    what: str, ready: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if proc.poll() is not None:
            raise SandboxError(f"{what} exited with code {proc.returncode} while starting:\n{tail(log)}")
        time.sleep(0.05)
    raise SandboxError(f"{what} was not ready within {timeout:.0f} s:\n{tail(log)}")


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours is dead for our purposes.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return False


def marked_processes(directory: Path) -> dict[int, str]:
    """pid -> command line of every live process carrying this sandbox's marker."""
    marker = f"{MARKER}={directory.resolve()}".encode()
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if _alive(int(proc.name)):
            found[int(proc.name)] = cmdline
    return found


def stop_all(directory: Path, timeout: float = 10.0) -> list[str]:
    """Stop every process this sandbox started (recorded pids, then anything carrying its marker).

    Returns a description of each process still alive afterwards.
    """
    pids_dir = directory / "pids"
    records = {}
    for pid_file in sorted(pids_dir.glob("*.pid")) if pids_dir.is_dir() else []:
        try:
            records[pid_file.stem] = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            continue
    for pid, cmdline in marked_processes(directory).items():
        if pid not in records.values():
            records[f"{cmdline[:60]} [{pid}]"] = pid  # the pid keeps two similar command lines apart
    for pid in records.values():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in records.values()):
        time.sleep(0.05)
    survivors = []
    for name, pid in records.items():
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
            if _alive(pid):
                survivors.append(f"{name} (pid {pid})")
    for pid_file in pids_dir.glob("*.pid") if pids_dir.is_dir() else []:
        pid_file.unlink(missing_ok=True)
    from envtest_double.fleet.network import teardown

    teardown(directory)
    return survivors
