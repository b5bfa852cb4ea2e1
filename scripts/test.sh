#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, then runs it.
# Debian packages: redis-tools + redis-server (RESP tests with real Redis tools), etcd-server
# (etcd engine tests), strace (fsync-ordering proof), openssl (TLS test certificates), chromium
# (web UI tests in headless Chromium through playwright-core), fuse3 + python3-fusepy (the
# power-loss file system of test/faults/power-loss-fs.py; needs root and /dev/fuse).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v etcd >/dev/null 2>&1 || need_apt+=(etcd-server)
command -v strace >/dev/null 2>&1 || need_apt+=(strace)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v fusermount >/dev/null 2>&1 || need_apt+=(fuse3)
/usr/bin/python3 -c 'import fusepy' >/dev/null 2>&1 || need_apt+=(python3-fusepy)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "test.sh: installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

npm ci --no-audit --no-fund
npm test
