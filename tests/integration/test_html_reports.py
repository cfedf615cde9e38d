"""The HTML pages a user opens, checked in a real headless browser (Debian's chromium): the
`gearspec run --html` report and docs/conformance-matrix.html load without script errors, their
scripts see the expected content, and a screenshot can be taken."""

import html.parser
import json
import os
import re
import shutil
import subprocess

import pytest

GEARSPEC = os.environ.get("GEARSPEC", "gearspec")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def browser(*args, url):
    assert CHROMIUM, "chromium is needed for the HTML tests (scripts/bootstrap.sh installs it)"
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--enable-logging=stderr", "--v=0", *args, url],
                       capture_output=True, text=True, timeout=120)
    # Script errors reach the browser's console log.
    assert "Uncaught" not in r.stderr, r.stderr[-2000:]
    return r


def rendered(url, element):
    dom = browser("--dump-dom", url=url).stdout
    m = re.search(r'<(?:div|span) id="%s">([^<]*)<' % element, dom)
    assert m and m.group(1), "the page's script did not run: %s" % dom[:500]
    return m.group(1)


def test_the_run_report_shows_every_scenario_failures_first(tmp_path):
    page, report = tmp_path / "report.html", tmp_path / "report.json"
    r = subprocess.run([GEARSPEC, "run", os.path.join(ROOT, "scenarios"), "--no-color", "--ref", "emulate=hold-job-created",
                        "--ref", "emulate=refuse:GRAB_JOB_UNIQ", "--html", str(page), "--json", str(report)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 1, r.stdout[-2000:]
    data = json.loads(report.read_text())
    counts = {}
    for x in data["results"]:
        counts[x["verdict"]] = counts.get(x["verdict"], 0) + 1
    expected = "rendered %d scenarios: %s" % (len(data["results"]),
                                               " ".join("%s=%d" % (k, counts[k]) for k in sorted(counts)))
    assert rendered(page.as_uri(), "rendered") == expected
    text = page.read_text(encoding="utf-8")
    # Failures come before the rest, each with its requirement text, expected and actual.
    first = re.search(r'<section class="scenario [^"]*" id="([^"]+)" data-verdict="([^"]+)"', text)
    assert first.group(2) == "fail"
    assert "SUBMIT-CREATED-FIRST</dt><dd>(MUST) A submitter gets JOB_CREATED before any WORK_*" in text
    assert "expected JOB_CREATED, got WORK_COMPLETE" in text
    assert 'href="#worker/grab-job-uniq-returns-the-unique"' in text  # root causes link down
    shot = tmp_path / "report.png"
    browser("--window-size=1300,1600", "--screenshot=" + str(shot), url=page.as_uri())
    assert shot.stat().st_size > 10000


def test_the_report_is_utf8_once(tmp_path):
    scenario = tmp_path / "u.yaml"
    scenario.write_text("""id: cli/utf8
title: "Grüße ✓ ü"
requirements: [ECHO-IDENTICAL]
level: MUST
description: "non-ASCII text: Grüße ✓"
actors:
  c: client
steps:
  - c: {send: ECHO_REQ, args: ["x"]}
  - c: {expect: ECHO_RES, args: ["x"]}
""", encoding="utf-8")
    page, report, junit = tmp_path / "r.html", tmp_path / "r.json", tmp_path / "r.xml"
    r = subprocess.run([GEARSPEC, "run", str(scenario), "--html", str(page), "--json", str(report),
                        "--junit", str(junit)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(report.read_text(encoding="utf-8"))["results"][0]["title"] == "Grüße ✓ ü"
    assert "Grüße ✓ ü" in junit.read_text(encoding="utf-8")
    assert "Grüße ✓ ü" in page.read_text(encoding="utf-8")
    dom = browser("--dump-dom", url=page.as_uri()).stdout
    assert "Grüße ✓ ü" in dom and "Ã" not in dom


class _Cells(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.by_verdict, self.rows, self.in_body = {}, 0, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tbody":
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.rows += 1
        elif tag == "td" and "data-verdict" in attrs and self.in_body:
            self.by_verdict[attrs["data-verdict"]] = self.by_verdict.get(attrs["data-verdict"], 0) + 1

    def handle_endtag(self, tag):
        if tag == "tbody":
            self.in_body = False


def test_the_conformance_matrix_page_loads_with_legend_totals_and_notes():
    path = os.path.join(ROOT, "docs", "conformance-matrix.html")
    source = open(path, encoding="utf-8").read()
    cells = _Cells()
    cells.feed(source)
    expected = "rendered %d rows; cells: %s" % (cells.rows, " ".join(
        "%s=%d" % (k, cells.by_verdict[k]) for k in sorted(cells.by_verdict)))
    assert rendered("file://" + path, "rendered") == expected
    assert 'id="totals"' in source and "position:sticky" in source
    assert "deviates from a MUST" in source and "implementation-defined: the variant shown" in source
    # Every deviation points at a visible note with its reason.
    for n in re.findall(r'href="#note-(\d+)"', source):
        assert 'id="note-%s"' % n in source
    assert 'href="../scenarios/attach/late-attach-half-way.yaml"' in source
