#!/usr/bin/env bash
# Installs what the tests need and the Go toolchain does not bring:
# redis-server, Node.js with npm (for newman and the independent SCIM
# server the connector tests run against) and the npm packages of test/.
# As root it installs missing Debian packages with apt-get; otherwise it
# stops and says what to install.
set -euo pipefail

cd "$(dirname "$0")/.."

need_pkgs=()
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_pkgs+=(redis-tools)
command -v node >/dev/null 2>&1 || need_pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || need_pkgs+=(npm)
if [ -n "${BRIDGE_NEED_CHROMIUM:-}" ]; then
  command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
fi

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing: ${need_pkgs[*]}" >&2
    echo "install them (Debian: sudo apt-get install -y ${need_pkgs[*]}) or run make test as root" >&2
    exit 1
  fi
  echo "installing ${need_pkgs[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi

# Each folder under test/ with a package-lock.json is a small Node project
# that the Go tests run; install it when its lock file changed.
for lock in test/*/package-lock.json; do
  [ -e "$lock" ] || continue
  dir=$(dirname "$lock")
  stamp="$dir/node_modules/.installed-lock"
  if [ -f "$stamp" ] && cmp -s "$lock" "$stamp"; then
    continue
  fi
  echo "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$lock" "$stamp"
done
