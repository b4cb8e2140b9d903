"""One run: the run's environment built, pytest started with it, then the reports (JUnit finished, HTML, JSON,
call counts).

envtest.cli parses the command line and picks the mode; this module is the run itself, envtest/run_reports.py
writes what it found. This process makes no AWS call: pytest's process makes them all, the preflight first
(envtest/session_preflight.py), with the run's environment as its own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from envtest import __version__, cancel
from envtest.errors import CouldNotEvaluate, UsageError
from envtest.report.outputs import refuse_unsafe
from envtest.run_reports import (
    report_internal_error,
    report_internal_stop,
    report_preflight_stop,
    report_pytest_outcome,
    write_json,
)
from envtest.session_outcome import OUTCOME_VARIABLE, WHOLE_RUN_VARIABLE, SessionOutcome, run_kind
from envtest.settings import Settings, parse_bool, parse_key_value_lines

ROOT = Path(__file__).resolve().parents[1]


def run_environment(args: argparse.Namespace, base_env: dict[str, str]) -> dict[str, str]:
    """The environment a run sees: the caller's, then -f, then -v, then the flags."""
    environ = dict(base_env)
    if args.var_file:
        try:
            text = Path(args.var_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"-f {args.var_file}: {exc.strerror}") from None
        environ.update(parse_key_value_lines(text, args.var_file))
    for item in args.variables:
        environ.update(parse_key_value_lines(item, "-v"))
    if len(args.positionals) > 2:
        raise UsageError(f"too many arguments: {' '.join(args.positionals)}")
    env_arg = args.positionals[0] if args.positionals else None
    if env_arg and args.env and env_arg != args.env:
        raise UsageError(f"two environment names: argument {env_arg!r} and -e {args.env!r}")
    if env_arg or args.env:
        environ["ENV_NAME"] = env_arg or args.env
    idp = args.idp_host or (args.positionals[1] if len(args.positionals) > 1 else None)
    if idp:
        environ["IDP_HOSTNAME"] = idp
    if args.idp_origin_host:
        environ["IDP_ORIGIN_HOSTNAME"] = args.idp_origin_host
    region = args.region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-west-2"
    environ["AWS_REGION"] = environ["AWS_DEFAULT_REGION"] = region
    if args.long_tests is not None:
        environ["ENVTEST_DISRUPTIVE"] = "true" if parse_bool(args.long_tests, "-R") else "false"
    if args.workers is not None and not (args.workers.isdigit() and int(args.workers) >= 1):
        raise UsageError(f"-n wants a number of workers >= 1, got {args.workers!r}")
    try:
        if float(args.run_timeout) <= 0:
            raise ValueError
    except ValueError:
        raise UsageError(f"--timeout wants a number of seconds > 0, got {args.run_timeout!r}") from None
    return environ


def git_sha() -> str:
    if os.environ.get("ENVTEST_GIT_SHA"):
        return os.environ["ENVTEST_GIT_SHA"]
    if (ROOT / ".git").exists() and shutil.which("git"):
        done = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            return done.stdout.strip()
    return "unknown"


def pytest_selection(tests: list[str]) -> list[str]:
    """pytest arguments for the -t values: files (or file::check) as given, names joined into one -k."""
    tests_dir = ROOT / "tests"
    paths, names = [], []
    for test in tests:
        if test.endswith(".py") or "::" in test or "/" in test:
            path, sep, node = test.partition("::")
            # As typed (relative to where the person is), else under tests/, else under the repository.
            candidates = [Path(path).resolve(), tests_dir / path, ROOT / path]
            found = next((c for c in candidates if c.exists()), None)
            if found is None:
                raise UsageError(f"-t {test}: no such file (looked in {', '.join(str(c) for c in candidates)})")
            paths.append(f"{found}{sep}{node}")
        else:
            names.append(test)
    if names and paths:
        raise UsageError("-t takes files or check names, not both in one run")
    if names:
        return [str(tests_dir), "-k", " or ".join(f"({n})" for n in names)]
    return paths or [str(tests_dir)]


