#!/usr/bin/env bash
# Install what the suite needs from the OS: squid (the sandbox's real outbound
# proxy) and Python's venv module. Python packages never come from here: they
# are vendored in vendor_wheels/. Idempotent: does nothing when all is present.
set -euo pipefail

packages=()
command -v squid >/dev/null 2>&1 || [ -x /usr/sbin/squid ] || packages+=(squid)
python3 -m venv --help >/dev/null 2>&1 || packages+=(python3-venv)
[ ${#packages[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${packages[*]}; install with: sudo apt-get update && sudo apt-get install -y ${packages[*]}" >&2
  exit 1
fi
# Debian's squid package starts a system squid on :3128 unless told not to; the
# sandbox runs its own on a free port, so keep the service from starting.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${packages[@]}" >/dev/null
