"""The benchmark's naive baseline is a plugin of the test double: the product has no switch for it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from envtest.fixtures.plan import gathered_scope
from envtest.gather.cache import cache_wanted
from envtest_double import naive


def test_the_plugin_makes_every_gathering_fixture_once_per_check() -> None:
    config = SimpleNamespace(stash=pytest.Stash())
    assert gathered_scope("inventory", config) == "session"  # type: ignore[arg-type]
    naive.pytest_configure(config)  # type: ignore[arg-type]
    assert gathered_scope("inventory", config) == "function"  # type: ignore[arg-type]


def test_the_baseline_turns_the_products_own_cache_switch_off() -> None:
    assert not cache_wanted(naive.ENVIRON) and cache_wanted({})
    assert naive.ENVIRON["PYTEST_PLUGINS"] == naive.__name__
