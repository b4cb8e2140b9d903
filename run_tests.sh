#!/usr/bin/env bash
# run_tests.sh: the one entry point of the environment test suite, for the
# env_test image after a deploy, the nightly pipeline, and a person with
# aws-vault:  aws-vault exec <profile> -- ./run_tests.sh <env>
#
# It keeps the Go runner's interface (run with -h for the flags). On first use
# it builds a virtualenv from vendor_wheels/ with --no-index --require-hashes:
# no package index is ever contacted. Set ENVTEST_PYTHON to an interpreter
# that already has the requirements (the env_test image does) to skip that.
set -euo pipefail

# As an image's entrypoint under GitLab's docker executor, the job's shell
# arrives as the arguments (`sh -c ...`): run it, so `script:` lines work.
case "${1:-}" in
  sh|bash|/bin/sh|/bin/bash|/usr/bin/sh|/usr/bin/bash) exec "$@" ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lock="${ENVTEST_REQUIREMENTS:-$here/requirements/all.txt}"
venv="${ENVTEST_VENV:-$here/.venv}"

die() { echo "run_tests.sh: $*" >&2; exit 2; }

bootstrap() {
  local base="${ENVTEST_BOOTSTRAP_PYTHON:-python3}"
  command -v "$base" >/dev/null 2>&1 || die "no $base on PATH; install Python 3.11 or newer"
  "$base" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$base is $("$base" -V 2>&1); the suite needs Python 3.11 or newer (set ENVTEST_BOOTSTRAP_PYTHON)"
  [ -f "$lock" ] || die "lock file $lock is missing"
  local want
  want="$(sha256sum "$lock" | cut -d' ' -f1) $("$base" -c 'import sys; print(sys.version.split()[0])')"
  mkdir -p "$(dirname "$venv")"
  # One builder at a time; the others wait and then find the venv ready.
  exec 9>"$venv.lock"
  flock 9
  if [ "$(cat "$venv/.envtest-stamp" 2>/dev/null)" != "$want" ]; then
    echo "run_tests.sh: building $venv from vendor_wheels/ (offline, hash-checked)" >&2
    rm -rf "$venv"
    "$base" -m venv "$venv" || die "could not create a virtualenv at $venv (is python3-venv installed?)"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CONFIG_FILE=/dev/null "$venv/bin/python" -m pip install --quiet \
      --no-index --find-links "$here/vendor_wheels" --require-hashes --no-cache-dir -r "$lock" >&2 \
      || { rm -rf "$venv"; die "offline install from vendor_wheels/ failed (see above)"; }
    echo "$want" > "$venv/.envtest-stamp"
  fi
  flock -u 9
  exec 9>&-
}

python="${ENVTEST_PYTHON:-}"
if [ -z "$python" ]; then
  bootstrap
  python="$venv/bin/python"
fi

# The development modes (the local sandbox, the proof, the benchmarks, the self-tests) are the test double's
# package, envtest_double/, which the env_test image does not ship; everything else is the product, envtest/.
module=envtest
for arg in "$@"; do
  case "$arg" in
    --) break ;;
    --sandbox|--sandbox-up|--sandbox-down|--prove|--benchmark|--self-test|-h|--help) module=envtest_double ;;
  esac
done
if [ "$module" = envtest_double ] && [ ! -d "$here/envtest_double" ]; then
  case " $* " in
    *" -h "*|*" --help "*) module=envtest ;;  # the image's help: the product's modes only
    *) die "this copy has no envtest_double/ (the env_test image ships the product only): the sandbox, --prove, --benchmark and --self-test run from a checkout of the repository" ;;
  esac
fi

export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m "$module" "$@"
