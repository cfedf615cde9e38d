"""The suite proves itself on the reference server: with each emulated defect (gearspec-server
--emulate, switched on through `gearspec run --ref emulate=...`) the report names that defect as the
top root cause and few scenarios fail because of it; with each implementation-defined option the
run passes and every IMPL scenario shows one of its known variants; a shared server survives a
parallel run."""

import json
import os
import re
import signal
import subprocess
import time

import pytest

GEARSPEC = os.environ.get("GEARSPEC", "gearspec")
SERVER = os.environ.get("GEARSPEC_SERVER", "gearspec-server")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = os.path.join(ROOT, "scenarios")
BAD = ("fail", "error", "flaky", "unexpected-pass")


def run_suite(tmp_path, *args):
    report = tmp_path / "report.json"
    r = subprocess.run([GEARSPEC, "run", SCENARIOS, "-j", "8", "--no-color", "--json", str(report), *args],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode in (0, 1), r.stdout[-3000:] + r.stderr
    data = json.loads(report.read_text())
    return r, data


# defect -> (exit code, the top root cause (regex), causes any other failure may have)
DEFECTS = {
    "refuse:GRAB_JOB": (1, r"^the target lacks grab-job$", []),
    "ignore:GRAB_JOB": (1, r"^the target lacks grab-job$", []),
    # Not PROTOCOL's core, but libgearman's workers send nothing else (WORKER-GRAB-ALL): a failure.
    "ignore:GRAB_JOB_ALL": (1, r"^the target lacks grab-job-all$", []),
    "ignore:ECHO_REQ": (1, r"^the target lacks echo$", []),
    "refuse:SUBMIT_JOB_BG": (1, r"^the target lacks submit-background$", []),
    "ignore:GET_STATUS": (1, r"^the target lacks get-status$", []),
    # Only the scenario about SET_CLIENT_ID fails; wait_until_gone counts connections instead.
    "ignore:SET_CLIENT_ID": (1, r"^the target lacks set-client-id$", []),
    "request-magic": (1, r"^the target lacks binary-framing$", []),
    "hold-job-created": (1, r"expected JOB_CREATED, got WORK_COMPLETE",
                         [r"^slow replies"]),  # the held JOB_CREATED also slows every round
    # A race in 1 of 20 JOB_CREATEDs: the scenario about that window repeats it 30 times.
    "hold-job-created-rarely": (1, r"expected JOB_CREATED, got WORK_COMPLETE", []),
    "nagle": (1, r"^slow replies \(median round over", []),
    # Only the scenario with two keyless background jobs across a restart sees it.
    "keyless-jobs-collide-on-reload": (1, r"^after GRAB_JOB: expected JOB_ASSIGN, got NO_JOB$", []),
    "per-connection-results": (1, r"fewer WORK_\w+ than expected \(1 of 2\)", [r"fewer WORK_\w+ than expected"]),
    # Harmless by PROTOCOL: stepped over except by the scenarios about wake-ups.
    "noop-before-assign": (1, r"^after GRAB_JOB: expected JOB_ASSIGN, got NOOP$", []),
    # Error codes are implementation-defined: no failure, but the scenarios that pin codes show
    # none of their known variants, grouped under one cause.
    "lowercase-error-codes": (0, r"^ERROR with another code than expected$", []),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_an_emulated_defect_is_the_top_root_cause(tmp_path, defect):
    code, top, others = DEFECTS[defect]
    r, data = run_suite(tmp_path, "--ref", "emulate=" + defect)
    assert r.returncode == code, r.stdout[-3000:]
    causes = data["summary"]["root_causes"]
    assert causes and re.search(top, causes[0]["cause"]), causes[:3]
    failed = [x for x in data["results"] if x["verdict"] in BAD]
    assert len(failed) <= 10, [x["id"] for x in failed]
    assert not [x for x in data["results"] if x["verdict"] == "error"]
    # Every failure is explained by the defect: the top cause or one of the listed consequences.
    for x in failed:
        assert any(re.search(p, x["cause"]) or x["id"] in causes[0]["ids"] for p in [top] + others), x
    # Scenarios that are not about the defect are blocked by it, not failed.
    if causes[0]["cause"].startswith("the target lacks"):
        assert causes[0]["blocked"] + causes[0]["failed"] == len(causes[0]["ids"])
        assert data["summary"]["blocked"] == causes[0]["blocked"]
    # The text report says the same as the JSON.
    assert "root causes, largest first:" in r.stdout


# Defects that used to blind the suite (issue: never blind), each with the root cause it must be
# reported under; combined with a second defect, that one must still be found.
BLINDING = {
    "request-magic": "the target lacks binary-framing",
    "ignore:ECHO_REQ": "the target lacks echo",
    "noop-before-assign": "after GRAB_JOB: expected JOB_ASSIGN, got NOOP",
    "ignore:GRAB_JOB_ALL": "the target lacks grab-job-all",
}


@pytest.mark.parametrize("defect", sorted(BLINDING))
def test_a_blinding_defect_does_not_hide_another(tmp_path, defect):
    r, data = run_suite(tmp_path, "--ref", "emulate=" + defect, "--ref", "emulate=per-connection-results")
    assert r.returncode == 1
    causes = {c["cause"]: c for c in data["summary"]["root_causes"]}
    assert BLINDING[defect] in causes, list(causes)
    assert any(re.search(r"fewer WORK_\w+ than expected", c) for c in causes), list(causes)
    # At most the few scenarios that need the missing feature itself are blocked.
    assert data["summary"]["blocked"] <= 6, data["summary"]
    if defect == "request-magic":
        assert "reading past a framing defect" in r.stdout
        assert causes[BLINDING[defect]]["blocked"] == 0


def test_without_set_client_id_the_worker_loss_scenarios_still_judge(tmp_path):
    # They wait for the server to notice a closed connection (wait_until_gone): without
    # SET_CLIENT_ID by counting the connections it lists. A second defect that only they can see
    # (jobs of lost workers silently dropped) is then still found.
    r, data = run_suite(tmp_path, "--ref", "emulate=ignore:SET_CLIENT_ID",
                        "--ref", "emulate=forget-jobs-of-lost-workers")
    assert r.returncode == 1
    assert data["summary"]["blocked"] == 0, data["summary"]
    causes = data["summary"]["root_causes"]
    assert causes[0]["cause"] == "the target lacks set-client-id", causes[:3]
    assert causes[0]["ids"] == ["worker/set-client-id-shown-in-workers"]
    lost = {i for c in causes[1:] for i in c["ids"]}
    assert {"worker/loss-requeues-silently", "worker/loss-resets-status",
            "worker/lost-three-times-still-requeued"} <= lost, causes


def test_a_missing_grab_request_names_the_libraries_it_breaks(tmp_path):
    r, data = run_suite(tmp_path, "--ref", "emulate=ignore:GRAB_JOB_ALL", "--id", "worker/*")
    assert r.returncode == 1
    failed = {x["id"] for x in data["results"] if x["verdict"] == "fail"}
    assert failed == {"worker/grab-job-all-gets-a-job"}, failed
    assert re.search(r"the target lacks grab-job-all.*\n(    .*\n)*    who breaks: libgearman 1\.1 workers", r.stdout), \
        r.stdout[-2000:]


# Implementation-defined options of the reference server: each is a behaviour a real server (or
# PROTOCOL's text) has, so the suite must not fail it, and every IMPL scenario names what it saw.
PERMITTED = ["worker-loss=fail", "ability-loss=keep", "timeout-policy=fail", "maxqueue-policy=evict",
             "maxqueue-policy=reject-known", "work-exception=passthrough",
             "priority=per-function", "high-order=lifo", "grab-all=assign-all", "exceptions",
             "abandoned-jobs=at-next-grab", "abandoned-jobs=at-next-peek", "can-do-wake=no"]


@pytest.mark.parametrize("option", PERMITTED)
def test_a_permitted_variant_causes_no_failure(tmp_path, option):
    r, data = run_suite(tmp_path, "--ref", option)
    assert r.returncode == 0, r.stdout[-3000:]
    impl = [x for x in data["results"] if x["level"] == "IMPL"]
    assert impl and all(x["verdict"] == "informational" for x in impl)
    assert [x["id"] for x in impl if not x["variant"]] == []


def test_the_protocol_text_variant_of_grab_job_all_is_recognised(tmp_path):
    r, data = run_suite(tmp_path, "--ref", "grab-all=assign-all", "--id", "worker/grab-job-all-without-reducer")
    assert r.returncode == 0
    (x,) = data["results"]
    assert (x["verdict"], x["variant"]) == ("informational", "assign-all")


def test_the_suite_passes_against_one_shared_server_which_survives(tmp_path):
    port_file = tmp_path / "port"
    server = subprocess.Popen([SERVER, "--quiet", "--port", "0", "--port-file", str(port_file)])
    try:
        deadline = time.monotonic() + 10
        while not (port_file.exists() and port_file.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        port = port_file.read_text().strip()
        report = tmp_path / "shared.json"
        r = subprocess.run([GEARSPEC, "run", SCENARIOS, "-j", "4", "--no-color", "--target", "127.0.0.1:" + port,
                            "--profile", os.path.join(ROOT, "profiles", "gearspec-reference.yaml"),
                            "--json", str(report)], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout[-4000:]
        assert server.poll() is None, "the shared server stopped"
        by_id = {x["id"]: x for x in json.loads(report.read_text())["results"]}
        assert by_id["admin/shutdown-graceful"]["verdict"] == "unsupported"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


@pytest.mark.parametrize("probe", [True, False])
def test_a_stray_packet_is_caught_at_the_end_with_or_without_the_round_trip(tmp_path, probe):
    # With the probe the end of each scenario is proven by ECHO round trips; without it, by a quiet
    # time. Either way a duplicate WORK_COMPLETE that no step expects fails the scenario.
    r, data = run_suite(tmp_path, "--ref", "emulate=duplicate-completions", "--id", "submit/*",
                        *([] if probe else ["--no-probe"]))
    assert r.returncode == 1
    causes = {c["cause"]: c for c in data["summary"]["root_causes"]}
    assert causes["an extra WORK_COMPLETE nobody expected"]["failed"] >= 5, list(causes)
    assert "submit/foreground-round-trip" in causes["an extra WORK_COMPLETE nobody expected"]["ids"]


def test_a_pinned_variant_with_sometimes_none(tmp_path):
    # A profile that pins a variant and says the server sometimes shows none: a run showing none
    # is an expected failure with that text; a run showing another known variant still fails.
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "implementation: test\nversion: '1'\nexpectations:\n"
        "  - id: sleep/noop-for-a-requeued-job\n"
        "    variant: requeued-and-woken\n"
        "    sometimes_none: now and then no NOOP (test)\n"
        "    reason: the variant this test pins\n"
        "    evidence: none, a test\n")
    scenario = os.path.join(SCENARIOS, "sleep", "noop-for-a-requeued-job.yaml")

    def verdict(*ref):
        report = tmp_path / "one.json"
        r = subprocess.run([GEARSPEC, "run", scenario, "--profile", str(profile), "--json", str(report),
                            "--no-color", *ref], capture_output=True, text=True, timeout=120)
        return r.returncode, json.loads(report.read_text())["results"][0]

    code, result = verdict()
    assert (code, result["verdict"]) == (0, "pass"), result
    # Jobs of lost workers dropped silently: none of the three variants.
    code, result = verdict("--ref", "emulate=forget-jobs-of-lost-workers")
    assert (code, result["verdict"]) == (0, "expected-fail"), result
    assert "now and then no NOOP (test)" in result["reason"]
    # Another known variant is a changed choice, not the known flake.
    code, result = verdict("--ref", "worker-loss=fail")
    assert (code, result["verdict"]) == (1, "fail"), result
