"""The planned host reads' script and frames: run by a real POSIX sh, its framed answer parsed back.

`compose` writes the script SSM runs; here dash (Debian's /bin/sh, as on the
instances) runs it, so the framing, the parallel reads, their time bounds and
the output budget are exercised as written, not as imagined.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest.hosts.frames import command_read, compose, file_read, parse_frames

SH = shutil.which("dash") or "/bin/sh"


def run_script(script: str) -> str:
    done = subprocess.run([SH, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_each_read_comes_back_in_its_own_frame(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_bytes(b"concurrent = 1\n\x00binary\n")
    reads = [
        file_read("r", str(tmp_path / "config.toml")),
        command_read("r", "echo out; echo err >&2; exit 3"),
        file_read("r", str(tmp_path / "missing")),
    ]
    frames = parse_frames(run_script(compose(reads, "n0nce")), len(reads), "n0nce")
    assert frames[0].exit_code == 0 and frames[0].stdout == b"concurrent = 1\n\x00binary\n"
    assert (frames[1].exit_code, frames[1].stdout, frames[1].stderr) == (3, b"out\n", "err\n")
    # One read failing is that read's answer, not every read's.
    assert frames[2].exit_code == 2 and "no such readable file" in frames[2].stderr


def test_reads_run_in_parallel_and_each_is_bounded() -> None:
    reads = [
        command_read("r", "sleep 1; echo a"),
        command_read("r", "sleep 1; echo b"),
        command_read("r", "sleep 30", 1),
    ]
    started = time.monotonic()
    frames = parse_frames(run_script(compose(reads, "x")), 3, "x")
    elapsed = time.monotonic() - started
    assert frames[0].stdout == b"a\n" and frames[1].stdout == b"b\n"
    assert frames[2].exit_code == 124  # timeout(1)'s code: the read's own bound, not the whole command's
    assert elapsed < 2.5, f"the reads ran one after another ({elapsed:.1f} s)"


def test_what_does_not_fit_the_answer_is_deferred_not_cut(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(os.urandom(30_000))  # incompressible
    reads = [command_read("r", "echo small"), file_read("r", str(tmp_path / "big"))]
    text = run_script(compose(reads, "b", budget=2000))
    assert len(text) < 2300
    frames = parse_frames(text, 2, "b")
    assert frames[0].stdout == b"small\n"
    assert frames[1].exit_code == 0 and frames[1].stdout is None  # fetched on its own, in chunks


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.rsplit("@envtest-end", 1)[0], "cut short"),
        (lambda t: t.replace("@envtest-begin x 2", "@envtest-begin y 2"), "does not start"),
        (lambda t: "\n".join(line for line in t.splitlines() if not line.startswith("@envtest-item 1")), "no frame"),
        (lambda t: t.replace("@envtest-item 0 0 z", "@envtest-item 0 0 q"), "not 'z' or '-'"),
        (lambda t: t.replace("@envtest-item 0 0 z", "@envtest-item 0 0 z!!"), "does not decode"),
    ],
)
def test_an_answer_that_is_not_whole_is_an_error(mutate: object, message: str) -> None:
    text = run_script(compose([command_read("r", "echo a"), command_read("r", "echo b")], "x"))
    with pytest.raises(ValueError, match=message):
        parse_frames(mutate(text), 2, "x")  # type: ignore[operator]


@given(st.text(max_size=400))
def test_any_answer_parses_or_is_a_clear_error(text: str) -> None:
    try:
        frames = parse_frames(text, 2, "x")
    except ValueError:
        return
    assert set(frames) == {0, 1}