def run(args: argparse.Namespace, base_env: dict[str, str]) -> int:
    environ = run_environment(args, base_env)
    Settings.from_environ(environ)  # usage errors before any work
    junit_path = Path(args.junit)
    if not junit_path.is_absolute():
        junit_path = Path.cwd() / junit_path
    if junit_path.resolve().is_relative_to(ROOT / "tests"):
        # A report there ends up in git beside the checks (one did: tests/report/junit.xml).
        raise UsageError(f"-j {args.junit}: not inside the checks' directory {ROOT / 'tests'}; use report/ instead")
    json_path = Path(args.json_path) if args.json_path else None
    if json_path is not None and not json_path.is_absolute():
        json_path = Path.cwd() / json_path
    refuse_unsafe(junit_path, json_path)  # no report through a link, nor one over another
    try:
        junit_path.parent.mkdir(parents=True, exist_ok=True)
        junit_path.unlink(missing_ok=True)
    except OSError as exc:
        raise UsageError(f"-j {args.junit}: cannot write there ({exc.strerror})") from None
    run_dir = Path(tempfile.mkdtemp(prefix="envtest-run-"))
    environ["ENVTEST_RUN_DIR"] = str(run_dir)
    settings = Settings.from_environ(environ)
    properties = {
        "env": settings.env_name,
        "region": settings.region,
        "account": "unknown",
        "envtest_version": __version__,
        "git_sha": git_sha(),
        "run_kind": run_kind(environ),
    }
    try:
        code = _run(
            args, environ=environ, settings=settings, junit_path=junit_path, run_dir=run_dir, properties=properties
        )
        if json_path is not None:
            write_json(json_path, junit_path, run_dir, code=code, properties=properties, settings=settings)
        return code
    except (UsageError, CouldNotEvaluate):
        raise
    except KeyboardInterrupt as exc:  # cancelled outside pytest (a running pytest is sent the signal instead)
        if junit_path.exists():  # after pytest: its reports are written, the cancel only ends the command
            print(f"run_tests.sh: {exc or 'cancelled'} after the reports were written (exit 2)", file=sys.stderr)
            return 2
        return report_preflight_stop(
            "run_cancelled",
            f"{exc or 'cancelled'} before any check ran; nothing was evaluated and nothing was changed",
            settings=settings,
            junit_path=junit_path,
            run_dir=run_dir,
            properties=properties,
        )
    except Exception as exc:  # a bug or an unforeseen state: never a pass, never a bare traceback exit 1
        return report_internal_error(
            exc, args, settings=settings, junit_path=junit_path, run_dir=run_dir, properties=properties
        )
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _run(
    args: argparse.Namespace,
    *,
    environ: dict[str, str],
    settings: Settings,
    junit_path: Path,
    run_dir: Path,
    properties: dict[str, str],
) -> int:
    outcome_path = run_dir / "preflight.json"
    environ[OUTCOME_VARIABLE] = str(outcome_path)
    mark_whole_run(environ, args)
    command = [
        sys.executable, "-m", "envtest.pytest_main", "-c", str(ROOT / "pytest.ini"), "--rootdir", str(ROOT),
        f"--junitxml={junit_path}", *pytest_selection(args.tests), *_cache_plugin(args.pytest_args),
        *args.pytest_args,
    ]  # fmt: skip
    if args.workers and int(args.workers) > 1:
        if environ.get("ENVTEST_DISRUPTIVE") == "true":
            # The recycle replaces instances other checks are talking to: disruptive runs go one check at a time.
            print(f"note: -R true runs serially; -n {args.workers} ignored", flush=True)
        else:
            command += ["-n", args.workers]
    if environ.get("CI") or not sys.stdout.isatty():
        command.append("--color=no")  # a CI log gets plain text, no control characters
    pytest_rc, stopped = _run_bounded(command, environ, float(args.run_timeout))
    outcome = SessionOutcome.read(outcome_path)
    if outcome is not None:
        properties.update(account=outcome.account, guards=", ".join(outcome.guards) or "none")
        if outcome.revision:
            properties["revision"] = outcome.revision
        if outcome.usage_error:
            raise UsageError(outcome.usage_error)
        if outcome.could_not_evaluate:
            raise CouldNotEvaluate(outcome.could_not_evaluate)
    with cancel.shielded():  # a cancel now waits for the reports of what ran
        where = {"settings": settings, "junit_path": junit_path, "run_dir": run_dir, "properties": properties}
        if outcome is not None and outcome.internal_error:
            return report_internal_stop(outcome.internal_error, args, **where)  # type: ignore[arg-type]
        if outcome is not None and outcome.stop_reason:
            return report_preflight_stop(outcome.stop_check, outcome.stop_reason, **where)  # type: ignore[arg-type]
        if stopped not in (None, "timeout") and (outcome is None or outcome.cancelled) and not junit_path.exists():
            # Cancelled during the preflight: said as a cancel before any check, as it always was.
            said = outcome.cancelled if outcome is not None else f"cancelled by {stopped}"
            reason = f"{said} before any check ran; nothing was evaluated and nothing was changed"
            return report_preflight_stop("run_cancelled", reason, **where)  # type: ignore[arg-type]
        return report_pytest_outcome(args, pytest_rc=pytest_rc, stopped=stopped, **where)  # type: ignore[arg-type]


