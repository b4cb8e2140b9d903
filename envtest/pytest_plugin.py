"""The pytest wiring: fixtures for gathered state, the read-only guard per
test, redaction of reports, and the API call count.

Loaded by the top-level conftest.py. Nothing here runs AWS calls until a
check asks for a fixture.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from envtest import active_probes, cancel, current_test_var, early_start, limits, redact
from envtest import plan as plan_core
from envtest.errors import CouldNotEvaluate, UsageError
from envtest.fixtures import plan
from envtest.fixtures.plan import fixture_of, step
from envtest.gather import aws_calls
from envtest.gather.aws import Aws
from envtest.gather.aws_guard import writes_allowed
from envtest.gather.inventory import Inventory
from envtest.gather.services.autoscaling import AutoScalingGroup
from envtest.gather.services.ec2 import Instance
from envtest.gather.terraform import TerraformOutputs
from envtest.hosts.steps import account as account_step
from envtest.policy import Policy, load_policy
from envtest.policy.waivers import Waiver, judge, parse_waivers
from envtest.preflight import terraform_outputs
from envtest.problems import CheckFailed, Problem, render
from envtest.report import json_report, junit
from envtest.settings import Settings, parse_bool


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "disruptive: changes AWS; runs only with -R true (ENVTEST_DISRUPTIVE)")
    config.addinivalue_line("markers", "slow: long-running; runs only with -R true")
    config.addinivalue_line(
        "markers", f"{active_probes.MARK}(what): changes something outside AWS; {active_probes.VARIABLE}=false skips it"
    )
    redact.install_logging_filter()
    cancel.install()  # a cancel's SIGTERM stops the run as Ctrl-C does: restores run, the report is written
    redact.register_secrets_of(os.environ)
    current_test_var.install()  # before the gather plan's first thread: they walk os.environ


def _long_tests_enabled() -> bool:
    try:
        return parse_bool(os.environ.get("ENVTEST_DISRUPTIVE", "false"), "ENVTEST_DISRUPTIVE")
    except UsageError:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Checks that wait on the hosts go last: their reads, sent before the first check, come back while the
    # others read AWS (fixtures/plan.py), so the run's floor is its longest round trip, not the sum.
    host_steps = set(plan_core.host_steps())
    items.sort(key=lambda item: bool(host_steps & set(getattr(item, "fixturenames", ()))))
    _set_aside_what_the_revision_lacks(items)
    _switch_off_active_probes(items)
    if _long_tests_enabled():
        return
    skip = pytest.mark.skip(reason="disruptive or slow test: switched off (run with -R true to include it)")
    for item in items:
        if item.get_closest_marker("disruptive") or item.get_closest_marker("slow"):
            item.add_marker(skip)


def _set_aside_what_the_revision_lacks(items: list[pytest.Item]) -> None:
    """A check that has nothing to check at the env's revision (ELK after 2021, the escrow bucket after 2024-06) is
    reported "not applicable to revision X", with the revision's reason: a skip that says why, never a pass.

    Marked at collection, before the gather plan starts, which starts no read for a skipped check. A
    policy that does not load leaves the items be: the preflight and the checks report why.
    """
    try:
        settings = Settings.from_environ()
        revision = load_policy(settings.env_name, settings.policy_dir, settings.policy_override).revision
    except UsageError:
        return
    if revision is None or not revision.not_applicable:
        return
    reasons = dict(revision.not_applicable)
    for item in items:
        name = item.name.removeprefix("test_")
        why = reasons.get(name) or reasons.get(name.split("[", 1)[0])
        if why:
            item.add_marker(pytest.mark.skip(reason=f"not applicable to revision {revision.describe()}: {why}"))


def _switch_off_active_probes(items: list[pytest.Item]) -> None:
    """ENVTEST_ACTIVE_PROBES=false: each active probe a skip with the reason (marked before the gather plan starts,
    which starts no probe for a skipped check). A value that is not a boolean leaves them be: their fixture refuses
    it."""
    try:
        if active_probes.switched_on(os.environ):
            return
    except UsageError:
        return
    for item in items:
        mark = item.get_closest_marker(active_probes.MARK)
        if mark is not None:
            what = str(mark.args[0]) if mark.args else ""
            item.add_marker(pytest.mark.skip(reason=active_probes.off_reason(os.environ, what)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    mark = item.get_closest_marker("disruptive")
    disruptive = mark is not None
    allowed = disruptive and _long_tests_enabled()
    reason = (
        f"{item.name} is marked disruptive and -R true is set"
        if allowed
        else f"{item.name} is {'disruptive but -R true is not set' if disruptive else 'a read-only check'}"
    )
    # Exactly the operations the check's mark declares (aws_guard.py): @pytest.mark.disruptive(may_call=[...]).
    with writes_allowed(allowed, reason, mark.kwargs.get("may_call", ()) if mark else ()):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    # A cancel whose signal came during a restore (held until it was done) was raised inside the check and may
    # have become its error: the run still stops here, before the next check starts.
    cancelled_by = cancel.requested()
    if cancelled_by:
        item.session.shouldstop = f"cancelled by {cancelled_by}"


@functools.cache
def _check_limits() -> dict[str, float]:
    """Policy [limits], read once; an unreadable policy leaves the defaults (the checks then say why)."""
    try:
        settings = Settings.from_environ()
        found = load_policy(settings.env_name, settings.policy_dir, settings.policy_override).section("limits")
        return {k: float(v) for k, v in found.items()}
    except Exception:  # the checks report the policy's own problem; the limits fall back to the defaults
        return {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with limits.bounded(f"{item.name} (while gathering what it needs)", limits.limit_for(item, _check_limits())):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with limits.bounded(item.name, limits.limit_for(item, _check_limits())):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if call.excinfo is not None and call.excinfo.errisinstance(CouldNotEvaluate):
        # No verdict: report it as an error (like a failing fixture), never as a
        # pass and never as the environment's fault.
        report.outcome = "failed"
        report.when = "setup" if report.when == "call" else report.when
        report.longrepr = f"could not evaluate: {call.excinfo.value}"
    elif call.excinfo is not None and call.excinfo.errisinstance(CheckFailed):
        _weigh_waivers(item, report, call.excinfo.value.problems)
    _redact_report(report)


def _today() -> date:
    return datetime.now(UTC).date()


@functools.cache
def _waivers() -> list[Waiver]:
    """The env's [[waivers]], read once. The preflight has already stopped a run whose waivers are invalid."""
    try:
        settings = Settings.from_environ()
        policy = load_policy(settings.env_name, settings.policy_dir, settings.policy_override)
        return parse_waivers(policy.section("waivers") or None, _today())
    except UsageError:
        return []


