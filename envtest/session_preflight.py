"""The preflight at pytest's session start: the run's first AWS calls, in the process that makes all of them.

run_tests.sh (envtest/run.py) builds the run's environment and starts pytest with it as its real environment, so
the preflight, the checks and botocore read one environment, os.environ. The preflight runs in pytest's
`pytest_cmdline_main` (this module is a pytest plugin, loaded first by conftest.py), before the session: a stop
ends pytest with exit 2 before any check is collected or any worker started, and pytest prints nothing of its own.

Started by the command (ENVTEST_PREFLIGHT_OUTCOME names a file), pytest leaves the outcome there and says
nothing of a stop: the command reads it and reports the stop as it always has (run_reports.report_preflight_stop:
the message, JUnit, HTML, JSON). A plain `pytest` run says why it stopped itself.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from envtest import __version__, cancel, redact
from envtest.errors import CouldNotEvaluate, UsageError
from envtest.session_outcome import OUTCOME_VARIABLE, SessionOutcome, run_kind
from envtest.settings import Settings

if TYPE_CHECKING:
    from envtest.gather.aws import Aws
    from envtest.preflight import Outcome

# The preflight's clients, built beside the policy's loading: each takes tens of milliseconds to build (STS's is
# built first, alone: preflight.send_first_call).
PREFLIGHT_SERVICES = ("sts", "s3")


def revision_of(settings: Settings) -> str:
    """The revision the run's defaults come from, when the preflight stopped before it loaded the policy."""
    from envtest.policy import load_policy
    from envtest.preflight import describe_revision

    try:
        return describe_revision(load_policy(settings.env_name, settings.policy_dir, settings.policy_override))
    except UsageError:
        return "unknown (the policy does not load)"


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """The preflight, before the session: a stop ends pytest (exit 2) before any check or worker starts. Not in
    xdist's workers (their controller ran it), nor for --help or --version (nothing is run)."""
    if hasattr(config, "workerinput") or config.option.help or config.option.version:
        return None
    return preflight_at_session_start(whole_run=_whole_run(config))


# Options that run fewer checks than the whole suite: the session then plans only its own host reads.
NARROWING = ("keyword", "markexpr", "lf", "stepwise", "deselect")


def _whole_run(config: pytest.Config) -> bool:
    """Every check under tests/, as run_tests.sh runs them without -t or a narrowing option after --."""
    narrowed = any(getattr(config.option, name, None) for name in NARROWING)
    return not narrowed and [Path(a).resolve() for a in config.args] == [config.rootpath / "tests"]


def preflight_at_session_start(whole_run: bool = False) -> int | None:
    """Run the preflight; None to go on with the session, else pytest's exit code (2: nothing was evaluated)."""
    given = os.environ.get(OUTCOME_VARIABLE)
    # pytest_configure has not run yet: a cancel during the preflight stops it cleanly, and what it prints (a
    # traceback's frames, botocore's log) is redacted as the checks' is.
    cancel.install()
    redact.register_secrets_of(os.environ)
    redact.install_logging_filter()
    early = first = readied = found = None
    try:
        from envtest.early_start import EarlyHostReads, take_ahead
        from envtest.preflight import preflight_aws, send_first_call

        ahead = take_ahead()  # started before pytest was imported (pytest_main.py), or None
        try:
            if ahead is not None:
                settings, aws, first, readied = ahead.settings, ahead.aws, ahead.first, ahead.early
                found = ahead.preflight  # the preflight's outcome, when the run's start came to it
            else:
                settings = Settings.from_environ()
                aws = preflight_aws(settings)
                first = send_first_call(settings, aws)  # before the other threads: see send_first_call
            if whole_run:  # a narrowed run plans its own host reads in its session: what was readied goes unused
                early = readied or EarlyHostReads.begin(settings)
            outcome = _preflight(settings, aws, found.result() if found is not None else None)
        finally:
            for started in (early, readied):  # often the same one: joining twice is harmless
                if started is not None:
                    started.wait()
        if first is not None:
            # Answered already: the preflight waited for its answer. On a stop or a cancel it is left to end with
            # the process: it only waits on a socket (its client was built before it started, see send_first_call).
            first.join()
        if early is not None and not outcome.stop_reason:
            early.send()
    except UsageError as exc:
        return _stopped(given, SessionOutcome(usage_error=str(exc)), f"could not evaluate: {exc}")
    except CouldNotEvaluate as exc:
        return _stopped(given, SessionOutcome(could_not_evaluate=str(exc)), f"could not evaluate: {exc}")
    except KeyboardInterrupt as exc:  # a cancel (cancel.Cancelled), or the command's --timeout
        said = str(exc) or "cancelled"
        return _stopped(given, SessionOutcome(cancelled=said), f"{said} before any check ran")
    except Exception as exc:  # a bug or an unforeseen state: never a pass, never a bare traceback
        # A traceback shows the values in its frames' messages: a secret read before the bug goes no further.
        print(redact.redact(traceback.format_exc()), file=sys.stderr, end="")
        message = redact.redact(f"internal error, nothing could be evaluated: {type(exc).__name__}: {exc}")
        return _stopped(given, SessionOutcome(internal_error=message), message)
    if given:
        outcome.write(Path(given))
    if outcome.stop_reason:
        return _stopped(given, outcome, f"STOPPED before any check: {outcome.stop_reason}")
    return None


def _stopped(given: str | None, outcome: SessionOutcome, says: str) -> int:
    """Exit 2: the command reports the outcome it finds in its file; a plain pytest run says it here."""
    if given:
        outcome.write(Path(given))
    else:
        print(says, file=sys.stderr, flush=True)
    return 2


def _preflight(settings: Settings, aws: Aws, found: Outcome | None = None) -> SessionOutcome:
    """The preflight's outcome, said; `found`: the one the run's start had already come to (early_start.py)."""
    from envtest.preflight import preflight

    if found is None:
        builder = threading.Thread(target=lambda: [aws.client(s) for s in PREFLIGHT_SERVICES], daemon=True)
        builder.start()  # while the preflight loads the policy, before its first call needs them
        try:
            found = preflight(settings, aws)
        finally:
            # Joined on every way out: a daemon thread still building botocore clients while the interpreter shuts
            # down (a preflight that stops the run, a cancel) can crash it (seen once: exit -11, F20-account).
            builder.join()
    revision = found.revision or revision_of(settings)  # the policy's, loaded once by the preflight
    print(
        f"envtest {__version__}: env {settings.env_name}, region {settings.region}, "
        f"account {found.masked_account}, run kind {run_kind(os.environ)}, revision {revision}",
        flush=True,
    )
    for note in found.notes:
        print(f"note: {note}", flush=True)
    return SessionOutcome(
        account=found.masked_account,
        guards=found.guards,
        revision=revision,
        stop_check=found.stop_check,
        stop_reason=found.stop_reason,
        notes=found.notes,
    )
