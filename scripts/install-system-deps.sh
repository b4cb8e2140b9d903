#!/usr/bin/env bash
# Install what the sandbox needs from the OS: squid (the real outbound proxy).
# Python packages never come from here: they are vendored in vendor_wheels/.
# Idempotent; does nothing when squid is already installed.
set -euo pipefail

if command -v squid >/dev/null 2>&1 || [ -x /usr/sbin/squid ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "squid is missing; install it with: sudo apt-get update && sudo apt-get install -y squid" >&2
  exit 1
fi
# Debian's package starts a system squid on :3128 unless told not to; the
# sandbox runs its own on a free port, so keep the service from starting.
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq squid >/dev/null
[ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d
command -v squid >/dev/null 2>&1 || [ -x /usr/sbin/squid ]
