#!/usr/bin/env bash
# Installs gearspec's build and test dependencies, idempotently: apt-get runs only when a Debian
# package is missing, and `npm ci` (the interop tests' Node.js clients, pinned in
# tests/interop/node/package-lock.json) only when node_modules is missing or older than the lock
# file, so a second run costs a dpkg query and a file comparison and needs no network.
set -euo pipefail

packages=(
  build-essential cmake ninja-build g++ clang libclang-rt-14-dev
  libboost-dev libyaml-cpp-dev libgtest-dev libgmock-dev pybind11-dev python3-dev
  python3-pytest python3-yaml python3-jsonschema python3-venv python3-pip python3-setuptools python3-wheel
  libsqlite3-dev iproute2 procps
  # The Debian package (scripts/package.sh): CPack runs dpkg-shlibdeps, which needs `file`.
  dpkg-dev file
  # Real Gearman servers and clients, used as external targets and interop peers.
  gearman-job-server gearman-server gearman-tools libgearman-client-perl
  # Client libraries of other stacks for the interop tests (tests/interop).
  php-cli php-gearman libgearman-dev pkg-config
  # A real browser for the HTML reports' tests (headless).
  chromium
)
# Node.js and npm: the machine's own if it has them (they may come from outside Debian), else Debian's.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "bootstrap: done" >&2
fi

node_dir=$(cd "$(dirname "$0")/.." && pwd)/tests/interop/node
if [[ ! -f $node_dir/node_modules/.package-lock.json ||
      $node_dir/package-lock.json -nt $node_dir/node_modules/.package-lock.json ]]; then
  echo "bootstrap: npm ci in tests/interop/node" >&2
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
