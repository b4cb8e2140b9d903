"""What the env_test image holds: the product, never the test double, and enough to run the suite.

The tree is built from docker/env_test.Dockerfile's own COPY lines (selftests/test_image_install.image_tree), so a
Dockerfile that copied the double, or forgot a file the product needs, fails here. No Docker engine is needed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from selftests.test_image_install import dockerfile_compileall, image_tree

# Importing the package list below runs every product module's top level in the image's tree.
IMPORT_ALL = """
import importlib, pkgutil, sys
import envtest
names = [m.name for m in pkgutil.walk_packages(envtest.__path__, "envtest.") if m.name != "envtest.__main__"]
for name in names:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in {"envtest_double", "selftests", "benchmarks"})
print(len(names), "modules;", "leaked:", leaked)
"""


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return image_tree(tmp_path_factory.mktemp("image"))


def test_the_image_holds_no_test_double(image: Path) -> None:
    top = sorted(p.name for p in image.iterdir())
    assert "envtest" in top and "tests" in top and "policy" in top
    assert not {"envtest_double", "selftests", "benchmarks", "vendor_wheels"} & set(top), top
    assert not list(image.rglob("moto*")), "nothing of moto in the image"


def test_every_product_module_imports_from_the_image_alone(image: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(image)!r})\n{IMPORT_ALL}"],
        cwd=image,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("leaked: []"), done.stdout


def test_the_images_command_lists_the_checks_and_refuses_the_development_modes(image: Path) -> None:
    env = {"ENVTEST_PYTHON": sys.executable, "PATH": "/usr/bin:/bin", "HOME": str(image)}
    listed = subprocess.run(
        [str(image / "run_tests.sh"), "--list"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert listed.returncode == 0, listed.stderr
    assert " checks. run_tests.sh --explain CHECK" in listed.stdout
    helped = subprocess.run(
        [str(image / "run_tests.sh"), "-h"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert helped.returncode == 0 and "--merge-junit" in helped.stdout and "--sandbox" not in helped.stdout
    sandbox = subprocess.run(
        [str(image / "run_tests.sh"), "--sandbox"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert sandbox.returncode == 2
    assert "has no envtest_double/" in sandbox.stderr and "Traceback" not in sandbox.stderr


def test_the_image_ships_bytecode_python_will_use_for_every_product_module(tmp_path: Path) -> None:
    """The image runs with PYTHONDONTWRITEBYTECODE and never keeps what a run compiles: the Dockerfile's compileall
    step must leave, beside every module of envtest/, bytecode whose header matches its source as Python checks it
    (magic number, then the source's mtime and size, PEP 552), or every run compiles the product again."""
    import importlib.util
    import struct

    image = image_tree(tmp_path / "image")
    subprocess.run([sys.executable, "-m", "compileall", *dockerfile_compileall()], cwd=image, check=True, timeout=120)
    sources = sorted((image / "envtest").rglob("*.py"))
    assert len(sources) > 50
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        assert cached.is_file(), f"no bytecode for {source.relative_to(image)}"
        header = cached.read_bytes()[:16]
        flags, mtime, size = struct.unpack("<3I", header[4:16])
        stat = source.stat()
        assert header[:4] == importlib.util.MAGIC_NUMBER and flags == 0, source
        assert (mtime, size) == (int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF), source
