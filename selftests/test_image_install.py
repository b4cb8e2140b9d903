"""The env_test image's install steps, run for real with no network (no Docker engine here).

The pip command is read from docker/env_test.Dockerfile itself, so the test
follows the Dockerfile; it runs in a fresh virtualenv inside a network
namespace with only loopback. Then the suite runs from that virtualenv
against a sandbox: the image's runtime dependencies are enough for a run.
"""

from __future__ import annotations

import re
import shlex
import shutil
import tempfile
from pathlib import Path

import pytest

from selftests.test_offline_bootstrap import _can_unshare, run_offline

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def image_tree(target: Path) -> Path:
    """Only what the Dockerfile COPYs, at the paths it gives them: a file it forgets is missing here too."""
    for line in (ROOT / "docker" / "env_test.Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] != ["COPY"] or any(w.startswith("--") for w in words):
            continue
        *sources, dest = words[1:]
        for source in sources:
            origin = ROOT / source.rstrip("/")
            if origin.is_dir():  # docker copies a directory's contents into the destination
                shutil.copytree(origin, target / dest, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
                continue
            into_dir = dest.endswith("/") or len(sources) > 1
            place = target / dest / origin.name if into_dir else target / dest
            place.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, place)
    return target


def dockerfile_pip_install() -> list[str]:
    text = (ROOT / "docker" / "env_test.Dockerfile").read_text()
    match = re.search(r"/opt/envtest/venv/bin/pip install ([^\n&\\]+)", text)
    assert match, "the Dockerfile has no pip install into /opt/envtest/venv"
    args = shlex.split(match.group(1))
    assert "--no-index" in args and "--require-hashes" in args
    return [a.replace("/tmp/vendor_wheels", str(ROOT / "vendor_wheels")) for a in args]


def dockerfile_compileall() -> list[str]:
    """The arguments of the Dockerfile's bytecode step (python -m compileall ...), run from /opt/envtest."""
    text = (ROOT / "docker" / "env_test.Dockerfile").read_text()
    match = re.search(r"^RUN /opt/envtest/venv/bin/python -m compileall ([^\n&\\]+)$", text, re.MULTILINE)
    assert match, "the Dockerfile compiles no bytecode for the product"
    return shlex.split(match.group(1))


@pytest.mark.skipif(not _can_unshare(), reason="needs root, unshare and ip to make a network namespace")
def test_the_image_installs_offline_and_runs_the_suite() -> None:
    work = Path(tempfile.mkdtemp(prefix="envtest-image-"))
    work.chmod(0o755)
    install = " ".join(shlex.quote(a) for a in dockerfile_pip_install())
    image = image_tree(work / "image")
    repo = shlex.quote(str(ROOT))
    script = f"""
cd {image}
python3 -m venv {work}/venv
PIP_CONFIG_FILE=/dev/null {work}/venv/bin/pip install --quiet {install}
{work}/venv/bin/python -m compileall {" ".join(shlex.quote(a) for a in dockerfile_compileall())}
ENVTEST_PYTHON={work}/venv/bin/python ./run_tests.sh -h > /dev/null
{repo}/run_tests.sh --sandbox-up {work}/sb > /dev/null
trap '{repo}/run_tests.sh --sandbox-down {work}/sb > /dev/null' EXIT
. {work}/sb/env.sh
# The checks run from the image's tree alone, with the image's interpreter.
ENVTEST_PYTHON={work}/venv/bin/python ./run_tests.sh "$ENV_NAME" -j {work}/junit.xml
"""
    try:
        done = run_offline(script)
        assert " 0 failed" in done.stdout
        # The image has the runtime lock only: no sandbox or test tooling inside.
        site = next((work / "venv" / "lib").glob("python3*/site-packages"))
        assert not (site / "moto").exists() and not (site / "hypothesis").exists()
    finally:
        shutil.rmtree(work, ignore_errors=True)
