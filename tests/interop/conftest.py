"""Fixtures for the interop tests: a fresh Gearman server per test on a free loopback port.

`server` is parametrised over the reference server (GEARSPEC_SERVER) and C gearmand 1.1.20
(/usr/sbin/gearmand). Readiness is the kernel's listen table (never a connect loop); only
processes started here are stopped, by PID; every wait is bounded.
"""

import os
import pathlib
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from loopback_servers import free_port, listening  # noqa: E402

REFERENCE = os.environ.get("GEARSPEC_SERVER", "gearspec-server")
GEARMAND = "/usr/sbin/gearmand"


class Server:
    """A server process started by a test: its name, port and log."""

    def __init__(self, name, command, port, log_path):
        self.name, self.port, self.log_path = name, port, log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not listening(port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("%s did not listen on %d: %s" % (name, port, log_path.read_text()))
            time.sleep(0.01)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


def start_server(name, tmp_path, extra=()):
    port = free_port()
    log = tmp_path / (name + ".log")
    if name == "reference":
        command = [REFERENCE, "--listen", "127.0.0.1", "--port", str(port), *extra]
    elif name == "gearmand":
        command = [GEARMAND, "--listen", "127.0.0.1", "--port", str(port), "--log-file", str(tmp_path / "gearmand.log")]
    else:
        raise ValueError(name)
    return Server(name, command, port, log)


@pytest.fixture(params=["reference", "gearmand"])
def server(request, tmp_path):
    s = start_server(request.param, tmp_path)
    yield s
    s.stop()


@pytest.fixture
def reference(tmp_path):
    s = start_server("reference", tmp_path)
    yield s
    s.stop()


def wait_for(predicate, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    pytest.fail("timed out after %.0f s waiting for %s" % (timeout, what))


def admin(port, line):
    """One admin command's answer lines (without the closing '.')."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(line.encode() + b"\n")
        data = b""
        while not data.endswith(b".\n") and not (line not in ("status", "workers") and data.endswith(b"\n")):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return [l for l in data.decode().splitlines() if l != "."]


def status_line(port, function):
    for line in admin(port, "status"):
        fields = line.split("\t")
        if fields[0] == function:
            return fields[1:]
    return None


def waiting_submissions(port, unique):
    """The client count of GET_STATUS_UNIQUE: foreground submissions waiting on the job (C and the
    reference count each submission)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        body = unique.encode()
        s.sendall(b"\0REQ" + struct.pack(">II", 41, len(body)) + body)
        data = b""
        while len(data) < 12 or len(data) < 12 + struct.unpack(">I", data[8:12])[0]:
            chunk = s.recv(65536)
            if not chunk:
                return 0
            data += chunk
    kind, size = struct.unpack(">II", data[4:12])
    assert kind == 42, "expected STATUS_RES_UNIQUE, got type %d" % kind
    return int(data[12:12 + size].split(b"\0")[5] or b"0")
