#!/usr/bin/python3
"""A stand-in for a server whose port another program holds: it starts a detached process that
listens on PORT (not its child: it double-forks), records that process's PID in DIR/foreign.pids,
and then only sleeps, as C gearmand does while it retries a bind. Both end by themselves after a
few seconds. Used by test_cli.py: gearspec must not take the foreign listener for its server.

    foreign_listener.py PORT DIR
"""
import os
import socket
import sys
import time

port, directory = int(sys.argv[1]), sys.argv[2]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with open(os.path.join(directory, "foreign.pids"), "a") as f:
            f.write("%d\n" % os.getpid())
        time.sleep(6)
    os._exit(0)
time.sleep(6)
