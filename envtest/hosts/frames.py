"""What a host read is, and how a role's reads travel in one SSM command and come back.

`compose` writes the POSIX sh script that runs a role's reads in parallel on
each host; `parse_frames` takes one host's answer apart again. The answer is
framed per read: one read's failure is that read's, and the checks that need
it say so; the others keep their answer. The frames are gzip-compressed and
base64-encoded and held to SSM's 24,000-character stdout limit: a read that
does not fit is marked deferred. Pure: hosts/plan.py sends and plans.
"""

from __future__ import annotations

import base64
import binascii
import shlex
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from envtest.hosts.masking import masked_file_command
from envtest.hosts.ssm import SSM_OUTPUT_LIMIT

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
    # Keys whose values are masked on the host before the file is printed (hosts/masking.py); ("*",) masks
    # every line. Empty: the file holds no secret.
    secret_keys: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.role}\0{self.command}"

    def describe(self) -> str:
        return f"reading {self.file}" if self.file else f"`{self.command}`"


def file_read(role: str, path: str, reduce: str | None = None, secret_keys: tuple[str, ...] = ()) -> HostRead:
    q = shlex.quote(path)
    source = masked_file_command(q, secret_keys) if secret_keys else f"cat -- {q}"
    command = f"test -r {q} || {{ echo 'no such readable file' >&2; exit 2; }}; {source}"
    return HostRead(role, command, file=path, reduce=reduce, secret_keys=tuple(secret_keys))


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


# Bytes of one host file or output the suite takes, once decompressed: a config.toml, an allowlist or a status
# file is kilobytes (the hostile-input benchmark's 10,000 kB config.toml fits); a host that sends more, or a
# gzip bomb that inflates past it, is refused instead of filling the suite's memory.
HOST_DATA_LIMIT = 16 * 1024 * 1024


def gunzip_bounded(data: bytes, limit: int = HOST_DATA_LIMIT) -> bytes:
    """gzip's content, inflated no further than `limit` bytes; ValueError past it or when it is not gzip."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"not gzip data ({exc})") from None
    if len(out) > limit:
        raise ValueError(f"it inflates past the suite's limit of {limit // (1024 * 1024)} MiB for one host file")
    if not inflater.eof:
        raise ValueError("the gzip data ends early")
    return out


def _field(value: str) -> bytes | None:
    if value == "-":
        return None
    if not value.startswith("z"):
        raise ValueError(f"a frame field starts with {value[:1]!r}, not 'z' or '-'")
    try:
        return gunzip_bounded(base64.b64decode(value[1:], validate=True))
    except binascii.Error as exc:
        raise ValueError(f"a frame field does not decode ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"a frame field does not decode: {exc}") from None


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


def encode_output(output: ItemOutput) -> dict[str, Any]:
    stdout = None if output.stdout is None else base64.b64encode(output.stdout).decode()
    return {"exit_code": output.exit_code, "stdout": stdout, "stderr": output.stderr}


def decode_output(fields: dict[str, Any]) -> ItemOutput:
    stdout = fields["stdout"]
    return ItemOutput(int(fields["exit_code"]), None if stdout is None else base64.b64decode(stdout), fields["stderr"])
