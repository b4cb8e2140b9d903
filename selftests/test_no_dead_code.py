"""No function or class of the product, the test double or the benchmarks is defined and never named again.

Dead code reads as if it mattered: a reviewer checks it, a fix is made in it, and nothing runs it (issue 22 found
explain._caught; seen failing on it). A name counts as used when it
appears anywhere else in the repository's Python or scripts, so a function handed over by name (a table, a hook)
is used; pytest's own entry points (fixtures, hooks, tests) are called by pytest, and methods by their callers'
protocols (socketserver's get_request), so only module-level functions and classes are held to it.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("envtest", "envtest_double", "benchmarks")
# Where a name may be used besides Python: the scripts that call into the packages.
SCRIPTS = ("run_tests.sh", ".ci/run", "tox.ini", "pyproject.toml")


def _called_by_pytest(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    if node.name.startswith(("test_", "pytest_")):
        return True
    return any("fixture" in ast.unparse(d) or "hookimpl" in ast.unparse(d) for d in node.decorator_list)


def definitions(source: str) -> list[str]:
    """The module-level functions and classes a module defines, less those pytest calls by itself."""
    return [
        node.name
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and not _called_by_pytest(node)
    ]


def unused(defined: dict[Path, list[str]], texts: list[str]) -> list[str]:
    """`path: name` for each definition its name appears nowhere else for (its own `def` is the one mention)."""
    words: Counter[str] = Counter()
    for text in texts:
        words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    return [f"{path}: {name}" for path, names in defined.items() for name in names if words[name] <= 1]


def _python_files() -> list[Path]:
    skip = {".venv", ".tox", "vendor_wheels", "node_modules", ".git"}
    return [p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts)]


def test_every_function_and_class_is_named_somewhere_else() -> None:
    files = _python_files()
    defined = {
        path.relative_to(ROOT): definitions(path.read_text(encoding="utf-8"))
        for path in files
        if path.relative_to(ROOT).parts[0] in PACKAGES
    }
    texts = [p.read_text(encoding="utf-8") for p in files]
    texts += [(ROOT / s).read_text(encoding="utf-8") for s in SCRIPTS if (ROOT / s).is_file()]
    dead = unused(defined, texts)
    assert not dead, "defined and never named again (delete it, or use it):\n" + "\n".join(dead)


def test_a_function_nothing_names_is_found() -> None:
    """The control: the finder sees a dead function, and not one that a table or another module names."""
    module = "def used() -> int:\n    return 1\n\n\ndef dead() -> int:\n    return 2\n\n\nTABLE = {'x': used}\n"
    caller = "from m import used\n"
    fixture = "import pytest\n\n\n@pytest.fixture\ndef served() -> int:\n    return 3\n"
    defined = {Path("m.py"): definitions(module), Path("f.py"): definitions(fixture)}
    assert unused(defined, [module, caller, fixture]) == ["m.py: dead"]
