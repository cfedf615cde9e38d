#!/usr/bin/env bash
# Builds gearspec's Debian package (CPack, cmake/package.cmake) from a release build in
# build/release and prints its path. Install it with: apt-get install ./gearspec_<version>_<arch>.deb
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/bootstrap.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DGEARSPEC_BUILD_TESTS=OFF \
  -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build build/release -j "${GEARSPEC_JOBS:-2}" >/dev/null
rm -f build/release/gearspec_*.deb
(cd build/release && cpack -G DEB >cpack.log 2>&1) || { cat build/release/cpack.log >&2; exit 1; }
ls "$root"/build/release/gearspec_*.deb
