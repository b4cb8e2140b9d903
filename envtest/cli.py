"""The command behind run_tests.sh: a table of modes, and the options of a run.

Keeps the Go runner's interface (`<env_name> [idp_hostname]`, -e -d -o -r -R -t -v -f -h) and adds -j (JUnit
path), -n (xdist workers), --timeout, --json and the modes below. The usage text is generated from the mode table
and the option parser, so it cannot drift from them. The run itself is envtest/run.py.

Exit codes: 0 every evaluated check passed; 1 a check failed (or could not be evaluated while others could); 2
nothing could be evaluated (usage error, credentials, wrong environment, endpoint unreachable), and then no check
is reported as passed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from envtest import __version__, cancel
from envtest.errors import CouldNotEvaluate, UsageError
from envtest.run import git_sha, run

DEFAULT_JUNIT = "report/junit.xml"


@dataclass(frozen=True)
class Mode:
    """A mode: its first argument, how it is called, what it does, and the function that does it."""

    flag: str
    call: str
    says: str
    handler: Callable[[list[str]], int] | None = None  # None: an option of a run, parsed with the others
    in_options: bool = False  # listed among the options rather than the usage lines


def _version(_: list[str]) -> int:
    print(f"envtest {__version__} ({git_sha()})")
    return 0


def _list(_: list[str]) -> int:
    from envtest.explain import list_checks

    return list_checks()


def _explain(argv: list[str]) -> int:
    from envtest.explain import explain_command

    return explain_command(argv)


def _images(argv: list[str], tool: str) -> int:
    from envtest import images_tool

    return (images_tool.check_file if tool == "check" else images_tool.digest_line)(argv)


def merge_junit(args: list[str]) -> int:
    from envtest.report import junit

    allow_duplicate = "--allow-duplicate-env" in args
    args = [a for a in args if a != "--allow-duplicate-env"]
    if len(args) < 2:
        print("usage: run_tests.sh --merge-junit [--allow-duplicate-env] OUT IN...", file=sys.stderr)
        return 2
    out, inputs = Path(args[0]), [Path(a) for a in args[1:]]
    missing = [str(p) for p in inputs if not p.is_file()]
    if missing:
        print(f"--merge-junit: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        summary = junit.merge(out, inputs, allow_duplicate_env=allow_duplicate)
    except junit.DuplicateEnv as exc:
        print(f"--merge-junit: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # junitparser raises several types for bad XML
        print(f"--merge-junit: cannot read the inputs: {exc}", file=sys.stderr)
        return 2
    from envtest.report import html

    html_path = html.write_beside(out, "Environment tests: every env")
    print(
        f"merged {len(inputs)} file(s) into {out} (summary {html_path}): "
        f"{summary.passed} passed, {summary.failed} failed, "
        f"{summary.errors} errors, {summary.skipped} skipped"
    )
    table = junit.failure_table(summary)
    if table:
        print(table)
    # A nightly env whose job never reported must not vanish from the verdict.
    expected = set(os.environ.get("EXPECTED_ENVS", "").split())
    reported = junit.envs_in(out)
    absent = sorted(expected - reported)
    if absent:
        print(f"--merge-junit: no report from env(s) {', '.join(absent)} (EXPECTED_ENVS); exit 2", file=sys.stderr)
        return 2
    return junit.exit_code(summary)


MODES: tuple[Mode, ...] = (
    Mode("--merge-junit", "--merge-junit [--allow-duplicate-env] OUT IN...", "merge JUnit files (one per env)",
         merge_junit),
    Mode("--check-allowed-images", "--check-allowed-images FILE", "validate an allowed-images file before uploading it",
         lambda argv: _images(argv, "check")),
    Mode("--image-digest-line", "--image-digest-line REF...", "print the dated block to append for new image digests",
         lambda argv: _images(argv, "line")),
    Mode("--", "-- ARGS...", "everything after -- goes to pytest untouched (-k EXPR, -x, -m, -vv, --lf)",
         in_options=True),
    Mode("--list", "--list", "every check with what it proves and the faults it catches (offline)", _list,
         in_options=True),
    Mode("--explain", "--explain CHECK", "what a check proves, why it matters, how to fix it (offline)", _explain,
         in_options=True),
    Mode("--version", "--version", "envtest's version and git commit", _version, in_options=True),
)  # fmt: skip
HANDLERS: dict[str, Callable[[list[str]], int]] = {m.flag: m.handler for m in MODES if m.handler is not None}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="run_tests.sh", add_help=False, usage=argparse.SUPPRESS)
    p.add_argument("positionals", nargs="*")
    p.add_argument("-e", dest="env", metavar="env", help="environment name (or the first argument, or ENV_NAME)")
    p.add_argument("-d", dest="idp_host", metavar="host", help="IdP hostname (or the second argument)")
    p.add_argument("-o", dest="idp_origin_host", metavar="host", help="IdP origin hostname")
    p.add_argument("-r", dest="region", metavar="region", help="AWS region (default: AWS_REGION, else us-west-2)")
    p.add_argument(
        "-R", dest="long_tests", metavar="true|false", help="also run long and disruptive tests (default false)"
    )
    p.add_argument(
        "-t",
        dest="tests",
        action="append",
        default=[],
        metavar="name",
        help="run one check (a name or -k expression) or one file under tests/ (repeatable)",
    )
    p.add_argument(
        "-v",
        dest="variables",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="set a variable for the run (repeatable)",
    )
    p.add_argument("-f", dest="var_file", metavar="file", help="read VAR=VALUE lines from a file")
    p.add_argument(
        "-j", dest="junit", default=DEFAULT_JUNIT, metavar="path", help=f"JUnit XML output (default {DEFAULT_JUNIT})"
    )
    p.add_argument("-n", dest="workers", metavar="N", help="run checks in N parallel workers (pytest-xdist)")
    p.add_argument(
        "--timeout",
        dest="run_timeout",
        default="3600",
        metavar="S",
        help="stop the run after S seconds (default 3600): the reports say what ran; exit 2",
    )
    p.add_argument(
        "--json",
        dest="json_path",
        metavar="PATH",
        help="also write the results as JSON (docs/results.md: one record per check)",
    )
    p.add_argument("-h", "--help", dest="help", action="store_true", help="this help")
    return p  # fmt: skip


def usage(more: Sequence[Mode] = ()) -> str:
    """The help text: the modes' lines, then the options (from the parser and the table), then the exit codes.

    `more`: modes another command adds (the development checkout's envtest_double: sandbox, proof, self-tests).
    """
    lines = ["usage: run_tests.sh [options] <env_name> [idp_hostname]"]
    lines += [f"       run_tests.sh {m.call:<26}  {m.says}" for m in (*MODES, *more) if not m.in_options]
    lines += ["", "options:"]
    options = [a for a in build_parser()._actions if a.help and a.dest != "help"]
    rows = [(f"{a.option_strings[0]} {a.metavar}", a.help) for a in options]
    rows += [(m.call, m.says) for m in MODES if m.in_options]
    rows += [("-h", "this help")]
    lines += [f"  {left:<15} {right}" for left, right in rows]
    lines += [
        "",
        "exit codes: 0 all evaluated checks passed; 1 a check failed or could not be",
        "evaluated; 2 nothing could be evaluated (usage, credentials, wrong env,",
        "endpoint unreachable).",
    ]
    return "\n".join(lines) + "\n"


USAGE = usage()


def parse_run(argv: Sequence[str]) -> argparse.Namespace:
    """A run's options; everything after `--` goes to pytest untouched (-k, -x, -m, -vv, --lf, ...)."""
    argv = list(argv)
    argv, pytest_args = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    args = build_parser().parse_args(argv)
    args.pytest_args = pytest_args
    return args


def reported(body: Callable[[], int]) -> int:
    """`body()`'s exit code; a usage error, a cause that stops everything, or a cancel: said in one line, exit 2."""
    try:
        return body()
    except UsageError as exc:
        print(f"run_tests.sh: {exc}\n(run_tests.sh -h for usage)", file=sys.stderr)
        return 2
    except CouldNotEvaluate as exc:
        print(f"run_tests.sh: could not evaluate: {exc}", file=sys.stderr)
        return 2
    except cancel.Cancelled as exc:  # before a run began, or while a sandbox started or stopped
        print(f"run_tests.sh: {exc}; stopped (exit 2)", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # A cancel (GitLab's SIGTERM, Ctrl-C, SIGHUP) unwinds the command as an exception: every `finally` runs (the
    # run's directory goes), and a running pytest is sent the signal (envtest/cancel.py).
    cancel.install()
    if argv[:1] and argv[0] in HANDLERS:
        return HANDLERS[argv[0]](argv[1:])

    def one_run() -> int:
        args = parse_run(argv)
        if args.help:
            print(USAGE, end="")
            return 0
        return run(args, dict(os.environ))

    return reported(one_run)
