"""Helpers shared by the measurement scripts (bench_memory.py, hardening.py): a free loopback port,
readiness from the kernel's listen table (never a connect loop on an ephemeral port), resident
memory of a process, and request packets."""

import socket
import struct


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """True if something listens on TCP port, from /proc/net/tcp{,6} (state 0A)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    return True
    return False


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def packet(cmd, *args):
    """A request packet: \\0REQ, type, size, NUL-joined arguments."""
    body = b"\0".join(args)
    return b"\0REQ" + struct.pack(">II", cmd, len(body)) + body
