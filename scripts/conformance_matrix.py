#!/usr/bin/python3
"""Builds the conformance matrix: one row per requirement and scenario, one column per implementation.

One command, one run: it runs the suite against the embedded reference server and against the
Debian servers (C gearmand 1.1.20 and Perl Gearman::Server 1.130, spawned per scenario with their
profiles), then writes docs/conformance-matrix.md and docs/conformance-matrix.html. Nothing in
them is typed by hand: every cell is a verdict from that run.

usage: scripts/conformance_matrix.py [--gearspec PATH] [--out-dir docs] [--from-json DIR] [--repeat N]
  --from-json DIR   reuse reference.json, gearmand.json, perl.json and gearmand-sqlite.json from DIR
                    (e.g. build/asan/tests/conformance after scripts/test.sh) instead of running
  --repeat N        run every scenario N times; a verdict that changes between rounds is FLAKY

IMPL scenarios show the variant each implementation showed (pinned by its profile: a cell that
says `variant X` passed because the server still shows X).
"""

import argparse
import datetime
import html
import json
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]

IMPLEMENTATIONS = [
    ("reference", "gearspec reference", [], "profiles/gearspec-reference.yaml"),
    ("gearmand", "C gearmand 1.1.20",
     ["--spawn", "/usr/sbin/gearmand --listen 127.0.0.1 --port {port} --log-file {dir}/gearmand.log"],
     "profiles/gearmand-1.1.20.yaml"),
    ("perl", "Perl Gearman::Server 1.130",
     ["--spawn", str(ROOT / "scripts/perl-gearmand-loopback") + " --port {port} -L 127.0.0.1"],
     "profiles/gearman-server-perl-1.130.yaml"),
    # Only the durability scenarios: the rest is the column before with another queue.
    ("gearmand-sqlite", "C gearmand 1.1.20 -q libsqlite3",
     ["--tag", "durability", "--persistent", "--spawn",
      "/usr/sbin/gearmand --listen 127.0.0.1 --port {port} --log-file {dir}/gearmand.log"
      " -q libsqlite3 --libsqlite3-db {dir}/queue.db"],
     "profiles/gearmand-1.1.20.yaml"),
]

SYMBOL = {"pass": "pass", "fail": "FAIL", "expected-fail": "deviates", "unexpected-pass": "XPASS",
          "unsupported": "n/a", "blocked": "blocked", "informational": "info", "flaky": "FLAKY",
          "error": "ERROR"}


def cell(r):
    """A verdict as a matrix cell: IMPL scenarios name the variant, blocked ones what is missing."""
    if r["verdict"] == "blocked":
        return "blocked (%s)" % ", ".join(r["blocked_by"])
    if r.get("variant") and r["verdict"] in ("pass", "informational"):
        return "variant " + r["variant"]
    return SYMBOL.get(r["verdict"], "?")


def load_requirements():
    reqs = []
    for line in (ROOT / "docs/requirements.md").read_text().splitlines():
        m = re.match(r"^\| ([A-Z][A-Z0-9-]+) \| (MUST|SHOULD|IMPL) \| ([^|]+)\|", line)
        if m:
            reqs.append((m.group(1), m.group(2), m.group(3).strip()))
    return reqs


def run_all(gearspec, out, repeat):
    for key, _, args, profile in IMPLEMENTATIONS:
        cmd = [gearspec, "run", str(ROOT / "scenarios"), "--no-color", "--repeat", str(repeat),
               "--json", str(out / (key + ".json"))] + args
        if profile:
            cmd += ["--profile", str(ROOT / profile)]
        print("running:", " ".join(cmd), file=sys.stderr)
        code = subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode
        if code == 2:
            sys.exit("gearspec run failed to start for " + key)


CLASSES = [  # css class, colour, legend text
    ("pass", "#c8e6c9", "pass"),
    ("variant", "#cfe2ff", "implementation-defined: the variant shown (pinned by the profile)"),
    ("dev-must", "#f4a582", "deviates from a MUST (expected by the profile; see the note)"),
    ("dev-should", "#fde0a0", "deviates from a SHOULD (expected by the profile; see the note)"),
    ("blocked", "#d7ccc8", "blocked: needs a capability the implementation lacks"),
    ("na", "#eeeeee", "not run (unsupported by this target)"),
    ("bad", "#e53935", "FAIL, ERROR, FLAKY or XPASS: the profile is wrong or the run was"),
]


