"""--sandbox, --sandbox-up DIR, --sandbox-down DIR."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from envtest_double import env_facts
from envtest_double.processes import SandboxError, stop_all
from envtest_double.startup import start_sandbox


def up(directory: Path, env: str = env_facts.DEFAULT_ENV, revision: str | None = None) -> int:
    directory = directory.resolve()
    if any((directory / "pids").glob("*.pid")):
        print(
            f"a sandbox may already run from {directory}: run ./run_tests.sh --sandbox-down {directory} first",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    try:
        start_sandbox(directory, env, revision=revision)
    except SandboxError as exc:
        stop_all(directory)
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    except BaseException:
        stop_all(directory)
        raise
    print(
        f"sandbox up in {time.monotonic() - started:.1f} s, built as "
        + (f"revision {revision} (policy/revisions/{revision}.toml)" if revision else "the composite world")
        + "; now run:\n"
        f'  . {directory}/env.sh && ./run_tests.sh "$ENV_NAME"\n'
        f"and stop it with:\n  ./run_tests.sh --sandbox-down {directory}"
    )
    return 0


def down(directory: Path) -> int:
    survivors = stop_all(directory.resolve())
    if survivors:
        print(f"sandbox: still running after SIGKILL: {', '.join(survivors)}", file=sys.stderr)
        return 1
    print(f"sandbox in {directory} stopped")
    return 0


def run_all(run: Callable[[dict[str, str]], int], revision: str | None = None) -> int:
    """--sandbox: up, run every check, down; the run's exit code."""
    directory = Path(tempfile.mkdtemp(prefix="envtest-sandbox-"))
    try:
        try:
            environ = start_sandbox(directory, revision=revision)
        except SandboxError as exc:
            print(f"sandbox: {exc}", file=sys.stderr)
            return 2
        clean = {
            k: v
            for k, v in os.environ.items()
            if k not in {"AWS_PROFILE", "AWS_VAULT", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"}
        }
        return run({**clean, **environ})
    finally:
        stop_all(directory)
        shutil.rmtree(directory, ignore_errors=True)
