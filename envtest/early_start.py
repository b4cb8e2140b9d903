"""The run's start, readied before pytest is imported: the preflight's first call and the early host reads.

SSM commands take seconds to come back, and the host reads are the run's longest chain (benchmarks/latency.md):
every tenth of a second before they are sent is a tenth of a second of the run's wall. Two things get them out
sooner, and neither needs pytest, so this module imports none of it:

- `EarlyHostReads`: `begin` readies the host reads in a thread while the preflight waits on AWS (the policy
  loaded, the clients built, no call made); `send`, once the preflight has passed, sends every host step's reads.
  The session reads the hosts through this same plan (fixtures/hosts.py host_reads), so no command goes twice,
  with the same clients (`run_aws`); its other steps start once these commands are sent (fixtures/plan.py).
- `start_ahead`, called by the checks' process before it imports pytest (envtest/pytest_main.py): pytest and the
  fixture modules take 0.3 s to import, and the preflight's first call and the early start's readying waited for
  all of it. Started here, GetCallerIdentity is answered and the clients are built meanwhile; the preflight at
  session start (session_preflight.py) takes them over (`take_ahead`) as if it had started them itself. A plain
  `pytest` run, which does not go through pytest_main, starts them there.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from envtest.gather import cache
from envtest.settings import Settings

if TYPE_CHECKING:
    from envtest.gather.aws import Aws
    from envtest.hosts.plan import HostReads

# The clients the early start's calls need: the roles' groups and instances, SSM, Redis's address. Not EC2's, which
# no host read calls: its model is the largest to load (0.06 s), work that held the interpreter while the
# preflight's first call waited to go; the session's steps build it when they first ask.
EARLY_CLIENTS = ("autoscaling", "ssm", "elasticache")


class EarlyHostReads:
    """A whole run's host reads, sent before pytest collects, in two halves around the preflight."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._base: dict[str, Any] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._ready, name="host-reads-early", daemon=True)

    @classmethod
    def begin(cls, settings: Settings) -> EarlyHostReads:
        early = cls(settings)
        early._thread.start()
        return early

    def _ready(self) -> None:
        from envtest.gather.aws import Aws
        from envtest.gather.inventory import Inventory
        from envtest.policy import load_policy

        settings = self.settings
        try:
            if not cache.enabled() or settings.hosts_root is not None or settings.no_instances:
                return  # nothing would keep the answers; or no SSM to send them through
            policy = load_policy(settings.env_name, settings.policy_dir, settings.policy_override)
            aws = Aws(settings.region)
            for service in EARLY_CLIENTS:
                aws.client(service)
            self._base = {
                "settings": settings,
                "policy": policy,
                "aws": aws,
                "inventory": Inventory(aws, settings.run_dir),
            }
        except BaseException as exc:  # raised where the preflight's outcome is decided (send)
            self._error = exc

    def wait(self) -> None:
        """Joined on every way out: a daemon thread still building clients at the interpreter's exit can crash it."""
        self._thread.join()

    def send(self) -> None:
        """Every host step's reads, sent (the steps are declared: conftest.py loads every fixture module before
        pytest_cmdline_main, where the preflight runs and calls this)."""
        from envtest.fixtures import plan

        self.wait()
        if self._error is not None:
            raise self._error
        if self._base is None:
            return
        _RUN_AWS[0] = self._base["aws"]
        _EARLY_READS[0] = plan.send_host_reads(
            plan.Plan({name: (lambda v=value: v) for name, value in self._base.items()}), plan.host_steps()
        )


_RUN_AWS: list[Any] = [None]  # the early start's Aws, once it sent
_EARLY_READS: list[HostReads | None] = [None]  # the early start's host reads, once sent


def run_aws(region: str) -> Any:
    """The early start's clients for the session's plan (built once per process), or None when there were none."""
    found = _RUN_AWS[0]
    return found if found is not None and found.region == region else None


def sent_reads() -> HostReads | None:
    """The early start's host reads, once sent: the session's plan waits until their commands are sent."""
    return _EARLY_READS[0]


def forget_run_aws() -> None:
    _RUN_AWS[0] = None
    _EARLY_READS[0] = None


# ---- before pytest ------------------------------------------------------------------------------------------------


@dataclass
class Ahead:
    """What the checks' process started before it imported pytest, for the session's preflight to take over."""

    settings: Settings
    aws: Aws
    first: threading.Thread | None
    early: EarlyHostReads | None


_AHEAD: list[Ahead | None] = [None]


def start_ahead() -> Ahead | None:
    """The preflight's first call sent and the early host reads readied, before pytest is imported; None when
    nothing could be started (settings that do not parse: the session's preflight meets and reports that).

    Secrets are registered for redaction first: botocore may log before pytest's own logging is set up.
    """
    from envtest import redact
    from envtest.errors import UsageError
    from envtest.preflight import preflight_aws, send_first_call

    redact.register_secrets_of(os.environ)
    redact.install_logging_filter()
    try:
        settings = Settings.from_environ()
        aws = preflight_aws(settings)
    except UsageError:
        return None
    first = send_first_call(settings, aws, and_outputs=True)  # None when the env-name guards will stop the run
    early = EarlyHostReads.begin(settings) if first is not None else None
    _AHEAD[0] = Ahead(settings, aws, first, early)
    return _AHEAD[0]


def take_ahead() -> Ahead | None:
    """What start_ahead started, handed over once."""
    ahead, _AHEAD[0] = _AHEAD[0], None
    return ahead
