"""`gearspec clients`: the reference adapter passes every case, each of its --defect switches is
caught by the case about it with a named cause, the real libraries' runs match their expectations,
and bad input or a broken adapter gives exit 2 (or a crash verdict) with a message that says where.
"""
import json
import os
import subprocess
import tempfile

import pytest

GEARSPEC = os.environ["GEARSPEC"]
AGENT = os.environ["GEARSPEC_AGENT"]
LIBGEARMAN = os.environ.get("GEARSPEC_LIBGEARMAN_ADAPTER", "")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = os.path.join(ROOT, "clients", "cases")


def clients(*args, timeout=300):
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        proc = subprocess.run([GEARSPEC, "clients", "--json", report, *args], cwd=tmp,
                              capture_output=True, text=True, timeout=timeout)
        data = None
        if os.path.exists(report):
            with open(report) as f:
                data = json.load(f)
        return proc, data


def verdicts(data):
    return {(r["agent"], r["case"]): r for r in data["results"]}


def test_reference_agent_passes_every_case():
    proc, data = clients("--reference-agent", CASES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = data["results"]
    assert len(results) >= 29
    for r in results:
        expected = "informational" if r["level"] == "INFO" else "pass"
        assert r["verdict"] == expected, r


# Each misbehaviour of a real library, emulated by the reference adapter, and the case that must
# catch it with the cause that names it.
DEFECTS = {
    "one-callback-per-handle": ("client/same-key-twice-one-result-each", "hang", "no complete event"),
    "no-pre-sleep": ("worker/pre-sleep-after-no-job", "fail", "expected PRE_SLEEP"),
    "ignores-noop": ("worker/noop-wakes-a-sleeping-worker", "fail", "never came (after NOOP)"),
    "forgets-to-reregister": ("worker/reregisters-after-a-restart", "fail", "expected CAN_DO"),
    "exception-not-terminal": ("client/exception-ends-the-request", "hang", "no done event"),
    "stops-at-chunk-boundary": ("client/replies-split-into-single-bytes", "hang", "no complete event"),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_defect_is_caught_by_its_case(defect):
    case, verdict, cause = DEFECTS[defect]
    proc, data = clients("--agent", f"{defect}={AGENT} --defect {defect}", "--step-timeout", "2000",
                         CASES)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    got = verdicts(data)[(defect, case)]
    assert got["verdict"] == verdict, got
    assert cause in got["cause"], got
    assert got["where"].startswith(os.path.join(CASES, case.split("/")[0])), got["where"]
    # The report names the cause under the agent, and the transcript shows the wire and the events.
    assert f"root cause: {got['cause']}" in proc.stdout
    assert any(" agent > " in line for line in got["transcript"])
    # The defect fails only cases about it: the rest still pass.
    failing = [r["case"] for r in data["results"] if r["verdict"] not in ("pass", "informational")]
    assert case in failing
    assert len(failing) <= 3, failing


def test_expectations_turn_a_known_failure_into_expected_fail_and_notice_a_fix(tmp_path):
    known = tmp_path / "known.yaml"
    known.write_text(
        "implementation: test\nversion: '1'\nexpectations:\n"
        "  - id: client/same-key-twice-one-result-each\n"
        "    reason: one callback per handle\n    evidence: this test\n")
    proc, data = clients("--agent", f"bad={AGENT} --defect one-callback-per-handle",
                         "--expect", f"bad={known}", "--agent", f"good={AGENT}",
                         "--expect", f"good={known}", "--case", "client/same-key*", CASES)
    v = verdicts(data)
    assert v[("bad", "client/same-key-twice-one-result-each")]["verdict"] == "expected-fail"
    assert v[("good", "client/same-key-twice-one-result-each")]["verdict"] == "unexpected-pass"
    assert proc.returncode == 1  # the fixed library must have its expectations updated


# The real libraries this machine installs, each with its expectations (known defects, with
# evidence) and one case whose verdict is checked by name, so a run that skipped everything cannot
# pass unnoticed.
AGENTS = {
    "libgearman": (LIBGEARMAN, "libgearman-1.1.20.yaml",
                   ("client/same-key-twice-one-result-each", "expected-fail")),
    "php": (f"php {ROOT}/clients/adapters/php/adapter.php", "php-gearman-2.1.0.yaml",
            ("client/failover-to-the-second-server", "expected-fail")),
    "perl": (f"{ROOT}/clients/adapters/perl/adapter.pl", "perl-gearman-2.004.yaml",
             ("client/result-for-an-unknown-handle", "expected-fail")),
    "gearmanode": (f"node {ROOT}/clients/adapters/node/gearmanode.js", "gearmanode-0.9.2.yaml",
                   ("client/replies-split-into-single-bytes", "expected-fail")),
    "node-gearman": (f"node {ROOT}/clients/adapters/node/node-gearman.js", "node-gearman-0.2.2.yaml",
                     ("client/same-key-twice-one-result-each", "expected-fail")),
    "abraxas": (f"node {ROOT}/clients/adapters/node/abraxas.js", "abraxas-2.1.10.yaml",
                ("client/same-key-twice-one-result-each", "expected-fail")),
    "gearman": (f"node {ROOT}/clients/adapters/node/gearman.js", "gearman-2.1.0.yaml",
                ("client/status-of-a-job", "expected-fail")),
    "gearman-node": (f"node {ROOT}/clients/adapters/node/gearman-node.js", "gearman-node-2.0.13.yaml",
                     ("client/result-for-an-unknown-handle", "expected-fail")),
}


@pytest.mark.parametrize("agent", sorted(AGENTS))
def test_real_library_matches_its_expectations(agent):
    command, expectations, (case, verdict) = AGENTS[agent]
    if not command:
        pytest.skip("adapter not built")
    proc, data = clients("--agent", f"{agent}={command}", "--expect",
                         f"{agent}={ROOT}/clients/expectations/{expectations}",
                         "--step-timeout", "2000", CASES)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    v = verdicts(data)
    assert v[(agent, case)]["verdict"] == verdict, v[(agent, case)]
    # The INFO case records the CAN_DO_TIMEOUT value and the grab request of those that have it.
    info = v[(agent, "worker/can-do-timeout-unit")]
    assert info["verdict"] in ("informational", "unsupported"), info
    if info["verdict"] == "informational":
        assert "CAN_DO_TIMEOUT" in info["note"] and "grabs with GRAB_JOB" in info["note"], info
    assert sum(r["verdict"] == "pass" for r in data["results"]) >= 10


@pytest.mark.skipif(not LIBGEARMAN, reason="libgearman adapter not built")
def test_a_defect_of_libgearman_seen_through_php_is_counted_once():
    proc, data = clients("--agent", f"libgearman={LIBGEARMAN}", "--agent",
                         f"php=php {ROOT}/clients/adapters/php/adapter.php", "--step-timeout", "2000",
                         "--case", "client/work-fail-handle-with-trailing-nul", "--case",
                         "client/empty-result", CASES)
    v = verdicts(data)
    php = v[("php", "client/work-fail-handle-with-trailing-nul")]
    assert php["verdict"] == "hang" and php["shared_with"] == "libgearman", php
    assert v[("libgearman", "client/work-fail-handle-with-trailing-nul")]["shared_with"] == ""
    assert "library defects found: 1 (1 more failures are a base library's defect" in proc.stdout


def test_the_agents_file_runs_every_library_of_the_repository(tmp_path):
    proc, data = clients("--agents", f"{ROOT}/clients/agents.yaml", "--case", "client/empty-result",
                         "--step-timeout", "2000", CASES)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    ran = {r["agent"] for r in data["results"]}
    expected = set(AGENTS) - ({"libgearman"} if not LIBGEARMAN else set())
    assert ran == expected, (ran, proc.stderr)
    bad = tmp_path / "agents.yaml"
    bad.write_text("agents:\n  - name: x\n    command: a\n    program: b\n")
    proc, _ = clients("--agents", str(bad), CASES)
    assert proc.returncode == 2 and f"{bad}:2:5: an agent has a command or a program" in proc.stderr


def test_a_bad_case_file_is_refused_with_its_position(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nlevel: MUST\nrequirements: [R]\nsteps:\n  - c: {expect: NOOP}\n")
    proc, _ = clients("--reference-agent", str(bad))
    assert proc.returncode == 2
    assert f"{bad}:5:5: 'c' is not a server of this case nor a connection" in proc.stderr


HELLO_CLIENT_ONLY = ("echo '{\"event\":\"hello\",\"library\":\"x\",\"version\":\"1\","
                     "\"capabilities\":[\"client\"]}'\n")


def fake_adapter(tmp_path, body):
    """A shell script as the adapter: body after #!/bin/sh."""
    script = tmp_path / "adapter.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


def test_an_adapter_that_breaks_the_contract_is_an_error_not_a_library_failure(tmp_path):
    script = fake_adapter(tmp_path, "echo 'this is not json'\nsleep 5\n")
    proc, data = clients("--agent", f"garbage={script}", "--case", "client/empty-result", CASES)
    assert proc.returncode == 2
    r = data["results"][0]
    assert r["verdict"] == "error" and "contract" in r["cause"], r


def test_an_adapter_that_dies_is_a_crash(tmp_path):
    script = fake_adapter(tmp_path, HELLO_CLIENT_ONLY + "read line\nkill -SEGV $$\n")
    proc, data = clients("--agent", f"dies={script}", "--case", "client/empty-result", CASES)
    assert proc.returncode == 1
    r = data["results"][0]
    assert r["verdict"] == "crash" and "SIGSEGV" in r["actual"], r


def test_a_case_needing_what_the_library_lacks_is_unsupported(tmp_path):
    script = fake_adapter(tmp_path, HELLO_CLIENT_ONLY + "cat >/dev/null\n")
    proc, data = clients("--agent", f"c={script}", "--case", "worker/*", CASES)
    assert proc.returncode == 0
    assert {r["verdict"] for r in data["results"]} == {"unsupported"}
