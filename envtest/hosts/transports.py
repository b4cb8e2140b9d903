"""Reach an env's instances: read a file, run a command.

One interface, two backends (the testinfra idea):
- `LocalRoot`: a directory that stands for the host's `/` (the sandbox's
  `DIR/hosts/<role>/`, or `/` itself when the suite runs on the host);
- `Ssm`: SSM RunCommand on a managed instance, with a bounded wait and a clear
  error when the instance is not managed by SSM.
"""

from __future__ import annotations

import base64
import hashlib
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from envtest.errors import CouldNotEvaluate
from envtest.gather.aws import Aws
from envtest.hosts.frames import HOST_DATA_LIMIT, gunzip_bounded
from envtest.hosts.masking import masked_file_command
from envtest.hosts.ssm import run_command

# Bytes of compressed file per command: their base64 (4/3 as long) fits SSM's 24000-character stdout.
READ_CHUNK = 17000
# The compressed size of one file the suite reads in chunks: about 62 commands.
COMPRESSED_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class CommandResult:
    host: str
    command: str
    exit_code: int
    stdout: str
    stderr: str


class Host(Protocol):
    name: str

    def read_file(self, path: str) -> bytes: ...

    def run(self, command: str, timeout: float = 60.0) -> CommandResult: ...


class LocalRoot:
    """A host whose `/` is a local directory."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root.resolve()
        self.name = name

    def _path(self, path: str) -> Path:
        if not path.startswith("/"):
            raise CouldNotEvaluate(f"{self.name}: host paths are absolute, got {path!r}")
        resolved = (self.root / path.lstrip("/")).resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise CouldNotEvaluate(f"{self.name}: {path!r} leaves the host's root {self.root}")
        return resolved

    def read_file(self, path: str) -> bytes:
        try:
            with self._path(path).open("rb") as file:
                data = file.read(HOST_DATA_LIMIT + 1)
            if len(data) > HOST_DATA_LIMIT:
                raise CouldNotEvaluate(
                    f"{self.name}: {path} is larger than the suite's limit of {HOST_DATA_LIMIT // (1024 * 1024)} MiB "
                    "for one host file"
                )
            return data
        except FileNotFoundError:
            raise CouldNotEvaluate(f"{self.name}: {path} does not exist") from None
        except OSError as exc:
            raise CouldNotEvaluate(f"{self.name}: cannot read {path}: {exc.strerror}") from None

    def run(self, command: str, timeout: float = 60.0) -> CommandResult:
        try:
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=self.root,
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOST_ROOT": str(self.root)},
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CouldNotEvaluate(f"{self.name}: command {command!r} did not finish within {timeout:.0f} s") from None
        return CommandResult(
            host=self.name,
            command=command,
            exit_code=done.returncode,
            stdout=done.stdout.decode("utf-8", "replace"),
            stderr=done.stderr.decode("utf-8", "replace"),
        )


class Ssm:
    """A managed instance reached through SSM RunCommand (hosts/ssm.py)."""

    def __init__(self, aws: Aws, instance_id: str, *, poll_interval: float = 1.0, online_timeout: float = 30.0) -> None:
        self.aws = aws
        self.instance_id = instance_id
        self.name = instance_id
        self.poll_interval = poll_interval
        self.online_timeout = online_timeout

    def run(self, command: str, timeout: float = 60.0, *, writes: bool = False) -> CommandResult:
        done = run_command(
            self.aws,
            [self.instance_id],
            command,
            writes=writes,
            timeout=timeout,
            online_timeout=self.online_timeout,
            poll_interval=self.poll_interval,
        )[self.instance_id]
        return CommandResult(
            host=self.instance_id, command=command, exit_code=done.exit_code, stdout=done.stdout, stderr=done.stderr
        )

    def read_file(self, path: str, secret_keys: tuple[str, ...] = ()) -> bytes:
        """The file's bytes, gzip-compressed on the host and read in chunks that fit SSM's output limit.

        The first command gives the compressed size and digest, and the data too
        when it fits (most files: one command); a larger file takes one more
        command per chunk, and the digest proves the pieces are one version.
        With `secret_keys`, their values are masked on the host before compression (hosts/masking.py).
        """
        first = self.run(first_read_command(path, secret_keys))
        if first.exit_code != 0:
            raise CouldNotEvaluate(f"{self.instance_id}: cannot read {path}: {first.stderr.strip()[:200]}")
        header, _, data = first.stdout.partition("\n")
        try:
            size_text, digest = header.split()
            size = int(size_text)
        except ValueError:
            raise CouldNotEvaluate(
                f"{self.instance_id}: unreadable answer while reading {path}: {header[:80]!r}"
            ) from None
        if size > COMPRESSED_LIMIT:  # before any chunk is asked for: 62 commands at most
            raise CouldNotEvaluate(
                f"{self.instance_id}: {path} is {size} bytes compressed; the suite reads at most "
                f"{COMPRESSED_LIMIT // 1024} KiB of one host file"
            )
        encoded = [data.strip()] if size <= READ_CHUNK else []
        for offset in range(0, size, READ_CHUNK) if size > READ_CHUNK else []:
            chunk = self.run(chunk_read_command(path, secret_keys, offset))
            if chunk.exit_code != 0:
                raise CouldNotEvaluate(f"{self.instance_id}: cannot read {path}: {chunk.stderr.strip()[:200]}")
            encoded.append(chunk.stdout.strip())
        try:
            compressed = b"".join(base64.b64decode(e, validate=True) for e in encoded)
        except ValueError:
            raise CouldNotEvaluate(f"{self.instance_id}: unreadable output while reading {path}") from None
        if len(compressed) != size or hashlib.sha256(compressed).hexdigest() != digest:
            raise CouldNotEvaluate(f"{self.instance_id}: {path} changed while it was being read; run again")
        try:
            return gunzip_bounded(compressed)
        except ValueError as exc:
            raise CouldNotEvaluate(f"{self.instance_id}: {path} did not decompress: {exc}") from None


def _compressed(path: str, secret_keys: tuple[str, ...]) -> str:
    q = shlex.quote(path)
    return f"{masked_file_command(q, secret_keys)} | gzip -9nc" if secret_keys else f"gzip -9nc -- {q}"


def first_read_command(path: str, secret_keys: tuple[str, ...] = ()) -> str:
    """The compressed file's size and digest, then its base64 when it fits one answer (Ssm.read_file)."""
    q, gz = shlex.quote(path), _compressed(path, secret_keys)
    return (
        f"test -r {q} || {{ echo 'no such readable file' >&2; exit 2; }}; "
        f"n=$({gz} | wc -c); d=$({gz} | sha256sum | cut -d' ' -f1); echo \"$n $d\"; "
        f'if [ "$n" -le {READ_CHUNK} ]; then {gz} | base64 -w0; fi'
    )


def chunk_read_command(path: str, secret_keys: tuple[str, ...], offset: int) -> str:
    """One chunk of the compressed file, from byte `offset`, as base64 (Ssm.read_file)."""
    return f"{_compressed(path, secret_keys)} | tail -c +{int(offset) + 1} | head -c {READ_CHUNK} | base64 -w0"
