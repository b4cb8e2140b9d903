"""Top-level pytest wiring: the environment checks' fixtures and hooks live in envtest.pytest_plugin."""

pytest_plugins = ["envtest.pytest_plugin"]
