#!/usr/bin/env bash
# The soak (issue #8): mixed foreground/background/shared-key load with client kills, worker kills
# mid-job and server crashes, against the reference server (in-process and standalone, each with
# its SQLite queue) and C gearmand 1.1.20 with its SQLite queue, one after the other; prints the
# accounting table side by side. Usage: scripts/soak.sh [SECONDS per server] [extra gearspec-soak
# options, e.g. --graceful]. Writes build/soak/soak.json. Exit 1 if any server lost or
# duplicated work beyond what its crashes explain.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${1:-60}
shift || true
scripts/bootstrap.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DGEARSPEC_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "${GEARSPEC_JOBS:-2}" >/dev/null
mkdir -p build/soak
server=build/release/reference-server/server/gearspec-server
exec build/release/harness/soak/gearspec-soak \
  --embedded=reference \
  --spawn "reference-standalone=$root/$server --quiet --port {port} --queue sqlite:{dir}/queue.db" \
  --spawn "gearmand-sqlite=/usr/sbin/gearmand --listen 127.0.0.1 --port {port} --log-file {dir}/gearmand.log -q libsqlite3 --libsqlite3-db {dir}/queue.db" \
  --duration "$duration" --drain 60 --json build/soak/soak.json "$@"
