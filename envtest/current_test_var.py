"""PYTEST_CURRENT_TEST kept in the environment for the whole run, so the gather plan's threads can read it safely.

pytest adds PYTEST_CURRENT_TEST to os.environ when a check's setup starts and deletes it after the check's teardown
(_pytest/runner.py, _update_current_test_var, pytest 9.2.0 as vendored). Meanwhile the gather plan's threads make
AWS clients, and making one walks os.environ:
- botocore/utils.py, IMDSFetcher.__init__: `os.environ.copy()`, when a credential chain is built;
- urllib.request.getproxies_environment: `os.environ.items()`, for every client's endpoint (botocore's
  get_environ_proxies) and every requests call.
os._Environ walks its own dict and then looks each name up. A name deleted in between raises KeyError; a name
added raises "dictionary changed size during iteration". CI saw the first: a check that could not be evaluated,
with "KeyError: 'PYTEST_CURRENT_TEST'" raised while its STS client was made on a plan thread.

Replacing the value of a name that is already there changes neither the names nor the dict's size. So the variable
is set once, before any plan thread starts, and pytest's update only ever replaces its value: during a check it
reads as pytest documents ("<nodeid> (setup|call|teardown)"); between checks it reads "<nodeid> (done)" where
pytest would have deleted it. Nothing in the suite reads it.
"""

from __future__ import annotations

import os
from typing import Any

import _pytest.runner

VARIABLE = "PYTEST_CURRENT_TEST"


def _update(item: Any, when: str | None) -> None:
    value = f"{item.nodeid} ({when or 'done'})".replace("\x00", "(null)")  # as pytest: no NUL in the environment
    os.environ[VARIABLE] = value


def install() -> None:
    """Make pytest's per-check update of PYTEST_CURRENT_TEST a replacement of one value; call before threads start."""
    if not hasattr(_pytest.runner, "_update_current_test_var"):
        raise RuntimeError(
            "pytest no longer has _pytest.runner._update_current_test_var (envtest/current_test_var.py): check how "
            f"this pytest sets {VARIABLE} before running the gather plan's threads beside it"
        )
    os.environ.setdefault(VARIABLE, "(session start)")
    _pytest.runner._update_current_test_var = _update


def installed() -> bool:
    return _pytest.runner._update_current_test_var is _update
