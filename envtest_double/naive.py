"""The benchmark's naive baseline, as a pytest plugin: every gathering fixture once per check.

A hand-written boto3 suite reads what each test needs inside that test. The benchmark measures the suite against
that baseline by running the suite itself so: with ENVTEST_CACHE=off (no shared cache, and so no gather plan started
ahead) and this plugin (PYTEST_PLUGINS=envtest_double.naive), which makes every gathering fixture
function-scoped. It lives in the test double's package: the product knows only its own settings (the cache
switch, and a stash key a plugin may set).
"""

from __future__ import annotations

import pytest

from envtest.fixtures.plan import GATHER_SCOPE

# What the benchmark adds to a run's environment for the naive baseline.
ENVIRON = {"ENVTEST_CACHE": "off", "PYTEST_PLUGINS": "envtest_double.naive"}


def pytest_configure(config: pytest.Config) -> None:
    config.stash[GATHER_SCOPE] = "function"
