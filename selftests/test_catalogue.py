"""The catalogue reads each check's faults from its marks, without running pytest's collection."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from envtest import catalogue

CHECK_FILE = '''
import pytest

@pytest.mark.catches("F1", "F2")
@pytest.mark.blinded_by("F16")
def test_one(x):
    """Proves one thing."""

@pytest.mark.catches("H2", case="a-b")
@pytest.mark.catches("H3", case="c-d")
@pytest.mark.parametrize("cell", [1, 2])
def test_cells(cell):
    pass

@pytest.mark.disruptive
@pytest.mark.proven_in("selftests/test_x.py")
def test_writes():
    pass

def helper():
    pass
'''


def _tests(tmp_path: Path, text: str) -> Path:
    (tmp_path / "test_area.py").write_text(text)
    return tmp_path


def test_marks_are_read_from_the_source(tmp_path: Path) -> None:
    tests = _tests(tmp_path, CHECK_FILE)
    found = catalogue.checks(tests)
    assert list(found) == ["test_one", "test_cells", "test_writes"]
    one = found["test_one"]
    assert (one.area, one.path, one.doc) == ("area", "test_area.py", "Proves one thing.")
    assert one.catches == (("F1", None), ("F2", None))
    assert one.blinded_by == ("F16",)
    assert catalogue.caught_by("F2", tests) == ("test_one",)
    assert catalogue.caught_by("H2", tests) == ("test_cells[a-b]",)
    assert catalogue.blinded_by("F16", tests) == ("test_one",)
    assert found["test_writes"].proven_in == "selftests/test_x.py"
    assert found["test_writes"].markers == ("disruptive", "proven_in")
    assert catalogue.fault_ids(tests) == {"F1", "F2", "F16", "H2", "H3"}


def test_an_area_split_by_concern_keeps_its_name(tmp_path: Path) -> None:
    """tests/<area>/test_<concern>.py: the directory names the area (severities and waivers by area hold), and
    a fault row's run takes the whole directory, as it took the whole file before the split."""
    (tmp_path / "network").mkdir()
    (tmp_path / "network" / "test_egress.py").write_text(
        'import pytest\n\n@pytest.mark.catches("F1")\ndef test_e():\n    pass\n'
    )
    (tmp_path / "test_runner.py").write_text("def test_r():\n    pass\n")
    found = catalogue.checks(tmp_path)
    assert [(c.name, c.area, c.path, c.area_path) for c in found.values()] == [
        ("test_e", "network", "network/test_egress.py", "network/"),
        ("test_r", "runner", "test_runner.py", "test_runner.py"),
    ]


@pytest.mark.parametrize(
    "decorator",
    ["@pytest.mark.catches(FAULT)", '@pytest.mark.catches("F1", case=CASE)', "@pytest.mark.catches"],
)
def test_a_mark_it_cannot_read_is_an_error_not_an_empty_list(tmp_path: Path, decorator: str) -> None:
    tests = _tests(tmp_path, f"import pytest\n\n{decorator}\ndef test_x():\n    pass\n")
    with pytest.raises(catalogue.CatalogueError, match="test_x"):
        catalogue.checks(tests)


def test_the_catalogue_agrees_with_the_marks_pytest_sees() -> None:
    """The same marks, read by importing each check module: what pytest would attach to the test items."""
    checks = catalogue.checks()
    assert len(checks) > 50
    for path in sorted(catalogue.TESTS.rglob("test_*.py")):
        relative = path.relative_to(catalogue.TESTS).as_posix()
        module = importlib.import_module("tests." + relative.removesuffix(".py").replace("/", "."))
        for check in (c for c in checks.values() if c.path == relative):
            marks = getattr(module, check.name).pytestmark
            # A mark's argument is "F1" or "F1: its title": the fault is what comes before ": ".
            seen = [(f.partition(": ")[0], m.kwargs.get("case")) for m in marks if m.name == "catches" for f in m.args]
            assert sorted(seen, key=str) == sorted(check.catches, key=str), check.name
            assert sorted(f for m in marks if m.name == "blinded_by" for f in m.args) == sorted(check.blinded_by)
            assert sorted(m.name for m in marks) == sorted(check.markers), check.name


# test_* words in the prose that are not checks: the era-2 pipeline's GitLab job (.gitlab-ci.yml in
# identity-devops), and the placeholder the README's self-test example uses.
NOT_CHECKS = {"test_unallowed_image", "test_x"}


def test_every_check_the_prose_names_exists() -> None:
    """The README, docs and policy name checks by hand (docs/checks.md is generated and held apart): a renamed or
    removed check fails here, instead of leaving the prose pointing at nothing."""
    checks = catalogue.checks()
    modules = {p.stem for p in [*catalogue.TESTS.rglob("test_*.py"), *(catalogue.ROOT / "selftests").glob("test_*.py")]}
    prose = [
        catalogue.ROOT / "README.md",
        *(catalogue.ROOT / "docs").glob("*.md"),
        *(catalogue.ROOT / "policy").rglob("*.toml"),
    ]
    unknown = sorted(
        f"{path.relative_to(catalogue.ROOT)}: {word}"
        for path in prose
        if path.name != "checks.md"
        for word in set(re.findall(r"\btest_[a-z0-9_]+\b", path.read_text()))
        if word not in checks and word not in modules and word not in NOT_CHECKS
    )
    assert unknown == []


def test_each_caught_fault_is_titled_once_by_a_catching_check() -> None:
    """--explain's fault titles come from the checks' own marks ("F1: what is wrong"), one place per fault, and the
    test double's fault table takes them from there rather than keeping its own."""
    from envtest_double.faults import FAULTS

    titles = catalogue.fault_titles()
    caught = {f for c in catalogue.checks().values() for f, _ in c.catches}
    assert set(titles) == caught
    for fault in FAULTS.values():
        assert (fault.id in caught) == (not fault.own_title), f"{fault.id}: a title in the mark or in the row, not both"
        assert fault.title == titles.get(fault.id, fault.own_title)


def test_a_fault_titled_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "import pytest\n\n"
        '@pytest.mark.catches("F1: one title")\ndef test_a():\n    """A."""\n\n'
        '@pytest.mark.catches("F1: another title")\ndef test_b():\n    """B."""\n'
    )
    with pytest.raises(catalogue.CatalogueError, match="F1 is already titled by test_a"):
        catalogue.fault_titles(tmp_path)
