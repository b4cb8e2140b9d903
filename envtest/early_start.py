"""The run's start, before pytest is imported: the preflight, and the host reads sent once it has passed.

SSM commands take seconds to come back, and the host reads are the run's longest chain (benchmarks/latency.md):
every tenth of a second before they are sent is a tenth of a second of the run's wall. pytest and the fixture
modules take 0.3 s to import, so nothing here imports pytest, nor the fixture modules: the host reads, and the
steps they wait on, are declared without it (hosts/reads.py, hosts/steps.py, envtest/plan.py).

- `start_ahead`, called by the checks' process before it imports pytest (envtest/pytest_main.py): the preflight's
  first call (GetCallerIdentity, then the terraform outputs) and then the preflight itself, in a thread; the
  preflight at session start (session_preflight.py) takes over its outcome (`take_ahead`) as if it had run it.
- `EarlyHostReads`: readies the host reads in a thread while the preflight waits on AWS (the policy loaded, the
  clients built, no call made); sends every host step's reads once the preflight has passed. Before pytest, only
  when the command says the run is every check (WHOLE_RUN_VARIABLE): a narrowed run plans its own reads in its
  session. Otherwise the session's preflight sends them (`send`) for a whole run.
  The session reads the hosts through this same plan (hosts/steps.py host_reads), so no command goes twice,
  with the same clients (`run_aws`); its other steps start once these commands are sent (fixtures/plan.py).

A plain `pytest` run, which does not go through pytest_main, starts all of this at session start.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from envtest.gather import cache
from envtest.session_outcome import WHOLE_RUN_VARIABLE
from envtest.settings import Settings

if TYPE_CHECKING:
    from envtest.gather.aws import Aws
    from envtest.hosts.plan import HostReads
    from envtest.preflight import Outcome

# The clients the early start's calls need: the roles' groups and instances, SSM, Redis's address. Not EC2's, which
# no host read calls: its model is the largest to load (0.06 s), work that held the interpreter while the
# preflight's first call waited to go; the session's steps build it when they first ask.
EARLY_CLIENTS = ("autoscaling", "ssm", "elasticache")
# The paginators the host reads' chain uses, loaded with their clients: the first get_paginator of a service
# lists botocore's data directories and loads its paginator model, 0.02 to 0.05 s that otherwise fell between a
# role's group and its instances (a group named by prefix is found in the list of all groups).
EARLY_PAGINATORS = {
    "autoscaling": ("describe_auto_scaling_groups",),
    "ssm": ("describe_instance_information", "list_command_invocations"),
}


class EarlyHostReads:
    """A whole run's host reads, sent before the session collects: readied while the preflight runs, sent once it
    has passed (by the thread itself when given the preflight's outcome to wait for, else by `send`)."""

    def __init__(self, settings: Settings, after: Future[Outcome] | None = None) -> None:
        self.settings = settings
        self._after = after
        self._base: dict[str, Any] | None = None
        self._sent = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._ready, name="host-reads-early", daemon=True)

    @classmethod
    def begin(cls, settings: Settings, after: Future[Outcome] | None = None) -> EarlyHostReads:
        early = cls(settings, after)
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
                client = aws.client(service)
                for operation in EARLY_PAGINATORS.get(service, ()):
                    client.get_paginator(operation)
            # The plan and the steps the host reads wait on, imported now rather than once the preflight passed.
            import envtest.hosts.steps  # noqa: F401

            self._base = {
                "settings": settings,
                "policy": policy,
                "aws": aws,
                "inventory": Inventory(aws, settings.run_dir),
            }
            if self._after is not None and _passed(self._after):
                self._send_now()
        except BaseException as exc:  # raised where the preflight's outcome is decided (send)
            self._error = exc

    def wait(self) -> None:
        """Joined on every way out: a daemon thread still building clients at the interpreter's exit can crash it."""
        self._thread.join()

    def send(self) -> None:
        """Every host step's reads, sent, unless the thread sent them already; called once the preflight passed."""
        self.wait()
        if self._error is not None:
            raise self._error
        if self._base is not None and not self._sent:
            self._send_now()

    def _send_now(self) -> None:
        from envtest import plan  # with the steps the host reads wait on, imported by _ready

        assert self._base is not None
        self._sent = True
        _RUN_AWS[0] = self._base["aws"]
        _EARLY_READS[0] = plan.send_host_reads(
            plan.Plan({name: (lambda v=value: v) for name, value in self._base.items()}), plan.host_steps()
        )


def _passed(preflight: Future[Outcome]) -> bool:
    """Whether the preflight let the run go on; its failure is the session's to report (take_ahead), not ours."""
    try:
        return not preflight.result().stop_reason
    except BaseException:
        return False


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
    preflight: Future[Outcome] | None = None  # the preflight's outcome, or what it raised


_AHEAD: list[Ahead | None] = [None]


def start_ahead() -> Ahead | None:
    """The preflight sent and the host reads readied (and, for a whole run, sent once the preflight passed),
    before pytest is imported; None when nothing could be started (settings that do not parse: the session's
    preflight meets and reports that).

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
    if first is None:
        _AHEAD[0] = Ahead(settings, aws, None, None)
        return _AHEAD[0]
    found = _preflight_ahead(settings, aws)
    whole = os.environ.get(WHOLE_RUN_VARIABLE) == "1"
    _AHEAD[0] = Ahead(settings, aws, first, EarlyHostReads.begin(settings, found if whole else None), found)
    return _AHEAD[0]


def _preflight_ahead(settings: Settings, aws: Aws) -> Future[Outcome]:
    """The preflight, in a thread: it asks for what the first call is reading and meets its answers in the run's
    cache, saying on stderr that it still waits for the endpoint when that is slow (progress.waiting)."""
    from envtest.preflight import preflight

    found: Future[Outcome] = Future()

    def run() -> None:
        try:
            found.set_result(preflight(settings, aws))
        except BaseException as exc:  # the session's preflight raises it where it reports a stop
            found.set_exception(exc)

    threading.Thread(target=run, name="preflight-ahead", daemon=True).start()
    return found


def take_ahead() -> Ahead | None:
    """What start_ahead started, handed over once."""
    ahead, _AHEAD[0] = _AHEAD[0], None
    return ahead
