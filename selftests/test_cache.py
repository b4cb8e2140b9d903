"""Gathered state is fetched once per run, across processes, errors included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from envtest.errors import CouldNotEvaluate
from envtest.gather import cache

WORKER = """
import sys, json, time
from pathlib import Path
sys.path.insert(0, {root!r})
from envtest.gather.cache import cached
run_dir, log = Path(sys.argv[1]), Path(sys.argv[2])
def fetch():
    with log.open("a") as f:
        f.write("fetched\\n")
    time.sleep(0.3)  # long enough for the other workers to arrive and wait
    return {{"when": "now"}}
print(json.dumps(cached(run_dir, "ec2.instances:i-1", fetch)))
"""


def test_concurrent_workers_fetch_once_and_see_the_same_value(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(root=str(Path(__file__).resolve().parents[1])))
    log = tmp_path / "fetches.log"
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "run"), str(log)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outputs = [json.loads(w.communicate(timeout=60)[0]) for w in workers]
    assert outputs == [{"when": "now"}] * 4
    assert log.read_text().count("fetched") == 1


def test_a_failed_fetch_is_shared_as_the_same_error(tmp_path: Path) -> None:
    calls = []

    def fetch() -> None:
        calls.append(1)
        raise CouldNotEvaluate("the endpoint did not answer")

    for _ in range(2):
        with pytest.raises(CouldNotEvaluate, match="did not answer"):
            cache.cached(tmp_path, "sts.caller_identity:err", fetch)
    cache.clear_memo()
    with pytest.raises(CouldNotEvaluate, match="did not answer"):
        cache.cached(tmp_path, "sts.caller_identity:err", fetch)
    assert len(calls) == 1


def test_values_round_trip_through_json_even_without_a_run_dir() -> None:
    import datetime

    value = cache.cached(None, "t:datetime", lambda: {"at": datetime.datetime(2026, 1, 2)})
    assert value == {"at": "2026-01-02 00:00:00"}
