"""Checks compare gathered state with policy; they never reach AWS themselves."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The checks: tests/test_<area>.py, tests/<area>/test_<concern>.py, and what an area's files share.
CHECK_FILES = sorted((ROOT / "tests").rglob("*.py"))


def test_checks_never_import_boto_or_create_clients() -> None:
    offenders = []
    for path in CHECK_FILES:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in {"boto3", "botocore", "requests", "socket"} for n in names):
                    offenders.append(f"{path.name}:{node.lineno} imports {names}")
            if isinstance(node, ast.Attribute) and node.attr in {"client", "resource", "get_paginator"}:
                offenders.append(f"{path.name}:{node.lineno} uses .{node.attr}")
    assert offenders == []


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports under `if TYPE_CHECKING:` (annotations only: nothing runs)."""
    lines = set()
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            lines |= {n.lineno for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)}
    return lines


def test_checks_reach_gathered_state_only_through_fixtures() -> None:
    """A check imports no gather or host-access module (its types only under TYPE_CHECKING) and asks no fixture for the
    Inventory or the clients: what it compares is gathered by a fixture, read once, cached."""
    offenders = []
    for path in CHECK_FILES:
        tree = ast.parse(path.read_text(), filename=str(path))
        typing_only = _type_checking_only(tree)
        for node in ast.walk(tree):
            module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
            gather = module.startswith(("envtest.gather", "envtest.hosts"))
            if gather and node.lineno not in typing_only:
                offenders.append(f"{path.name}:{node.lineno} imports {node.module} at run time")
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                asked = {a.arg for a in node.args.args} & {"inventory", "aws"}
                if asked:
                    offenders.append(f"{path.name}:{node.lineno} {node.name} asks for {sorted(asked)}")
    assert offenders == []


def test_checks_and_fixtures_see_typed_state_not_aws_answers() -> None:
    """What a check is handed is a model (envtest/gather/services/), never an AWS answer dict: no check or fixture
    parameter or return is annotated dict[str, Any], the type a boto answer carries."""
    offenders = []
    for path in [*CHECK_FILES, *sorted((ROOT / "envtest" / "fixtures").glob("*.py"))]:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            is_fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
            if not (node.name.startswith("test_") or is_fixture):
                continue
            annotations = [a.annotation for a in node.args.args + node.args.kwonlyargs] + [node.returns]
            for annotation in filter(None, annotations):
                if "dict[str, Any]" in ast.unparse(annotation):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {ast.unparse(annotation)}")
    assert offenders == []


PRODUCT = [*sorted((ROOT / "envtest").rglob("*.py")), *CHECK_FILES, ROOT / "conftest.py"]
DOUBLE = sorted((ROOT / "envtest_double").rglob("*.py"))


def _imported(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, anywhere in it (inside functions too), with the line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, node.module), *((node.lineno, f"{node.module}.{a.name}") for a in node.names)]
    return found


def test_the_product_never_imports_the_test_double() -> None:
    """envtest/, the checks and conftest.py are what the env_test image ships and a real run imports: nothing of
    the sandbox, the fault table or the proof (envtest_double/) may be reached from them, at any depth."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in PRODUCT
        for line, name in _imported(path)
        if name.split(".")[0] == "envtest_double"
    ]
    assert offenders == []
    for text_file in (ROOT / "pytest.ini", ROOT / "conftest.py"):
        assert "envtest_double" not in text_file.read_text()


# The suite's judges: what decides whether the environment is right. The double must decide its own answers
# (S3 authorisation, the runner's image matching) by code of its own, or a wrong rule would agree with itself.
JUDGES = ("envtest.policy", "envtest.parsers", "envtest.gather.squid_judge.judge", "tests")


def test_the_double_never_borrows_the_suites_judges() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in DOUBLE
        for line, name in _imported(path)
        if any(name == judge or name.startswith(f"{judge}.") for judge in JUDGES)
    ]
    assert offenders == []


def test_the_layering_test_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    """The control: an import the runtime only reaches in a function is still found."""
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def titles():\n    from envtest_double.faults import FAULTS\n    return FAULTS\n")
    assert (2, "envtest_double.faults") in _imported(sneaky)
