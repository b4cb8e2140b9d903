"""A run's reports: pytest's outcome turned into the run's verdict, the JUnit file finished, the HTML summary,
the JSON results and the AWS calls per operation.

envtest/run.py starts pytest (which runs the preflight first); this module writes what they found.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from envtest.errors import UsageError
from envtest.settings import Settings

if TYPE_CHECKING:
    from envtest.report.junit import Summary


def report_pytest_outcome(
    args: argparse.Namespace,
    *,
    pytest_rc: int,
    stopped: str | None,
    settings: Settings,
    junit_path: Path,
    run_dir: Path,
    properties: dict[str, str],
) -> int:
    """After pytest: the calls recorded, the JUnit file finished (or replaced by why there is no verdict), the
    summary printed; the run's exit code. `stopped`: "timeout", or the signal that cancelled the run."""
    from envtest import changes
    from envtest.gather.endpoint_breaker import endpoint_down_reason
    from envtest.report import html, junit

    properties["api_calls"] = str(api_call_total(run_dir))
    write_call_breakdown(run_dir, junit_path)
    made = changes.read(run_dir)
    if made:  # what disruptive checks changed, and whether each was put back: in every report
        properties["changes"] = "; ".join(c.describe() for c in made)
    if stopped and junit_path.exists():
        # What ran keeps its verdict; the run as a whole has none.
        junit.finalize(junit_path, properties)
        message = _stop_message(args, stopped, run_dir)
        junit.add_stop(junit_path, "run_timeout" if stopped == "timeout" else "run_cancelled", message)
        report_changes(junit_path, run_dir)
        html.write_beside(junit_path, f"Environment tests: {settings.env_name}")
        print(f"\nSTOPPED (exit 2): {message}", file=sys.stderr)
        print(f"JUnit: {junit_path}")
        return 2
    asked = " ".join([*(f"-t {t}" for t in args.tests), *(["--", *args.pytest_args] if args.pytest_args else [])])
    stop = {
        5: f"no check matches {asked!r}" if asked else "no check was collected",
        2: "pytest was interrupted",
        3: "pytest hit an internal error",
        4: "pytest was called wrongly",
    }.get(pytest_rc)
    if stop is None and not junit_path.exists():
        stop = f"pytest stopped with exit code {pytest_rc} before writing a report"
    if stopped:  # stopped before it wrote anything
        stop = _stop_message(args, stopped, run_dir) + " pytest stopped before it wrote a report."
    if stop:
        # Whatever ran before the stop is not a verdict on the environment.
        junit.preflight_failure(junit_path, "pytest", stop, properties)
        report_changes(junit_path, run_dir)
        html_path = html.write_beside(junit_path, f"Environment tests: {settings.env_name}")
        print(f"\nSTOPPED (exit 2): {stop}", file=sys.stderr)
        print(f"JUnit: {junit_path}  summary: {html_path}")
        return 2
    summary = junit.finalize(junit_path, properties)
    summary = report_changes(junit_path, run_dir) or summary
    html_path = html.write_beside(junit_path, f"Environment tests: {settings.env_name}")
    code = junit.exit_code(summary)
    down = endpoint_down_reason(run_dir)
    if down:
        # A run that lost AWS midway could not evaluate what it did not read: never green, never "just failed".
        print(f"\nSTOPPED (exit 2): {down}; the checks that needed it could not be evaluated", file=sys.stderr)
        code = 2
    print(
        f"\n{summary.passed} passed, {summary.failed} failed, {summary.errors} could not be evaluated, "
        f"{summary.skipped} skipped{f' ({summary.waived} waived)' if summary.waived else ''}; "
        f"{properties['api_calls']} AWS API calls"
    )
    table = junit.failure_table(summary)
    if table:
        print("\nWhat to fix:\n" + table)
    print(f"JUnit: {junit_path}  summary: {html_path}  (exit {code})")
    return code


def _stop_message(args: argparse.Namespace, stopped: str, run_dir: Path) -> str:
    from envtest import changes

    if stopped == "timeout":
        message = (
            f"the run was stopped after --timeout {float(args.run_timeout):g} s; the checks reported ran, the "
            "rest did not: raise --timeout, or find the slow check in this report."
        )
    else:
        message = f"the run was cancelled ({stopped}); the checks reported ran, the rest did not."
    restored = [c.describe() for c in changes.read(run_dir) if c.state == changes.RESTORED]
    return message + (f" Put back before stopping: {'; '.join(restored)}." if restored else "")


