#!/usr/bin/env bash
# A short coverage-guided fuzz run (atheris) of every parser of outside data.
# atheris is not vendored: it ships wheels for x86_64 only, so it comes from
# PyPI into a throwaway venv (the only command here that needs an index).
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-20}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
PIP_CONFIG_FILE=/dev/null "$work/venv/bin/pip" install --quiet --no-index --find-links "$here/vendor_wheels" \
  --require-hashes -r "$here/requirements/runtime.txt"
PIP_CONFIG_FILE=/dev/null "$work/venv/bin/pip" install --quiet --only-binary=:all: "atheris>=3,<4" \
  || { echo "fuzz.sh: atheris does not install here ($(uname -m)); the hypothesis property tests still run" >&2; exit 0; }
status=0
for target in allowlist allowed_images runner_config pipeline terraform_state terraform_outputs key_value; do
  echo "== $target (${seconds}s)"
  if ! (cd "$work" && "$work/venv/bin/python" "$here/fuzz/fuzz_parsers.py" "$target" \
        -max_total_time="$seconds" -rss_limit_mb=2048 > "$work/$target.log" 2>&1); then
    echo "CRASH in $target:"; tail -30 "$work/$target.log"; status=1
  else
    grep -E "^#[0-9]+\s+DONE" "$work/$target.log" | tail -1 || tail -1 "$work/$target.log"
  fi
done
exit $status
