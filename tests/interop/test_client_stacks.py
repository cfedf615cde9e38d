"""Real Gearman client libraries (PHP, C libgearman, Perl, two npm packages) against the reference
server and C gearmand 1.1.20, each with its own worker: a plain job, a background job with status
polling, two clients attached by unique, one connection submitting the same unique twice, and a
worker that sends WORK_STATUS and WORK_DATA.

A library's own defect is an xfail with its reason (strict: if the library is fixed, the test says
so). A server's defect is a failure.
"""

import json
import os
import pathlib
import subprocess

import pytest

from conftest import status_line, wait_for, waiting_submissions

HERE = pathlib.Path(__file__).resolve().parent
NODE_MODULES = HERE / "node" / "node_modules"
TIMEOUT = 30  # seconds for any one driver process (the drivers bound their own waits at 15 s)

STACKS = {
    "php": ["php", str(HERE / "clients/php_driver.php")],
    "libgearman": [os.environ.get("LIBGEARMAN_DRIVER", "libgearman_driver")],
    "perl": ["perl", str(HERE / "clients/perl_driver.pl")],
    "npm-gearman": ["node", str(HERE / "node/node_gearman.js")],
    "npm-gearmanode": ["node", str(HERE / "node/node_gearmanode.js")],
}

# Defects of the client libraries themselves, seen against every server (reason, cases).
LIBRARY_DEFECTS = {
    ("npm-gearman", "background"):
        "npm gearman 2.1.0 reads STATUS_RES's denominator as one binary byte (its parse format "
        "'ssss8'), so '0' reads as 48 and '2' as 50",
    ("npm-gearmanode", "twice"):
        "npm gearmanode 0.9.2 keeps its jobs in a table keyed by handle: the first WORK_COMPLETE "
        "removes the entry, and the second one, for the other submission, is rejected as "
        "'unknown job, uid=...#H:...' (an error event), so one of the two jobs never completes",
}


def driver(stack, *args):
    command = STACKS[stack] + [str(a) for a in args]
    env = dict(os.environ, NODE_PATH=str(NODE_MODULES))
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def finish(proc, what):
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=TIMEOUT)
        pytest.fail("%s did not finish within %d s; stderr: %s; stdout: %s" % (what, TIMEOUT, err.decode(), out.decode()))
    assert proc.returncode == 0, "%s exited %d; stderr: %s; stdout: %s" % (what, proc.returncode, err.decode(), out.decode())
    return json.loads(out.decode().strip().splitlines()[-1])


class Run:
    """One test's processes; all killed at the end if still running."""

    def __init__(self, stack, server, tmp_path, case):
        self.stack, self.server, self.tmp = stack, server, tmp_path
        self.fn = "interop-%s-%s" % (stack, case)
        self.unique = "key-%s-%s" % (stack, case)
        self.runs = tmp_path / "runs"
        self.release = tmp_path / "release"
        self.procs = []

    def start(self, *args):
        p = driver(self.stack, *args)
        self.procs.append(p)
        return p

    def worker(self, jobs=1, updates=0, release="-"):
        return self.start("worker", self.server.port, self.fn, jobs, self.runs, updates, release)

    def client(self, case, *extra):
        return self.start("client", case, self.server.port, self.fn, "payload", self.unique, *extra)

    def run_count(self):
        return self.runs.read_text().count("run\n") if self.runs.exists() else 0

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)


@pytest.fixture
def run(request, server, tmp_path):
    stack = request.node.callspec.params["stack"]
    case = request.node.originalname.replace("test_", "")
    defect = LIBRARY_DEFECTS.get((stack, CASE_OF[case]))
    if defect:
        request.node.add_marker(pytest.mark.xfail(reason=defect, strict=True))
    r = Run(stack, server, tmp_path, case)
    yield r
    r.close()


CASE_OF = {"plain_job": "plain", "background_job_with_status_polling": "background",
           "two_clients_attached_by_unique": "attached", "one_connection_same_unique_twice": "twice",
           "worker_sends_status_and_data": "updates"}

stacks = pytest.mark.parametrize("stack", list(STACKS))


@stacks
def test_plain_job(run, stack):
    worker = run.worker()
    result = finish(run.client("plain"), "client")
    assert result == {"result": "daolyap"}
    finish(worker, "worker")
    assert run.run_count() == 1


@stacks
def test_background_job_with_status_polling(run, stack):
    client = run.client("background", run.release)
    wait_for(lambda: status_line(run.server.port, run.fn) == ["1", "0", "0"], "the background job queued")
    worker = run.worker(updates=1, release=run.release)
    result = finish(client, "client")
    # Queued, then running with the worker's 1/2, then gone (the client released the worker). A
    # poll between the worker's grab and its WORK_STATUS may also see running 0/0.
    seen = [s for s in result["statuses"] if s != [True, True, 0, 0]]
    assert seen == [[True, False, 0, 0], [True, True, 1, 2], [False, False, 0, 0]], result
    finish(worker, "worker")
    assert run.run_count() == 1


@stacks
def test_two_clients_attached_by_unique(run, stack):
    # Workerless start: both clients submit the same key before any worker exists.
    clients = [run.client("plain"), run.client("plain")]
    wait_for(lambda: waiting_submissions(run.server.port, run.unique) == 2, "both clients attached to one job")
    worker = run.worker()
    assert [finish(c, "client") for c in clients] == [{"result": "daolyap"}] * 2
    finish(worker, "worker")
    assert run.run_count() == 1


@stacks
def test_one_connection_same_unique_twice(run, stack):
    client = run.client("twice")
    wait_for(lambda: waiting_submissions(run.server.port, run.unique) == 2,
             "both submissions attached to one job (GET_STATUS_UNIQUE's client count 2; a server that "
             "merges one connection's submissions answers 1 and then sends one result for two tasks)")
    worker = run.worker()
    result = finish(client, "client")
    assert result["results"] == ["daolyap", "daolyap"]
    finish(worker, "worker")
    assert run.run_count() == 1


@stacks
def test_worker_sends_status_and_data(run, stack):
    worker = run.worker(updates=1)
    result = finish(run.client("updates"), "client")
    assert result == {"status": [[1, 2]], "data": ["part"], "results": ["daolyap"]}
    finish(worker, "worker")
    assert run.run_count() == 1
