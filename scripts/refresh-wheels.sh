#!/usr/bin/env bash
# refresh-wheels.sh - recompile the dependency locks and re-vendor the wheels.
#
# Why: the env_test image and the local sandbox must install with no network:
#
#   pip install --no-index --find-links vendor_wheels --require-hashes -r requirements/all.txt
#   pip install --no-index --find-links vendor_wheels --require-hashes -r requirements/runtime.txt
#
# That only works if the hash-pinned locks and vendor_wheels/ agree, so this is
# the ONE command that changes either of them (needs PyPI access):
#
#   scripts/refresh-wheels.sh             # re-lock after editing requirements/*.in
#                                         # (keeps existing pins where still valid)
#   scripts/refresh-wheels.sh --upgrade   # also bump every pin to the newest release
#
# What it does:
#   1. creates a throwaway venv with pinned pip-tools (never touches system python);
#   2. pip-compile requirements/{runtime,sandbox,selftest}.in -> requirements/all.txt
#      (--generate-hashes --strip-extras --allow-unsafe);
#   3. pip-compile requirements/runtime.in -c requirements/all.txt -> requirements/runtime.txt
#      (same versions as all.txt, subset only);
#   4. downloads wheels (binary only, never sdists) for every locked package for
#      CPython 3.11 and 3.12 x manylinux x86_64 and aarch64 (glibc >= 2.17
#      preferred, up to manylinux_2_28 accepted) and syncs them into
#      vendor_wheels/: new wheels are added, wheels no longer locked are removed,
#      identical wheels (pure-python, abi3) are kept once.
#
# The locks are resolved on the interpreter running this script (python3,
# override with PYTHON=...). They were checked to be identical on 3.11 and 3.12;
# if a dependency ever gains a python_version marker that differs, the
# --require-hashes install on the other version will fail - check both.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

PYTHON="${PYTHON:-python3}"
PIP_TOOLS_REQS=(pip==26.3 pip-tools==7.6.2)
PYTHON_VERSIONS=(3.11 3.12)
ARCHES=(x86_64 aarch64)
# Oldest first = preferred: pip picks the first --platform that a wheel matches.
MANYLINUX_MINORS=(17 18 19 20 21 22 23 24 25 26 27 28)

UPGRADE=()
case "${1:-}" in
    "") ;;
    --upgrade|-U) UPGRADE=(--upgrade) ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "usage: $0 [--upgrade]" >&2; exit 2 ;;
esac

# Use PyPI only: ignore machine-wide pip config (local find-links / extra
# indexes / constraints) so the hashes and versions come from PyPI alone.
export PIP_CONFIG_FILE=/dev/null
unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_NO_INDEX \
      PIP_CONSTRAINT PIP_REQUIREMENT PIP_REQUIRE_VIRTUALENV PIP_ONLY_BINARY \
      PIP_NO_BINARY PIP_PREFER_BINARY || true
export PIP_DISABLE_PIP_VERSION_CHECK=1

WORK="$(mktemp -d "${TMPDIR:-/tmp}/refresh-wheels.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "==> pip-tools venv in $WORK/venv"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet "${PIP_TOOLS_REQS[@]}"
PIP_COMPILE=("$WORK/venv/bin/pip-compile" --quiet --generate-hashes --strip-extras
             --allow-unsafe --no-emit-index-url --no-emit-find-links "${UPGRADE[@]}")

echo "==> requirements/all.txt"
"${PIP_COMPILE[@]}" --output-file=requirements/all.txt \
    requirements/runtime.in requirements/sandbox.in requirements/selftest.in

echo "==> requirements/runtime.txt"
"${PIP_COMPILE[@]}" --constraint=requirements/all.txt \
    --output-file=requirements/runtime.txt requirements/runtime.in

echo "==> downloading wheels"
STAGE="$WORK/wheels"
mkdir -p "$STAGE"
for arch in "${ARCHES[@]}"; do
    platforms=(--platform "manylinux2014_${arch}")
    for m in "${MANYLINUX_MINORS[@]}"; do
        platforms+=(--platform "manylinux_2_${m}_${arch}")
    done
    for py in "${PYTHON_VERSIONS[@]}"; do
        abi="cp${py/./}"
        echo "    cp${py/./} manylinux ${arch}"
        # Same dest dir for all targets: a wheel already there (pure-python,
        # abi3) is not downloaded again, so each file is kept once.
        "$WORK/venv/bin/python" -m pip download --quiet \
            --only-binary=:all: "${platforms[@]}" \
            --implementation cp --python-version "$py" \
            --abi "$abi" --abi abi3 --abi none \
            --require-hashes -r requirements/all.txt -d "$STAGE"
    done
done

if compgen -G "$STAGE/*" >/dev/null && ls "$STAGE" | grep -qv '\.whl$'; then
    echo "error: non-wheel files downloaded:" >&2
    ls "$STAGE" | grep -v '\.whl$' >&2
    exit 1
fi

echo "==> syncing vendor_wheels/"
mkdir -p vendor_wheels
added=0 removed=0
for f in vendor_wheels/*.whl; do
    [ -e "$f" ] || continue
    if [ ! -e "$STAGE/$(basename "$f")" ]; then
        rm -f "$f"; removed=$((removed + 1))
    fi
done
for f in "$STAGE"/*.whl; do
    dest="vendor_wheels/$(basename "$f")"
    if [ ! -e "$dest" ] || ! cmp -s "$f" "$dest"; then
        cp "$f" "$dest"; added=$((added + 1))
    fi
done

count=$(ls vendor_wheels/*.whl | wc -l)
size=$(du -sh vendor_wheels | cut -f1)
echo "==> done: $count wheels, $size (added/updated $added, removed $removed)"
