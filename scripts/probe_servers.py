#!/usr/bin/python3
"""Probe Gearman servers with raw packets and print what each one does, side by side.

An independent cross-check of the suite: it speaks to the reference server, C gearmand 1.1.20 and
Perl Gearman::Server 1.130 over plain sockets, without gearspec's codec or engine, on the key
semantics (attaching, client death, worker loss, exceptions, status, admin formats). Where it and
the suite agree, the engine cannot be wrong the same way as the reference server. Its output is
recorded in docs/evidence/ and cited by docs/requirements.md.

usage: scripts/probe_servers.py [--reference PATH]   (spawns each server on a free loopback port)

Every read is bounded; each server is started here, checked ready through the kernel's listen
table (loopback_servers.listening), and stopped by PID.
"""

import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

from loopback_servers import free_port, listening

REQ, RES = b"\0REQ", b"\0RES"
NAMES = {1: "CAN_DO", 4: "PRE_SLEEP", 6: "NOOP", 7: "SUBMIT_JOB", 8: "JOB_CREATED", 9: "GRAB_JOB",
         10: "NO_JOB", 11: "JOB_ASSIGN", 12: "WORK_STATUS", 13: "WORK_COMPLETE", 14: "WORK_FAIL",
         15: "GET_STATUS", 18: "SUBMIT_JOB_BG", 19: "ERROR", 20: "STATUS_RES", 25: "WORK_EXCEPTION",
         16: "ECHO_REQ", 17: "ECHO_RES", 26: "OPTION_REQ", 27: "OPTION_RES"}
NUM = {v: k for k, v in NAMES.items()}


def packet(name, *args, magic=REQ):
    body = b"\0".join(a if isinstance(a, bytes) else a.encode() for a in args)
    return magic + struct.pack(">II", NUM[name], len(body)) + body


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=2)
        self.buf = b""

    def send(self, name, *args, magic=REQ):
        self.s.sendall(packet(name, *args, magic=magic))

    def raw(self, data):
        self.s.sendall(data)

    def read(self, timeout=1.5):
        """The next packet as 'NAME(arg|arg)', or 'timeout' / 'closed'."""
        self.s.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 12:
                size = struct.unpack(">I", self.buf[8:12])[0]
                if len(self.buf) >= 12 + size:
                    num = struct.unpack(">I", self.buf[4:8])[0]
                    body = self.buf[12:12 + size]
                    self.buf = self.buf[12 + size:]
                    return "%s(%s)" % (NAMES.get(num, str(num)), body.replace(b"\0", b"|").decode("latin-1"))
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return "timeout"
            except ConnectionError:
                return "closed"
            if not chunk:
                return "closed"
            self.buf += chunk

    def line_answer(self, text, timeout=1.5):
        self.s.sendall(text.encode())
        self.s.settimeout(timeout)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
            if data.endswith(b".\n") or (data.endswith(b"\n") and not text.startswith(("status", "workers"))):
                break
        return repr(data)

    def close(self):
        self.s.close()


def handle_of(p):
    return p[len("JOB_CREATED("):-1] if p.startswith("JOB_CREATED(") else None


# Each probe returns a list of observations (strings).

def coalesce_queued(port):
    a, b = Conn(port), Conn(port)
    a.send("SUBMIT_JOB", "pq", "u1", "first")
    ha = handle_of(a.read())
    b.send("SUBMIT_JOB", "pq", "u1", "second")
    hb = handle_of(b.read())
    w = Conn(port)
    w.send("CAN_DO", "pq")
    w.send("GRAB_JOB")
    assign = w.read()
    w.send("GRAB_JOB")
    second = w.read()
    return ["same handle: %s" % (ha == hb), "assign data: %s" % assign.split("|")[-1], "second grab: " + second]


