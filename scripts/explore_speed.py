#!/usr/bin/python3
"""Measures how many programs `gearspec explore` runs per minute against spawned C gearmand 1.1.20
(one server per thread of programs, or per program with --server-reuse 1), side by side in one
run: each configuration explores for SECONDS from the same seed, in turn, ROUNDS times, so that
the machine's noise falls on all of them alike.

    scripts/explore_speed.py [--gearspec PATH] [--baseline PATH] [--seconds 30] [--rounds 3]
                             [--jobs 4,8,16] [--config 'ARGS'] ... [--out FILE]

Configurations:
  - baseline: --baseline PATH, an earlier gearspec (built from an older commit) with its defaults:
    what explore did before. Without it, this gearspec with one program at a time and the moves
    explore had before (no time passing, no admin cancel or maxqueue) stands in for it.
  - this gearspec with -j N for each N of --jobs, with all its moves;
  - this gearspec with each --config's arguments (e.g. '-j 16 --server-reuse 1': a fresh server for
    every program, to see what reusing them brings).

A benchmark, not a test: it asserts nothing, it reports programs per minute (median of the rounds)
and each configuration's ratio to the baseline.
"""
import argparse
import pathlib
import re
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SPAWN = "/usr/sbin/gearmand --listen 127.0.0.1 --port {port} --log-file {dir}/gearmand.log"
OLD_MOVES = "wait=0,admin_cancel=0,admin_maxqueue=0"


def programs_per_minute(gearspec, args, seconds):
    r = subprocess.run([gearspec, "explore", "--spawn", SPAWN, "--seed", "1", "--time", f"{seconds}s",
                        *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=seconds * 20 + 300)
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    m = re.search(r"(\d+) programs in ([\d.]+) s", last)
    if not m:
        sys.exit(f"explore_speed: no summary line from {' '.join(args) or 'defaults'}:\n{r.stdout[-2000:]}")
    return 60.0 * int(m.group(1)) / float(m.group(2)), last


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gearspec", default=str(ROOT / "build/release/harness/cli/gearspec"))
    ap.add_argument("--baseline", help="an earlier gearspec binary (its defaults are the baseline)")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", default="4,8,16")
    ap.add_argument("--config", action="append", default=[], help="extra gearspec explore arguments")
    ap.add_argument("--out")
    a = ap.parse_args()

    configs = []
    if a.baseline:
        configs.append(("baseline: earlier gearspec, defaults", a.baseline, []))
    else:
        configs.append(("baseline: -j 1, the earlier moves", a.gearspec, ["-j", "1", "--weights", OLD_MOVES]))
    for j in [int(x) for x in a.jobs.split(",")]:
        configs.append((f"-j {j}, all moves", a.gearspec, ["-j", str(j)]))
    for extra in a.config:
        configs.append((extra, a.gearspec, extra.split()))

    rates = {name: [] for name, _, _ in configs}
    lines = []
    for rnd in range(1, a.rounds + 1):
        for name, binary, args in configs:
            rate, last = programs_per_minute(binary, args, a.seconds)
            rates[name].append(rate)
            line = f"round {rnd}: {name}: {rate:.0f} programs/min ({last})"
            print(line, flush=True)
            lines.append(line)

    base = statistics.median(rates[configs[0][0]])
    table = [f"{'configuration':44} {'programs/min (median)':>22} {'range':>13} {'x baseline':>10}"]
    for name, _, _ in configs:
        med = statistics.median(rates[name])
        table.append(f"{name:44} {med:22.0f} {min(rates[name]):6.0f}-{max(rates[name]):<6.0f} {med / base:10.2f}")
    report = "\n".join(lines + [""] + table)
    print("\n" + "\n".join(table))
    if a.out:
        pathlib.Path(a.out).write_text(report + "\n")


if __name__ == "__main__":
    main()
