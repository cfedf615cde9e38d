#!/usr/bin/python3
"""Condenses a gearspec JSON report into the text kept in docs/evidence/: one line per scenario
with its verdict (and the variant an IMPL scenario showed), and for each failure what was expected
and what arrived.

    scripts/condense_report.py REPORT.json [REPORT.json ...] --title "gearmand 1.1.20" --command "..."

Several reports (e.g. one with a persistent queue) are merged: a scenario one report could not run
takes its verdict from another.
"""
import argparse
import datetime
import json
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--title", required=True)
    ap.add_argument("--command", required=True, help="how the reports were made")
    args = ap.parse_args()
    results = {}
    for report in args.reports:
        for r in json.load(open(report))["results"]:
            if r["verdict"] == "unsupported" and r["id"] in results:
                continue
            results[r["id"]] = r
    out = [f"# {args.title}: verdicts of the gearspec suite without a profile, "
           f"{datetime.date.today().isoformat()}",
           f"# from: {args.command}", ""]
    for sid in sorted(results):
        r = results[sid]
        line = f"{r['verdict'].upper():<14} {sid}"
        if r["verdict"] == "informational":
            line += f"  (variant {r['variant']})" if r["variant"] else "  (none of the known variants)"
        if r["verdict"] == "blocked":
            line += f"  (lacks {', '.join(r['blocked_by'])})"
        out.append(line)
        m = r.get("mismatch")
        if r["verdict"] in ("fail", "error", "flaky") and m:
            out.append(f"               expected: {m['expected']}")
            out.append(f"               actual:   {m['actual']}")
    counts = {}
    for r in results.values():
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    out += ["", "# " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
