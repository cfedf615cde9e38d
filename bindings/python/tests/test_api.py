"""The Python API: actors, matchers, errors, the GIL, running YAML, reports."""

import json
import os
import pathlib
import socket
import threading
import time
import xml.etree.ElementTree as ET

import pytest

import gearspec

SOURCE = pathlib.Path(os.environ.get("GEARSPEC_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[3]))


@pytest.fixture
def server():
    with gearspec.ReferenceServer() as s:
        yield s


def test_reference_server_is_on_loopback(server):
    assert server.host == "127.0.0.1" and server.port > 0


def test_round_trip_with_matchers(server):
    client, worker = gearspec.Client(server), gearspec.Worker(server)
    worker.can_do("f")
    handle = client.submit("f", "", b"a\0b")
    assigned = worker.grab()
    assert assigned.name == "JOB_ASSIGN" and assigned.args == [handle, b"f", b"a\0b"]
    worker.send("WORK_STATUS", handle, 1, 2)
    client.expect("WORK_STATUS", gearspec.Prefix(b"H:"), gearspec.Regex("[0-9]+"), gearspec.ANY)
    worker.send("WORK_COMPLETE", handle, "done")
    packet = client.expect("WORK_COMPLETE", handle)
    assert packet[1] == b"done" and len(packet) == 2 and "WORK_COMPLETE" in repr(packet)


def test_timeout_says_what_was_awaited_and_what_arrived(server):
    client = gearspec.Client(server)
    with pytest.raises(gearspec.ExpectError, match=r"expected JOB_CREATED\(\), but nothing arrived within 200 ms"):
        client.expect("JOB_CREATED", timeout=0.2)
    client.send("ECHO_REQ", "x")
    with pytest.raises(gearspec.ExpectError, match=r'expected ECHO_RES\(data="y"\), got ECHO_RES\(data=1 byte "x"\)'):
        client.expect("ECHO_RES", "y")


def test_bad_packet_names_and_arity_are_value_errors(server):
    client = gearspec.Client(server)
    with pytest.raises(ValueError, match="unknown packet name 'SUBMIT_JOBZ'"):
        client.send("SUBMIT_JOBZ")
    with pytest.raises(ValueError, match=r"SUBMIT_JOB takes 3 argument\(s\) \(func, unique, data\), got 1"):
        client.send("SUBMIT_JOB", "f")


def test_an_invalid_regex_is_a_value_error_not_a_mismatch(server):
    client = gearspec.Client(server)
    client.send("ECHO_REQ", "x")
    with pytest.raises(ValueError, match=r"/\(/ is not a valid pattern"):
        client.expect("ECHO_RES", gearspec.Regex("("))


def test_dead_target_is_an_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(gearspec.ExpectError, match="cannot connect"):
        gearspec.Client(("127.0.0.1", port), timeout=1.0)


def test_server_closing_is_reported(server):
    client = gearspec.Client(server)
    client.send_raw(b"\0XXX\0\0\0\x10\0\0\0\0")
    assert client.expect("ERROR", "INVALID_MAGIC").name == "ERROR"
    client.expect_closed()
    with pytest.raises(gearspec.ExpectError, match="closed the connection"):
        client.expect("NOOP")


def test_the_gil_is_released_while_waiting(server):
    """A Python thread keeps counting while the main thread blocks in expect()."""
    client = gearspec.Client(server)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.01)

    t = threading.Thread(target=count)
    t.start()
    before = len(ticks)
    with pytest.raises(gearspec.ExpectError):
        client.expect("NOOP", timeout=0.5)
    during = len(ticks) - before
    stop.set()
    t.join()
    assert during >= 10, "the counter thread was starved during a blocking expect (%d ticks)" % during


def test_parallel_actors(server):
    workers = [gearspec.Worker(server) for _ in range(3)]
    for w in workers:
        w.can_do("p")
        w.send("PRE_SLEEP")
    client = gearspec.Client(server)
    handle = client.submit("p", "", "x", kind="SUBMIT_JOB_BG")
    woken = gearspec.parallel(*[lambda w=w: w.expect("NOOP").name for w in workers])
    assert woken == ["NOOP"] * 3
    assert handle.startswith(b"H:")


def test_admin_and_wait_until(server):
    admin, client = gearspec.Admin(server), gearspec.Client(server)
    client.submit("q", "", "x")
    assert admin.command("status").lines == ["q\t1\t0\t0"]
    assert admin.command("version").kind == "ok"
    client.close()
    admin.wait_until("status", lambda a: a.lines == ["q\t0\t0\t0"])
    with pytest.raises(gearspec.ExpectError, match="never matched"):
        admin.wait_until("status", lambda a: False, timeout=0.1)


def test_reference_server_options():
    with gearspec.ReferenceServer(worker_loss="fail") as s:
        client, worker = gearspec.Client(s), gearspec.Worker(s)
        worker.can_do("f")
        handle = client.submit("f")
        worker.grab()
        worker.kill()
        client.expect("WORK_FAIL", handle)
    with pytest.raises(ValueError, match="worker-loss must be requeue | fail"):
        gearspec.ReferenceServer(worker_loss="maybe")
    with pytest.raises(ValueError, match="unknown reference server option"):
        gearspec.ReferenceServer(bogus=1)


PASSING = """
id: py/pass
title: echo
requirements: [ECHO-IDENTICAL]
level: MUST
description: python test
actors: {c: client}
steps:
  - c: {send: ECHO_REQ, args: [x]}
  - c: {expect: ECHO_RES, args: [x]}
"""


def test_run_yaml_pass_and_transcript():
    result = gearspec.run_yaml(PASSING)
    assert result.verdict == "pass" and result.passed and result.mismatch is None
    packets = [e.packet for e in result.transcript if e.packet is not None]
    # The scenario's own exchange, then the end-of-scenario check: an ECHO round trip, twice.
    assert [p.name for p in packets] == ["ECHO_REQ", "ECHO_RES"] * 3
    assert [bytes(p.args[0]) for p in packets[2:]] == [b"gearspec-end-0"] * 2 + [b"gearspec-end-1"] * 2
    assert packets[1].args == [b"x"]


def test_run_yaml_fail_reports_the_mismatch():
    result = gearspec.run_yaml(PASSING.replace("ECHO_RES, args: [x]", "ECHO_RES, args: [y]"))
    assert result.verdict == "fail" and not result.passed
    assert result.mismatch["expected"] == 'ECHO_RES(data="y")'
    assert result.mismatch["actual"] == 'ECHO_RES(data=1 byte "x")'
    assert result.mismatch["at"] == "<string>:10:5"
    assert "-- transcript --" in result.details()


def test_scenario_errors_carry_positions():
    with pytest.raises(gearspec.ScenarioError, match=r"<string>:9:15: unknown packet name 'ECHO_REQZ'"):
        gearspec.run_yaml(PASSING.replace("send: ECHO_REQ", "send: ECHO_REQZ"))


def test_run_files_against_a_spawned_server_with_reports(tmp_path):
    server = os.environ.get("GEARSPEC_SERVER")
    if not server:
        pytest.skip("GEARSPEC_SERVER is not set")
    results = gearspec.run(SOURCE / "scenarios" / "attach", spawn=server + " --quiet --port {port}", jobs=2)
    assert len(results) >= 20 and results.ok, [r for r in results if not r.passed]
    results.write_junit(tmp_path / "j.xml")
    results.write_json(tmp_path / "r.json")
    assert ET.parse(tmp_path / "j.xml").getroot().get("tests") == str(len(results))
    summary = json.loads((tmp_path / "r.json").read_text())["summary"]
    impl = [r for r in results if r.level == "IMPL"]
    assert impl and all(r.verdict == "informational" and r.variant for r in impl)
    assert summary["pass"] + summary["informational"] == len(results) and summary["informational"] == len(impl)


def test_run_against_a_target_with_a_profile(server, tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text("implementation: demo\nexpectations:\n  - {id: py/pass, reason: demo, evidence: test}\n")
    result = gearspec.run(scenarios=[gearspec.load_scenario_string(PASSING)], target="%s:%d" % server.address,
                          profile=profile)[0]
    assert result.verdict == "unexpected-pass" and not result.passed


def test_durability_scenarios_with_restart_and_crash(tmp_path):
    # Embedded: gets an SQLite queue because the scenarios need one.
    results = gearspec.run(SOURCE / "scenarios" / "durability")
    assert len(results) >= 10 and results.ok, [r.details() for r in results if not r.passed]
    server = os.environ.get("GEARSPEC_SERVER")
    if not server:
        pytest.skip("GEARSPEC_SERVER is not set")
    # Spawned without a queue and not declared persistent: unsupported, not failed.
    plain = gearspec.run(SOURCE / "scenarios" / "durability", spawn=server + " --quiet --port {port}")
    assert {r.verdict for r in plain} == {"unsupported"}
    # Spawned with its queue in {dir}, declared persistent: crashes are SIGKILLs, and all pass.
    spawned = gearspec.run(SOURCE / "scenarios" / "durability",
                           spawn=server + " --quiet --port {port} --queue sqlite:{dir}/q.db", persistent=True)
    assert spawned.ok, [r.details() for r in spawned if not r.passed]
    with pytest.raises(ValueError, match="persistent"):
        gearspec.run(SOURCE / "scenarios" / "durability", persistent=True)


def test_packet_names():
    names = gearspec.packet_names()
    assert len(names) == 42 and names[6] == "SUBMIT_JOB"


def test_explore_finds_an_emulated_defect_and_nothing_in_the_reference(tmp_path):
    broken = gearspec.explore(reference_options={"emulate": "duplicate-completions"}, seed=1, programs=3,
                              weights="kill=0,disconnect=0,cut_packet=0", seconds=60, out_dir=tmp_path)
    assert broken.programs <= 3 and broken.errors == 0
    (found,) = broken.divergences
    assert "WORK_COMPLETE + WORK_COMPLETE" in found.kind and found.reproduces, found.reproduction
    assert found.seed >= 1 and found.moves <= found.original_moves
    # The written scenario is the suite's own format: it loads and passes on the reference.
    assert gearspec.run_yaml(found.yaml).passed
    assert (tmp_path / found.yaml_path.split("/")[-1]).exists()
    clean = gearspec.explore(seconds=2, jobs=2)
    assert clean.programs > 0 and not clean.divergences and not clean.notes and not clean.not_explored
    with pytest.raises(ValueError, match="unknown move"):
        gearspec.explore(weights="teleport=1", seconds=1)
