"""Secrets registered once are replaced everywhere they could surface."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest import redact


def test_registered_secret_is_replaced_in_text_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    redact.register("tok-abcdef123456\n", "runner token")
    assert redact.redact("token=tok-abcdef123456;") == "token=<redacted:runner token>;"
    caplog.handler.addFilter(redact.RedactingFilter())
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("sending %s", "tok-abcdef123456")
    assert "tok-abcdef123456" not in caplog.text
    assert "<redacted:runner token>" in caplog.text


def test_short_values_are_not_registered() -> None:
    redact.register("abc", "tiny")
    assert redact.redact("abc") == "abc"


def test_secret_wrapper_never_prints_its_value() -> None:
    secret = redact.Secret("p4ssw0rd-value", "db")
    assert "p4ssw0rd" not in f"{secret}{secret!r}{[secret]}{ {'k': secret} }"
    assert secret.reveal() == "p4ssw0rd-value"


TOKEN = "glrt-Zq8xW2nVb7Kc4Lm9Pd3Rt6Yh"  # 30 characters, shaped like a runner token


@pytest.mark.parametrize(
    "cut",
    [
        f"token {TOKEN[:14]}...",  # a summary's first characters
        f"...{TOKEN[-13:]} in the output",  # an output's last characters
        f"{TOKEN[:12]}",  # exactly the fragment minimum
    ],
)
def test_a_secret_cut_short_keeps_neither_end(cut: str) -> None:
    redact.register(TOKEN, "runner token")
    cleaned = redact.redact(cut)
    assert "<redacted:runner token>" in cleaned
    assert TOKEN[:6] not in cleaned and TOKEN[-6:] not in cleaned, cleaned


def test_ordinary_text_and_short_fragments_are_left_alone() -> None:
    """Fewer characters than the minimum are kept: they are too common to be the secret, and too few to matter."""
    redact.register(TOKEN, "runner token")
    assert redact.fragment_minimum(len(TOKEN)) == 12
    text = f"glrt- tokens start so; {TOKEN[:11]}, {TOKEN[-11:]}"
    assert redact.redact(text) == text


def test_a_short_secret_is_redacted_whole_and_its_fragments_are_ordinary_words() -> None:
    """A secret under 12 characters is redacted only whole: its fragments are ordinary text. The sandbox's dummy
    session token "testing" once blanked "esting" in every "interesting" of a report."""
    redact.register("testing", "AWS_SESSION_TOKEN")
    assert redact.fragment_minimum(len("testing")) == len("testing")
    assert redact.redact("sandbox-idp-interesting-uris-success") == "sandbox-idp-interesting-uris-success"
    assert redact.redact("token=testing;") == "token=<redacted:AWS_SESSION_TOKEN>;"


def test_a_skip_reason_with_a_secret_stays_a_skip() -> None:
    """pytest's JUnit writer unpacks a skip's (path, line, reason): redaction keeps that shape."""
    redact.register(TOKEN, "runner token")
    longrepr = redact.redact_longrepr(("tests/test_x.py", 3, f"Skipped: no runner for {TOKEN}"))
    assert longrepr == ("tests/test_x.py", 3, "Skipped: no runner for <redacted:runner token>")
    assert redact.redact_longrepr("plain failure") == "plain failure"


def test_handlers_added_after_the_install_get_redacted_records() -> None:
    """pytest adds its log handlers per test, after the plugin installed redaction; records of any logger reach
    them redacted, their exceptions' text included."""
    previous = logging.getLogRecordFactory()
    secret = "late-handler-secret-0123456789"
    redact.register(secret, "late secret")
    try:
        redact.install_logging_filter()
        # A handler attached after the install, as pytest attaches its own; on a logger of its own, so that no
        # handler installed earlier (pytest's, for this self-test) touches the record first.
        parent = logging.getLogger("envtest.selftest.late")
        parent.propagate = False
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        parent.addHandler(handler)
        logger = logging.getLogger("envtest.selftest.late.child")
        logger.setLevel(logging.INFO)
        try:
            logger.warning("value %s", secret)
            try:
                raise RuntimeError(f"refused {secret}")
            except RuntimeError:
                logger.exception("it failed")
        finally:
            parent.removeHandler(handler)
    finally:
        logging.setLogRecordFactory(previous)
    written = stream.getvalue()
    assert "refused" in written and "it failed" in written
    assert secret[:6] not in written and written.count("<redacted:late secret>") == 2, written


@given(st.text(max_size=60), st.text(max_size=60), st.integers(12, len(TOKEN)), st.booleans())
def test_no_cut_of_a_registered_secret_survives(before: str, after: str, size: int, leading: bool) -> None:
    redact.register(TOKEN, "runner token")
    fragment = TOKEN[:size] if leading else TOKEN[-size:]
    cleaned = redact.redact(before + fragment + after)
    assert TOKEN[:12] not in cleaned and TOKEN[-12:] not in cleaned


def test_an_internal_errors_traceback_and_report_are_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug's traceback shows the exception's message, which may hold a value the run read."""
    import argparse

    from envtest.run_reports import report_internal_error
    from envtest.settings import Settings

    secret = "glpat-internalErrorSecret0123"
    redact.register(secret, "GitLab API token")
    try:
        raise RuntimeError(f"unexpected answer carrying {secret}")
    except RuntimeError as exc:
        code = report_internal_error(
            exc,
            argparse.Namespace(json_path=None),
            settings=Settings.from_environ({"ENV_NAME": "dev"}),
            junit_path=tmp_path / "junit.xml",
            run_dir=tmp_path,
            properties={"env": "dev"},
        )
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError" in err
    assert "internalErrorSecret" not in err + (tmp_path / "junit.xml").read_text()
