#!/usr/bin/env bash
# Runs every gearspec test: installs what is missing (Debian packages), builds out of tree with
# AddressSanitizer + UndefinedBehaviorSanitizer, runs ctest, then a bounded libFuzzer smoke run built
# with clang, then builds the Debian package, installs it and runs it (tests/package). Fast when
# nothing changed. Exit code: 0 only if every test passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/bootstrap.sh

jobs=${GEARSPEC_JOBS:-2}

echo "== build (g++, ASan+UBSan): build/asan"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGEARSPEC_SANITIZE=ON \
  -DGEARSPEC_WERROR=ON >/dev/null
cmake --build build/asan -j "$jobs"

echo "== build (clang, libFuzzer): build/fuzz"
CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGEARSPEC_BUILD_FUZZERS=ON -DGEARSPEC_BUILD_TESTS=OFF >/dev/null
cmake --build build/fuzz -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "== fuzz smoke (bounded)"
(cd build/fuzz && ctest -L fuzz --output-on-failure --timeout 900)

echo "== python package: pip install from the source tree, offline"
bindings/python/tests/pip_install_test.sh "$root"

echo "== tests"
(cd build/asan && ctest -j "$jobs" --output-on-failure --timeout 600)

echo "== Debian package: built, installed with apt, run from the installed files; docs/ci.md's jobs"
deb=$(scripts/package.sh | tail -n 1)
tests/package/deb_install_test.sh "$deb"
GEARSPEC_DEB="$deb" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/package/test_ci_page.py
