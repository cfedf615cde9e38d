"""Real Gearman clients from Debian against the standalone reference server.

libgearman's `gearman` and `gearadmin` (package gearman-tools) and Perl's Gearman::Client and
Gearman::Worker (libgearman-client-perl) talk to `gearspec-server`, including the seed's own
commands and two clients attached to one job by the same unique key.
Every wait is bounded; only processes started here are stopped, by PID.
"""

import subprocess
import textwrap

import pytest

from conftest import status_line, wait_for

TIMEOUT = 20  # seconds for any one client command


@pytest.fixture
def server(reference):
    """The standalone reference server's port (conftest's `reference` fixture)."""
    return reference.port


def gearman(port, *args, data=None, check=True):
    result = subprocess.run(["gearman", "-h", "127.0.0.1", "-p", str(port), *args], input=data,
                            capture_output=True, timeout=TIMEOUT)
    if check:
        assert result.returncode == 0, result.stderr.decode()
    return result


def gearadmin(port, *args):
    result = subprocess.run(["gearadmin", "-h", "127.0.0.1", "-p", str(port), *args],
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_gearman_cli_worker_and_client(server):
    # The seed's commands: `gearman -w -f f cmd` and `gearman -f f -u alpha`.
    worker = subprocess.Popen(["gearman", "-h", "127.0.0.1", "-p", str(server), "-w", "-c", "1",
                               "-f", "reverse", "--", "rev"])
    try:
        out = gearman(server, "-f", "reverse", "-u", "alpha", data=b"hello\n")
        assert out.stdout == b"olleh\n"
        assert worker.wait(timeout=TIMEOUT) == 0
    finally:
        if worker.poll() is None:
            worker.kill()


def test_two_gearman_clients_attach_by_unique_and_the_job_runs_once(server, tmp_path):
    counter = tmp_path / "runs"
    # Workerless start: both clients submit (f, "alpha") before any worker exists.
    clients = [subprocess.Popen(["gearman", "-h", "127.0.0.1", "-p", str(server), "-f", "slow", "-u", "alpha"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(2)]
    try:
        for c in clients:
            c.stdin.write(b"payload")
            c.stdin.close()
            c.stdin = None  # already sent; communicate() must not touch it
        wait_for(lambda: status_line(server, "slow") == ["1", "0", "0"], "one queued job for both clients")
        script = f"echo run >> {counter}; cat"
        worker = subprocess.run(["gearman", "-h", "127.0.0.1", "-p", str(server), "-w", "-c", "1", "-f", "slow",
                                 "--", "sh", "-c", script], timeout=TIMEOUT)
        assert worker.returncode == 0
        outputs = [c.communicate(timeout=TIMEOUT)[0] for c in clients]
        assert outputs == [b"payload", b"payload"]
        assert counter.read_text() == "run\n"
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()


def test_gearman_background_job_then_worker(server, tmp_path):
    gearman(server, "-b", "-f", "bg", "-u", "report-1", data=b"data")
    assert status_line(server, "bg") == ["1", "0", "0"]
    out = tmp_path / "out"
    subprocess.run(["gearman", "-h", "127.0.0.1", "-p", str(server), "-w", "-c", "1", "-f", "bg", "--",
                    "sh", "-c", f"cat > {out}"], timeout=TIMEOUT, check=True)
    assert out.read_bytes() == b"data"
    assert status_line(server, "bg") == ["0", "0", "0"]


def test_gearadmin_commands(server):
    assert gearadmin(server, "--server-version").strip() == "gearspec-0.1.0"
    assert gearadmin(server, "--create-function", "made").strip() == "OK"
    assert status_line(server, "made") == ["0", "0", "0"]
    gearman(server, "-b", "-f", "made", "-u", "u1", data=b"x")
    jobs = gearadmin(server, "--show-jobs").splitlines()
    assert len(jobs) == 2 and jobs[1] == "."
    handle = jobs[0].split("\t")[0]
    assert gearadmin(server, "--show-unique-jobs").splitlines() == ["u1", "."]
    assert gearadmin(server, "--priority-status").splitlines() == ["made\t0\t1\t0\t0", "."]
    assert gearadmin(server, "--cancel-job", handle).strip() == "OK"
    assert gearadmin(server, "--drop-function", "made").strip() == "OK"
    assert status_line(server, "made") is None
    assert gearadmin(server, "--getpid").strip().isdigit()


PERL_WORKER = textwrap.dedent("""
    use strict; use warnings;
    use Gearman::Worker;
    my ($port, $counter, $jobs) = @ARGV;
    my $w = Gearman::Worker->new;
    $w->job_servers("127.0.0.1:$port");
    $w->register_function(upper => sub {
        open(my $fh, '>>', $counter) or die; print $fh "run\\n"; close $fh;
        sleep 1;
        return uc ${ $_[0]->argref };
    });
    my $done = 0;
    $w->work(on_complete => sub { $done++ }, stop_if => sub { $done >= $jobs });
""")

PERL_CLIENT = textwrap.dedent("""
    use strict; use warnings;
    use Gearman::Client;
    my ($port, $uniq, $arg) = @ARGV;
    my $c = Gearman::Client->new;
    $c->job_servers("127.0.0.1:$port");
    my $r = $c->do_task(upper => $arg, { uniq => $uniq, timeout => 15 });
    die "no result\\n" unless defined $r;
    print $$r;
""")


def test_perl_clients_attach_by_unique(server, tmp_path):
    counter = tmp_path / "runs"
    (tmp_path / "worker.pl").write_text(PERL_WORKER)
    (tmp_path / "client.pl").write_text(PERL_CLIENT)
    clients = [subprocess.Popen(["perl", str(tmp_path / "client.pl"), str(server), "same-key", "abc"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    worker = None
    try:
        wait_for(lambda: status_line(server, "upper") == ["1", "0", "0"], "both Perl clients on one job")
        worker = subprocess.Popen(["perl", str(tmp_path / "worker.pl"), str(server), str(counter), "1"])
        results = [c.communicate(timeout=TIMEOUT) for c in clients]
        assert [r[0] for r in results] == [b"ABC", b"ABC"], [r[1] for r in results]
        assert worker.wait(timeout=TIMEOUT) == 0
        assert counter.read_text() == "run\n"
    finally:
        for p in clients + ([worker] if worker else []):
            if p.poll() is None:
                p.kill()
