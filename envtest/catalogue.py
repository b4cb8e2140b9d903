"""The checks as the source declares them: read from tests/ without importing or running anything.

Each check (a `test_*` function in `tests/test_<area>.py`, or `tests/<area>/test_<concern>.py`) carries
beside it the faults it exists to catch (`@pytest.mark.catches("F1", ...)`, with `case=` for one
parametrized case), the faults under which it can only report "could not evaluate"
(`@pytest.mark.blinded_by(...)`), and, for a check whose fault is seeded outside the fault table, the
self-test that proves it (`@pytest.mark.proven_in(path)`), and, for a check that changes something outside AWS,
what it changes (`@pytest.mark.active_probe("plays or retries a GitLab job")`, envtest/active_probes.py). The
fault table, the self-tests and `--prove` build their lists from here, so a check's name is written once: in its
own file.
This needs no credentials and no pytest collection (which would run the preflight).
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
MARKS = ("catches", "blinded_by", "proven_in", "active_probe")


@dataclass(frozen=True)
class Check:
    name: str
    area: str  # the file's name without test_ and .py; for a file in tests/<area>/, that directory's name
    path: str  # relative to tests/
    doc: str
    catches: tuple[tuple[str, str | None], ...]  # (fault id, parametrized case or None)
    blinded_by: tuple[str, ...]
    proven_in: str | None
    markers: tuple[str, ...]  # every pytest mark named on it (disruptive, parametrize, ...)
    active: str | None = None  # an active probe: what it changes outside AWS
    fixtures: tuple[str, ...] = ()  # the fixtures it asks for (its parameters)
    # fault id -> what is wrong, for the faults whose title this check's mark gives ("F1: ..."): each once
    titles: tuple[tuple[str, str], ...] = ()

    @property
    def area_path(self) -> str:
        """What holds the check's area, relative to tests/: its directory ("network/") or its file."""
        return f"{self.area}/" if "/" in self.path else self.path

    def catcher_names(self, fault_id: str) -> list[str]:
        """The test ids (with the case, for one parametrized case) that must fail under the fault."""
        return [self.name if case is None else f"{self.name}[{case}]" for f, case in self.catches if f == fault_id]


class CatalogueError(ValueError):
    """A mark the catalogue cannot read: its arguments must be written out as strings."""


def _mark_name(decorator: ast.expr) -> str | None:
    call = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(call, ast.Attribute) and isinstance(call.value, ast.Attribute) and call.value.attr == "mark":
        return call.attr
    return None


def _strings(call: ast.Call, where: str) -> list[str]:
    values = []
    for arg in call.args:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise CatalogueError(f"{where}: write each argument of the mark as a string literal")
        values.append(arg.value)
    return values


def read_checks(path: Path, tests: Path = TESTS) -> list[Check]:
    """The checks of one test file, in source order."""
    relative = path.relative_to(tests).as_posix() if path.is_relative_to(tests) else path.name
    area = relative.split("/", 1)[0] if "/" in relative else path.stem.removeprefix("test_")
    found = []
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        where = f"{path.name}:{node.lineno} {node.name}"
        catches: list[tuple[str, str | None]] = []
        titles: dict[str, str] = {}
        blinded: list[str] = []
        proven_in = None
        active = None
        markers = []
        for decorator in node.decorator_list:
            mark = _mark_name(decorator)
            if mark is None:
                continue
            markers.append(mark)
            if mark not in MARKS:
                continue
            if not isinstance(decorator, ast.Call):
                raise CatalogueError(f"{where}: @pytest.mark.{mark} needs arguments")
            values = _strings(decorator, where)
            if mark == "catches":
                case = next((k.value for k in decorator.keywords if k.arg == "case"), None)
                if case is not None and not (isinstance(case, ast.Constant) and isinstance(case.value, str)):
                    raise CatalogueError(f"{where}: case= must be a string literal")
                for value in values:  # "F1" or "F1: what is wrong" (the fault's title, given once)
                    fault, _, title = value.partition(": ")
                    catches.append((fault, case.value if case else None))
                    if title:
                        titles[fault] = title
            elif mark == "blinded_by":
                blinded += values
            elif mark == "active_probe":
                if len(values) != 1:
                    raise CatalogueError(f"{where}: @pytest.mark.active_probe takes one string: what it changes")
                active = values[0]
            else:
                proven_in = values[0]
        found.append(
            Check(
                node.name,
                area,
                relative,
                ast.get_docstring(node) or "",
                tuple(catches),
                tuple(blinded),
                proven_in,
                tuple(markers),
                active,
                tuple(a.arg for a in node.args.args),
                tuple(titles.items()),
            )
        )
    return found


@functools.cache
def checks(tests: Path = TESTS) -> dict[str, Check]:
    """Every check under tests/, by function name, in file and source order."""
    files = sorted([*tests.glob("test_*.py"), *tests.glob("*/test_*.py")], key=lambda p: p.relative_to(tests).parts)
    return {check.name: check for path in files for check in read_checks(path, tests)}


def caught_by(fault_id: str, tests: Path = TESTS) -> tuple[str, ...]:
    return tuple(name for check in checks(tests).values() for name in check.catcher_names(fault_id))


def blinded_by(fault_id: str, tests: Path = TESTS) -> tuple[str, ...]:
    return tuple(check.name for check in checks(tests).values() if fault_id in check.blinded_by)


def fault_ids(tests: Path = TESTS) -> set[str]:
    """Every fault id a check names (caught or blinding)."""
    return {f for c in checks(tests).values() for f in (*(f for f, _ in c.catches), *c.blinded_by)}


@functools.cache
def fault_titles(tests: Path = TESTS) -> dict[str, str]:
    """Each caught fault's title, from the one catches mark that gives it ("F1: what is wrong").

    CatalogueError when a fault is titled twice (two places to keep in step) or caught with no title anywhere.
    """
    titles: dict[str, str] = {}
    where: dict[str, str] = {}
    for check in checks(tests).values():
        for fault, title in check.titles:
            if fault in titles:
                raise CatalogueError(f"{check.name}: fault {fault} is already titled by {where[fault]}; name it bare")
            titles[fault], where[fault] = title, check.name
    untitled = sorted({f for c in checks(tests).values() for f, _ in c.catches} - set(titles))
    if untitled:
        raise CatalogueError(f"faults caught with no title in any catches mark: {', '.join(untitled)}")
    return titles
