#!/usr/bin/env bash
# Install what the suite needs from the OS: squid (the sandbox's real outbound
# proxy), Python's venv module, and what the sandbox's emulated instances run:
# ip and nft (network namespaces, security groups as nftables), redis-server,
# dig and nc (the commands the host checks send). For development and CI only,
# never the env_test image: headless chromium (a self-test renders the HTML
# summary in it) and Debian's python3-matplotlib for the system's python3 (the
# benchmarks' charts are drawn by a separate program under /usr/bin/python3, so
# matplotlib and numpy stay out of vendor_wheels/). The suite's own Python
# packages never come from here: they are vendored in vendor_wheels/.
# Idempotent: does nothing when all is present.
set -euo pipefail

packages=()
command -v squid >/dev/null 2>&1 || [ -x /usr/sbin/squid ] || packages+=(squid)
python3 -m venv --help >/dev/null 2>&1 || packages+=(python3-venv)
command -v ip >/dev/null 2>&1 || packages+=(iproute2)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || packages+=(nftables)
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
command -v dig >/dev/null 2>&1 || packages+=(bind9-dnsutils)
command -v nc >/dev/null 2>&1 || packages+=(netcat-openbsd)
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1 || packages+=(python3-matplotlib)
[ ${#packages[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${packages[*]}; install with: sudo apt-get update && sudo apt-get install -y ${packages[*]}" >&2
  exit 1
fi
# Debian's squid and redis packages start system services unless told not to;
# the sandbox runs its own, so keep the services from starting.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${packages[@]}" >/dev/null
