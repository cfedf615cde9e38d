#!/usr/bin/python3
"""Measures how long the whole suite takes, as a user runs it: `gearspec run` with default options
against the embedded reference server and against C gearmand 1.1.20 spawned per scenario with its
profile. Each is run ROUNDS times; the table gives the median and the range of the wall time and
the CPU time of gearspec itself (its children, the spawned servers, included), and the verdicts.

    scripts/suite_speed.py [--gearspec PATH] [--rounds 5] [--out FILE]

A benchmark, not a test: it asserts nothing, it reports. Compare figures from one run (the
machine is shared and noisy).
"""
import argparse
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CASES = [
    ("embedded reference server (defaults)", []),
    ("C gearmand 1.1.20 spawned per scenario, with its profile",
     ["--spawn", "/usr/sbin/gearmand --listen 127.0.0.1 --port {port} --log-file {dir}/gearmand.log",
      "--profile", str(ROOT / "profiles/gearmand-1.1.20.yaml")]),
]


def run_once(gearspec, args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    r = subprocess.run([gearspec, "run", str(ROOT / "scenarios"), "--no-color", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "(no output)"
    return wall, cpu, r.returncode, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gearspec", default=str(ROOT / "build/release/harness/cli/gearspec"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out")
    args = ap.parse_args()
    lines = ["# gearspec suite speed, %s, %d rounds each (scripts/suite_speed.py)" %
             (time.strftime("%Y-%m-%d"), args.rounds),
             "# machine: %d cores; %s" % (os.cpu_count(), " ".join(os.uname()[2:4])), "",
             "| target | wall median | wall range | CPU median | exit | last summary |",
             "|---|---|---|---|---|---|"]
    for label, extra in CASES:
        runs = [run_once(args.gearspec, extra) for _ in range(args.rounds)]
        walls = [w for w, _, _, _ in runs]
        cpus = [c for _, c, _, _ in runs]
        codes = sorted({c for _, _, c, _ in runs})
        lines.append("| %s | %.2f s | %.2f–%.2f s | %.2f s | %s | %s |" % (
            label, statistics.median(walls), min(walls), max(walls), statistics.median(cpus),
            ",".join(map(str, codes)), runs[-1][3]))
        print(lines[-1], file=sys.stderr)
    text = "\n".join(lines) + "\n"
    if args.out:
        pathlib.Path(args.out).write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
