"""The development modes of run_tests.sh: the local sandbox, the detection proof, the benchmarks, the self-tests.

They live here, in the test double's package, not in the product (envtest/, what the env_test image ships and a
real run imports): run_tests.sh hands a command line that names one of them to `python -m envtest_double`, and
everything else to `python -m envtest`. A sandbox run parses the product's own options and runs the product's
run (envtest.run) against the sandbox's environment: the same code path as a real env's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from envtest import cancel
from envtest import cli as product
from envtest.errors import UsageError
from envtest.run import ROOT, run
from envtest.settings import ENV_NAME_RE
from envtest_double import revisions

# The sandbox a user gets without --revision: the runbook's revision (issue 23, the user's spec: the runbook is
# what their environments are). `--revision composite` builds the self-tests' world instead: every check's
# resources at once (ELK's groups, the attempts and escrow buckets, two metric filters...), from no single commit,
# so that a check no revision can exercise (ELK ended in 2021) still meets its faults.
DEFAULT_REVISION = revisions.DEFAULT
COMPOSITE = "composite"


def _revision(argv: list[str]) -> tuple[list[str], str | None]:
    """`--revision NAME` taken out of a sandbox's command line (before any `--`): which revision to build it as;
    None for the composite world."""
    head = argv[: argv.index("--")] if "--" in argv else argv
    if "--revision" not in head:
        return argv, DEFAULT_REVISION
    at = argv.index("--revision")
    if at + 1 >= len(head):
        raise UsageError(
            f"--revision NAME: a revision of policy/revisions/ (run_tests.sh --list names them), or {COMPOSITE}"
        )
    name = argv[at + 1]
    return argv[:at] + argv[at + 2 :], None if name == COMPOSITE else name


def _sandbox(argv: list[str]) -> int:
    from envtest_double import sandbox_commands

    argv, revision = _revision(argv)
    args = product.parse_run(argv)
    if args.help:
        print(USAGE, end="")
        return 0
    return sandbox_commands.run_all(lambda environ: run(args, environ), revision)


def _sandbox_up(argv: list[str]) -> int:
    from envtest_double import env_facts, sandbox_commands

    argv, revision = _revision(argv)
    if not argv or len(argv) > 2:
        raise UsageError("--sandbox-up DIR [ENV_NAME] [--revision NAME]")
    env = argv[1] if len(argv) > 1 else env_facts.DEFAULT_ENV
    if not ENV_NAME_RE.match(env):
        raise UsageError(f"--sandbox-up DIR [ENV_NAME]: {env!r} is not one env name")
    return sandbox_commands.up(Path(argv[0]), env, revision)


def _sandbox_down(argv: list[str]) -> int:
    from envtest_double import sandbox_commands

    if len(argv) != 1:
        raise UsageError("--sandbox-down DIR")
    return sandbox_commands.down(Path(argv[0]))


def _prove(argv: list[str]) -> int:
    from envtest_double.prove import prove

    return prove(argv)


def _benchmark(argv: list[str]) -> int:
    return subprocess.run([sys.executable, "-m", "benchmarks.run", *argv], cwd=ROOT, check=False).returncode


def self_test_workers() -> int:
    """One worker more than the cores: the self-tests wait about a third of their time (subprocesses, sockets,
    timeouts they provoke), and a third worker fills it. Measured on 2 cores, one run each: -n 2 5:10, -n 3 4:14."""
    return (os.cpu_count() or 1) + 1


def self_test(extra: list[str]) -> int:
    """The project's own tests; extra arguments go to pytest (paths narrow the run).

    Independent tests run in parallel workers (pytest-xdist, one sandbox each); `--quick` keeps to the
    unit and parser tests (no sandbox, no offline install), for the inner loop.
    """
    quick = "--quick" in extra
    extra = [arg for arg in extra if arg != "--quick"]
    narrowed = any(Path(arg.split("::")[0]).exists() for arg in extra if not arg.startswith("-"))
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(ROOT / "selftests" / "pytest.ini"),
        "--rootdir",
        str(ROOT),
        *(["-m", "not sandbox and not slow"] if quick else ["-n", str(self_test_workers())]),
        *([] if narrowed else [str(ROOT / "selftests")]),
        *extra,
    ]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


Mode = product.Mode
DEV_MODES: tuple[Mode, ...] = (
    Mode("--sandbox", "--sandbox [--revision R] [options]",
         "run every check against a local sandbox built as revision R (default runbook; composite: every check's)",
         _sandbox),
    Mode("--sandbox-up", "--sandbox-up DIR [ENV] [--revision R]", "start a sandbox, write DIR/env.sh", _sandbox_up),
    Mode("--sandbox-down", "--sandbox-down DIR", "stop every sandbox process", _sandbox_down),
    Mode("--self-test", "--self-test [--quick] [pytest args]", "the project's own tests (--quick: no sandbox)",
         self_test),
    Mode("--prove", "--prove [--revision R] [FAULT...]",
         "seed each fault into sandboxes built as R (default composite: every fault applies): caught or missed",
         _prove),
    Mode("--benchmark", "--benchmark [SCALE...]", "cost and scale against the sandbox (benchmarks/results.md)",
         _benchmark),
    Mode("--benchmark", "--benchmark --hostile", "what huge or garbled inputs cost the parsers (benchmarks/hostile.md)",
         _benchmark),
)  # fmt: skip
HANDLERS: dict[str, Callable[[list[str]], int]] = {m.flag: m.handler for m in DEV_MODES if m.handler is not None}
USAGE = product.usage(DEV_MODES)


def dev_mode(argv: Sequence[str]) -> str | None:
    """The development mode a command line names (anywhere before `--`), if any: what run_tests.sh routes here."""
    head = list(argv)[: list(argv).index("--")] if "--" in argv else list(argv)
    return next((a for a in head if a in HANDLERS), None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    cancel.install()  # a cancel stops a sandbox as it stops a run: every `finally` runs
    mode = dev_mode(argv)
    if mode is None:
        if argv[:1] in (["-h"], ["--help"]):
            print(USAGE, end="")
            return 0
        return product.main(argv)  # not a development mode: the product's own command line
    index = argv.index(mode)
    rest = argv[:index] + argv[index + 1 :]
    return product.reported(lambda: HANDLERS[mode](rest))
