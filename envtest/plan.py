"""The run's gather plan: every read the checks make, declared once, started together (pytest-free core).

A step is a function declared with `declare` (through `@step` in an area's fixture module, fixtures/plan.py,
which also makes the one-line fixture that serves its value; or here, without pytest, for the steps the run's
start needs: hosts/steps.py):

- its name is the fixture it serves, and a check asks for it by that name;
- its parameters are what it waits on: other steps, or the run's base values (BASE: settings, policy, aws,
  inventory, built without a read). `lazy` gives it `lazy(name)`, for a step it may not need at all;
- its body reads AWS, a host or a probe, through the inventory and the run's cache (gather/cache.py), whose keys
  are the reads' own: a step run twice (two xdist workers) reads once;
- `host=` names its host reads (hosts/reads.py STEP_READS), so that all of them go out together, one SSM command
  per role (hosts/plan.py), before the first check. Reads that need AWS first (the Redis probe needs Redis's
  address) name their roles from the policy: their instances are found meanwhile.

`Plan.start` runs in background threads every step the collected checks need, each as soon as what it waits on
is there, so unrelated reads overlap (against AWS, forty reads of 100-350 ms each). The fixture a check asks for
only waits for its step's value, or re-raises what the step raised (a skip included). With the run's cache off
(the benchmark's naive baseline, envtest_double/naive.py), nothing starts early and a fixture computes its step
when asked, as a hand-written suite would.

Nothing here imports pytest: the run's start (early_start.py) plans and sends the host reads with it before
pytest is imported.
"""

from __future__ import annotations

import contextlib
import inspect
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from envtest.errors import CouldNotEvaluate
from envtest.gather import cache
from envtest.hosts.frames import HostRead
from envtest.hosts.reads import STEP_READS, StepReads

if TYPE_CHECKING:
    from envtest.hosts.plan import HostReads

# The run's base values: built from the environment and the policy, without a read; every step may wait on them.
BASE = ("settings", "policy", "aws", "inventory")
# A step's parameter that is no value: lazy(name) -> that step's value, asked only if the body needs it.
LAZY = "lazy"

# The plan's background threads at most (botocore's connection pool is ten per client).
MAX_THREADS = 16


@dataclass(frozen=True)
class Step:
    name: str  # the fixture it serves
    needs: tuple[str, ...]  # what it waits on: steps, BASE values, or LAZY
    body: Callable[..., Any]
    module: str
    host: StepReads | None = None  # the host reads it makes (hosts/reads.py)


STEPS: dict[str, Step] = {}


def declare(fn: Callable[..., Any], host: StepReads | None = None) -> Step:
    """fn, a step of the plan: its name is what it serves, its parameters what it waits on."""
    name = fn.__name__
    if name in STEPS and STEPS[name].module != fn.__module__:
        raise RuntimeError(f"two steps serve {name}: {STEPS[name].module} and {fn.__module__}")
    if host is not None and host.step != name:
        raise RuntimeError(f"{fn.__module__}.{name} names the host reads of {host.step!r} (hosts/reads.py)")
    STEPS[name] = Step(name, tuple(inspect.signature(fn).parameters), fn, fn.__module__, host)
    return STEPS[name]


def body(name: str) -> Callable[..., Any]:
    """A step's own function (for a self-test that calls it with values of its own)."""
    return STEPS[name].body


def closure(names: Iterable[str]) -> list[str]:
    """These steps and every step they wait on, each after what it waits on."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered or name not in STEPS:
            return
        for need in STEPS[name].needs:
            visit(need)
        ordered.append(name)

    for name in names:
        visit(name)
    return ordered


class _Cell:
    """One step's outcome, once: a value, or what it raised (re-raised, with its own traceback, at each ask)."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.traceback: TracebackType | None = None


class Plan:
    """The run's values: each step computed once, by whichever thread asks first, the others waiting for it."""

    def __init__(self, base: dict[str, Callable[[], Any]]) -> None:
        self._base = {name: _Cell() for name in base}
        for name, make in base.items():
            _settle(self._base[name], make)
        self._cells: dict[str, _Cell] = {}
        self._lock = threading.Lock()

    def value(self, name: str) -> Any:
        if name in self._base:
            return _outcome(self._base[name])
        if name not in STEPS:
            raise LookupError(f"{name} is neither a step of the gather plan nor one of its base values {BASE}")
        mine, cell = False, None
        try:
            with self._lock:
                cell = self._cells.get(name)
                if cell is None:
                    mine, cell = True, self._cells.setdefault(name, _Cell())
            if mine:
                _settle(cell, lambda: self._run(STEPS[name]))
        finally:
            # A signal (a check's time limit, a cancel) between the claim and the settling: whoever waits on this
            # step is told so rather than waiting for ever.
            if mine and cell is not None and not cell.done.is_set():
                cell.error = CouldNotEvaluate(f"{name}: its read was interrupted (a time limit or a cancel)")
                cell.done.set()
        cell.done.wait()
        return _outcome(cell)

    def _run(self, step: Step) -> Any:
        args = {need: (self.value if need == LAZY else self.value(need)) for need in step.needs}
        return step.body(**args)

    def start(self, names: list[str]) -> threading.Event:
        """Compute these steps (and what they wait on) in background threads; set the event when all are done.

        A step is handed to a thread only once every step it waits on is done: a thread never sits waiting on
        another step while a step that could run is queued behind it (at most MAX_THREADS at once).
        """
        order = closure(names)
        done = threading.Event()
        if not order:  # nothing to compute: no thread either
            done.set()
            return done
        waiting_on = {name: {need for need in STEPS[name].needs if need in order} for name in order}
        dependents: dict[str, list[str]] = {name: [] for name in order}
        for name, needs in waiting_on.items():
            for need in needs:
                dependents[need].append(name)
        left = [len(order)]
        lock = threading.Lock()
        workers = Workers(min(MAX_THREADS, len(order)), "plan")

        def run(name: str) -> None:
            self._quietly(name)
            with lock:
                ready = []
                for dependent in dependents[name]:
                    waiting_on[dependent].discard(name)
                    if not waiting_on[dependent]:
                        ready.append(dependent)
                left[0] -= 1
                finished = left[0] == 0
            for dependent in ready:
                workers.submit(lambda d=dependent: run(d))
            if finished:
                done.set()
                workers.stop()

        for name in [name for name in order if not waiting_on[name]]:
            workers.submit(lambda n=name: run(n))
        return done

    def _quietly(self, name: str) -> None:
        with contextlib.suppress(BaseException):  # kept in the step's cell: the check that asks meets it
            self.value(name)


