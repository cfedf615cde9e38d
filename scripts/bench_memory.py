#!/usr/bin/python3
"""Resident memory of Gearman servers: per idle connection and per queued background job.

For each server it spawns it on a free loopback port (ready when the port is in the listen table),
reads VmRSS from /proc/PID/status, opens N idle connections, reads it again, closes them, then
queues M background jobs (10-byte payloads, distinct uniques) over one pipelined connection, waits
for every JOB_CREATED, and reads it again. Only the processes it started are stopped, by PID.

usage: scripts/bench_memory.py [--connections 10000] [--jobs 1000000] [--json FILE]
"""

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback_servers import free_port, listening, packet, rss_kib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVERS = [
    ("reference", [os.path.join(ROOT, "build/release/reference-server/server/gearspec-server"), "--quiet", "--port", "{port}"]),
    ("gearmand-t1", ["/usr/sbin/gearmand", "-t", "1", "--listen", "127.0.0.1", "--port", "{port}", "--log-file", "/dev/null"]),
    ("gearmand-t4", ["/usr/sbin/gearmand", "-t", "4", "--listen", "127.0.0.1", "--port", "{port}", "--log-file", "/dev/null"]),
]










def queue_jobs(port, count, deadline):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    batch = 10000
    created = 0
    pending = b""
    for start in range(0, count, batch):
        data = b"".join(packet(18, b"memfn", b"u%d" % i, b"0123456789") for i in range(start, min(count, start + batch)))
        s.sendall(data)
        # Read what has arrived so the server's output never backs up.
        s.setblocking(False)
        try:
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                pending += chunk
        except BlockingIOError:
            pass
        s.setblocking(True)
        created, pending = count_created(created, pending)
    s.settimeout(60)  # a server may take a while to work through the backlog; the deadline bounds it
    while created < count:
        if time.monotonic() > deadline:
            raise RuntimeError("only %d of %d JOB_CREATED" % (created, count))
        chunk = s.recv(1 << 20)
        if not chunk:
            raise RuntimeError("server closed the connection")
        pending += chunk
        created, pending = count_created(created, pending)
    return s


def count_created(created, buf):
    pos = 0
    while len(buf) - pos >= 12:
        cmd, size = struct.unpack(">II", buf[pos + 4:pos + 12])
        if len(buf) - pos < 12 + size:
            break
        if cmd != 8:
            raise RuntimeError("unexpected reply type %d" % cmd)
        created += 1
        pos += 12 + size
    return created, buf[pos:]


def spawn(name, argv):
    port = free_port()
    proc = subprocess.Popen([a.replace("{port}", str(port)) for a in argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("%s did not start" % name)
        time.sleep(0.02)
    return proc, port


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def measure(name, argv, connections, jobs):
    # A fresh process for each measurement: memory freed by the first would otherwise be reused by
    # the second and hide its cost.
    proc, port = spawn(name, argv)
    try:
        base = rss_kib(proc.pid)
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(connections)]
        # Make sure the server has accepted them all: one round trip on the last one.
        socks[-1].sendall(packet(16, b"x"))
        socks[-1].recv(64)
        time.sleep(0.5)
        with_conns = rss_kib(proc.pid)
        for s in socks:
            s.close()
    finally:
        stop(proc)
    proc, port = spawn(name, argv)
    try:
        before_jobs = rss_kib(proc.pid)
        s = queue_jobs(port, jobs, time.monotonic() + 600)
        time.sleep(0.2)
        with_jobs = rss_kib(proc.pid)
        s.close()
    finally:
        stop(proc)
    return {"server": name, "base_kib": base, "connections": connections, "with_connections_kib": with_conns,
            "bytes_per_connection": (with_conns - base) * 1024 / connections, "jobs": jobs,
            "with_jobs_kib": with_jobs, "bytes_per_queued_job": (with_jobs - before_jobs) * 1024 / jobs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--jobs", type=int, default=1000000)
    ap.add_argument("--json")
    ap.add_argument("--servers", default=",".join(n for n, _ in SERVERS), help="comma-separated subset")
    args = ap.parse_args()
    rows = []
    wanted = args.servers.split(",")
    for name, argv in SERVERS:
        if name not in wanted:
            continue
        r = measure(name, argv, args.connections, args.jobs)
        rows.append(r)
        print("%-12s base %7d KiB | %d idle connections: %8d KiB = %6.0f B each | %d queued jobs: %8d KiB = %5.0f B each"
              % (name, r["base_kib"], r["connections"], r["with_connections_kib"], r["bytes_per_connection"], r["jobs"],
                 r["with_jobs_kib"], r["bytes_per_queued_job"]))
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
