"""The detection report: every fault of the catalogue seeded into the sandbox, and who caught it.

`./run_tests.sh --prove [-n N] [--revision R] [FAULT_ID ...]` brings up N sandboxes (2 by
default), runs the clean suite (every check must pass, or skip for a stated
reason), then for each fault in envtest_double/faults/, in whichever
sandbox is free: seeds it, runs the whole suite, reads the JUnit, and resets
the sandbox. A fault is *caught* when exactly its checks fail (and
the run exits as the fault says); a check that fails, or errors without being
named as unable to evaluate under that fault, is a *false alarm*. With
--revision R the sandboxes are built as revision R and every fault runs that
applies there (for_revision).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from queue import Empty, Queue

from junitparser import JUnitXml

from envtest import catalogue
from envtest.errors import UsageError
from envtest.report import junit
from envtest_double.faults import FAULTS, Fault
from envtest_double.processes import SandboxError, stop_all
from envtest_double.revisions import SANDBOX_REVISIONS
from envtest_double.running import Sandbox
from envtest_double.startup import start_sandbox

ROOT = Path(__file__).resolve().parents[1]
# Variables of the caller's shell that would change what a sandbox run means.
SCRUB = ("MY_ENV", "CI_COMMIT_BRANCH", "ENV_NAME", "AWS_PROFILE", "AWS_VAULT", "EXPECTED_ACCOUNT_ID",
         "TF_OUTPUTS_JSON", "TF_DIR", "TF_STATE_BUCKET", "TF_STATE_KEY", "HOSTS_ROOT", "PROXY_URL",
         "ENVTEST_DISRUPTIVE", "ENVTEST_PYTHON", "ENVTEST_VENV", "ENVTEST_REQUIREMENTS", "ALLOWLIST_TEMPLATE",
         "ENVTEST_RUN_DIR", "ENVTEST_SANDBOX_DIR", "ENVTEST_SANDBOX_PROCESS", "PIPELINE_FILE", "GITLAB_API_TOKEN",
         "ENVTEST_POLICY_OVERRIDE", "ENVTEST_POLICY_DIR", "ENVTEST_ACTIVE_PROBES", "GITLAB_CONNECT_TO",
         "CI", "GITLAB_CI", "GITLAB_PIPELINE_ID")  # fmt: skip


@dataclass
class SuiteRun:
    exit_code: int
    stdout: str
    stderr: str
    junit_path: Path

    @property
    def junit(self) -> JUnitXml:
        return JUnitXml.fromfile(str(self.junit_path))

    def verdicts(self) -> dict[str, str]:
        return junit.verdicts(self.junit) if self.junit_path.exists() else {}

    def text_of(self, check: str) -> str:
        """The failure or error text of one check."""
        for suite in self.junit:
            for case in suite:
                if case.name == check and case.result:
                    return "\n".join(filter(None, [case.result[0].message, case.result[0].text]))
        raise AssertionError(f"{check} has no failure text")


def clean_environ(base: dict[str, str] | None = None) -> dict[str, str]:
    source = os.environ if base is None else base
    # The caller's CI context (a GitLab job runs the self-tests with CI=true) would change the run kind, the pipeline
    # the digests are read from and the output's form: SCRUB and every CI_ name go, as the AWS_ names do.
    env = {k: v for k, v in source.items() if k not in SCRUB and not k.startswith(("AWS_", "CI_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def run_suite(args: list[str], environ: dict[str, str], out_dir: Path, timeout: float = 300) -> SuiteRun:
    """The command line (`python -m envtest`, what run_tests.sh execs), in a subprocess."""
    junit_path = out_dir / f"junit-{uuid.uuid4().hex[:12]}.xml"  # runs in parallel share out_dir
    done = subprocess.run(
        [sys.executable, "-m", "envtest", "-j", str(junit_path), *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )
    return SuiteRun(done.returncode, done.stdout, done.stderr, junit_path)


@dataclass
class Row:
    fault: Fault
    exit_code: int
    failed: set[str] = field(default_factory=set)
    errored: set[str] = field(default_factory=set)
    passed_after_stop: set[str] = field(default_factory=set)

    @property
    def missed(self) -> set[str]:
        return set(self.fault.caught_by) - self.failed

    @property
    def false_alarms(self) -> set[str]:
        if self.fault.exit_code == 2:
            return self.passed_after_stop
        return (self.failed - set(self.fault.caught_by)) | (self.errored - set(self.fault.cannot_evaluate))

    @property
    def ok(self) -> bool:
        return self.exit_code == self.fault.exit_code and not self.missed and not self.false_alarms

    @property
    def verdict(self) -> str:
        if self.exit_code == -3:
            return "NOT SEEDED"
        if self.missed:
            return "MISSED"
        if self.false_alarms:
            return "false alarm"
        if self.exit_code == -2:
            return f"stopped, but not by {self.fault.stop_check}"
        if self.exit_code != self.fault.exit_code:
            return f"exit {self.exit_code}, expected {self.fault.exit_code}"
        return "caught"


def judge(fault: Fault, run: SuiteRun) -> Row:
    verdicts = run.verdicts()
    by_kind = {kind: {name for name, v in verdicts.items() if v == kind} for kind in ("passed", "failed", "error")}
    row = Row(fault, run.exit_code, by_kind["failed"], by_kind["error"])
    if fault.exit_code == 2:
        # Stopped before any check, by the guard that exists for this fault, and nothing reported as passed.
        row.passed_after_stop = by_kind["passed"]
        stopped_by_its_guard = verdicts == {fault.stop_check: "error"}
        row.failed = set(fault.caught_by) if stopped_by_its_guard else set()
        if not stopped_by_its_guard:
            row.exit_code = -2  # another stop (credentials, say) does not count as catching this fault
    return row


def areas_of(fault: Fault) -> list[str]:
    """What holds the areas (a file, or a directory of files by concern) of the checks a fault is seen by: its
    catchers and the checks it blinds.

    The checks of those areas share the gathered state the fault changes, so a run of them shows the fault
    caught and no false alarm where one could arise; --prove runs the whole suite for every fault.
    """
    files = {check.name: check.area_path for check in catalogue.checks().values()}
    names = [name.split("[", 1)[0] for name in (*fault.caught_by, *fault.cannot_evaluate)]
    unknown = sorted(n for n in names if n not in files)
    if unknown:
        raise KeyError(f"fault {fault.id} names checks that tests/ does not define: {unknown}")
    return sorted({files[n] for n in names})


def prove_fault(
    sandbox: Sandbox,
    fault: Fault,
    out_dir: Path,
    run: Callable[[list[str], dict[str, str], Path], SuiteRun] = run_suite,
    *,
    areas_only: bool = False,
) -> tuple[Row, SuiteRun]:
    """Seed one fault, run the suite (or only the fault's areas), judge; the caller resets the sandbox."""
    fault.seed(sandbox)
    narrow = [arg for area in areas_of(fault) for arg in ("-t", area)] if areas_only else []
    result = run([sandbox.environ["ENV_NAME"], *narrow], {**clean_environ(), **sandbox.environ, **fault.env}, out_dir)
    return judge(fault, result), result


NOT_APPLICABLE = "not applicable to revision"


def not_applicable_checks(clean: SuiteRun) -> set[str]:
    """The checks the clean run of a revision's sandbox reported as having nothing to check at that commit.

    Read from the suite's own report, not from the revision's policy file: the double does not read the suite's
    policy, and what the suite said is what a fault there could change.
    """
    return {
        case.name or ""
        for suite in clean.junit
        for case in suite
        if case.result and (case.result[0].message or "").startswith(NOT_APPLICABLE)
    }


def for_revision(fault: Fault, era: str, not_applicable: set[str], *, argo: bool = True) -> tuple[Fault | None, str]:
    """The fault as it applies to a revision's sandbox, or None and why it does not apply there.

    A fault bound to its allowed-images era (every pattern-era fault, and the file-era faults that change the
    allowed-images file) does not apply to a revision of the other era; the others (era "file", the default,
    which is where the unrevised --prove runs them) apply to any revision unless every check that catches it has
    nothing to check at the revision's commit. A check the revision lacks is dropped from what must fail (and
    from what may error): the fault is proven by the catchers the revision has.
    """
    if (fault.era == "pattern" or fault.bound_to_era) and fault.era != era:
        return None, f"a {fault.era}-era fault in a {era}-era revision"
    if fault.needs_argo and not argo:
        return None, "it is seeded on the argo groups, which the revision's runner does not carry"
    caught_by = tuple(c for c in fault.caught_by if c not in not_applicable)
    if fault.caught_by and not caught_by:
        return None, "every check that catches it is not applicable there"
    blinded = tuple(c for c in fault.cannot_evaluate if c not in not_applicable)
    return replace(fault, caught_by=caught_by, cannot_evaluate=blinded), ""


def table(rows: list[Row]) -> str:
    lines = [f"{'fault':<16} {'verdict':<24} {'expected to fail':<58} false alarms"]
    for row in rows:
        expected = ", ".join(c.removeprefix("test_") for c in row.fault.caught_by) or (
            "(run stops: exit 2)" if row.fault.exit_code == 2 else "(nothing may fail: exit 0)"
        )
        alarms = ", ".join(sorted(a.removeprefix("test_") for a in row.false_alarms)) or "-"
        lines.append(f"{row.fault.id:<16} {row.verdict:<24} {expected[:58]:<58} {alarms}")
        if row.missed:
            lines.append(f"{'':<16} missed: {', '.join(sorted(row.missed))}")
    return "\n".join(lines)


@dataclass
class Kind:
    """One kind of sandbox the faults run in: an allowed-images era, or a revision of login.gov's code."""

    name: str
    start: dict[str, str]  # start_sandbox's keyword: era=... or revision=...
    count: int
    # From the kind's clean run, the faults to prove in it (a revision's as they apply there), and the others
    # with why they do not apply.
    pick: Callable[[SuiteRun], tuple[list[Fault], list[tuple[Fault, str]]]]


def _kinds(faults: list[Fault], workers: int, revision: str | None) -> list[Kind]:
    if revision is not None:
        era = SANDBOX_REVISIONS[revision].era

        def pick(clean: SuiteRun) -> tuple[list[Fault], list[tuple[Fault, str]]]:
            absent = not_applicable_checks(clean)
            argo = SANDBOX_REVISIONS[revision].argo
            applied = [(fault, *for_revision(fault, era, absent, argo=argo)) for fault in faults]
            return [a for _, a, _ in applied if a], [(f, why) for f, a, why in applied if a is None]

        return [Kind(f"revision {revision}, {era} era", {"revision": revision}, min(workers, len(faults)), pick)]
    # Each allowed-images era has its own sandboxes: `workers` for the runbook's era, one for the pattern era.
    kinds = []
    for era in ("file", "pattern"):
        own = [f for f in faults if f.era == era]
        if own:
            count = min(workers, len(own)) if era == "file" else 1
            kinds.append(Kind(f"{era} era", {"era": era}, count, lambda _, own=own: (own, [])))
    return kinds


def _arguments(args: list[str]) -> tuple[int, str | None, list[Fault]]:
    """-n N, --revision R and fault ids, or a UsageError naming what is wrong."""
    workers, revision = 2, None
    if "--revision" in args:
        at = args.index("--revision")
        if at + 1 >= len(args) or args[at + 1] not in {*SANDBOX_REVISIONS, "composite"}:
            raise UsageError(f"--prove --revision NAME: one of {', '.join(SANDBOX_REVISIONS)}, or composite")
        # composite, the default here: every fault applies in the composite sandboxes (envtest_double/cli.py).
        args, revision = args[:at] + args[at + 2 :], None if args[at + 1] == "composite" else args[at + 1]
    if args[:1] == ["-n"]:
        if len(args) < 2 or not args[1].isdigit() or int(args[1]) < 1:
            raise UsageError("--prove -n wants a number of sandboxes >= 1")
        workers, args = int(args[1]), args[2:]
    unknown = [f for f in args if f not in FAULTS]
    if unknown:
        raise UsageError(f"--prove: no such fault {', '.join(unknown)} (known: {', '.join(FAULTS)})")
    return workers, revision, [FAULTS[f] for f in args] if args else list(FAULTS.values())


def prove(args: list[str]) -> int:
    """--prove [-n N] [--revision R] [FAULT ...]: every fault (or those named) against the whole suite, in N
    sandboxes at once; with R, in sandboxes built as that revision, every fault that applies there."""
    try:
        workers, revision, faults = _arguments(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    kinds = _kinds(faults, workers, revision)
    directory = Path(tempfile.mkdtemp(prefix="envtest-prove-"))
    directory.chmod(0o755)
    out_dir = directory / "reports"
    out_dir.mkdir()
    homes = [(kind, directory / f"sandbox-{index}-{n}") for index, kind in enumerate(kinds) for n in range(kind.count)]
    try:
        try:
            with ThreadPoolExecutor(max_workers=len(homes)) as pool:
                list(pool.map(lambda home: start_sandbox(home[1], **home[0].start), homes))
        except SandboxError as exc:
            print(f"sandbox: {exc}", file=sys.stderr)
            return 2
        sandboxes = [(kind.name, Sandbox(home)) for kind, home in homes]
        bad: dict[str, str] = {}
        clean_exit = 0
        queues: dict[str, Queue[Fault]] = {}
        proven: list[Fault] = []
        for kind in kinds:
            first = next(sandbox for name, sandbox in sandboxes if name == kind.name)
            clean = run_suite([first.environ["ENV_NAME"]], {**clean_environ(), **first.environ}, out_dir)
            kind_bad = {name: v for name, v in clean.verdicts().items() if v not in {"passed", "skipped"}}
            bad.update(kind_bad)
            clean_exit = clean_exit or clean.exit_code
            print(
                f"clean sandbox ({kind.name}): exit {clean.exit_code}, "
                f"{sum(v == 'passed' for v in clean.verdicts().values())} checks passed"
                + (f"; NOT CLEAN: {kind_bad}" if kind_bad or clean.exit_code else ""),
                flush=True,
            )
            chosen, left_out = kind.pick(clean)
            for fault, why in left_out:
                print(f"  {fault.id}: does not apply ({why})", flush=True)
            queues[kind.name] = Queue()
            for fault in chosen:
                queues[kind.name].put(fault)
            proven += chosen
        rows: dict[str, Row] = {}
        stopping = threading.Event()  # Ctrl-C: each sandbox finishes the fault it holds, takes no other

        def work(kind: str, sandbox: Sandbox) -> None:
            while not stopping.is_set():
                try:
                    fault = queues[kind].get_nowait()
                except Empty:
                    return
                try:
                    row, run = prove_fault(sandbox, fault, out_dir)
                except Exception as exc:  # a fault this sandbox cannot hold is reported (not seeded), not raised
                    print(f"  {fault.id}: NOT SEEDED in the {kind} sandbox: {exc!r}"[:400], flush=True)
                    rows[fault.id] = Row(fault, -3)
                    sandbox.reset()
                    continue
                rows[fault.id] = row
                print(f"  {fault.id}: {row.verdict}", flush=True)
                for check in sorted(row.false_alarms):
                    # What the check said: enough to tell a real false alarm from a sandbox hiccup.
                    try:
                        text = " ".join(run.text_of(check).split())
                    except AssertionError:
                        text = "(no text in the report)"
                    print(f"    {check}: {text[:400]}", flush=True)
                sandbox.reset()

        with ThreadPoolExecutor(max_workers=len(sandboxes)) as pool:
            try:
                for done in [pool.submit(work, name, sandbox) for name, sandbox in sandboxes]:
                    done.result()
            except BaseException:
                stopping.set()
                raise
        ordered = [rows[fault.id] for fault in proven]
        print("\n" + table(ordered))
        failures = [r for r in ordered if not r.ok]
        print(
            f"\n{len(ordered) - len(failures)} caught, {len(failures)} missed, with false alarms or not seeded; "
            f"{len(faults) - len(proven)} not applicable; "
            f"clean run {'passed' if not bad and clean_exit == 0 else 'FAILED'}"
        )
        return 0 if not failures and not bad and clean_exit == 0 else 1
    finally:
        for _, home in homes:
            stop_all(home)
        shutil.rmtree(directory, ignore_errors=True)
