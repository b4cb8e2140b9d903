"""Active probes: checks that change something outside AWS to see how it answers.

The lockdown probe plays or retries a GitLab job; the read-only guard (gather/aws.py) sees only botocore's calls,
so such a check declares itself with @pytest.mark.active_probe("what it changes"). Active probes run by default
(after each deploy, as the Go suite did); ENVTEST_ACTIVE_PROBES=false switches them off, each then reported as a
skip with the reason, never a pass. The catalogue (--list, --explain, docs/checks.md) shows the mark, and a
self-test holds every check asking for a fixture in FIXTURES to carry it.
"""

from __future__ import annotations

from collections.abc import Mapping

from envtest.errors import UsageError
from envtest.settings import parse_bool

MARK = "active_probe"
VARIABLE = "ENVTEST_ACTIVE_PROBES"
# The fixtures that change something outside AWS: a check asking for one is an active probe.
FIXTURES = frozenset({"lockdown_runs"})


def switched_on(environ: Mapping[str, str]) -> bool:
    """Whether active probes run (the default); UsageError for a value that is neither true nor false."""
    return parse_bool(environ.get(VARIABLE, "true") or "true", VARIABLE)


def off_reason(environ: Mapping[str, str], what: str = "") -> str:
    """The skip's reason, naming the switch as it was set."""
    does = f" ({what})" if what else ""
    return (
        f"active probe{does} switched off: {VARIABLE}={environ.get(VARIABLE, '')}; "
        f"unset it or set {VARIABLE}=true to run it"
    )


def refused(environ: Mapping[str, str]) -> str | None:
    """Why an active probe must not start now (switched off, or a switch that cannot be read), else None."""
    try:
        return None if switched_on(environ) else off_reason(environ)
    except UsageError as exc:
        return f"{exc}: the active probe was not started"
