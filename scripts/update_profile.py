#!/usr/bin/python3
"""Rewrites a server profile from a gearspec JSON report of a run *without* that profile.

    scripts/update_profile.py PROFILE REPORT.json [REPORT.json ...] --observed "gearman-job-server 1.1.20+ds-1"

For every IMPL scenario that showed a known variant it writes an entry pinning that variant (the
reason is the variant's own description, the evidence the run); for every MUST or SHOULD failure an
expected-fail entry, keeping the reason already in the profile (a failure the profile does not
explain yet is listed and the script stops: a reason is written by a person). Entries with
`verdict: unsupported` are kept. Several reports (e.g. a run with a persistent queue) are merged.
"""
import argparse
import datetime
import json
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def quote(text):
    return json.dumps(text, ensure_ascii=False)


def variant_description(scenario_file, variant):
    data = yaml.safe_load((ROOT / scenario_file).read_text())
    return " ".join(str(data["variants"][variant]["description"]).split())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("profile")
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--observed", required=True, help="what ran, e.g. 'gearman-job-server 1.1.20+ds-1'")
    args = ap.parse_args()
    path = pathlib.Path(args.profile)
    old = yaml.safe_load(path.read_text()) if path.exists() else {}
    old_entries = {e["id"]: e for e in old.get("expectations") or []}

    results = {}
    for report in args.reports:
        for r in json.load(open(report))["results"]:
            if r["verdict"] in ("unsupported",) and r["id"] in results:
                continue  # another report ran it
            results[r["id"]] = r

    today = datetime.date.today().isoformat()
    entries, unexplained = [], []
    for sid in sorted(results):
        r = results[sid]
        prev = old_entries.get(sid, {})
        if prev.get("verdict") == "unsupported":
            entries.append(prev)
        elif r["verdict"] == "informational" and r.get("variant"):
            entries.append({
                "id": sid,
                "variant": r["variant"],
                "reason": variant_description(r["file"], r["variant"]),
                "evidence": f"observed {args.observed} on {today}: variant {r['variant']}",
            })
        elif r["verdict"] in ("fail", "expected-fail"):
            m = r.get("mismatch") or {}
            evidence = (f"observed {args.observed} on {today}: got {m.get('actual', '?')}; "
                        f"expected {m.get('expected', '?')}")
            reason = prev.get("reason") if prev.get("verdict", "expected-fail") == "expected-fail" else None
            if not reason:
                unexplained.append(f"{sid}: {evidence}")
                continue
            entries.append({"id": sid, "verdict": "expected-fail", "reason": reason,
                            "evidence": evidence})
        elif r["verdict"] == "informational":
            unexplained.append(f"{sid}: none of the known variants")
        elif r["verdict"] in ("error", "flaky", "unexpected-pass"):
            unexplained.append(f"{sid}: {r['verdict']}")
    if unexplained:
        print("write a reason into the profile for each, then run again:", file=sys.stderr)
        for line in unexplained:
            print("  " + line, file=sys.stderr)
        return 1

    name = f"{old.get('implementation', '?')} {old.get('version', '')}".strip()
    header = [
        f"# How {name} differs from what gearspec expects, and which variant it shows of each",
        "# implementation-defined behaviour. Written by scripts/update_profile.py from runs without",
        f"# a profile on {today} against {args.observed} (the reasons of expected failures are",
        "# written by hand; pinned variants quote the scenario's own description of the variant).",
    ]
    out = header + [
        f"implementation: {old.get('implementation', '?')}",
        f"version: {quote(str(old.get('version', '')))}",
        f"description: {quote(old.get('description', ''))}",
    ]
    # Known explore divergences are written by hand (gearspec explore, not a suite run): kept.
    if old.get("explore"):
        out.append("explore:")
        for e in old["explore"]:
            out.append(f"  - kind: {quote(e['kind'])}")
            for key in ("reason", "evidence", "scenario"):
                if key in e:
                    out.append(f"    {key}: {quote(e[key])}")
    out.append("expectations:")
    for e in entries:
        out.append(f"  - id: {e['id']}")
        for key in ("verdict", "variant", "reason", "evidence"):
            if key in e:
                out.append(f"    {key}: {quote(e[key])}")
    path.write_text("\n".join(out) + "\n")
    print(f"{path}: {sum('variant' in e for e in entries)} pinned variants, "
          f"{sum(e.get('verdict') == 'expected-fail' for e in entries)} expected failures, "
          f"{sum(e.get('verdict') == 'unsupported' for e in entries)} unsupported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
