"""The `gearspec run` command: exit codes CI can trust, load errors with positions, reports."""

import json
import re
import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

GEARSPEC = os.environ.get("GEARSPEC", "gearspec")
SERVER = os.environ.get("GEARSPEC_SERVER", "gearspec-server")

HEAD = """title: t
requirements: [ECHO-IDENTICAL]
level: MUST
description: CLI test scenario
actors:
  c: client
steps:
"""

PASSING = "id: cli/pass\n" + HEAD + """  - c: {send: ECHO_REQ, args: ["x"]}
  - c: {expect: ECHO_RES, args: ["x"]}
"""

FAILING = "id: cli/fail\n" + HEAD + """  - c: {send: ECHO_REQ, args: ["x"]}
  - c: {expect: ECHO_RES, args: ["y"]}
"""


CI_VARIABLES = ("GITHUB_ACTIONS", "GITHUB_WORKSPACE", "GITLAB_CI", "CI_PROJECT_DIR")


def run(*args, cwd=None, ci=None):
    """gearspec run, with the CI variables of `ci` only (none of the caller's own CI)."""
    env = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
    env.update(ci or {})
    return subprocess.run([GEARSPEC, "run", "--no-color", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env=env)


@pytest.fixture
def suite(tmp_path):
    d = tmp_path / "scenarios"
    d.mkdir()
    (d / "pass.yaml").write_text(PASSING)
    (d / "fail.yaml").write_text(FAILING)
    return d


def test_all_passing_exits_0(suite):
    r = run(str(suite / "pass.yaml"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[1/1] PASS  cli/pass" in r.stdout
    # One summary line: the outcome, the time, the target and the non-zero counts.
    assert re.search(r"\nOK: 1 scenario in [0-9.]+ s against embedded reference server: 1 passed\n$", r.stdout)


def test_a_failure_exits_1_and_shows_the_mismatch(suite):
    r = run(str(suite))
    assert r.returncode == 1
    assert "FAIL  cli/fail" in r.stdout
    assert 'expected: ECHO_RES(data="y")' in r.stdout
    assert 'actual:   ECHO_RES(data=1 byte "x")' in r.stdout
    assert "-- transcript --" in r.stdout
    assert "\033[" not in r.stdout  # no colour when not a terminal


def test_load_error_exits_2_with_position_and_runs_nothing(suite):
    (suite / "broken.yaml").write_text("id: cli/broken\n" + HEAD + "  - c: {send: NOT_A_PACKET}\n")
    r = run(str(suite))
    assert r.returncode == 2
    assert "broken.yaml:9:15: unknown packet name 'NOT_A_PACKET'" in r.stderr
    assert "nothing was run" in r.stderr
    assert "PASS" not in r.stdout


def test_no_matching_scenario_exits_2(suite):
    r = run(str(suite), "--id", "nothing/*")
    assert r.returncode == 2
    assert "no scenario matched" in r.stderr


def test_list_and_filters(suite):
    r = run(str(suite), "--list", "--id", "cli/p*")
    assert r.returncode == 0
    assert "cli/pass" in r.stdout and "cli/fail" not in r.stdout


def test_usage_errors_exit_2(suite):
    assert run(str(suite), "--bogus").returncode == 2
    assert run(str(suite), "-j", "0").returncode == 2
    assert run(str(suite), "--target", "nohostport").returncode == 2
    assert run(str(suite), "--ref", "worker-loss=maybe").returncode == 2


def test_profile_expected_failure_exits_0(suite, tmp_path):
    profile = tmp_path / "profile.yaml"
    profile.write_text("implementation: demo\nexpectations:\n"
                       "  - {id: cli/fail, reason: demo deviation, evidence: this test}\n")
    r = run(str(suite), "--profile", str(profile))
    assert r.returncode == 0, r.stdout
    assert "XFAIL cli/fail" in r.stdout and "demo deviation" in r.stdout


def test_stale_profile_entry_is_a_load_error(suite, tmp_path):
    profile = tmp_path / "profile.yaml"
    profile.write_text("implementation: demo\nexpectations:\n  - {id: cli/gone, reason: r, evidence: e}\n")
    r = run(str(suite), "--profile", str(profile))
    assert r.returncode == 2
    assert "matches no scenario" in r.stderr


def test_junit_and_json_reports(suite, tmp_path):
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    r = run(str(suite), "--junit", str(junit), "--json", str(report))
    assert r.returncode == 1
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "2" and root.get("failures") == "1"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["cli/fail"].find("failure") is not None
    assert cases["cli/pass"].find("failure") is None
    data = json.loads(report.read_text())
    summary = dict(data["summary"])
    causes = summary.pop("root_causes")
    assert summary == {"total": 2, "pass": 1, "fail": 1, "expected_fail": 0, "unexpected_pass": 0,
                       "unsupported": 0, "blocked": 0, "informational": 0, "flaky": 0, "error": 0,
                       "ok": False}
    assert causes == [{"cause": "ECHO_RES with another data than expected", "count": 1, "failing": True,
                       "failed": 1, "blocked": 0, "ids": ["cli/fail"]}]
    by_id = {x["id"]: x for x in data["results"]}
    assert by_id["cli/fail"]["verdict"] == "fail"
    assert by_id["cli/fail"]["mismatch"]["expected"] == 'ECHO_RES(data="y")'
    assert any(e["dir"] == "<" and "ECHO_RES" in e["text"] for e in by_id["cli/fail"]["transcript"])


# The step of FAILING that fails: its `expect` line (1-based), as a CI system should point at it.
FAILING_LINE = FAILING.splitlines().index('  - c: {expect: ECHO_RES, args: ["y"]}') + 1


def test_no_annotations_outside_ci(suite, tmp_path):
    junit = tmp_path / "junit.xml"
    r = run(str(suite), "--junit", str(junit))
    assert r.returncode == 1
    assert "::error" not in r.stdout + r.stderr
    assert all(c.get("line") is None for c in ET.parse(junit).getroot().iter("testcase"))


def test_github_actions_annotation_at_the_failing_step(suite, tmp_path):
    ci = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path)}
    r = run(str(suite), ci=ci)
    assert r.returncode == 1
    lines = [line for line in r.stdout.splitlines() if line.startswith("::")]
    # One annotation, for the one failure; the path relative to the workspace, so GitHub links it.
    assert len(lines) == 1, r.stdout
    head, message = lines[0][len("::error "):].split("::", 1)
    props = dict(p.split("=", 1) for p in head.split(","))
    assert props["file"] == "scenarios/fail.yaml"
    assert props["line"] == str(FAILING_LINE) and props["col"] == "5"
    assert props["title"] == "gearspec fail%3A cli/fail (MUST)"
    # Multi-line text is escaped (%0A), and carries what was expected and what came.
    assert "\n" not in message and "%0A" in message
    assert 'expected: ECHO_RES(data="y")' in message
    # A passing run writes none.
    assert "::" not in run(str(suite / "pass.yaml"), ci=ci).stdout


def test_github_actions_annotation_for_a_load_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(PASSING.replace("level: MUST", "level: SOMETIMES"))
    r = run(str(bad), ci={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path)})
    assert r.returncode == 2
    line_of_level = PASSING.splitlines().index("level: MUST") + 1
    assert f"::error file=bad.yaml,line={line_of_level}," in r.stdout, r.stdout + r.stderr
    assert "level must be MUST, SHOULD or IMPL" in r.stderr


