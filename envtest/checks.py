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


def fail(*problems: Problem) -> NoReturn:
    """Fail the running check with one paragraph per problem (no traceback: the text is the report)."""
    pytest.fail("\n\n".join(str(p) for p in problems), pytrace=False)


def check(problems: list[Problem]) -> None:
    """Fail with every problem found, or return if there are none."""
    if problems:
        fail(*problems)