def report_changes(junit_path: Path, run_dir: Path) -> Summary | None:
    """What disruptive checks changed, printed; one error in the report if any of it was not put back.

    Returns the report's new summary when it added the error, else None.
    """
    from envtest import changes
    from envtest.report import junit

    made = changes.read(run_dir)
    if not made:
        return None
    print("\nChanges made by disruptive checks:")
    for change in made:
        print(f"  {change.describe()}")
    left = [c for c in made if c.state != changes.RESTORED]
    if not left:
        return None
    message = "; ".join(c.describe() for c in left)
    print(f"\nNOT PUT BACK: {message}", file=sys.stderr)
    return junit.add_stop(junit_path, "run_changes_restored", message)


def _stop_reports(
    check: str, message: str, *, settings: Settings, junit_path: Path, run_dir: Path, properties: dict[str, str]
) -> Path:
    """A run stopped before any check: JUnit with `check` as its one error, and the HTML beside it."""
    from envtest.report import html, junit

    properties["api_calls"] = str(api_call_total(run_dir))
    junit.preflight_failure(junit_path, check, message, properties)
    return html.write_beside(junit_path, f"Environment tests: {settings.env_name}")


def report_preflight_stop(
    stop_check: str,
    stop_reason: str,
    *,
    settings: Settings,
    junit_path: Path,
    run_dir: Path,
    properties: dict[str, str],
) -> int:
    """The preflight stopped the run before any check: the report says why; exit 2."""
    html_path = _stop_reports(stop_check, stop_reason, settings=settings, junit_path=junit_path, run_dir=run_dir,
                              properties=properties)  # fmt: skip
    print(f"\nSTOPPED before any check (exit 2): {stop_reason}", file=sys.stderr)
    print(f"JUnit: {junit_path}  summary: {html_path}")
    return 2


def report_internal_error(
    exc: Exception,
    args: argparse.Namespace,
    *,
    settings: Settings,
    junit_path: Path,
    run_dir: Path,
    properties: dict[str, str],
) -> int:
    """A bug or an unforeseen state: never a pass, never a bare traceback exit 1."""
    import traceback

    from envtest import redact

    # A traceback shows the values in its frames' messages: a secret read before the bug goes no further.
    print(redact.redact(traceback.format_exc()), file=sys.stderr, end="")
    message = redact.redact(f"internal error, nothing could be evaluated: {type(exc).__name__}: {exc}")
    return report_internal_stop(
        message, args, settings=settings, junit_path=junit_path, run_dir=run_dir, properties=properties
    )


def report_internal_stop(
    message: str,
    args: argparse.Namespace,
    *,
    settings: Settings,
    junit_path: Path,
    run_dir: Path,
    properties: dict[str, str],
) -> int:
    """The reports of an internal error (already redacted, its traceback printed where it happened); exit 2."""
    _stop_reports("internal_error", message, settings=settings, junit_path=junit_path, run_dir=run_dir,
                  properties=properties)  # fmt: skip
    if args.json_path:
        write_json(Path(args.json_path), junit_path, run_dir, code=2, properties=properties, settings=settings)
    print(f"\nSTOPPED (exit 2): {message}", file=sys.stderr)
    return 2


def write_json(
    path: Path, junit_path: Path, run_dir: Path, *, code: int, properties: dict[str, str], settings: Settings
) -> None:
    from envtest.policy import load_policy
    from envtest.report import json_report

    try:
        severity = load_policy(settings.env_name, settings.policy_dir, settings.policy_override).section("severity")
    except UsageError:
        severity = {}
    path = path if path.is_absolute() else Path.cwd() / path
    json_report.write(path, json_report.build(junit_path, run_dir, code, properties, severity))
    print(f"JSON: {path}")


def write_call_breakdown(run_dir: Path, junit_path: Path) -> None:
    """Calls per operation, beside the JUnit file (what the IAM policy must allow, what a benchmark counts)."""
    import json

    from envtest.gather.aws_calls import (
        read_api_seconds,
        read_api_seconds_by_operation,
        read_call_counts,
        read_s3_resources,
    )

    counted = (run_dir / "api-calls").exists()
    by_operation = read_api_seconds_by_operation(run_dir) if counted else {}
    record = {
        "calls": dict(sorted((read_call_counts(run_dir) if counted else {}).items())),
        # Seconds inside AWS calls, added up over threads and processes (parallel calls each count).
        "api_seconds": round(read_api_seconds(run_dir), 3) if counted else 0.0,
        "api_seconds_by_operation": {op: round(s, 3) for op, s in sorted(by_operation.items())},
        # Bucket and object names only (never content): what the IAM policy's S3 resources must cover.
        "s3_resources": read_s3_resources(run_dir) if counted else [],
    }
    junit_path.with_suffix(".api-calls.json").write_text(json.dumps(record, indent=2) + "\n")


def api_call_total(run_dir: Path) -> int:
    """The AWS calls every process of the run made, added up."""
    from envtest.gather.aws_calls import read_call_counts

    return sum(read_call_counts(run_dir).values()) if (run_dir / "api-calls").exists() else 0
