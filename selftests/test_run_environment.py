"""The run's environment (-f, -v, the flags) reaches the preflight as an argument; os.environ never changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envtest.cli import main
from envtest.gather.aws import Aws
from envtest.preflight import Outcome
from envtest.settings import Settings


def test_the_preflight_sees_the_runs_variables_while_os_environ_stays_the_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")  # the caller's: -v must win for the run
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDCALLER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "caller")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SSM", raising=False)
    (tmp_path / "vars").write_text("AWS_ENDPOINT_URL_SSM=http://127.0.0.1:3\nENVTEST_PREFLIGHT_READ_TIMEOUT=4\n")
    before = dict(os.environ)
    seen: dict[str, object] = {}

    def preflight(settings: Settings, aws: Aws) -> Outcome:
        seen["environ unchanged"] = dict(os.environ) == before
        seen["sts"] = aws.client("sts").meta.endpoint_url
        seen["ssm"] = aws.client("ssm").meta.endpoint_url
        seen["key"] = aws._session.get_credentials().access_key
        seen["read timeout"] = aws.client("sts").meta.config.read_timeout
        seen["run dir"] = settings.run_dir is not None and settings.run_dir.is_dir()
        return Outcome("unknown", "wrong_environment", "stopped by the self-test")

    monkeypatch.setattr("envtest.preflight.preflight", preflight)
    code = main(
        [
            "sandbox",
            "-j",
            str(tmp_path / "junit.xml"),
            "-f",
            str(tmp_path / "vars"),
            "-v",
            "AWS_ENDPOINT_URL=http://127.0.0.1:1",
            "-v",
            "AWS_ACCESS_KEY_ID=AKIDRUN",
        ]
    )
    assert code == 2 and "stopped by the self-test" in (tmp_path / "junit.xml").read_text()
    assert seen == {
        "environ unchanged": True,
        "sts": "http://127.0.0.1:1",
        "ssm": "http://127.0.0.1:3",
        "key": "AKIDRUN",
        "read timeout": 4.0,
        "run dir": True,
    }
    assert dict(os.environ) == before
