"""Where a run writes its reports (-j, and --json): never through a symbolic link, never one report over another.

`_run` (preflight, pytest, the reports) is replaced by a double that writes where a run writes, so these tests
need no AWS and run in milliseconds; what they hold is the command's refusal before any of that starts.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from envtest import run as run_module
from envtest.cli import main


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The JUnit paths the run's double was asked to write (it writes the run's three files there)."""
    asked: list[Path] = []

    def double(args: argparse.Namespace, *, junit_path: Path, **_: Any) -> int:
        asked.append(junit_path)
        for path in (junit_path, junit_path.with_suffix(".html"), junit_path.with_suffix(".api-calls.json")):
            path.write_text("written by the run\n")
        return 0

    monkeypatch.setattr(run_module, "_run", double)
    monkeypatch.setattr(run_module, "write_json", lambda path, *a, **k: Path(path).write_text("{}\n"))
    return asked


def test_the_junit_path_is_not_the_summary_written_beside_it(
    tmp_path: Path, runs: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """-j x.html: the summary, written beside the JUnit file as <name>.html, would be written over it."""
    assert main(["sandbox", "-j", str(tmp_path / "junit.html")]) == 2
    assert "is also where the run writes" in capsys.readouterr().err
    assert runs == []


@pytest.mark.parametrize("beside", [".xml", ".html", ".api-calls.json"])
def test_a_report_is_never_written_through_a_symbolic_link(
    tmp_path: Path, runs: list[Path], beside: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("not the run's\n")
    (tmp_path / "junit.xml").with_suffix(beside).symlink_to(target)
    assert main(["sandbox", "-j", str(tmp_path / "junit.xml")]) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert target.read_text() == "not the run's\n" and runs == []


def test_the_json_results_go_neither_through_a_link_nor_over_another_report(
    tmp_path: Path, runs: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("not the run's\n")
    (tmp_path / "results.json").symlink_to(target)
    junit = str(tmp_path / "junit.xml")
    assert main(["sandbox", "-j", junit, "--json", str(tmp_path / "results.json")]) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert main(["sandbox", "-j", junit, "--json", str(tmp_path / "junit.html")]) == 2
    assert "is also where the run writes" in capsys.readouterr().err
    assert target.read_text() == "not the run's\n" and runs == []


def test_plain_paths_are_written(tmp_path: Path, runs: list[Path]) -> None:
    """The control: the double does write, so the refusals above are the command's."""
    assert main(["sandbox", "-j", str(tmp_path / "junit.xml"), "--json", str(tmp_path / "results.json")]) == 0
    assert runs == [tmp_path / "junit.xml"] and (tmp_path / "results.json").read_text() == "{}\n"
