"""Top-level pytest wiring: hooks and shared fixtures live in envtest; this file only loads them."""

pytest_plugins = [
    "envtest.session_preflight",  # the preflight, before the session
    "envtest.pytest_plugin",
    "envtest.fixtures.runner",
    "envtest.fixtures.runner_network",
    "envtest.fixtures.proxy",
    "envtest.fixtures.proxy_paths",
    "envtest.fixtures.images",
    "envtest.fixtures.hosts",
    "envtest.fixtures.s3_access",
    "envtest.fixtures.recycle",
    "envtest.fixtures.logs",
    "envtest.fixtures.lockdown",
    "envtest.fixtures.docker_daemon",
    "envtest.fixtures.gitlab_runner",
    "envtest.fixtures.prefetch",
]
