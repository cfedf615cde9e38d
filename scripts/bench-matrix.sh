#!/usr/bin/env bash
# The standard benchmark matrix (docs/performance.md): the reference server (in-process and
# standalone) against C gearmand 1.1.20 with -t 1 and with its default -t 4, all on loopback,
# interleaved round by round, for three loads. Writes one JSON file per load into $1 (default
# build/bench). Builds the release tree first if needed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-build/bench}
mkdir -p "$out"
scripts/bootstrap.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DGEARSPEC_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "${GEARSPEC_JOBS:-2}" >/dev/null

bench=build/release/harness/bench/gearspec-bench
server=build/release/reference-server/server/gearspec-server
rounds=${GEARSPEC_BENCH_ROUNDS:-3}
duration=${GEARSPEC_BENCH_DURATION:-3}
targets=(
  --embedded=reference-inproc
  --spawn "reference-standalone=$server --quiet --port {port}"
  --spawn "gearmand-t1=/usr/sbin/gearmand -t 1 --listen 127.0.0.1 --port {port} --log-file /dev/null"
  --spawn "gearmand-t4=/usr/sbin/gearmand -t 4 --listen 127.0.0.1 --port {port} --log-file /dev/null"
)
run() {
  local name=$1; shift
  echo "== $name"
  "$bench" "${targets[@]}" --clients 4 --workers 4 --payload 10 --rounds "$rounds" --duration "$duration" --warmup 1 \
    --json "$out/$name.json" "$@"
  echo
}
run sync-4x4
run pipelined-4x4x8 --inflight 8
run background-4x4 --background --inflight 8
