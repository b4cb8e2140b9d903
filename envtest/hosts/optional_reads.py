"""Host reads whose answer may be "not there": a file that need not exist, and a systemd unit as systemd
assembles it (the unit file systemd uses, then its drop-ins).

Both are commands (hosts/frames.py runs them in the role's one SSM command). Their paths are the
host's; under HOSTS_ROOT (a local directory standing for the host) the command finds them below $HOST_ROOT,
which hosts/transports.py's LocalRoot sets and SSM leaves unset. A file absent is exit code ABSENT, never an error.
"""

from __future__ import annotations

import shlex

from envtest.hosts.frames import HostRead, command_read
from envtest.hosts.masking import masked_file_command

ABSENT = 3
# Each file of a unit's answer starts after this line (a comment to systemd): `#@envtest-file <path>`.
FILE_MARK = "#@envtest-file "
# Where systemd looks for a system unit, the first directory holding it winning; drop-ins (<unit>.d/*.conf) are
# taken from all of them, a name in an earlier directory hiding the same name in a later one (systemd.unit(5),
# "Unit File Load Path"). /lib is /usr/lib on a merged-/usr system, and a directory of its own on an older one.
UNIT_DIRS = (
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)


def optional_file_read(role: str, path: str) -> HostRead:
    """A file's bytes, or exit code ABSENT when it does not exist."""
    q = shlex.quote(path)
    return command_read(
        role, f'p="${{HOST_ROOT:-}}"{q}; if [ ! -e "$p" ]; then echo "no such file" >&2; exit {ABSENT}; fi; cat -- "$p"'
    )


def systemd_unit_read(role: str, unit: str, secret_keys: tuple[str, ...] = ()) -> HostRead:
    """The unit file systemd loads for `unit`, then each drop-in in the order systemd applies them, each after a
    FILE_MARK line naming it; exit code ABSENT when no directory holds the unit. `secret_keys` are masked on the
    host (a unit's Environment= may hold a proxy's password)."""
    u = shlex.quote(unit)
    dirs = " ".join(shlex.quote(d) for d in UNIT_DIRS)
    show = masked_file_command('"$R$f"', secret_keys) if secret_keys else 'cat -- "$R$f"'
    # Drop-in names sorted as systemd sorts them (by name, whatever the directory), the earliest directory's
    # copy of a name the one applied.
    return command_read(
        role,
        "\n".join(
            [
                'R="${HOST_ROOT:-}"; found=""',
                f'for d in {dirs}; do if [ -f "$R$d/"{u} ]; then found="$d/"{u}; break; fi; done',
                f'[ -n "$found" ] || {{ echo "no unit "{u}" in systemd\'s directories" >&2; exit {ABSENT}; }}',
                f'f="$found"; printf \'%s%s\\n\' {shlex.quote(FILE_MARK)} "$f"; {show} || exit 1',
                f'for d in {dirs}; do ls -1 "$R$d/"{u}.d 2>/dev/null; done | grep "\\.conf$" | LC_ALL=C sort -u |',
                "while IFS= read -r n; do",
                f'  for d in {dirs}; do f="$d/"{u}".d/$n"; if [ -f "$R$f" ]; then',
                f"    printf '\\n%s%s\\n' {shlex.quote(FILE_MARK)} \"$f\"; {show} || exit 1; break",
                "  fi; done",
                "done",
            ]
        ),
    )


def unit_files(output: bytes) -> list[tuple[str, str]]:
    """A systemd_unit_read's answer as (path, text) per file, the unit first; ValueError when it is not one."""
    text = output.decode("utf-8", "replace")
    if not text.startswith(FILE_MARK):
        raise ValueError("the answer does not start with a file's mark")
    # Each drop-in's mark follows a newline of its own, so a file without a last newline cannot hide it.
    chunks = text.removeprefix(FILE_MARK).split("\n" + FILE_MARK)
    return [(head, body) for head, _, body in (chunk.partition("\n") for chunk in chunks)]
