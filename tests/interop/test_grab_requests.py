"""Which grab request each real worker library sends, measured: a server that ignores it starves them.

For each worker stack, the reference server runs with `--emulate ignore:X` for each grab request X
(it reads X and never answers); a job is submitted with the `gearman` tool's client. The worker gets
the job unless X is the request it sends. This is the evidence behind WORKER-GRAB-ALL
(docs/requirements.md) and the "who breaks" line of a report whose target lacks a grab request.
"""

import os
import pathlib
import subprocess

import pytest

from conftest import start_server

HERE = pathlib.Path(__file__).resolve().parent
NODE_MODULES = HERE / "node" / "node_modules"
WAIT = 4  # seconds a worker is given to get and complete one job

WORKERS = {
    "gearman-tool": lambda port, fn, runs: ["gearman", "-h", "127.0.0.1", "-p", str(port), "-w", "-c", "1",
                                            "-f", fn, "--", "cat"],
    "php": lambda port, fn, runs: ["php", str(HERE / "clients/php_driver.php"), "worker", str(port), fn, "1",
                                   str(runs), "0", "-"],
    "libgearman": lambda port, fn, runs: [os.environ.get("LIBGEARMAN_DRIVER", "libgearman_driver"), "worker",
                                          str(port), fn, "1", str(runs), "0", "-"],
    "perl": lambda port, fn, runs: ["perl", str(HERE / "clients/perl_driver.pl"), "worker", str(port), fn, "1",
                                    str(runs), "0", "-"],
    "npm-gearman": lambda port, fn, runs: ["node", str(HERE / "node/node_gearman.js"), "worker", str(port), fn,
                                           "1", str(runs), "0", "-"],
    "npm-gearmanode": lambda port, fn, runs: ["node", str(HERE / "node/node_gearmanode.js"), "worker", str(port),
                                              fn, "1", str(runs), "0", "-"],
}

# The one grab request each sends (measured by this test; see the module docstring). npm gearman
# leaves grabbing to the application; its grabJob() sends GRAB_JOB.
SENDS = {
    "gearman-tool": "GRAB_JOB_ALL",
    "php": "GRAB_JOB_ALL",
    "libgearman": "GRAB_JOB_ALL",
    "perl": "GRAB_JOB",
    "npm-gearman": "GRAB_JOB",
    "npm-gearmanode": "GRAB_JOB",
}


def job_done(port, fn, worker_command):
    worker = subprocess.Popen(worker_command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, NODE_PATH=str(NODE_MODULES)))
    try:
        client = subprocess.run(["timeout", str(WAIT), "gearman", "-h", "127.0.0.1", "-p", str(port), "-f", fn],
                                input=b"payload", capture_output=True, timeout=WAIT + 5)
        return client.returncode == 0
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait(timeout=10)


@pytest.mark.parametrize("ignored", ["GRAB_JOB", "GRAB_JOB_UNIQ", "GRAB_JOB_ALL"])
@pytest.mark.parametrize("stack", list(WORKERS))
def test_a_worker_starves_only_when_its_grab_request_is_ignored(tmp_path, stack, ignored):
    server = start_server("reference", tmp_path, ["--emulate", "ignore:" + ignored])
    try:
        fn = "grab-%s-%s" % (stack, ignored.lower())
        done = job_done(server.port, fn, WORKERS[stack](server.port, fn, tmp_path / "runs"))
    finally:
        server.stop()
    assert done == (SENDS[stack] != ignored), (
        "%s worker %s its job while the server ignored %s" % (stack, "got" if done else "never got", ignored))
