"""Secrets in host files are masked on the host, before anything is printed.

SSM keeps every command's output (GetCommandInvocation, the console, an S3
output bucket when one is set), and whoever may read it is a wider circle than
whoever may log into the runner: the suite's own read-only policy can. A file
that holds a secret (config.toml's runner token, the cache's keys) therefore
never leaves its host whole. The host runs `MASK_PROGRAM` (POSIX awk, as
Ubuntu's mawk and busybox run it) over the file and prints it with every
secret's value masked: each letter and digit becomes `x`, and the characters
that give the value its shape and the file its syntax stay (quotes, blanks,
`-`, `_`, `.`, brackets, `=`, `,`, `#`). The TOML still parses, a token keeps
its length and separators, and the value itself is gone.

Which values are secret is data: `[hosts.secret_files]` in the policy maps a
path to the keys that hold secrets, or to `["*"]` for a file whose every line
is masked. A key is recognised wherever TOML puts one: at a line's start, in a
dotted key (`cache.s3.SecretKey`), quoted, or inside an inline table or array
(`{ token = "..." }`); a multi-line string opened on a secret key is masked to
its end. Whatever the program cannot tell apart is masked too: a value with an
escape keeps no backslash and no longer parses, so the check that needs it
could not evaluate, and the secret still stays on the host.
"""

from __future__ import annotations

import shlex
import subprocess

MASK_PROGRAM = r"""
BEGIN {
  n = split(keys, list, " ")
  for (i = 1; i <= n; i++) { if (list[i] == "*") all = 1; secret[list[i]] = 1 }
  keep = " \t\r\"'=,{}[]#._-"
  open = ""
}
function hide(s,   out, i, c) {
  out = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c ~ /[A-Za-z0-9]/ || index(keep, c) == 0) c = "x"
    out = out c
  }
  return out
}
function keyname(text,   parts, m) {
  sub(/^[{,]/, "", text); sub(/=$/, "", text)
  m = split(text, parts, ".")
  text = parts[m]
  gsub(/^[ \t]+|[ \t]+$/, "", text)
  gsub(/^["']|["']$/, "", text)
  return text
}
function opens(value,   v, d) {
  v = value; sub(/^[ \t]+/, "", v)
  d = substr(v, 1, 3)
  if (d != "\"\"\"" && d != "'''") return ""
  return index(substr(v, 4), d) ? "" : d
}
{
  line = $0
  if (all) { print hide(line); next }
  if (open != "") {
    if (index(line, open)) open = ""
    print hide(line); next
  }
  out = ""
  while (match(line, /(^|[{,])[^={},]*=/)) {
    head = substr(line, 1, RSTART + RLENGTH - 1)
    rest = substr(line, RSTART + RLENGTH)
    if (keyname(substr(line, RSTART, RLENGTH)) in secret) {
      open = opens(rest)
      out = out head hide(rest); line = ""
      break
    }
    out = out head; line = rest
  }
  print out line
}
"""


def masked_file_command(quoted_path: str, keys: tuple[str, ...]) -> str:
    """The shell command that prints the file at `quoted_path` (already shell-quoted) with these keys masked."""
    return f"LC_ALL=C awk -v keys={shlex.quote(' '.join(keys))} {shlex.quote(MASK_PROGRAM)} < {quoted_path}"


def mask_locally(data: bytes, keys: tuple[str, ...]) -> bytes:
    """The same program over bytes read here (a HOSTS_ROOT directory standing for the host): one masking, not two."""
    done = subprocess.run(
        ["awk", "-v", f"keys={' '.join(keys)}", MASK_PROGRAM],
        input=data,
        capture_output=True,
        env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"},
        check=False,
        timeout=30,
    )
    if done.returncode != 0:
        raise RuntimeError(f"awk could not mask the file: {done.stderr.decode('utf-8', 'replace')[:200]}")
    return done.stdout
