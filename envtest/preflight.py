"""Before any check: can we reach AWS with these credentials, and is this the right env?

Runs in pytest's process at session start (envtest/session_preflight.py), for
run_tests.sh and a plain `pytest` run alike. Its reads go through the same gather layer and run cache as the
checks, so the checks reuse what it read. It reports which guards it could
apply: a guard with nothing to compare against is named as not applied,
never silently passed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from envtest.errors import CouldNotEvaluate, UsageError
from envtest.gather import cache
from envtest.gather.aws import Aws
from envtest.gather.aws_calls import write_call_count
from envtest.gather.inventory import Inventory
from envtest.gather.terraform import TerraformOutputs, load_outputs_once
from envtest.guard import Facts, wrong_environment
from envtest.policy import Policy, load_policy
from envtest.progress import waiting
from envtest.redact import mask_account
from envtest.settings import Settings


@dataclass(frozen=True)
class Outcome:
    masked_account: str
    stop_check: str = ""
    stop_reason: str = ""
    guards: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    revision: str = ""  # the revision the defaults came from, once the policy loaded (describe_revision)


def describe_revision(policy: Policy) -> str:
    """The revision the run's defaults come from (policy/revisions/), for the reports: name, commit, date."""
    return policy.revision.describe() if policy.revision else "none (policy/default.toml alone)"


PREFLIGHT_ATTEMPTS = 3


def preflight_read_timeout(settings: Settings) -> float:
    """Seconds the preflight waits for each answer: ENVTEST_PREFLIGHT_READ_TIMEOUT in the run's environment, else 8."""
    return float(settings.extra.get("ENVTEST_PREFLIGHT_READ_TIMEOUT", "8"))


def waiver_notes(entries: object) -> list[str]:
    """Valid waivers, each naming a check that exists, as notes for the run's log; else a UsageError (exit 2)."""
    from datetime import UTC, datetime

    from envtest.policy.waivers import parse_waivers

    today = datetime.now(UTC).date()
    waivers = parse_waivers(entries, today)
    if not waivers:
        return []  # the usual case: no need to read every check's source (tens of ms before the first call)
    from envtest import catalogue

    names = list(catalogue.checks())
    for number, waiver in enumerate(waivers, 1):
        if not waiver.names_one_of(names):
            raise UsageError(f"[[waivers]] entry {number}: no check is named {waiver.check!r} (run_tests.sh --list)")
    return [
        f"waiver {'EXPIRED' if w.expires < today else 'in force'}: {w.check} on {w.resource!r} {w.says()}"
        for w in waivers
    ]


def revision_notes(policy: Policy) -> list[str]:
    """The revision the run's defaults come from, and what it says has nothing to check; each not-applicable entry
    must name a check that exists (a misspelt one would leave a check running that the revision meant to set aside,
    or set aside nothing): else a UsageError (exit 2)."""
    revision = policy.revision
    if revision is None:
        return ["no revision named: the defaults of policy/default.toml alone (name one in policy/envs/<env>.toml)"]
    notes = [f"revision {revision.describe()}: {revision.summary}"]
    if revision.not_applicable:
        from envtest import catalogue

        names = {name.removeprefix("test_") for name in catalogue.checks()}
        unknown = sorted(k for k, _ in revision.not_applicable if k.split("[", 1)[0] not in names)
        if unknown:
            raise UsageError(
                f"revision {revision.name}: [revision.not_applicable] names no check {', '.join(unknown)} "
                "(run_tests.sh --list)"
            )
        notes += [f"not applicable to revision {revision.name}: {k}: {why}" for k, why in revision.not_applicable]
    return notes


def preflight_aws(settings: Settings) -> Aws:
    """The preflight's clients: fewer attempts and a shorter wait than the checks', so an endpoint that is down,
    or accepts connections and never answers, stops the run in about half a minute, not two."""
    return Aws(settings.region, max_attempts=PREFLIGHT_ATTEMPTS, read_timeout=preflight_read_timeout(settings))


def _stop(masked: str, reasons: list[str], guards: list[str], notes: list[str], revision: str = "") -> Outcome:
    return Outcome(
        masked,
        "wrong_environment",
        "; ".join(reasons) + ". Refusing to test the wrong environment.",
        tuple(guards),
        tuple(notes),
        revision,
    )


def named_facts(settings: Settings) -> Facts:
    """What the env-name guards compare: they need no AWS call, so they stop a run before it touches credentials."""
    return Facts(env=settings.env_name, my_env=settings.my_env, ci_commit_branch=settings.ci_commit_branch)


