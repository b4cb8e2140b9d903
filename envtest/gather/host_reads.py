"""Every host read of a run, planned once: one SSM command per role, sent to all its instances at once.

A check's fixture asks for a file or a command's output on a role's hosts
(`HostRead`). Before the first check runs, the run knows every read its
collected checks need (fixtures/hosts.py plans them), and `HostReads.start`
sends one command per role, to every InService instance of the role, for all
roles concurrently, in a background thread, while the checks go on with their
AWS reads. Inside that command the reads run in parallel, each bounded by
`timeout`, so a probe that must time out (a blocked port) costs its timeout
once, beside everything else.

The answer is framed per read (`compose` / `parse_frames`): one read's failure
is that read's, and the checks that need it say so; the others keep their
answer. The frames are gzip-compressed and base64-encoded and held to SSM's
24,000-character stdout limit: a read that does not fit is marked deferred,
and a deferred file is read on its own in chunks (hosts.Ssm.read_file).

Per-run caching (cache.py) shares each role's answer with xdist workers:
exactly one worker sends, the others read what it got.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import secrets
import shlex
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envtest.errors import CouldNotEvaluate
from envtest.gather.asg import in_service_instance_ids
from envtest.gather.aws import Aws
from envtest.gather.cache import cached
from envtest.gather.hosts import LocalRoot, Ssm
from envtest.gather.ssm import SSM_OUTPUT_LIMIT, run_command

# Characters of framed output one command may print: SSM's limit, less the frame lines' own room.
BUDGET = SSM_OUTPUT_LIMIT - 1000
# Bytes of a read's stderr kept (before compression): enough for the cause, never a flood.
STDERR_KEEP = 2000
# Pure functions a read's output goes through in the process that fetched it, before it is cached or
# shared: a file that holds a secret (config.toml's runner token) is shared only as the facts kept of it.
REDUCERS: dict[str, Callable[[bytes], bytes]] = {}


def register_reducer(name: str, reduce: Callable[[bytes], bytes]) -> None:
    REDUCERS[name] = reduce


@dataclass(frozen=True)
class HostRead:
    """One thing to learn from every host of a role: a file's bytes, or a command's output."""

    role: str
    command: str
    file: str | None = None  # the path, when this read is a file's content
    timeout: float = 30.0  # seconds the read may take on the host
    reduce: str | None = None  # a REDUCERS name: what of the output is kept

    @property
    def key(self) -> str:
        return f"{self.role}\0{self.command}"

    def describe(self) -> str:
        return f"reading {self.file}" if self.file else f"`{self.command}`"


def file_read(role: str, path: str, reduce: str | None = None) -> HostRead:
    q = shlex.quote(path)
    command = f"test -r {q} || {{ echo 'no such readable file' >&2; exit 2; }}; cat -- {q}"
    return HostRead(role, command, file=path, reduce=reduce)


def reduced(read: HostRead, output: ItemOutput) -> ItemOutput:
    """The output as the read keeps it (REDUCERS), applied only to a whole, successful output."""
    if read.reduce is None or output.stdout is None or output.exit_code != 0:
        return output
    return ItemOutput(output.exit_code, REDUCERS[read.reduce](output.stdout), output.stderr)


def command_read(role: str, command: str, timeout: float = 30.0) -> HostRead:
    return HostRead(role, command, timeout=timeout)


@dataclass(frozen=True)
class ItemOutput:
    """What one read gave on one host. `stdout` is None when it did not fit the combined answer."""

    exit_code: int
    stdout: bytes | None
    stderr: str

    @property
    def text(self) -> str:
        return (self.stdout or b"").decode("utf-8", "replace")


def compose(reads: list[HostRead], nonce: str, budget: int = BUDGET) -> str:
    """The POSIX sh script that runs every read in parallel and prints one frame per read.

    Frames: `@envtest-item <i> <exit code> <stdout> <stderr>`, each field `z` and
    the base64 of its gzip (or `-` when it would overflow `budget`), between
    `@envtest-begin <nonce> <count>` and `@envtest-end <nonce>`. The reads'
    outputs wait in a temporary directory on the host, removed on exit.
    """
    lines = [
        "d=$(mktemp -d) || { echo 'envtest: cannot make a temporary directory' >&2; exit 97; }",
        "trap 'rm -rf \"$d\"' EXIT",
    ]
    for i, read in enumerate(reads):
        bound = max(1, int(read.timeout))
        lines.append(
            f'{{ timeout {bound} sh -c {shlex.quote(read.command)} >"$d/{i}.o" 2>"$d/{i}.e" </dev/null; '
            f'echo $? >"$d/{i}.c"; }} &'
        )
    lines += [
        "wait",
        f"left={int(budget)}",
        f"echo '@envtest-begin {nonce} {len(reads)}'",
        f"for i in {' '.join(str(i) for i in range(len(reads)))}; do",
        '  c=$(cat "$d/$i.c" 2>/dev/null || echo 255)',
        '  o=z$(gzip -9nc <"$d/$i.o" | base64 -w0)',
        f'  e=z$(head -c {STDERR_KEEP} "$d/$i.e" | gzip -9nc | base64 -w0)',
        '  if [ $(( ${#o} + ${#e} + 40 )) -gt "$left" ]; then o=-; fi',
        '  if [ $(( ${#o} + ${#e} + 40 )) -gt "$left" ]; then e=-; fi',
        "  left=$(( left - ${#o} - ${#e} - 40 ))",
        '  echo "@envtest-item $i $c $o $e"',
        "done",
        f"echo '@envtest-end {nonce}'",
    ]
    return "\n".join(lines) + "\n"


def _field(value: str) -> bytes | None:
    if value == "-":
        return None
    if not value.startswith("z"):
        raise ValueError(f"a frame field starts with {value[:1]!r}, not 'z' or '-'")
    try:
        return gzip.decompress(base64.b64decode(value[1:], validate=True))
    except (binascii.Error, OSError, EOFError) as exc:
        raise ValueError(f"a frame field does not decode ({exc})") from None


def parse_frames(text: str, count: int, nonce: str) -> dict[int, ItemOutput]:
    """The reads' outputs from one host's answer to `compose`; ValueError when the answer is not whole."""
    lines = text.splitlines()
    if f"@envtest-begin {nonce} {count}" not in lines:
        raise ValueError("the answer does not start as the planned command does (was the output cut, or replaced?)")
    if f"@envtest-end {nonce}" not in lines:
        raise ValueError("the answer ends before its last frame (cut short)")
    out: dict[int, ItemOutput] = {}
    for line in lines:
        if not line.startswith("@envtest-item "):
            continue
        parts = line.split(" ")
        if len(parts) != 5 or not parts[1].isdigit() or not parts[2].lstrip("-").isdigit():
            raise ValueError(f"a malformed frame: {line[:80]!r}")
        index = int(parts[1])
        if index >= count or index in out:
            raise ValueError(f"a frame for read {index} of {count}, or twice")
        stderr = _field(parts[4])
        out[index] = ItemOutput(
            int(parts[2]), _field(parts[3]), (stderr or b"").decode("utf-8", "replace") if stderr is not None else ""
        )
    missing = sorted(set(range(count)) - set(out))
    if missing:
        raise ValueError(f"no frame for read(s) {missing}")
    return out


def _encode(output: ItemOutput) -> dict[str, Any]:
    stdout = None if output.stdout is None else base64.b64encode(output.stdout).decode()
    return {"exit_code": output.exit_code, "stdout": stdout, "stderr": output.stderr}


def _decode(fields: dict[str, Any]) -> ItemOutput:
    stdout = fields["stdout"]
    return ItemOutput(int(fields["exit_code"]), None if stdout is None else base64.b64decode(stdout), fields["stderr"])


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
        self._plan: dict[str, list[HostRead]] = {}
        self._futures: dict[str, Future[dict[str, Any]]] = {}
        self._targets: dict[str, Future[tuple[str, list[str]]]] = {}
        self._planned = threading.Event()
        self._started = False

    # ---- the plan ---------------------------------------------------------------------------
    def start(self, build: Callable[[], list[HostRead]]) -> None:
        """In the background: build the run's reads (this may read AWS), then send one command per role."""

        self._started = True

        def plan() -> None:
            try:
                reads = build()
            except Exception:  # no plan: each read then goes on its own and meets the cause itself
                reads = []
            by_role: dict[str, list[HostRead]] = {}
            for read in reads:
                if read not in by_role.setdefault(read.role, []):
                    by_role[read.role].append(read)
            self._plan = by_role
            self._futures = {role: _in_background(self._role_answer, role, rs) for role, rs in by_role.items()}
            self._planned.set()

        threading.Thread(target=plan, name="host-reads-plan", daemon=True).start()

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

        No plan started (the naive baseline, a run whose plan could not be made): every read goes on its own.
        """
        if self._started and not self._planned.wait(timeout=self.online_timeout + 60):
            raise CouldNotEvaluate(f"the host-read plan was not ready within {self.online_timeout + 60:.0f} s")
        reads = self._plan.get(item.role, [])
        if item in reads:
            answer = self._futures[item.role].result()
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
        return {instance: _decode(fields) for instance, fields in outputs.items()}

    # ---- one role ---------------------------------------------------------------------------
    def _role_answer(self, role: str, reads: list[HostRead]) -> dict[str, Any]:
        digest = hashlib.sha256("\0\0".join(r.key for r in reads).encode()).hexdigest()[:16]

        def fetch() -> dict[str, Any]:
            return {"instances": self._fetch(role, reads)}

        try:
            return dict(cached(self.run_dir, f"{self.aws.region}:host_reads:{role}:{digest}", fetch))
        except CouldNotEvaluate as exc:
            return {"error": str(exc)}

    def _fetch(self, role: str, reads: list[HostRead]) -> dict[str, list[dict[str, Any]]]:
        group, ids = self._targets[role].result() if role in self._targets else self._find_targets(role)
        if not ids:
            raise CouldNotEvaluate(f"no InService instance in {group} to read from for role {role!r}")
        nonce = secrets.token_hex(6)
        timeout = max([self.command_timeout, *(r.timeout + 15 for r in reads)])
        results = run_command(self.aws, ids, compose(reads, nonce), timeout=timeout, online_timeout=self.online_timeout)
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
                    output = ItemOutput(0, Ssm(self.aws, instance_id).read_file(read.file), output.stderr)
                fields = _encode(reduced(read, output))
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
            return {item.role: reduced(item, ItemOutput(0, host.read_file(item.file), ""))}
        done = host.run(item.command, timeout=item.timeout)
        return {item.role: reduced(item, ItemOutput(done.exit_code, done.stdout.encode(), done.stderr))}
