"""The gather plan (envtest/plan.py, and its fixtures: envtest/fixtures/plan.py): every check's fixture served by
it, and the plan's own semantics.

The plan is the one place a run's reads are declared; what it promises: each step computed once whoever asks,
what a step raised given to every check that asks (a skip too), independent steps side by side, a step after
what it waits on, and the host reads of the run's host steps sent together in one order.
"""

from __future__ import annotations

import ast
import importlib
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from envtest import catalogue, early_start, plan
from envtest.errors import CouldNotEvaluate
from envtest.fixtures import MODULES
from envtest.fixtures import plan as fixture_plan
from envtest.fixtures.plan import OUTSIDE_PLAN
from envtest.gather.services.elasticache import RedisEndpoint
from envtest.hosts.frames import HostRead
from envtest.hosts.reads import STEP_READS, StepReads
from envtest.plan import BASE, LAZY, STEPS, Plan, closure
from envtest.policy import load_policy

ROOT = Path(__file__).resolve().parent.parent

for _module in ("envtest.pytest_plugin", *MODULES):
    importlib.import_module(_module)


def parametrized_names(check: catalogue.Check) -> set[str]:
    """The names a check's @pytest.mark.parametrize gives it (parameters, not fixtures)."""
    tree = ast.parse((catalogue.TESTS / check.path).read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == check.name.rsplit("::", 1)[-1]:
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr == "parametrize"
                    and isinstance(decorator.args[0], ast.Constant)
                ):
                    names |= {n.strip() for n in str(decorator.args[0].value).split(",")}
    return names


def unserved(checks: list[catalogue.Check], steps: set[str]) -> list[str]:
    """Each (check, fixture) the plan does not serve: neither a step, a base value, nor named outside the plan."""
    known = steps | set(BASE) | set(OUTSIDE_PLAN)
    return [
        f"{check.name}: {fixture}"
        for check in checks
        for fixture in check.fixtures
        if fixture not in known and fixture not in parametrized_names(check)
    ]


def test_every_checks_fixture_is_served_by_the_plan() -> None:
    checks = list(catalogue.checks().values())
    assert checks, "no check found under tests/"
    assert unserved(checks, set(STEPS)) == []


def test_a_fixture_the_plan_does_not_serve_is_named() -> None:
    """The seeded fault: a check asks for a fixture no step serves (a step removed, a plain fixture added)."""
    checks = [c for c in catalogue.checks().values() if "runner_network" in c.fixtures]
    assert checks, "no check asks for runner_network"
    found = unserved(checks, set(STEPS) - {"runner_network"})
    assert found and all(line.endswith(": runner_network") for line in found)


def test_every_step_waits_only_on_steps_and_base_values() -> None:
    strays = {name: need for name, s in STEPS.items() for need in s.needs if need not in {*STEPS, *BASE, LAZY}}
    assert strays == {}


def test_the_only_plain_gathering_fixtures_are_the_base_values_and_those_outside_the_plan() -> None:
    """A fixture written with @pytest.fixture beside the plan would read in check order, unplanned."""
    plain = set()
    for path in [*(ROOT / "envtest" / "fixtures").glob("*.py"), ROOT / "envtest" / "pytest_plugin.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and any(
                "pytest.fixture" in ast.unparse(d) for d in node.decorator_list
            ):
                plain.add(node.name)
    assert plain - {"gather_plan", "_started_plan"} == set(BASE) | (set(OUTSIDE_PLAN) - {"request"})


