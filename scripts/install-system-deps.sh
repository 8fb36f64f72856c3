#!/usr/bin/env bash
# Installs the Debian packages the tests, the demo and the benchmarks use.
# Needs root (apt-get); prints the command to run otherwise.
# docker.io, docker-compose and gdb (native stacks of a stuck test worker) are optional:
# installed when root; without Docker the LDAP tests use the host's slapd and the compose
# stack test is skipped.
set -euo pipefail
PKGS=(nginx libnginx-mod-http-js njs slapd ldap-utils redis-server debootstrap chromium wrk openssl ca-certificates libxml2-utils)
OPTIONAL=(docker.io docker-compose gdb)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
if [ "$(id -u)" -eq 0 ]; then
  for p in "${OPTIONAL[@]}"; do installed "$p" || missing+=("$p"); done
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d 101 keeps the packages' postinst from starting system nginx/slapd/redis/docker:
# the tests start their own servers on ephemeral ports (and their own dockerd).
had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
[ $had_policy -eq 1 ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
apt-get install -y -qq --no-install-recommends "${missing[@]}"
[ $had_policy -eq 1 ] || rm -f /usr/sbin/policy-rc.d
