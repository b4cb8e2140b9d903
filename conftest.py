"""Top-level pytest wiring: hooks and shared fixtures live in envtest; this file only loads them."""

from envtest.fixtures import MODULES

pytest_plugins = [
    "envtest.session_preflight",  # the preflight, before the session
    "envtest.fixtures.plan",  # the gather plan, which the wiring and every area's module use
    "envtest.pytest_plugin",
    *MODULES,
]