def test_every_host_steps_reads_are_built_from_the_default_policy_or_wait_for_a_step() -> None:
    """The early start builds host reads knowing only settings and policy: each host step's reads are built from
    them, or its builder asks for a step (Redis's address, read from AWS) and is sent once that is read."""
    policy = load_policy("sandbox", ROOT / "policy", None)
    settings = SimpleNamespace(env_name="sandbox", idp_hostname="idp.sandbox.example")
    known = {"policy": policy, "settings": settings}
    built, waiting = {}, []
    for name in plan.host_steps():
        try:
            built[name] = STEP_READS[name].reads(known.__getitem__)
        except KeyError as exc:
            assert exc.args[0] in STEPS, f"{name}'s host reads ask for {exc.args[0]}, which is no step"
            waiting.append(name)
    assert waiting == ["redis_reachability"]
    assert all(reads and all(isinstance(r, HostRead) for r in reads) for reads in built.values()), built
    # A step that waits names its roles from the policy, so their instances are found while it waits: the roles
    # its reads go to, once they can be built.
    endpoint = RedisEndpoint("sandbox-idp-001", "10.0.0.9", 6379)
    for name in waiting:
        reads = STEP_READS[name].reads({**known, "redis_endpoint": endpoint}.__getitem__)
        roles = STEP_READS[name].roles
        assert roles is not None, f"{name} waits on AWS for its reads but names no roles (hosts/reads.py)"
        assert sorted(roles(policy)) == sorted({read.role for read in reads})


def test_every_declared_host_read_is_made_by_the_step_it_names() -> None:
    """hosts/reads.py declares the host reads by step name (the run's start sends them before the fixture modules
    are imported): each names a step of the plan that says it makes them, and every such step has one."""
    assert {name: STEPS[name].host for name in STEP_READS if name in STEPS} == STEP_READS
    assert {name for name, s in STEPS.items() if s.host is not None} == set(STEP_READS)


def test_a_step_naming_another_steps_host_reads_stops_at_import(steps: dict[str, plan.Step]) -> None:
    def runner_config(policy: Any) -> None:
        return None

    with pytest.raises(RuntimeError, match="names the host reads of 'dns_on_role'"):
        plan.declare(runner_config, StepReads("dns_on_role", lambda value: []))


def test_the_steps_the_run_start_needs_are_declared_without_pytest() -> None:
    """early_start.py sends the host reads before pytest is imported: the host_reads step, and every step it or a
    host read waits on, is declared in envtest/hosts/steps.py (which, with the plan, imports no pytest:
    test_command_imports.py)."""
    waited_on = {need for declared in STEP_READS.values() for need in _asked_for(declared)} - {"policy", "settings"}
    needed = closure(["host_reads", *waited_on])
    assert waited_on == {"redis_endpoint"}
    assert {name: STEPS[name].module for name in needed} == dict.fromkeys(needed, "envtest.hosts.steps")


def _asked_for(declared: StepReads) -> set[str]:
    """The plan values a declaration's reads ask for, given the default policy and a Redis address."""
    asked: set[str] = set()
    known = {
        "policy": load_policy("sandbox", ROOT / "policy", None),
        "settings": SimpleNamespace(env_name="sandbox", idp_hostname="idp.sandbox.example"),
        "redis_endpoint": RedisEndpoint("sandbox-idp-001", "10.0.0.9", 6379),
    }

    def value(name: str) -> Any:
        asked.add(name)
        return known[name]

    declared.reads(value)
    return asked


