"""Let a local squid binary judge an allowlist: `squid -k parse` on a minimal config that loads it.

Only reads: squid parses the files and exits; no proxy is started. Where no
squid binary exists (the env_test image), the check says so and relies on
the pure parser alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SquidVerdict:
    binary: str
    exit_code: int
    messages: tuple[str, ...]  # squid's ERROR, WARNING and FATAL lines

    @property
    def fatal(self) -> bool:
        return self.exit_code != 0


def find_squid() -> str | None:
    """ENVTEST_SQUID if set (and only it), else squid on PATH, else Debian's /usr/sbin/squid; None if none runs."""
    chosen = os.environ.get("ENVTEST_SQUID")
    candidates = [chosen] if chosen else [shutil.which("squid"), "/usr/sbin/squid"]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def judge(allowlist: bytes, timeout: float = 30.0) -> SquidVerdict | None:
    binary = find_squid()
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="envtest-squid-parse-") as tmp:
        directory = Path(tmp)
        (directory / "allowlist.conf").write_bytes(allowlist)
        (directory / "squid.conf").write_text(
            "http_port 127.0.0.1:3128\nvisible_hostname envtest-parse\n"
            f'acl allowed_domains dstdomain "{directory / "allowlist.conf"}"\n'
            "http_access allow allowed_domains\nhttp_access deny all\n"
            f"pid_filename none\ncache_log {directory / 'cache.log'}\n"
        )
        done = subprocess.run(
            [binary, "-k", "parse", "-f", str(directory / "squid.conf")],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    lines = (done.stdout + done.stderr).splitlines()
    keep = [line.split("| ", 1)[-1].strip() for line in lines if any(w in line for w in ("ERROR", "WARNING", "FATAL"))]
    return SquidVerdict(binary, done.returncode, tuple(dict.fromkeys(keep)))
