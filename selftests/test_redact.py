"""Secrets registered once are replaced everywhere they could surface."""

from __future__ import annotations

import logging

import pytest

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
