#!/usr/bin/env bash
# Installs the build tree into a fresh prefix, builds tests/install/consumer against it with
# find_package(gearspec), runs it, and runs the installed gearspec on its installed suite.
# usage: consumer_test.sh BUILD_DIR SOURCE_DIR [EXTRA_CXX_FLAGS]
set -euo pipefail
build=$1 source=$2 flags=${3:-}
work=$(mktemp -d /tmp/gearspec-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$source/tests/install/consumer" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer"
"$work/prefix/bin/gearspec" --version
# The installed suite, found next to the installed program (run from elsewhere).
(cd "$work" && "$work/prefix/bin/gearspec" run --id "options/echo-*" --no-color --json "$work/r.json" | tail -1)
grep -q '"file": "[^"]*/prefix/share/gearspec/scenarios/options/echo-' "$work/r.json" ||
  { echo "consumer_test: the installed gearspec did not run its installed suite" >&2; exit 1; }
"$work/prefix/bin/gearspec-server" --version
