"""gearspec-bench on short runs: exactly-once accounting, JSON shape, and loud failure on loss.
Speed is not asserted here (it is measured by scripts/bench-matrix.sh, see docs/performance.md)."""

import json
import os
import subprocess

BENCH = os.environ.get("GEARSPEC_BENCH", "gearspec-bench")
SERVER = os.environ.get("GEARSPEC_SERVER", "gearspec-server")


def bench(*args, timeout=120):
    return subprocess.run([BENCH, *args], capture_output=True, text=True, timeout=timeout)


def test_every_job_completes_exactly_once(tmp_path):
    out = tmp_path / "b.json"
    r = bench("--embedded", "--jobs", "3000", "--clients", "3", "--workers", "2", "--inflight", "4",
              "--payload", "100", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["ok"] is True
    (run,) = data["rounds"]
    assert run["submitted"] >= 3000 and run["completed"] == run["submitted"]
    assert run["lost"] == run["duplicates"] == run["corrupted"] == run["errors"] == 0
    assert set(run["latency_us"]) == {"p50", "p99", "p99_9"} and run["jobs_per_s"] > 0
    assert "all jobs completed exactly once" in r.stdout
    # The embedded server's CPU time per job (its thread's, from /proc): some work, and split.
    cpu = run["server_cpu_per_job_us"]
    assert cpu["total"] > 0 and abs(cpu["user"] + cpu["system"] - cpu["total"]) < 1e-6
    assert "cpu/job" in r.stdout


def test_background_and_shared_keys(tmp_path):
    for mode in (["--background"], ["--unique", "shared"], ["--unique", "empty"]):
        r = bench("--embedded", "--jobs", "1000", *mode)
        assert r.returncode == 0, (mode, r.stdout + r.stderr)


def test_side_by_side_against_a_spawned_server(tmp_path):
    out = tmp_path / "b.json"
    r = bench("--embedded=inproc", "--spawn=standalone=" + SERVER + " --quiet --port {port}",
              "--duration", "0.5", "--warmup", "0.2", "--rounds", "2", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("round ") == 4 and "ratios against inproc" in r.stdout
    # The spawned server's CPU per job comes from its process, and the ratios compare it.
    assert all(x["server_cpu_per_job_us"]["total"] > 0 for x in json.loads(out.read_text())["rounds"])
    assert "cpu/job x" in r.stdout


def test_every_binary_prints_its_version():
    for binary in (BENCH, SERVER, os.environ.get("GEARSPEC", "gearspec"), os.environ.get("GEARSPEC_SOAK", "gearspec-soak")):
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stdout.strip().split()[1][0].isdigit(), (binary, r.stdout)


def test_a_server_that_dies_loses_jobs_loudly():
    # The server is killed half-way: submitted jobs are never completed, and the tool says so.
    r = bench("--spawn", "dying=sh -c '" + SERVER + " --quiet --port {port} & pid=$!; sleep 1; kill -9 $pid; wait'",
              "--duration", "3", "--warmup", "0.2", timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "JOBS WERE LOST" in r.stdout