def terraform_outputs(settings: Settings, inventory: Inventory, name: Callable[[str], str]) -> TerraformOutputs:
    """The env's terraform outputs, read once per run (the preflight's read, or its read ahead, serves the checks'
    tf_outputs step): from TF_DIR, TF_OUTPUTS_JSON or the state object. `name`: the policy's names for the env's
    account and region (policy.name), which give the state object's bucket and key."""
    return load_outputs_once(
        settings.run_dir,
        tf_dir=settings.tf_dir,
        tf_binary=settings.tf_binary,
        outputs_json=settings.tf_outputs_json,
        state_location=(
            settings.tf_state_bucket or name("tf_state_bucket"),
            settings.tf_state_key or name("tf_state_key"),
        ),
        read_object=inventory.object_bytes,
        environ=settings.extra,
    )


def _names(policy: Policy, settings: Settings, account: str) -> Callable[[str], str]:
    return lambda key: policy.name(key, account=account, region=settings.region)


def send_first_call(settings: Settings, aws: Aws, *, and_outputs: bool = False) -> threading.Thread | None:
    """The run's first call, GetCallerIdentity, sent now from a thread; None when the env-name guards will stop
    the run (no call then). Its answer (or why there is none) waits in the run's cache for `preflight`, which
    loads the policy meanwhile and then asks for it as before. `and_outputs`: the terraform outputs too, the
    preflight's next read, once the account is known (sent before pytest is imported: early_start.start_ahead).

    The clients are built here, in the caller's thread, before the threads that ready the other clients start:
    building clients is Python work that holds the interpreter, and alongside two other builders this client took
    0.2 s instead of 0.05 before the call could go (docs/proof.md, cost under AWS's latency). Built here, the
    thread only waits on sockets, and a process that ends meanwhile need not join it.
    """
    if wrong_environment(named_facts(settings)) or not cache.enabled():
        return None  # stopped before any call; or nothing would keep the answer for the preflight
    inventory = Inventory(aws, settings.run_dir)
    inventory.aws.client("sts")
    if and_outputs:
        inventory.aws.client("s3")

    def ask() -> None:
        # Cached either way: an answer, or a cause (CouldNotEvaluate) the preflight meets as its own. Anything
        # else is not cached, so the preflight's own call raises it again where it is reported.
        with contextlib.suppress(Exception):
            identity = inventory.caller_identity()
            if and_outputs:
                policy = load_policy(settings.env_name, settings.policy_dir, settings.policy_override)
                terraform_outputs(settings, inventory, _names(policy, settings, identity.account))

    thread = threading.Thread(target=ask, name="preflight-first-call", daemon=True)
    thread.start()
    return thread


def preflight(settings: Settings, aws: Aws | None = None) -> Outcome:
    guards = [name for name, value in (("MY_ENV", settings.my_env), ("branch", settings.ci_commit_branch)) if value]
    notes: list[str] = []
    # The env-name guards need no AWS call: stop before touching credentials.
    reasons = wrong_environment(named_facts(settings))
    if reasons:
        return _stop("unknown", reasons, guards, notes)
    policy = load_policy(settings.env_name, settings.policy_dir, settings.policy_override)
    notes += waiver_notes(policy.section("waivers") or None)
    notes += revision_notes(policy)
    revision = describe_revision(policy)
    inventory = Inventory(aws or preflight_aws(settings), settings.run_dir)
    try:
        endpoint = inventory.aws.client("sts").meta.endpoint_url
        try:
            bound = PREFLIGHT_ATTEMPTS * (preflight_read_timeout(settings) + 5)
            with waiting(f"the AWS endpoint {endpoint} (sts:GetCallerIdentity)", bound):
                identity = inventory.caller_identity()
        except CouldNotEvaluate as exc:
            return Outcome("unknown", "aws_credentials", str(exc), tuple(guards), tuple(notes), revision)
        account = identity.account
        expected_account = settings.expected_account_id or policy.account_id
        expected_source = (
            "EXPECTED_ACCOUNT_ID" if settings.expected_account_id else f"policy/envs/{settings.env_name}.toml"
        )
        if expected_account:
            guards.append("account")
        else:
            notes.append(
                f"account guard not applied: no account_id in policy/envs/{settings.env_name}.toml and "
                "no EXPECTED_ACCOUNT_ID"
            )
        terraform_env = terraform_source = None
        try:
            outputs = terraform_outputs(settings, inventory, _names(policy, settings, account))
            value = outputs.get("env_name")
            terraform_source = outputs.source
            if isinstance(value, str):
                terraform_env = value
                guards.append("terraform")
            else:
                notes.append(f"terraform guard not applied: no env_name output in {outputs.source}")
        except CouldNotEvaluate as exc:
            # Checks that need the outputs will report this as their error.
            notes.append(f"terraform guard not applied: {exc}")
        reasons = wrong_environment(
            Facts(
                env=settings.env_name,
                terraform_env=terraform_env,
                terraform_source=terraform_source,
                account=account,
                expected_account=expected_account,
                expected_account_source=expected_source,
            )
        )
        masked = mask_account(account)
        if reasons:
            return _stop(masked, reasons, guards, notes, revision)
        return Outcome(masked, guards=tuple(guards), notes=tuple(notes), revision=revision)
    finally:
        write_call_count(settings.run_dir)
