"""What a failing check says: the resource, what was expected, what was found, the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import pytest


@dataclass(frozen=True)
class Problem:
    resource: str
    expected: str
    found: str
    fix: str

    def __str__(self) -> str:
        return f"{self.resource}\n  expected: {self.expected}\n  found:    {self.found}\n  fix:      {self.fix}"


class CheckFailed(pytest.fail.Exception):  # type: ignore[misc,name-defined]
    """pytest's own failure, carrying the problems (the plugin weighs them against the env's waivers)."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        super().__init__(render(problems), pytrace=False)
        self.problems = problems


def render(problems: tuple[Problem, ...] | list[Problem]) -> str:
    return "\n\n".join(str(p) for p in problems)


def fail(*problems: Problem) -> NoReturn:
    """Fail the running check with one paragraph per problem (no traceback: the text is the report)."""
    raise CheckFailed(problems)


def check(problems: list[Problem]) -> None:
    """Fail with every problem found, or return if there are none."""
    if problems:
        fail(*problems)