def cell_class(r, level):
    v = r["verdict"]
    if v in ("fail", "error", "flaky", "unexpected-pass"):
        return "bad"
    if v == "expected-fail":
        return "dev-must" if level == "MUST" else "dev-should"
    if r.get("variant") and v in ("pass", "informational"):
        return "variant"
    return {"pass": "pass", "blocked": "blocked", "unsupported": "na", "informational": "variant"}.get(v, "na")


def matrix_html(today, scenarios, reqs, covered, by_requirement, results, totals):
    esc = html.escape
    notes, note_of = [], {}
    rows = []
    for rid, level, text in reqs:
        for s in sorted(by_requirement.get(rid, []), key=lambda s: s["id"]) or [None]:
            cells = []
            for key, _, _, _ in IMPLEMENTATIONS:
                r = results[key].get(s["id"]) if s else None
                if not r:
                    cells.append('<td class="na">%s</td>' % ("no scenario" if not s else "not run"))
                    continue
                klass = cell_class(r, s["level"])
                why = r["reason"] if klass in ("dev-must", "dev-should", "bad", "blocked") else ""
                ref = ""
                if why:
                    text_key = (why, r.get("evidence", ""))
                    if text_key not in note_of:
                        notes.append(text_key)
                        note_of[text_key] = len(notes)
                    ref = ' <a class="note" href="#note-%d">[%d]</a>' % (note_of[text_key], note_of[text_key])
                cells.append('<td class="%s" data-verdict="%s">%s%s</td>' % (klass, r["verdict"], esc(cell(r)), ref))
            sid = ('<a href="../scenarios/%s.yaml">%s</a>' % (esc(s["id"]), esc(s["id"]))) if s else "<em>no scenario</em>"
            rows.append('<tr><td><b>%s</b><div class="req">%s</div></td><td>%s</td><td>%s</td>%s</tr>'
                        % (rid, esc(text), level, sid, "".join(cells)))
    legend = "".join('<span class="key"><span class="swatch %s"></span>%s</span>' % (k, esc(t)) for k, _, t in CLASSES)
    verdicts = list(SYMBOL)
    totals_rows = "".join(
        "<tr><td>%s</td>%s</tr>" % (esc(label), "".join('<td data-impl="%s" data-verdict="%s">%d</td>'
                                                         % (key, v, totals[key].get(v, 0)) for v in verdicts))
        for key, label, _, _ in IMPLEMENTATIONS)
    notes_html = "".join('<li id="note-%d">%s<br><small>%s</small></li>' % (i + 1, esc(w), esc(e)) for i, (w, e) in enumerate(notes))
    css = "".join(".%s{background:%s}" % (k, c) for k, c, _ in CLASSES)
    script = """
(function(){
  var n=document.querySelectorAll('#matrix tbody tr').length;
  var by={};document.querySelectorAll('#matrix tbody td[data-verdict]').forEach(function(td){
    by[td.dataset.verdict]=(by[td.dataset.verdict]||0)+1;});
  document.getElementById('rendered').textContent='rendered '+n+' rows; cells: '+
    Object.keys(by).sort().map(function(k){return k+'='+by[k];}).join(' ');
})();"""
    return """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>gearspec conformance matrix</title>
<style>body{font-family:system-ui,sans-serif;margin:0 16px 32px;color:#222}h1{font-size:20px}
table{border-collapse:collapse}td,th{border:1px solid #aaa;padding:2px 6px;font-size:13px;vertical-align:top}
#matrix thead th{position:sticky;top:0;background:#f3f3f3;z-index:1}.req{font-size:11px;color:#555;max-width:420px}
.key{margin-right:14px;white-space:nowrap;font-size:12px}.swatch{display:inline-block;width:12px;height:12px;border:1px solid #888;margin-right:4px;vertical-align:middle}
a.note{font-size:11px}#notes li{margin:4px 0;font-size:13px}%s</style></head><body>
<h1>gearspec conformance matrix</h1>
<p>Generated %s by <code>scripts/conformance_matrix.py</code> from one run of %d scenarios against each implementation with its profile.
Requirement coverage: %d of %d. <span id="rendered"></span></p>
<p>%s</p>
<h2>Totals</h2><table id="totals"><tr><th>implementation</th>%s</tr>%s</table>
<h2>Requirements and scenarios</h2>
<table id="matrix"><thead><tr><th>requirement</th><th>level</th><th>scenario</th>%s</tr></thead><tbody>
%s
</tbody></table>
<h2>Notes</h2><ol id="notes">%s</ol>
<script>%s</script></body></html>
""" % (css, today, len(scenarios), len(covered), len(reqs), legend,
       "".join("<th>%s</th>" % esc(SYMBOL[v]) for v in verdicts), totals_rows,
       "".join("<th>%s</th>" % esc(l) for _, l, _, _ in IMPLEMENTATIONS), "\n".join(rows), notes_html, script)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gearspec", default=str(ROOT / "build/release/harness/cli/gearspec"))
    ap.add_argument("--out-dir", default=str(ROOT / "docs"))
    ap.add_argument("--from-json")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    if args.from_json:
        data_dir = pathlib.Path(args.from_json)
    else:
        data_dir = pathlib.Path(tempfile.mkdtemp(prefix="gearspec-matrix-"))
        run_all(args.gearspec, data_dir, args.repeat)
    runs = {key: json.loads((data_dir / (key + ".json")).read_text()) for key, _, _, _ in IMPLEMENTATIONS}
    results = {key: {r["id"]: r for r in run["results"]} for key, run in runs.items()}
    scenarios = runs["reference"]["results"]
    by_requirement = {}
    for s in scenarios:
        for req in s["requirements"]:
            by_requirement.setdefault(req, []).append(s)

    reqs = load_requirements()
    covered = [r for r in reqs if r[0] in by_requirement]
    uncited = sorted(set(by_requirement) - {r[0] for r in reqs})
    today = datetime.date.today().isoformat()

    totals = {}
    for key, _, _, _ in IMPLEMENTATIONS:
        counts = {}
        for r in results[key].values():
            counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
        totals[key] = counts

    # Markdown.
    md = ["# Conformance matrix", "",
          "Generated by `scripts/conformance_matrix.py` on %s from one run of the suite (%d scenarios); "
          "do not edit by hand. `deviates` = fails as the implementation's profile says (the reason is "
          "in `profiles/`), `variant X` = an implementation-defined behaviour and the variant shown (as "
          "the profile pins it), `blocked (X)` = needs capability X, which the implementation lacks, "
          "`n/a` = not run (unsupported), `FLAKY` = the verdict changed between rounds."
          % (today, len(scenarios)), "",
          "**Requirement coverage: %d of %d requirements have at least one scenario (%.0f%%).**"
          % (len(covered), len(reqs), 100.0 * len(covered) / max(1, len(reqs))), ""]
    if uncited:
        md += ["Scenarios cite IDs missing from the catalog: " + ", ".join(uncited), ""]
    md.append("| implementation | " + " | ".join(SYMBOL[v] for v in SYMBOL) + " |")
    md.append("|---|" + "---|" * len(SYMBOL))
    for key, label, _, _ in IMPLEMENTATIONS:
        md.append("| %s | " % label + " | ".join(str(totals[key].get(v, 0)) for v in SYMBOL) + " |")
    md += ["", "| requirement | level | scenario | " + " | ".join(l for _, l, _, _ in IMPLEMENTATIONS) + " |",
           "|---|---|---|" + "---|" * len(IMPLEMENTATIONS)]
    for rid, level, text in reqs:
        rows = by_requirement.get(rid, [])
        if not rows:
            md.append("| %s | %s | **no scenario** |" % (rid, level) + " |" * len(IMPLEMENTATIONS))
            continue
        for s in sorted(rows, key=lambda s: s["id"]):
            cells = []
            for key, _, _, _ in IMPLEMENTATIONS:
                r = results[key].get(s["id"])
                cells.append(cell(r) if r else "not run")
            md.append("| %s | %s | `%s` | %s |" % (rid, level, s["id"], " | ".join(cells)))
    out_dir = pathlib.Path(args.out_dir)
    (out_dir / "conformance-matrix.md").write_text("\n".join(md) + "\n")

    # Self-contained HTML: legend, totals per implementation, a header that stays in view, the
    # reasons as numbered notes under the table, links to the scenario files.
    (out_dir / "conformance-matrix.html").write_text(
        matrix_html(today, scenarios, reqs, covered, by_requirement, results, totals))
    print("wrote %s and %s: %d requirements, %d covered, %d scenarios"
          % (out_dir / "conformance-matrix.md", out_dir / "conformance-matrix.html", len(reqs), len(covered), len(scenarios)))
    bad = [k for k in totals if any(totals[k].get(v, 0) for v in ("fail", "unexpected-pass", "flaky", "error"))]
    return 1 if bad or len(covered) < len(reqs) else 0


if __name__ == "__main__":
    sys.exit(main())