def test_the_roles_a_waiting_step_names_are_found_with_the_first_reads(
    steps: dict[str, plan.Step], monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(steps, "config", lambda policy: None, host=lambda value: [HostRead("runner", "cat /etc/a")])
    declare(steps, "endpoint", lambda policy: "10.0.0.9")
    declare(steps, "probe", lambda endpoint: None, host=lambda value: [], roles=lambda policy: ["idp", "app"])
    prepared: list[list[str]] = []
    reads = SimpleNamespace(prepare=prepared.append, start=lambda build, later: None)
    run = Plan({"policy": lambda: "p", "host_reads": lambda: reads})
    monkeypatch.setattr("envtest.hosts.plan.HostReads", SimpleNamespace)  # the double of the reads above
    plan.send_host_reads(run, ["config", "probe"])
    assert prepared == [["runner", "idp", "app"]]


# ---- the plan's semantics, on steps of the test's own ------------------------------------------------------------


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> dict[str, plan.Step]:
    """A plan registry of the test's own, and its own host reads (the suite's are left as they are)."""
    own: dict[str, plan.Step] = {}
    monkeypatch.setattr(plan, "STEPS", own)
    monkeypatch.setattr(plan, "STEP_READS", {})
    return own


def declare(steps: dict[str, plan.Step], name: str, fn: Any, host: Any = None, roles: Any = None) -> None:
    import inspect

    reads = None
    if host is not None:
        reads = plan.STEP_READS[name] = StepReads(name, host, roles)
    steps[name] = plan.Step(name, tuple(inspect.signature(fn).parameters), fn, __name__, reads)


def test_a_step_is_computed_once_by_whoever_asks_first(steps: dict[str, plan.Step]) -> None:
    calls = []
    declare(steps, "group", lambda settings: calls.append(settings) or "g")
    run = Plan({name: (lambda: "s") for name in BASE})
    threads = [threading.Thread(target=run.value, args=("group",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert run.value("group") == "g"
    assert calls == ["s"]


def test_what_a_step_raised_is_raised_at_every_ask_and_to_what_waits_on_it(steps: dict[str, plan.Step]) -> None:
    def broken(settings: str) -> str:
        raise CouldNotEvaluate("Auto Scaling group sandbox-env-runner does not exist")

    declare(steps, "group", broken)
    declare(steps, "network", lambda group: group + "-net")
    run = Plan({"settings": lambda: "s"})
    for name in ("group", "network", "group"):
        with pytest.raises(CouldNotEvaluate, match="sandbox-env-runner does not exist"):
            run.value(name)


def test_a_skip_in_a_step_is_the_checks_skip(steps: dict[str, plan.Step]) -> None:
    def pattern_era(settings: str) -> str:
        pytest.skip("policy [images] mode = pattern")

    declare(steps, "images_file", pattern_era)
    run = Plan({"settings": lambda: "s"})
    with pytest.raises(pytest.skip.Exception, match="mode = pattern"):
        run.value("images_file")


def test_a_base_value_that_failed_is_raised_where_a_step_needs_it(steps: dict[str, plan.Step]) -> None:
    def no_settings() -> str:
        raise CouldNotEvaluate("AWS_REGION is not set")

    declare(steps, "group", lambda settings: "g")
    run = Plan({"settings": no_settings})
    with pytest.raises(CouldNotEvaluate, match="AWS_REGION"):
        run.value("group")


def test_independent_steps_run_side_by_side(steps: dict[str, plan.Step], monkeypatch: pytest.MonkeyPatch) -> None:
    """Each waits for the other at a barrier: only side by side can both pass it."""
    monkeypatch.setattr(plan.cache, "enabled", lambda: True)
    meet = threading.Barrier(2, timeout=10)
    declare(steps, "images", lambda settings: meet.wait() is not None)
    declare(steps, "network", lambda settings: meet.wait() is not None)
    run = Plan({"settings": lambda: "s"})
    assert run.start(["images", "network"]).wait(timeout=30)
    assert run.value("images") and run.value("network")


def test_a_step_runs_after_what_it_waits_on_and_lazy_asks_only_when_needed(steps: dict[str, plan.Step]) -> None:
    order: list[str] = []
    declare(steps, "group", lambda settings: order.append("group") or "g")
    declare(steps, "instances", lambda group: order.append("instances") or [group])
    declare(steps, "hostname", lambda settings: order.append("hostname") or "gitlab.example")
    declare(steps, "probe", lambda settings, lazy: order.append("probe") or "given URL")
    run = Plan({"settings": lambda: "s"})
    assert run.start(["instances", "probe"]).wait(timeout=30)
    assert order.index("group") < order.index("instances")
    assert "hostname" not in order  # the probe never asked for it
    assert closure(["instances"]) == ["group", "instances"]


def test_the_host_reads_of_the_used_host_steps_go_in_the_declared_order(steps: dict[str, plan.Step]) -> None:
    declare(steps, "runner_config", lambda policy: None, host=lambda value: [f"config.toml ({value('policy')})"])
    declare(steps, "endpoint", lambda policy: "10.0.0.9")
    declare(steps, "redis", lambda endpoint: None, host=lambda value: [f"nc {value('endpoint')}"])
    declare(steps, "dns", lambda policy: None, host=lambda value: ["dig"])
    run = Plan({"policy": lambda: "p"})
    assert plan.host_steps() == ["runner_config", "redis", "dns"]
    assert plan.host_reads_of(["runner_config", "redis", "dns"], run.value) == ["config.toml (p)", "nc 10.0.0.9", "dig"]

    def policy_only(name: str) -> Any:
        if name != "policy":
            raise LookupError(name)
        return "p"

    # Before AWS is read, a step whose reads need it is left out, the others built.
    assert plan.host_reads_of(["runner_config", "redis", "dns"], policy_only) == ["config.toml (p)", "dig"]


def test_a_step_that_waits_holds_no_thread_a_ready_step_could_use(
    steps: dict[str, plan.Step], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two threads: the runner's group and the images file must meet at a barrier while the group's dependent
    waits. Handed a thread before its group was done, the dependent would hold the second one, and the images
    file would never start."""
    monkeypatch.setattr(plan, "MAX_THREADS", 2)
    meet = threading.Barrier(2, timeout=10)
    declare(steps, "group", lambda settings: meet.wait() is not None)
    declare(steps, "instances", lambda group: group)
    declare(steps, "images", lambda settings: meet.wait() is not None)
    run = Plan({"settings": lambda: "s"})
    assert run.start(["instances", "images"]).wait(timeout=30)
    assert run.value("instances") and run.value("images")


def test_a_read_still_in_flight_never_holds_the_process_at_exit(
    steps: dict[str, plan.Step], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run past its --timeout exits while a host read waits on SSM: the plan's threads are daemons (a
    ThreadPoolExecutor's are joined at exit, and held a stopped run for the minute SSM took)."""
    release = threading.Event()
    declare(steps, "runner_config", lambda settings: release.wait(timeout=30))
    run = Plan({"settings": lambda: "s"})
    done = run.start(["runner_config"])
    try:
        busy = [t for t in threading.enumerate() if t.name.startswith("plan_")]
        assert busy and all(t.daemon for t in busy)
        monkeypatch.setattr(plan.cache, "enabled", lambda: True)
        in_daemon = [lambda: threading.current_thread().daemon, lambda: threading.current_thread().daemon]
        assert plan.each(in_daemon) == [True, True]  # a step's reads side by side: daemon threads too
    finally:
        release.set()
    assert done.wait(timeout=30)


def test_a_step_interrupted_between_its_claim_and_its_value_is_reported_not_waited_on(
    steps: dict[str, plan.Step], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check's time limit (SIGALRM) or a cancel can land just after the claim: the next ask is told so."""
    declare(steps, "group", lambda settings: "g")
    run = Plan({"settings": lambda: "s"})

    def interrupted(cell: Any, compute: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(plan, "_settle", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run.value("group")
    with pytest.raises(CouldNotEvaluate, match="group: its read was interrupted"):
        run.value("group")


def test_ahead_leaves_a_reads_failure_to_the_check_but_not_the_checks_time_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from concurrent.futures import Future

    monkeypatch.setattr(plan.cache, "enabled", lambda: True)

    def unreadable_policy() -> list[Any]:
        raise CouldNotEvaluate("policy [s3_access.matrix] is unreadable")

    plan.ahead(unreadable_policy)  # which reads to make cannot be said: none is made, nothing raised
    plan.ahead(lambda: [lambda: (_ for _ in ()).throw(CouldNotEvaluate("AccessDenied"))])  # left to the check

    class TimedOut(Future[Any]):
        """A future still running whose wait is cut short by the check's time limit (raised in the waiter)."""

        def result(self, timeout: float | None = None) -> Any:
            raise CouldNotEvaluate("did not finish within its limit of 0.3 s")

    monkeypatch.setattr(plan, "side_by_side", lambda jobs, name: [TimedOut()])
    with pytest.raises(CouldNotEvaluate, match="within its limit"):
        plan.ahead(lambda: [lambda: None])


# ---- the early start (early_start.py EarlyHostReads) -----------------------------------------------------------


class RecordingAws:
    """A double of gather.aws.Aws that records the clients asked for; it makes no call (none may happen early)."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.clients: list[str] = []
        self.paginators: list[str] = []

    def client(self, service: str) -> object:
        self.clients.append(service)
        return SimpleNamespace(get_paginator=lambda operation: self.paginators.append(f"{service}:{operation}"))


def early_settings(tmp_path: Path) -> Any:
    return SimpleNamespace(
        env_name="sandbox", policy_dir=ROOT / "policy", policy_override=None, region="us-west-2", run_dir=tmp_path,
        hosts_root=None, no_instances=False, idp_hostname=None,
    )  # fmt: skip


def test_the_early_start_readies_clients_without_a_call_and_hands_them_to_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("envtest.gather.aws.Aws", RecordingAws)
    sent: list[list[str]] = []
    commands = HeldCommands()
    monkeypatch.setattr(plan, "send_host_reads", lambda run, names: sent.append(names) or commands)
    early = early_start.EarlyHostReads.begin(early_settings(tmp_path))
    early.wait()
    assert sent == [] and early_start.run_aws("us-west-2") is None  # readied: nothing sent before the preflight passed
    early.send()
    aws = early_start.run_aws("us-west-2")
    assert isinstance(aws, RecordingAws) and aws.clients == list(early_start.EARLY_CLIENTS)
    assert aws.paginators == [f"{s}:{o}" for s, ops in early_start.EARLY_PAGINATORS.items() for o in ops]
    assert sent == [plan.host_steps()]
    assert early_start._EARLY_READS[0] is commands  # what the session's plan waits on before its steps start
    assert early_start.run_aws("eu-west-1") is None  # another region's session builds its own
    early_start.forget_run_aws()
    assert early_start.run_aws("us-west-2") is None and early_start._EARLY_READS == [None]


def test_given_the_preflight_the_early_start_sends_once_it_has_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before pytest, for a whole run: the thread itself sends, once the preflight's outcome lets the run go on;
    the session's send then sends nothing more."""
    from concurrent.futures import Future

    from envtest.preflight import Outcome

    monkeypatch.setattr("envtest.gather.aws.Aws", RecordingAws)
    sent: list[list[str]] = []
    monkeypatch.setattr(plan, "send_host_reads", lambda run, names: sent.append(names) or HeldCommands())
    preflight: Future[Outcome] = Future()
    early = early_start.EarlyHostReads.begin(early_settings(tmp_path), preflight)
    assert not early._thread.join(timeout=0.2) and early._thread.is_alive()  # readied, waiting for the preflight
    assert sent == []
    preflight.set_result(Outcome("****1234"))
    early.wait()
    assert sent == [plan.host_steps()]
    early.send()  # the session's, once its preflight said the same
    assert sent == [plan.host_steps()]
    early_start.forget_run_aws()


@pytest.mark.parametrize(
    "outcome",
    [
        pytest.param({"stop_check": "env_guard", "stop_reason": "account 1111 is not sandbox's"}, id="stopped"),
        pytest.param(None, id="raised"),
    ],
)
def test_a_preflight_that_stops_or_fails_sends_nothing_early(
    outcome: dict[str, str] | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import Future

    from envtest.preflight import Outcome

    monkeypatch.setattr("envtest.gather.aws.Aws", RecordingAws)
    sent: list[list[str]] = []
    monkeypatch.setattr(plan, "send_host_reads", lambda run, names: sent.append(names) or HeldCommands())
    preflight: Future[Outcome] = Future()
    if outcome is None:
        preflight.set_exception(CouldNotEvaluate("sts:GetCallerIdentity: ExpiredToken"))
    else:
        preflight.set_result(Outcome("****1111", **outcome))
    early = early_start.EarlyHostReads.begin(early_settings(tmp_path), preflight)
    early.wait()
    assert sent == [] and early_start.run_aws("us-west-2") is None


def test_what_the_early_start_met_is_raised_when_it_would_send(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from envtest.errors import UsageError

    monkeypatch.setattr("envtest.gather.aws.Aws", RecordingAws)
    (tmp_path / "policy").mkdir()
    bad = early_settings(tmp_path)
    bad.policy_dir = tmp_path / "policy"  # no default.toml: the policy does not load
    broken = early_start.EarlyHostReads.begin(bad)
    with pytest.raises(UsageError, match=r"default\.toml is missing"):
        broken.send()
    assert early_start.run_aws("us-west-2") is None


def test_a_plan_with_nothing_to_compute_is_done_at_once_and_starts_no_thread(steps: dict[str, plan.Step]) -> None:
    before = {thread.ident for thread in threading.enumerate()}
    done = Plan({"policy": lambda: "p"}).start([])
    assert done.is_set()
    assert [t.name for t in threading.enumerate() if t.ident not in before] == []


def test_a_fixture_overridden_closer_to_the_check_stops_it_by_name(steps: dict[str, plan.Step]) -> None:
    from envtest.errors import UsageError

    declare(steps, "group", lambda policy: f"group of {policy}")
    run = Plan({"policy": lambda: "the policy"})
    assert fixture_plan.served(run, "group", {"policy": run.value("policy")}) == "group of the policy"
    # Seeded: pytest resolved another `policy` (a conftest.py closer to the check) than the plan's.
    with pytest.raises(UsageError, match="fixture 'policy' is overridden where 'group' is asked for"):
        fixture_plan.served(run, "group", {"policy": "an area's own policy"})


class HeldCommands:
    """A double of the early start's HostReads: its commands are sent when the test says so."""

    def __init__(self) -> None:
        self.sent = threading.Event()
        self.asked: list[float] = []

    def commands_sent(self, timeout: float) -> bool:
        self.asked.append(timeout)
        return self.sent.wait(timeout)


def test_the_plan_starts_its_steps_once_the_early_host_commands_are_sent(
    steps: dict[str, plan.Step], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host reads are the longest chain: no step (and no check) competes with it for the interpreter until its
    commands are sent; then the steps start at once."""
    ran = threading.Event()
    declare(steps, "config", lambda policy: None, host=lambda value: [HostRead("runner", "cat /etc/a")])
    declare(steps, "groups", lambda policy: ran.set())
    monkeypatch.setattr(plan, "send_host_reads", lambda run, names: None)
    held = HeldCommands()
    monkeypatch.setattr(early_start, "_EARLY_READS", [held])
    run = Plan({"policy": lambda: "p"})
    starter = threading.Thread(target=fixture_plan.start_plan, args=(run, ["config", "groups"]), daemon=True)
    starter.start()
    assert not ran.wait(timeout=0.2), "a step started before the host commands were sent"
    held.sent.set()
    assert ran.wait(timeout=10)
    starter.join(timeout=10)
    assert held.asked == [fixture_plan.HOLD_FOR_COMMANDS]


def test_without_an_early_start_or_host_steps_the_plan_starts_at_once(
    steps: dict[str, plan.Step], monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(steps, "config", lambda policy: None, host=lambda value: [HostRead("runner", "cat /etc/a")])
    declare(steps, "groups", lambda policy: "g")
    monkeypatch.setattr(plan, "send_host_reads", lambda run, names: None)
    held = HeldCommands()  # never sent: waited on, the plan would not start within the test's bound
    monkeypatch.setattr(early_start, "_EARLY_READS", [None])
    assert fixture_plan.start_plan(Plan({"policy": lambda: "p"}), ["config", "groups"]).wait(timeout=5)
    monkeypatch.setattr(early_start, "_EARLY_READS", [held])
    assert fixture_plan.start_plan(Plan({"policy": lambda: "p"}), ["groups"]).wait(timeout=5)  # no host step: no wait
    assert held.asked == []


def test_the_session_reads_the_hosts_through_the_early_starts_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """One plan per process: the session's host_reads is the early start's when it sent, with the same clients."""
    from envtest.hosts.plan import HostReads

    body = STEPS["host_reads"].body
    settings = SimpleNamespace(hosts_root=None, run_dir=None)
    policy = SimpleNamespace(instances=SimpleNamespace(online_timeout=120, command_timeout=60))
    aws, other = SimpleNamespace(region="us-west-2"), SimpleNamespace(region="us-west-2")
    sent = HostReads(aws, None, str, online_timeout=120, command_timeout=60)  # type: ignore[arg-type]
    monkeypatch.setattr(early_start, "_EARLY_READS", [sent])
    assert body(settings=settings, aws=aws, policy=policy, group_for_role=str) is sent
    assert body(settings=settings, aws=other, policy=policy, group_for_role=str) is not sent  # other clients
    monkeypatch.setattr(early_start, "_EARLY_READS", [None])
    assert isinstance(body(settings=settings, aws=aws, policy=policy, group_for_role=str), HostReads)
