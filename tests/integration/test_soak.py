"""gearspec-soak, short variant (issue #8): the accounting holds for the reference server with its
SQLite queue through client kills, worker kills and server crashes, and it says loudly when a
server without a persistent queue loses background jobs. The long soak is scripts/soak.sh."""

import json
import os
import subprocess

SOAK = os.environ.get("GEARSPEC_SOAK", "gearspec-soak")
SERVER = os.environ.get("GEARSPEC_SERVER", "gearspec-server")


def soak(*args, timeout=180):
    return subprocess.run([SOAK, *args], capture_output=True, text=True, timeout=timeout)


def test_reference_loses_nothing_through_crashes(tmp_path):
    out = tmp_path / "soak.json"
    r = soak("--embedded", "--spawn", "spawned=" + SERVER + " --quiet --port {port} --queue sqlite:{dir}/q.db",
             "--duration", "5", "--drain", "20", "--stop-every", "1.5", "--seed", "11", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    rows = json.loads(out.read_text())
    assert [row["target"] for row in rows] == ["reference", "spawned"]
    for row in rows:
        assert row["ok"] and row["drained"], row
        # Faults really happened, and work really flowed through them.
        assert row["server_stops"] >= 2 and row["worker_kills"] > 0 and row["client_kills"] > 0, row
        assert row["background"]["once"] > 100 and row["foreground"]["once"] > 100, row
        assert row["background"]["lost"] == row["background"]["duplicate_unexplained"] == 0, row
        assert row["foreground"]["lost"] == row["shared"]["lost"] == row["corrupted"] == 0, row
    assert "verdict" in r.stdout and "JOBS LOST" not in r.stdout


def test_graceful_restarts_lose_nothing(tmp_path):
    out = tmp_path / "soak.json"
    r = soak("--embedded", "--graceful", "--duration", "4", "--drain", "20", "--stop-every", "1.5", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    (row,) = json.loads(out.read_text())
    assert row["ok"] and row["server_stops"] >= 1, row


def test_a_server_without_a_persistent_queue_is_caught_losing_jobs(tmp_path):
    out = tmp_path / "soak.json"
    r = soak("--spawn", "no-queue=" + SERVER + " --quiet --port {port}", "--duration", "4", "--drain", "3",
             "--stop-every", "1.5", "--seed", "5", "--json", str(out))
    assert r.returncode == 1, r.stdout + r.stderr
    (row,) = json.loads(out.read_text())
    assert not row["ok"] and row["background"]["lost"] > 0, row
    assert "JOBS LOST/DUP" in r.stdout


def test_bad_arguments_are_usage_errors():
    r = soak("--duration", "soon")
    assert r.returncode == 2 and "non-negative number" in r.stderr
    r = soak("--spawn", "no-port=/bin/true")
    assert r.returncode == 2 and "{port}" in r.stderr
