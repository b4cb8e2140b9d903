"""run_tests.sh installs from vendor_wheels/ and runs the whole sandbox with no network at all.

Runs inside a fresh network namespace (`unshare -n`, needs root) where only
loopback exists: a package index could not be reached even by mistake.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from selftests.conftest import base_environ

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def run_offline(script: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run a bash script in a new network namespace: loopback only, no way to an index."""
    done = subprocess.run(
        ["unshare", "-n", "bash", "-c", "set -e\nip link set lo up\n" + script],
        cwd=cwd,
        env=base_environ(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _can_unshare() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not _can_unshare(), reason="needs root, unshare and ip to make a network namespace")
def test_bootstrap_and_sandbox_run_with_no_network() -> None:
    venv = Path(tempfile.mkdtemp(prefix="envtest-offline-venv-"))
    script = f"""
# Proof that the namespace has no way out: nothing but loopback.
if ip -o link | grep -v ': lo:' | grep -q .; then echo 'unexpected interface'; exit 99; fi
export ENVTEST_VENV={venv}/venv
./run_tests.sh -h > /dev/null
./run_tests.sh --sandbox -j {venv}/junit.xml
"""
    try:
        done = run_offline(script)
        assert (venv / "venv" / ".envtest-stamp").is_file()
        assert " 0 failed" in done.stdout
    finally:
        shutil.rmtree(venv, ignore_errors=True)