def mark_whole_run(environ: dict[str, str], args: argparse.Namespace) -> None:
    """Say to the checks' process whether this run is every check (no -t, nothing after --): its host reads then
    go before pytest is imported (early_start.py). Never inherited: a narrowed run plans only its own reads."""
    environ.pop(WHOLE_RUN_VARIABLE, None)
    if not args.tests and not args.pytest_args:
        environ[WHOLE_RUN_VARIABLE] = "1"


# pytest's cache (pytest.ini turns it off for speed) for the options that need it.
CACHE_OPTIONS = ("--lf", "--last-failed", "--ff", "--failed-first", "--nf", "--new-first", "--sw", "--stepwise")


def _cache_plugin(pytest_args: list[str]) -> list[str]:
    return ["-p", "cacheprovider"] if any(a.split("=")[0] in CACHE_OPTIONS for a in pytest_args) else []


def _run_bounded(command: list[str], environ: dict[str, str], seconds: float) -> tuple[int, str | None]:
    """Run pytest; (its exit code, what stopped it: None, "timeout", or the signal that cancelled the run).

    pytest runs in its own process group. Past `seconds` it is interrupted as Ctrl-C would (it restores what a
    disruptive check changed, writes its report), and given a minute. A SIGTERM, SIGINT or SIGHUP to this
    command (GitLab's cancel, a person's Ctrl-C) is passed on to pytest's group (envtest/cancel.py), and
    pytest is given ENVTEST_CANCEL_GRACE seconds (default 8: GitLab kills the job 10 s after its SIGTERM) to
    restore and report. Whatever is left of the group after that is killed: nothing outlives the run.
    """
    import signal

    grace = float(environ.get("ENVTEST_CANCEL_GRACE", "8"))
    proc = subprocess.Popen(command, cwd=ROOT, env=environ, start_new_session=True)
    deadline = time.monotonic() + seconds
    stopped: str | None = None
    with cancel.forwarding_to(proc.pid):
        _ready_the_reports()
        while proc.returncode is None:
            if cancel.requested() and stopped is None:
                stopped = cancel.requested()
                _wait_or_kill(proc, grace)
            elif time.monotonic() >= deadline and stopped is None:
                stopped = "timeout"
                os.killpg(proc.pid, signal.SIGINT)
                _wait_or_kill(proc, 60)
            else:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=min(0.2, max(0.0, deadline - time.monotonic())))
        # A cancel sent to the whole group reaches pytest too, which may end before this loop looks again: what
        # stopped the run is still the cancel (seen: a cancel during the preflight reported "pytest was
        # interrupted").
        stopped = stopped or cancel.requested()
    if stopped:
        with contextlib.suppress(ProcessLookupError):  # a stray child of pytest's: nothing outlives the run
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, stopped


# What report_pytest_outcome imports when pytest is done (run_reports.py).
REPORT_MODULES = ("envtest.changes", "envtest.gather.endpoint_breaker", "envtest.report.html", "envtest.report.junit")


def _ready_the_reports() -> None:
    """The modules that write the reports, imported while pytest runs (this process only waits for it then): after
    pytest, their 0.05 s would be the run's (junitparser alone imports importlib.metadata)."""
    import importlib

    for name in REPORT_MODULES:
        importlib.import_module(name)


def _wait_or_kill(proc: subprocess.Popen[bytes], seconds: float) -> None:
    """Wait for pytest to finish for `seconds`, then kill its whole group."""
    import signal

    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