def _settle(cell: _Cell, compute: Callable[[], Any]) -> None:
    try:
        cell.value = compute()
    except BaseException as exc:  # a skip or a KeyboardInterrupt too: whoever asks gets it
        cell.error, cell.traceback = exc, exc.__traceback__
    finally:
        cell.done.set()


def _outcome(cell: _Cell) -> Any:
    if cell.error is not None:
        raise cell.error.with_traceback(cell.traceback)
    return cell.value


class Workers:
    """At most `size` daemon threads taking jobs in turn: a run that is done (its checks, its --timeout) never
    waits at exit for a read still in flight, as it would for a ThreadPoolExecutor's threads."""

    def __init__(self, size: int, name: str) -> None:
        self.size = max(1, size)
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        for number in range(self.size):
            threading.Thread(target=self._work, name=f"{name}_{number}", daemon=True).start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def stop(self) -> None:
        """Each thread ends once the jobs before this are taken."""
        for _ in range(self.size):
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()


def side_by_side(jobs: list[Callable[[], Any]], name: str) -> list[Future[Any]]:
    """Each job in a daemon thread (at most MAX_THREADS at once); their futures, in order."""
    futures: list[Future[Any]] = [Future() for _ in jobs]
    workers = Workers(min(MAX_THREADS, len(jobs)), name)

    def run(job: Callable[[], Any], future: Future[Any]) -> None:
        try:
            future.set_result(job())
        except BaseException as exc:  # handed to whoever waits for it
            future.set_exception(exc)

    for job, future in zip(jobs, futures, strict=True):
        workers.submit(lambda j=job, f=future: run(j, f))
    workers.stop()
    return futures


def each(jobs: Iterable[Callable[[], Any]]) -> list[Any]:
    """Independent reads of one step side by side (a role's simulation, a repository's digests), in order."""
    jobs = list(jobs)
    if len(jobs) < 2 or not cache.enabled():
        return [job() for job in jobs]
    return [future.result() for future in side_by_side(jobs, "plan-each")]


def ahead(jobs_of: Callable[[], Iterable[Callable[[], Any]]]) -> None:
    """Reads a step's value will make when a check asks (a role's simulation, a bucket's settings), made now, side
    by side, so that the ask finds them in the run's cache. A read that fails is left for the ask to meet and
    report; with the cache off nothing would keep them, so none is made."""
    if not cache.enabled():
        return
    try:
        jobs = list(jobs_of())
    except Exception:  # the policy cannot say which: the check's own ask meets that
        return
    for future in side_by_side(jobs, "plan-ahead"):
        try:
            future.result()
        except Exception:
            if not future.done():
                raise  # raised here, not by the read: this check's time limit, which must stop it
            continue  # the read's own failure: the check's ask meets it and reports it


def host_reads_of(names: Iterable[str], value: Callable[[str], Any]) -> list[HostRead]:
    """The host reads of these steps, in the plan's order; a step whose reads cannot be built is left out (its
    fixture reads on its own and meets the cause)."""
    reads: list[HostRead] = []
    for name in names:
        declared = STEP_READS.get(name)
        if declared is None:
            continue
        try:
            reads += declared.reads(value)
        except Exception:
            continue
    return reads


def host_steps() -> list[str]:
    """Every step that reads the hosts, in the order their reads are sent."""
    return list(STEP_READS)


def send_host_reads(plan: Plan, names: list[str]) -> HostReads | None:
    """The host reads of these steps, one command per role; the roles' instances found while Redis's address
    (say) is still being read. The HostReads that sends them, or None when they are not sent through SSM."""
    from envtest.hosts.plan import HostReads

    try:
        reads = plan.value("host_reads")
    except (KeyboardInterrupt, SystemExit):  # a cancel goes on
        raise
    except BaseException:  # a failure or a skip: the host checks meet the cause themselves
        return None
    if not isinstance(reads, HostReads):
        return None  # HOSTS_ROOT's files are read when asked

    def known_from_policy(name: str) -> Any:
        if name not in ("settings", "policy"):
            raise LookupError(f"{name} is read from AWS")
        return plan.value(name)

    first = [name for name in names if host_reads_of([name], known_from_policy)]
    roles = [read.role for read in host_reads_of(first, known_from_policy)]
    for name in names:  # a later read's roles, when the policy names them: found beside what it waits on
        later = STEP_READS[name].roles if name not in first else None
        with contextlib.suppress(Exception):  # if not, its command finds them when it goes
            roles += later(plan.value("policy")) if later is not None else []
    reads.prepare(list(dict.fromkeys(roles)))
    # The reads the policy alone gives go out at once; those that need AWS first (Redis's address) follow.
    reads.start(
        lambda: host_reads_of(first, plan.value),
        lambda: host_reads_of([name for name in names if name not in first], plan.value),
    )
    return reads
