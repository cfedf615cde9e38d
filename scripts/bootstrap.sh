#!/usr/bin/env bash
# Installs gearspec's build and test dependencies from Debian, idempotently: apt-get runs only when
# a package is missing, so a second run costs a dpkg query.
set -euo pipefail

packages=(
  build-essential cmake ninja-build g++ clang libclang-rt-14-dev
  libboost-dev libyaml-cpp-dev libgtest-dev libgmock-dev pybind11-dev python3-dev
  python3-pytest python3-yaml python3-jsonschema python3-venv python3-pip python3-setuptools python3-wheel
  libsqlite3-dev iproute2 procps
  # Real Gearman servers and clients, used as external targets and interop peers.
  gearman-job-server gearman-server gearman-tools libgearman-client-perl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "bootstrap: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "bootstrap: done" >&2
