#!/usr/bin/env bash
# The main job: builds gearspec (release) if needed and runs the conformance suite (scenarios/)
# against the embedded reference server, printing the report. Extra arguments go to `gearspec run`
# (e.g. --spawn '/usr/sbin/gearmand --listen 127.0.0.1 --port {port} --log-file {dir}/log'
#  --profile profiles/gearmand-1.1.20.yaml, or --junit report.xml).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/bootstrap.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DGEARSPEC_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "${GEARSPEC_JOBS:-2}" >/dev/null

# GEARSPEC_JOBS is for the build; the run picks its own parallelism (scenarios mostly wait).
exec build/release/harness/cli/gearspec run scenarios "$@"
