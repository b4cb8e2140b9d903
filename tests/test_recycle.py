"""Recycle the IdP and ELK groups and see them come back healthy (disruptive: only with -R true).

The Go suite's ASG recycle: double the desired capacity, wait for it, scale
back, wait; then the IdP's health URL answers healthy and cloud-init on the
ELK instances reports no errors. Whatever happens midway, the group's original
desired capacity (and max size) is put back.

What it changes: each group's desired capacity (and max size if doubling
exceeds it), temporarily; the group's instances are replaced.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from envtest.checks import Problem, check

RECYCLED = ["idp", "elk"]


@pytest.mark.disruptive
@pytest.mark.parametrize("role", RECYCLED)
def test_group_recycles_and_comes_back_healthy(
    role: str, recycle: Callable[[str], None], recycle_checks: Callable[[], list[Problem]]
) -> None:
    recycle(role)
    check(recycle_checks())