def test_gitlab_junit_carries_the_failing_step(suite, tmp_path):
    junit = tmp_path / "junit.xml"
    r = run(str(suite), "--junit", str(junit), ci={"GITLAB_CI": "true", "CI_PROJECT_DIR": str(tmp_path)})
    assert r.returncode == 1
    assert "::error" not in r.stdout
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    failing = cases["cli/fail"]
    assert failing.get("file") == "scenarios/fail.yaml" and failing.get("line") == str(FAILING_LINE)
    assert failing.find("failure").get("message").startswith(f"scenarios/fail.yaml:{FAILING_LINE}: ")
    assert cases["cli/pass"].get("line") is None


def test_spawn_target(suite):
    r = run(str(suite / "pass.yaml"), "--spawn", SERVER + " --quiet --port {port}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "spawned per scenario" in r.stdout


def test_a_port_another_program_listens_on_is_not_taken_for_the_server(suite, tmp_path):
    # The spawned command never listens itself; a detached process it started does. gearspec must
    # see that the listener is not its server's and give up on that port (then on the retries).
    helper = os.path.join(os.path.dirname(os.path.abspath(__file__)), "foreign_listener.py")
    r = run(str(suite / "pass.yaml"), "--no-probe", "--spawn", "/usr/bin/python3 " + helper + " {port} " + str(tmp_path))
    try:
        assert r.returncode == 1, r.stdout + r.stderr
        assert "is held by another process" in r.stdout + r.stderr, r.stdout + r.stderr
        assert "PASS" not in r.stdout
    finally:
        # The detached listeners end by themselves within seconds; end them now, by PID.
        for pids in tmp_path.glob("foreign.pids"):
            for pid in pids.read_text().split():
                try:
                    os.kill(int(pid), 9)
                except ProcessLookupError:
                    pass


def test_parallel_and_repeat(suite):
    r = run(str(suite / "pass.yaml"), "-j", "2", "--repeat", "3")
    assert r.returncode == 0
    assert "1 scenario against embedded reference server, 3 rounds" in r.stdout
    assert "[3/3] PASS  cli/pass" in r.stdout
    assert re.search(r"OK: 1 scenario in [0-9.]+ s against embedded reference server: 1 passed$", r.stdout, re.M)


def test_server_refuses_a_queue_it_cannot_trust(tmp_path):
    # A text file, an unopenable path, a bad spec: exit 1 (or 2 for usage) with the file and the
    # problem named, never a server that starts with an empty queue.
    text = tmp_path / "queue.db"
    text.write_text("not a database at all, just text that is long enough to look like a file\n")
    r = subprocess.run([SERVER, "--port", "0", "--queue", "sqlite:" + str(text)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and str(text) in r.stderr and "not a database" in r.stderr, r.stderr
    missing = tmp_path / "no" / "such" / "dir" / "q.db"
    r = subprocess.run([SERVER, "--port", "0", "--queue", "sqlite:" + str(missing)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and str(missing) in r.stderr and "cannot open" in r.stderr, r.stderr
    r = subprocess.run([SERVER, "--port", "0", "--queue", "mysql:db"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "expected sqlite:PATH" in r.stderr, r.stderr


def test_persistent_needs_spawn(suite):
    r = run(str(suite), "--persistent")
    assert r.returncode == 2 and "--persistent goes with --spawn" in r.stderr, r.stderr


IMPL_SCENARIO = """id: cli/impl
title: t
requirements: [ECHO-IDENTICAL]
level: IMPL
description: CLI test scenario with two known variants
actors:
  c: client
steps:
  - c: {send: ECHO_REQ, args: ["x"]}
variants:
  other:
    description: an answer no server gives
    steps:
      - c: {expect: ECHO_RES, args: ["y"]}
  same:
    description: the bytes back
    steps:
      - c: {expect: ECHO_RES, args: ["x"]}
"""


def test_an_impl_scenario_is_informational_with_the_variant_shown(tmp_path):
    (tmp_path / "impl.yaml").write_text(IMPL_SCENARIO)
    report = tmp_path / "r.json"
    r = run(str(tmp_path / "impl.yaml"), "--json", str(report))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "INFO  cli/impl" in r.stdout and "variant same" in r.stdout
    (x,) = json.loads(report.read_text())["results"]
    assert (x["verdict"], x["level"], x["variant"]) == ("informational", "IMPL", "same")


def test_a_profile_pins_a_variant(tmp_path):
    (tmp_path / "impl.yaml").write_text(IMPL_SCENARIO)
    for pinned, code in (("same", 0), ("other", 1)):
        profile = tmp_path / "p.yaml"
        profile.write_text("implementation: demo\nexpectations:\n"
                           "  - {id: cli/impl, variant: %s, reason: r, evidence: e}\n" % pinned)
        r = run(str(tmp_path / "impl.yaml"), "--profile", str(profile))
        assert r.returncode == code, r.stdout
        if code:
            assert "the profile pins variant 'other'" in r.stdout and "the server showed 'same'" in r.stdout


def test_a_scenario_needing_a_missing_capability_is_blocked_and_passes_the_run(tmp_path):
    (tmp_path / "uniq.yaml").write_text("""id: cli/uses-uniq
title: t
requirements: [UNIQ-ATTACH-QUEUED]
level: SHOULD
description: uses GRAB_JOB_UNIQ for its set-up only
actors:
  c: client
  w: worker
steps:
  - w: {send: CAN_DO, args: ["${fn}"]}
  - w: GRAB_JOB_UNIQ
  - w: {expect: NO_JOB}
""")
    report = tmp_path / "r.json"
    r = run(str(tmp_path / "uniq.yaml"), "--ref", "emulate=refuse:GRAB_JOB_UNIQ", "--json", str(report))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "BLOCK cli/uses-uniq" in r.stdout
    data = json.loads(report.read_text())
    (x,) = data["results"]
    assert (x["verdict"], x["blocked_by"]) == ("blocked", ["grab-job-uniq"])
    assert "grab-job-uniq" in data["capabilities"]["missing"]
    assert data["summary"]["root_causes"][0]["cause"] == "the target lacks grab-job-uniq"
    # Without the probe nothing is blocked: the scenario runs and fails.
    assert run(str(tmp_path / "uniq.yaml"), "--ref", "emulate=refuse:GRAB_JOB_UNIQ", "--no-probe").returncode == 1


def test_level_selects_scenarios(suite, tmp_path):
    (suite / "impl.yaml").write_text(IMPL_SCENARIO)
    r = run(str(suite), "--level", "IMPL")
    assert r.returncode == 0 and "cli/impl" in r.stdout and "cli/fail" not in r.stdout
    r = run(str(suite), "--level", "MUST", "--list")
    assert "cli/fail" in r.stdout and "cli/impl" not in r.stdout


def test_a_verdict_that_changes_between_rounds_is_flaky(tmp_path):
    # ${run} is random per round: this passes when its first character is a-m (13 of 36), so over
    # 30 rounds both verdicts appear except with probability about 2e-6.
    (tmp_path / "coin.yaml").write_text("id: cli/coin\n" + HEAD + """  - c: {send: ECHO_REQ, args: ["${run}"]}
  - c: {expect: ECHO_RES, args: [{regex: "[a-m].*"}]}
""")
    report = tmp_path / "r.json"
    r = run(str(tmp_path / "coin.yaml"), "--repeat", "30", "--json", str(report))
    assert r.returncode == 1
    (x,) = json.loads(report.read_text())["results"]
    assert x["verdict"] == "flaky" and x["rounds"] == 30
    assert "the verdict changed between rounds" in x["reason"]
    assert "FLAKY" in r.stdout


def test_cli_conventions(suite):
    version = subprocess.run([GEARSPEC, "--version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and re.fullmatch(r"gearspec \d+\.\d+\.\d+\n", version.stdout)
    helped = subprocess.run([GEARSPEC, "help", "run"], capture_output=True, text=True, timeout=30)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: gearspec run")
    # --name=value reads like --name value.
    listed = run(str(suite), "--list", "--id=cli/pass", "--level=MUST")
    assert listed.returncode == 0
    assert re.search(r"^cli/pass +MUST +t$", listed.stdout, re.M) and "cli/fail" not in listed.stdout
    r = run(str(suite / "pass.yaml"), "--jobs=2", "--repeat=2")
    assert r.returncode == 0 and "2 rounds" in r.stdout
    bad = run(str(suite), "--no-probe=yes")
    assert bad.returncode == 2 and "unknown option '--no-probe=yes'" in bad.stderr