def _weigh_waivers(item: pytest.Item, report: pytest.TestReport, problems: tuple[Problem, ...]) -> None:
    """A finding every problem of which a live waiver covers is reported as waived (skipped, with the waiver),
    never as passed; an expired waiver leaves the failure standing and says so."""
    judged = judge(item.name, list(problems), _waivers(), _today())
    run_dir = os.environ.get("ENVTEST_RUN_DIR")
    if run_dir:  # for --json: the problems as fields, not as text
        json_report.record(Path(run_dir), item.name, judged.unwaived, judged.waived)
    if not judged.waived and not judged.expired:
        return
    waived = "; ".join(f"{p.resource} waived {w.says()}" for p, w in judged.waived)
    if not judged.unwaived:
        report.outcome = "skipped"
        line = item.location[1]
        report.longrepr = (str(item.path), (line or 0) + 1, f"{junit.WAIVED}{waived}")
        return
    text = render(judged.unwaived)
    for problem, waiver in judged.expired:
        text += (
            f"\n\nthe waiver for {problem.resource} expired on {waiver.expires.isoformat()} "
            f"(owner {waiver.owner}: {waiver.reason}): fix the finding, or renew the waiver with a new date"
        )
    if waived:
        text += f"\n\nalso found, and waived: {waived}"
    report.longrepr = text


def _redact_report(report: pytest.TestReport) -> None:
    if report.longrepr is not None:  # a skip's (path, line, reason) keeps its shape: JUnit's writer needs it
        report.longrepr = redact.redact_longrepr(report.longrepr)
    report.sections = [(title, redact.redact(content)) for title, content in report.sections]


def pytest_unconfigure(config: pytest.Config) -> None:
    early_start.forget_run_aws()
    run_dir = os.environ.get("ENVTEST_RUN_DIR")
    if run_dir and aws_calls.api_calls():
        aws_calls.write_call_count(Path(run_dir))
    # The process ends next. Its last garbage collections would walk every object left (botocore's service models
    # above all: 0.1-0.2 s, after the report is written and before the run's wall ends); frozen, they are skipped.
    import gc

    gc.freeze()


# ---- fixtures: gathered state -------------------------------------------------


def _evaluate(what: Callable[[], Any]) -> Any:
    try:
        return what()
    except UsageError as exc:
        raise CouldNotEvaluate(str(exc)) from None


@pytest.fixture(scope=plan.gathered_scope)
def settings() -> Settings:
    return _evaluate(Settings.from_environ)


@pytest.fixture(scope=plan.gathered_scope)
def policy(settings: Settings) -> Policy:
    return _evaluate(lambda: load_policy(settings.env_name, settings.policy_dir, settings.policy_override))


@pytest.fixture(scope=plan.gathered_scope)
def aws(settings: Settings) -> Aws:
    return early_start.run_aws(settings.region) or Aws(settings.region)


@pytest.fixture(scope=plan.gathered_scope)
def inventory(aws: Aws, settings: Settings) -> Inventory:
    return Inventory(aws, settings.run_dir)


account = fixture_of(account_step)  # declared without pytest: the run's start needs it (hosts/steps.py)


@step
def name(policy: Policy, account: str, settings: Settings) -> Callable[[str], str]:
    """name("env_runner_asg") -> "<env>-gitlab-env-runner", from the policy's templates."""
    return lambda key: policy.name(key, account=account, region=settings.region)


@step
def tf_outputs(settings: Settings, inventory: Inventory, name: Callable[[str], str]) -> TerraformOutputs:
    return terraform_outputs(settings, inventory, name)


@step
def env_runner_group(inventory: Inventory, name: Callable[[str], str]) -> AutoScalingGroup | None:
    """The env-runner Auto Scaling group, or None when it does not exist."""
    return inventory.autoscaling_group(name("env_runner_asg"))


@step
def env_runner_instances(
    env_runner_group: AutoScalingGroup | None, inventory: Inventory, name: Callable[[str], str]
) -> list[Instance]:
    """DescribeInstances for the group's InService members."""
    return in_service_instances(env_runner_group, inventory, name("env_runner_asg"))


def in_service_instances(group: AutoScalingGroup | None, inventory: Inventory, group_name: str) -> list[Instance]:
    if group is None:
        raise CouldNotEvaluate(f"Auto Scaling group {group_name} does not exist")
    if not group.in_service_ids:
        raise CouldNotEvaluate(f"Auto Scaling group {group.name} has no InService instance")
    return inventory.instances(group.in_service_ids)
