"""`gearspec explore` from the command line: exit codes, usage errors, written scenarios that
reproduce with `gearspec run`, and (where C gearmand is installed) real divergences found."""

import json
import os
import shutil
import subprocess

import pytest

GEARSPEC = os.environ.get("GEARSPEC", "gearspec")
GEARMAND = "/usr/sbin/gearmand"


def explore(*args, timeout=300):
    return subprocess.run([GEARSPEC, "explore", *args], capture_output=True, text=True, timeout=timeout)


def run(*args):
    return subprocess.run([GEARSPEC, "run", "--no-color", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, message", [
    (["--weights", "teleport=1"], "unknown move 'teleport'"),
    (["--weights", "kill=-1"], "'kill' needs a number"),
    (["--weights", "second_server=2"], "'second_server' is a share from 0 to 1"),
    (["--time", "soon"], "--time"),
    (["--length", "0"], "--length needs a number"),
    (["--bogus"], "unknown option '--bogus'"),
    (["--ref", "no-such-option=1"], "unknown reference server option"),
])
def test_usage_errors_exit_2_and_say_what_is_wrong(args, message):
    r = explore(*args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr


def test_the_reference_against_itself_exits_0():
    r = explore("--time", "2s", "--seed", "7")
    assert r.returncode == 0, r.stdout[-2000:]
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("OK: ") and " 0 divergence(s)" in last and " 0 error(s)" in last


def test_a_target_without_echo_is_explored_with_get_status_barriers():
    # ECHO_REQ is only the barrier's round trip here: without it GET_STATUS of an unknown handle
    # serves, and the run finds nothing (the target is otherwise the reference).
    r = explore("--ref", "emulate=ignore:ECHO_REQ", "--time", "2s", "--seed", "7")
    assert r.returncode == 0, r.stdout[-2000:]
    assert "barriers use GET_STATUS" in r.stdout
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("OK: ") and " 0 divergence(s)" in last and " 0 error(s)" in last
    assert int(last.split()[1]) > 0  # programs ran


def test_a_target_that_answers_no_round_trip_cannot_be_explored_exit_2():
    r = explore("--ref", "emulate=ignore:ECHO_REQ", "--ref", "emulate=ignore:GET_STATUS", "--time", "2s")
    assert r.returncode == 2, r.stdout[-2000:]
    assert "neither ECHO_REQ nor GET_STATUS" in r.stdout + r.stderr


def test_an_emulated_defect_exits_1_with_a_scenario_that_reproduces(tmp_path):
    out, report = tmp_path / "found", tmp_path / "explore.json"
    # The defect needs one connection submitting one key twice and a result: no faults, more of it
    # (with these weights seed 41 shows it; restarts would end the connection).
    r = explore("--ref", "emulate=per-connection-results", "--seed", "41", "--programs", "1", "--out", str(out),
                "--weights", "kill=0,disconnect=0,cut_packet=0,admin_status=0,admin_workers=0,restart=0,crash=0",
                "--json", str(report))
    assert r.returncode == 1, r.stdout[-3000:]
    assert "DIVERGENT: 1 programs" in r.stdout
    data = json.loads(report.read_text())
    assert data["divergences"] and all(d["reproduces"] for d in data["divergences"])
    scenario = data["divergences"][0]["scenario"]
    assert os.path.exists(scenario)
    # The written scenario is the suite's format: it passes on the reference and fails on the
    # defective one, as explore said.
    assert run(scenario).returncode == 0
    failed = run(scenario, "--ref", "emulate=per-connection-results")
    assert failed.returncode == 1, failed.stdout


@pytest.mark.skipif(not os.path.exists(GEARMAND), reason="C gearmand (gearman-job-server) is not installed")
def test_c_gearmand_shows_divergences_that_reproduce(tmp_path):
    report = tmp_path / "explore.json"
    spawn = f"{GEARMAND} --listen 127.0.0.1 --port {{port}} --log-file {{dir}}/gearmand.log"
    # From seed 1, gearmand 1.1.20 diverges at seed 7 (a job ended by 'cancel job' stays known to
    # GET_STATUS, B12) and shows known variants (seeds 5, 14, 19).
    r = explore("--spawn", spawn, "--seed", "1", "--programs", "25", "--time", "120s", "--json", str(report), "--out", str(tmp_path / "found"))
    assert r.returncode == 1, r.stdout[-3000:]
    data = json.loads(report.read_text())
    assert data["errors"] == 0
    found = data["divergences"] + data["known_variants"]
    assert found, r.stdout
    # Every divergence's file says what explore saw, except where timing moved a window on the
    # reference itself (the file then fails there too: explore reports it as not reproducing).
    # A known variant's file is an IMPL scenario, checked below: it never fails a server.
    for d in data["divergences"]:
        assert d["reproduces"] or d["reproduction"].startswith("reference: fail"), d
    assert any(d["reproduces"] for d in data["divergences"]), r.stdout
    # What explore wrote is ready to use: a divergence passes on the default reference with a
    # plain `gearspec run FILE` (with the reference_options it declares, if any) and fails on C;
    # a known variant is an IMPL scenario, informational on both.
    for d in data["divergences"]:
        if not d["reproduces"]:
            continue
        assert run(d["scenario"]).returncode == 0, d["scenario"]
        assert run(d["scenario"], "--spawn", spawn).returncode == 1, d["scenario"]
    for d in data["known_variants"]:
        assert "level: IMPL" in open(d["scenario"]).read()
        assert run(d["scenario"]).returncode == 0 and run(d["scenario"], "--spawn", spawn).returncode == 0


def _children(pid):
    """PIDs whose parent is pid (from /proc/*/stat)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.exists(GEARMAND), reason="C gearmand (gearman-job-server) is not installed")
def test_spawned_servers_end_with_a_killed_explore():
    # SIGKILL gives gearspec no chance to stop its servers: they must end by themselves.
    import signal
    import time
    spawn = f"{GEARMAND} --listen 127.0.0.1 --port {{port}} --log-file {{dir}}/gearmand.log"
    p = subprocess.Popen([GEARSPEC, "explore", "--spawn", spawn, "--time", "60s", "-j", "2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        servers = []
        deadline = time.monotonic() + 20
        while not servers and time.monotonic() < deadline:
            time.sleep(0.2)
            servers = [c for c in _children(p.pid) if _alive(c)]
        assert servers, "explore started no gearmand"
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(s) for s in servers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [s for s in servers if _alive(s)]
    for s in left:  # ours, by PID: do not leave them behind even when the test fails
        os.kill(s, signal.SIGKILL)
    assert not left, f"spawned servers outlived gearspec: {left}"