def late_attach(port):
    a, b, w = Conn(port), Conn(port), Conn(port)
    a.send("SUBMIT_JOB", "pl", "u2", "x")
    h = handle_of(a.read())
    w.send("CAN_DO", "pl")
    w.send("GRAB_JOB")
    w.read()
    w.send("WORK_STATUS", h, "1", "4")
    got_a = [a.read()]  # the first update has been delivered before the late client comes
    b.send("SUBMIT_JOB", "pl", "u2", "x")
    hb = handle_of(b.read())
    w.send("WORK_STATUS", h, "2", "4")
    w.send("WORK_COMPLETE", h, "done")
    got_a += [a.read() for _ in range(2)]
    got_b = [b.read() for _ in range(2)] + [b.read(0.3)]
    return ["same handle: %s" % (h == hb),
            "first client: " + ", ".join(x.replace(h, "H") for x in got_a),
            "late client: " + ", ".join(x.replace(h, "H") for x in got_b)]


def per_function_and_after_completion(port):
    a, w = Conn(port), Conn(port)
    a.send("SUBMIT_JOB", "pf1", "same", "x")
    h1 = handle_of(a.read())
    a.send("SUBMIT_JOB", "pf2", "same", "x")
    h2 = handle_of(a.read())
    w.send("CAN_DO", "pf1")
    w.send("GRAB_JOB")
    w.read()
    w.send("WORK_COMPLETE", h1, "r")
    a.read()
    a.send("SUBMIT_JOB", "pf1", "same", "x")
    h3 = handle_of(a.read())
    a.send("SUBMIT_JOB", "pf3", "", "x")
    e1 = handle_of(a.read())
    a.send("SUBMIT_JOB", "pf3", "", "x")
    e2 = handle_of(a.read())
    return ["other function, same unique, same handle: %s" % (h1 == h2),
            "after completion, same handle: %s" % (h1 == h3),
            "empty unique twice, same handle: %s" % (e1 == e2)]


def minus_unique(port):
    a = Conn(port)
    a.send("SUBMIT_JOB", "pm", "-", "data")
    h1 = handle_of(a.read())
    a.send("SUBMIT_JOB", "pm", "-", "data")
    h2 = handle_of(a.read())
    a.send("SUBMIT_JOB", "pm", "-", "other")
    h3 = handle_of(a.read())
    a.send("SUBMIT_JOB", "pm", "data", "data")
    h4 = handle_of(a.read())
    return ["'-' same data coalesces: %s" % (h1 == h2), "'-' other data coalesces: %s" % (h1 == h3),
            "literal unique equal to the data coalesces: %s" % (h1 == h4)]


def client_death_before_assignment(port):
    a, w = Conn(port), Conn(port)
    a.send("SUBMIT_JOB", "pd", "u3", "x")
    a.read()
    a.close()
    time.sleep(0.2)
    w.send("CAN_DO", "pd")
    w.send("GRAB_JOB")
    return ["worker's grab after the client left: " + w.read()]


def client_death_after_assignment(port):
    a, w = Conn(port), Conn(port)
    a.send("SUBMIT_JOB", "pe", "u4", "x")
    h = handle_of(a.read())
    w.send("CAN_DO", "pe")
    w.send("GRAB_JOB")
    w.read()
    a.close()
    time.sleep(0.2)
    w.send("WORK_STATUS", h, "1", "2")
    w.send("WORK_COMPLETE", h, "r")
    return ["worker hears after finishing: " + w.read(0.5)]


def background_attach_keeps_job(port):
    a, b, w = Conn(port), Conn(port), Conn(port)
    a.send("SUBMIT_JOB", "pb1", "u5", "x")
    h = handle_of(a.read())
    b.send("SUBMIT_JOB_BG", "pb1", "u5", "x")
    hb = handle_of(b.read())
    a.close()
    time.sleep(0.2)
    w.send("CAN_DO", "pb1")
    w.send("GRAB_JOB")
    return ["same handle: %s" % (h == hb), "grab after the foreground client left: " + w.read().replace(h, "H")]


def attach_after_abandon(port):
    a, b, w = Conn(port), Conn(port), Conn(port)
    a.send("SUBMIT_JOB", "pb2", "u6", "x")
    a.read()
    a.close()
    time.sleep(0.2)
    b.send("SUBMIT_JOB", "pb2", "u6", "x")
    h = handle_of(b.read())
    w.send("CAN_DO", "pb2")
    w.send("GRAB_JOB")
    assign = w.read()
    if assign.startswith("JOB_ASSIGN"):
        w.send("WORK_COMPLETE", assign[len("JOB_ASSIGN("):].split("|")[0], "r")
    return ["grab: " + assign.replace(h or "?", "H"), "second client hears: " + b.read().replace(h or "?", "H")]


