"""Every host read of a run, planned once: one SSM command per role, sent to all its instances at once.

A check's fixture asks for a file or a command's output on a role's hosts
(`HostRead`). Before the first check runs, the run knows every read its
collected checks need (fixtures/hosts.py plans them), and `HostReads.start`
sends one command per role, to every InService instance of the role, for all
roles concurrently, in a background thread, while the checks go on with their
AWS reads. Inside that command the reads run in parallel, each bounded by
`timeout`, so a probe that must time out (a blocked port) costs its timeout
once, beside everything else.

The answer is framed per read (hosts/frames.py): one read's failure
is that read's, and the checks that need it say so; the others keep their
answer. A deferred file (too large for the combined answer) is read on its
own in chunks (hosts.Ssm.read_file).

Per-run caching (cache.py) shares each role's answer with xdist workers:
exactly one worker sends, the others read what it got.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from envtest.errors import CouldNotEvaluate
from envtest.gather.asg import in_service_instance_ids
from envtest.gather.aws import Aws
from envtest.gather.cache import cached
from envtest.hosts.frames import (
    HostRead,
    ItemOutput,
    compose,
    decode_output,
    encode_output,
    parse_frames,
    reduced,
)
from envtest.hosts.masking import mask_locally
from envtest.hosts.ssm import SSM_OUTPUT_LIMIT, run_command
from envtest.hosts.transports import LocalRoot, Ssm


def _in_background(work: Callable[..., dict[str, Any]], *args: Any) -> Future[dict[str, Any]]:
    """`work(*args)` in a daemon thread: a process that is done with its checks never waits for it at exit."""
    future: Future[dict[str, Any]] = Future()

    def run() -> None:
        try:
            future.set_result(work(*args))
        except BaseException as exc:  # handed to whoever waits for the answer
            future.set_exception(exc)

    threading.Thread(target=run, name="host-reads", daemon=True).start()
    return future


class HostReads:
    """The run's host reads through SSM: planned once, one command per role, shared by every check."""

    def __init__(
        self,
        aws: Aws,
        run_dir: Path | None,
        group_for_role: Callable[[str], str],
        *,
        online_timeout: float,
        command_timeout: float,
    ) -> None:
        self.aws = aws
        self.run_dir = run_dir
        self.group_for_role = group_for_role
        self.online_timeout = online_timeout
        self.command_timeout = command_timeout
        # The commands sent, in waves: role -> its reads, and the future of its answer.
        self._waves: list[dict[str, tuple[list[HostRead], Future[dict[str, Any]]]]] = []
        self._targets: dict[str, Future[tuple[str, list[str]]]] = {}
        self._first = threading.Event()  # the reads known from the policy alone are sent
        self._planned = threading.Event()  # every wave is sent
        self._started = False
        # The plan's commands not yet sent to SSM (each role's, and the waves still being built): while any is,
        # the run's longest chain is still being laid down (commands_sent).
        self._unsent = 0
        self._unsent_lock = threading.Lock()
        self._all_sent = threading.Event()

    # ---- the plan ---------------------------------------------------------------------------
    def start(self, build: Callable[[], list[HostRead]], later: Callable[[], list[HostRead]] | None = None) -> None:
        """In the background: build the run's reads and send one command per role; then build the reads that
        need AWS first (`later`: the Redis probe needs Redis's address) and send those, one more command per
        role. The reads known from the policy never wait on the ones that need AWS. Once: a plan started already
        (the early start's, before the session's) keeps its waves, which hold every host step's reads."""
        if self._started:
            return
        self._started = True
        self._owe(1)  # the waves, until both are built and handed to their threads

        def built(make: Callable[[], list[HostRead]] | None) -> list[HostRead]:
            try:
                return make() if make is not None else []
            except Exception:  # no plan: each read then goes on its own and meets the cause itself
                return []

        def send(reads: list[HostRead]) -> None:
            by_role: dict[str, list[HostRead]] = {}
            for read in reads:
                if read not in by_role.setdefault(read.role, []):
                    by_role[read.role].append(read)
            self._owe(len(by_role))
            self._waves.append({role: (rs, _in_background(self._paid_for, role, rs)) for role, rs in by_role.items()})

        def plan() -> None:
            try:
                send(built(build))
            finally:
                self._first.set()
            try:
                send(built(later))
            finally:
                self._planned.set()
                self._paid()

        threading.Thread(target=plan, name="host-reads-plan", daemon=True).start()

    def commands_sent(self, timeout: float) -> bool:
        """Wait until every command of the plan is sent (or has failed), at most `timeout` s; whether it is.

        The host reads are the run's longest chain: SSM's answer comes seconds after the last SendCommand. Until
        that one is sent, work that holds the interpreter (botocore decoding a large service model holds it for
        0.05 to 0.2 s at a time) delays the chain and so the whole run; once it is sent, the same work runs in
        the seconds SSM takes. True at once when no plan was started.
        """
        return not self._started or self._all_sent.wait(timeout)

    def _owe(self, count: int) -> None:
        with self._unsent_lock:
            self._unsent += count
            if self._unsent:
                self._all_sent.clear()

    def _paid(self) -> None:
        with self._unsent_lock:
            self._unsent -= 1
            if not self._unsent:
                self._all_sent.set()

    def _paid_for(self, role: str, reads: list[HostRead]) -> dict[str, Any]:
        """A planned role's answer; its command is paid for once: when it is sent, or when the read ends without
        sending one (an answer in the run's cache, a failure)."""
        paid = threading.Lock()

        def pay() -> None:
            if paid.acquire(blocking=False):
                self._paid()

        try:
            return self._role_answer(role, reads, pay)
        finally:
            pay()

    def prepare(self, roles: list[str]) -> None:
        """Find these roles' instances now, in the background, while the plan is still being built.

        A plan waits on AWS before it can send (the Redis probe needs Redis's address); each role's group
        and instances do not depend on that, so they are found beside it, not after it.
        """
        for role in roles:
            if role not in self._targets:
                self._targets[role] = _in_background(self._find_targets, role)

    def _find_targets(self, role: str) -> tuple[str, list[str]]:
        """(the role's group, its InService instances): once per run, shared by the processes that plan."""

        def fetch() -> list[Any]:
            group = self.group_for_role(role)
            return [group, in_service_instance_ids(self.aws, group)]

        group, ids = cached(self.run_dir, f"{self.aws.region}:host_targets:{role}", fetch)
        return str(group), list(ids)

    def read(self, item: HostRead) -> dict[str, ItemOutput]:
        """{instance id: what the read gave there}, from the plan when it holds the read, else on its own.

        No plan started (ENVTEST_CACHE=off, a run whose plan could not be made): every read goes on its own.
        """
        planned = self._planned_answer(item)
        if planned is not None:
            reads, answer = planned[0], planned[1].result()
        else:
            reads = [item]
            answer = self._role_answer(item.role, reads)
        if "error" in answer:
            raise CouldNotEvaluate(answer["error"])
        index = reads.index(item)
        outputs = {instance: items[index] for instance, items in answer["instances"].items()}
        for instance, fields in sorted(outputs.items()):
            if fields.get("error"):
                raise CouldNotEvaluate(f"{instance} ({item.role}): {item.describe()}: {fields['error']}")
        return {instance: decode_output(fields) for instance, fields in outputs.items()}

    def _planned_answer(self, item: HostRead) -> tuple[list[HostRead], Future[dict[str, Any]]] | None:
        """The command that holds this read, once it is sent; None when no plan holds it."""
        if not self._started:
            return None
        limit = self.online_timeout + 60
        deadline = time.monotonic() + limit  # one wait for both waves, not one each
        for event in (self._first, self._planned):  # a read of the first wave never waits on the later one
            if not event.wait(timeout=max(0.0, deadline - time.monotonic())):
                raise CouldNotEvaluate(f"the host-read plan was not ready within {limit:.0f} s")
            for wave in list(self._waves):
                found = wave.get(item.role)
                if found is not None and item in found[0]:
                    return found
        return None

    # ---- one role ---------------------------------------------------------------------------
    def _role_answer(self, role: str, reads: list[HostRead], sent: Callable[[], None] | None = None) -> dict[str, Any]:
        digest = hashlib.sha256("\0\0".join(r.key for r in reads).encode()).hexdigest()[:16]

        def fetch() -> dict[str, Any]:
            return {"instances": self._fetch(role, reads, sent)}

        try:
            return dict(cached(self.run_dir, f"{self.aws.region}:host_reads:{role}:{digest}", fetch))
        except CouldNotEvaluate as exc:
            return {"error": str(exc)}

    def _fetch(
        self, role: str, reads: list[HostRead], sent: Callable[[], None] | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        group, ids = self._targets[role].result() if role in self._targets else self._find_targets(role)
        if not ids:
            raise CouldNotEvaluate(f"no InService instance in {group} to read from for role {role!r}")
        nonce = secrets.token_hex(6)
        timeout = max([self.command_timeout, *(r.timeout + 15 for r in reads)])
        results = run_command(
            self.aws, ids, compose(reads, nonce), timeout=timeout, online_timeout=self.online_timeout, sent=sent
        )
        answer: dict[str, list[dict[str, Any]]] = {}
        for instance_id, invocation in sorted(results.items()):
            if invocation.exit_code == 97 or not invocation.stdout:
                raise CouldNotEvaluate(f"{instance_id} ({role}): the planned reads did not run: {invocation.summary()}")
            try:
                frames = parse_frames(invocation.stdout, len(reads), nonce)
            except ValueError as exc:
                raise CouldNotEvaluate(
                    f"{instance_id} ({role}): unreadable answer to the planned reads: {exc}"
                ) from None
            outputs = []
            for index, read in enumerate(reads):
                output = frames[index]
                if output.stdout is None and read.file and output.exit_code == 0:
                    # Too large for the combined answer: read on its own, in chunks.
                    whole = Ssm(self.aws, instance_id).read_file(read.file, read.secret_keys)
                    output = ItemOutput(0, whole, output.stderr)
                fields = encode_output(reduced(read, output))
                if output.stdout is None:
                    fields["error"] = (
                        f"its output did not fit SSM's {SSM_OUTPUT_LIMIT}-character answer beside the other reads; "
                        "ask for less (a narrower API path, a filter)"
                    )
                outputs.append(fields)
            answer[instance_id] = outputs
        return answer


class LocalReads:
    """The same reads from local directories that stand for the hosts (HOSTS_ROOT/<role>/)."""

    def __init__(self, hosts_root: Path) -> None:
        self.hosts_root = hosts_root

    def read(self, item: HostRead) -> dict[str, ItemOutput]:
        root = self.hosts_root / item.role
        if not root.is_dir():
            raise CouldNotEvaluate(f"HOSTS_ROOT has no host {item.role!r} ({root} is not a directory)")
        host = LocalRoot(root, name=item.role)
        if item.file:
            data = host.read_file(item.file)
            if item.secret_keys:  # masked as the host would, so what follows sees what it sees from SSM
                data = mask_locally(data, item.secret_keys)
            return {item.role: reduced(item, ItemOutput(0, data, ""))}
        done = host.run(item.command, timeout=item.timeout)
        return {item.role: reduced(item, ItemOutput(done.exit_code, done.stdout.encode(), done.stderr))}
