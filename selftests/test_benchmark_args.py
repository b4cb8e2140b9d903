"""The benchmark's command line: help, and a clear usage error (no traceback, no sandbox) for a bad argument."""

from __future__ import annotations

import pytest

from benchmarks import run


@pytest.mark.parametrize(
    ("argv", "says"), [(["x"], "not a scale: x"), (["0"], "not a scale: 0"), (["--runs", "fast", "1"], "no mode fast")]
)
def test_a_bad_argument_is_a_usage_error(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and run.USAGE in err


def test_help_prints_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["--help"]) == 0
    assert "--latency aws" in capsys.readouterr().out