def worker_loss(port):
    a, w, w2 = Conn(port), Conn(port), Conn(port)
    a.send("SUBMIT_JOB", "pw", "", "1")
    h1 = handle_of(a.read())
    a.send("SUBMIT_JOB", "pw", "", "2")
    h2 = handle_of(a.read())
    w.send("CAN_DO", "pw")
    w.send("GRAB_JOB")
    w.read()
    w.close()
    time.sleep(0.2)
    heard = a.read(0.5)
    w2.send("CAN_DO", "pw")
    order = []
    for _ in range(2):
        w2.send("GRAB_JOB")
        order.append(w2.read().split("|")[0].replace(h1, "H1").replace(h2, "H2"))
    return ["client hears: " + heard.replace(h1, "H1"), "next grabs: " + ", ".join(order)]


def exception_without_option(port):
    a, w = Conn(port), Conn(port)
    a.send("SUBMIT_JOB", "px", "", "1")
    h = handle_of(a.read())
    w.send("CAN_DO", "px")
    w.send("GRAB_JOB")
    w.read()
    w.send("WORK_EXCEPTION", h, "boom")
    got = a.read()
    a.send("GET_STATUS", h)
    return ["client without option gets: " + got.replace(h, "H"), "status after: " + a.read().replace(h, "H")]


def status_and_errors(port):
    a = Conn(port)
    a.send("GET_STATUS", "H:unknown:1")
    unknown = a.read()
    a.send("ECHO_REQ", "x", magic=RES)
    res_magic = a.read()
    a.send("ECHO_REQ", "after")
    after = a.read()
    return ["GET_STATUS unknown: " + unknown, "RES magic: " + res_magic, "stream continues: " + after]


def admin_formats(port):
    a = Conn(port)
    return ["status: " + a.line_answer("status\n"), "bogus: " + a.line_answer("bogus\n"),
            "maxqueue none: " + a.line_answer("maxqueue\n")]


PROBES = [coalesce_queued, late_attach, per_function_and_after_completion, minus_unique,
          client_death_before_assignment, client_death_after_assignment, background_attach_keeps_job,
          attach_after_abandon, worker_loss, exception_without_option, status_and_errors, admin_formats]


def run_server(name, argv_for_port):
    port = free_port()
    tmp = tempfile.mkdtemp()
    log = open(os.path.join(tmp, "log"), "w")
    proc = subprocess.Popen(argv_for_port(port, tmp), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit("%s did not start" % name)
        time.sleep(0.05)
    results = {}
    for probe in PROBES:
        try:
            results[probe.__name__] = probe(port)
        except Exception as e:  # a server that misbehaves must not stop the comparison
            results[probe.__name__] = ["probe error: %r" % e]
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(tmp, ignore_errors=True)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", default="build/release/reference-server/server/gearspec-server")
    args = ap.parse_args()
    servers = [
        ("reference (gearspec-server)", lambda p, t: [args.reference, "--quiet", "--port", str(p)]),
        ("C gearmand 1.1.20 (/usr/sbin/gearmand)",
         lambda p, t: ["/usr/sbin/gearmand", "--listen", "127.0.0.1", "--port", str(p),
                       "--log-file", os.path.join(t, "gearmand.log")]),
        ("Perl Gearman::Server 1.130 (/usr/bin/gearmand)",
         lambda p, t: ["scripts/perl-gearmand-loopback", "--port", str(p), "-L", "127.0.0.1"]),
    ]
    table = [(name, run_server(name, argv)) for name, argv in servers]
    for probe in PROBES:
        print("## " + probe.__name__)
        for name, results in table:
            print("  " + name)
            for line in results[probe.__name__]:
                print("    " + line)
        print()


if __name__ == "__main__":
    main()
