"""The benchmarks' charts: drawn by matplotlib under the system's Python from the committed records."""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil
import struct
import sys
from pathlib import Path

import pytest

from benchmarks.record import CHARTS_PYTHON, draw_chart

ROOT = Path(__file__).resolve().parents[1]
RECORDS = sorted((ROOT / "benchmarks").glob("*.json"))


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", png[16:24])


def test_every_benchmark_page_shows_a_chart_drawn_from_its_record() -> None:
    assert {p.stem for p in RECORDS} == {"results", "latency", "hostile"}
    for record in RECORDS:
        page = record.with_suffix(".md").read_text()
        assert f"]({record.stem}.png)" in page and f"]({record.stem}.json)" in page, record.name
        assert json.loads(record.read_text())["benchmark"] in {"scale", "latency", "hostile"}


@pytest.mark.parametrize("record", RECORDS, ids=[p.stem for p in RECORDS])
def test_the_charts_program_draws_each_committed_record(record: Path, tmp_path: Path) -> None:
    if not Path(CHARTS_PYTHON).exists():
        pytest.fail(f"no {CHARTS_PYTHON}: scripts/install-system-deps.sh installs python3-matplotlib for it")
    copy = tmp_path / record.name
    shutil.copy(record, copy)
    assert draw_chart(copy), f"charts.py failed on {record.name} (see the output above)"
    drawn = copy.with_suffix(".png").read_bytes()
    width, height = _size(drawn)
    assert 900 <= width <= 1600 and 400 <= height <= 700, (width, height)
    # The committed chart is this program's drawing: the same size (its pixels may differ with matplotlib's version).
    assert _size(record.with_suffix(".png").read_bytes()) == (width, height), "redraw: benchmarks/charts.py"


def test_without_matplotlib_a_benchmark_says_how_to_install_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert importlib.util.find_spec("matplotlib") is None, "the venv has matplotlib: it must come from Debian"
    copy = tmp_path / "latency.json"
    shutil.copy(ROOT / "benchmarks" / "latency.json", copy)
    assert not draw_chart(copy, python=sys.executable)  # the venv's Python: no matplotlib
    said = capsys.readouterr().err
    assert "python3-matplotlib" in said and "scripts/install-system-deps.sh" in said, said
    assert "Traceback" not in said and not copy.with_suffix(".png").exists()
    assert not draw_chart(copy, python=str(tmp_path / "no-python3"))
    assert "python3-matplotlib" in capsys.readouterr().err


def test_the_charts_program_imports_nothing_of_the_project() -> None:
    """It runs under /usr/bin/python3, where neither the venv's packages nor the project's are importable."""
    tree = ast.parse((ROOT / "benchmarks" / "charts.py").read_text())
    names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert {name.split(".")[0] for name in names} <= {"__future__", "json", "sys", "pathlib", "typing", "matplotlib"}


def test_the_report_says_whether_the_calls_counted_grew_with_pages() -> None:
    from benchmarks.run import pages_sentence

    assert "pages of 5 items" in pages_sentence(5) and "grow with pages" in pages_sentence(5)
    # A record from before the sandbox paged (no page_size) says its calls could not grow with pages.
    assert "one page" in pages_sentence(None) and "one page" in pages_sentence(0)
