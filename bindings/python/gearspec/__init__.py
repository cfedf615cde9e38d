"""gearspec for Python: script Gearman conformance checks and run the YAML suite from pytest.

The engine is the C++ one (module ``gearspec._gearspec``); every call that waits on the network
releases the GIL, so other Python threads keep running.

    import gearspec
    with gearspec.ReferenceServer() as server:
        client, worker = gearspec.Client(server), gearspec.Worker(server)
        worker.send("CAN_DO", "reverse")
        client.send("SUBMIT_JOB", "reverse", "", "hello")
        handle = client.expect("JOB_CREATED")[0]
        worker.send("GRAB_JOB")
        worker.expect("JOB_ASSIGN", handle, "reverse", "hello")
        worker.send("WORK_COMPLETE", handle, "olleh")
        client.expect("WORK_COMPLETE", handle, "olleh")

Packet names are the protocol's (as in YAML scenarios); arguments are ``bytes`` or ``str`` (UTF-8)
or ``int``. In ``expect``, an argument may also be ``ANY``, ``Regex("...")`` or ``Prefix(b"...")``;
missing trailing arguments match anything.
"""

from __future__ import annotations

import os
import pathlib
from typing import Iterable, Optional, Sequence, Union

from . import _gearspec
from ._gearspec import (AdminResponse, ExpectError, Packet, Profile, Scenario, ScenarioError, TargetError,
                        TranscriptEntry)

__all__ = ["ANY", "Actor", "Admin", "AdminResponse", "Client", "ExpectError", "Packet", "Prefix",
           "ReferenceServer", "Regex", "Result", "Results", "Scenario", "ScenarioError", "TargetError",
           "TranscriptEntry", "Worker", "load_scenario", "load_scenario_string", "packet_names", "parallel",
           "run", "run_yaml"]
__version__ = "0.1.0"

Value = Union[bytes, str, int]
Address = Union["ReferenceServer", tuple, str]


def _to_bytes(value: Value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode("ascii")
    raise TypeError("packet arguments are bytes, str or int, not %s" % type(value).__name__)


class _Any:
    def __repr__(self):
        return "ANY"


ANY = _Any()
"""Matches any argument value."""


class Regex:
    """Matches an argument the regular expression (ECMAScript, whole value) matches."""

    def __init__(self, pattern: str):
        self.pattern = pattern

    def __repr__(self):
        return "Regex(%r)" % self.pattern


class Prefix:
    """Matches an argument that starts with the given bytes."""

    def __init__(self, prefix: Value):
        self.prefix = _to_bytes(prefix)

    def __repr__(self):
        return "Prefix(%r)" % self.prefix


def _matcher(value):
    if value is ANY or value is None:
        return _gearspec.Matcher.any()
    if isinstance(value, Regex):
        return _gearspec.Matcher.regex(value.pattern)
    if isinstance(value, Prefix):
        return _gearspec.Matcher.prefix(value.prefix)
    return _gearspec.Matcher.exact(_to_bytes(value))


class ReferenceServer:
    """The embedded reference server, on 127.0.0.1 and a free port, for as long as the ``with``
    block lasts. Keyword options are gearspec-server's (``worker_loss="fail"``, ``job_retries=2``,
    ``exceptions=True``, ...)."""

    def __init__(self, **options):
        self._server = _gearspec.ReferenceServer(**options)

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def address(self) -> tuple:
        return (self.host, self.port)

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return "<ReferenceServer %s:%d>" % (self.host, self.port)


def _split_address(address: Address) -> tuple:
    if isinstance(address, ReferenceServer):
        return address.address
    if isinstance(address, str):
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("expected HOST:PORT, got %r" % address)
        return host, int(port)
    host, port = address
    return host, int(port)


class Actor:
    """One connection to a Gearman server. Every wait is bounded by ``timeout`` (seconds)."""

    role = "actor"

    def __init__(self, address: Address, timeout: float = 5.0, name: Optional[str] = None):
        host, port = _split_address(address)
        self.name = name or self.role
        self._actor = _gearspec.Actor(host, port, timeout)
        self.default_timeout = 2.0

    def send(self, name: str, *args: Value) -> None:
        """Sends a packet by protocol name, e.g. ``send("SUBMIT_JOB", "fn", "", b"data")``."""
        self._actor.send(name, [_to_bytes(a) for a in args])

    def send_raw(self, data: bytes) -> None:
        """Sends arbitrary bytes (malformed input)."""
        self._actor.send_raw(_to_bytes(data))

    def expect(self, name: str, *args, timeout: Optional[float] = None) -> Packet:
        """The next packet must be ``name`` with these arguments; returns it (index it for values,
        e.g. ``expect("JOB_CREATED")[0]`` is the handle). Raises ExpectError saying what was
        awaited and what arrived instead."""
        return self._actor.expect(name, [_matcher(a) for a in args],
                                  self.default_timeout if timeout is None else timeout)

    def receive(self, timeout: Optional[float] = None) -> Optional[Packet]:
        """The next packet, or None if nothing arrives in time."""
        return self._actor.receive(self.default_timeout if timeout is None else timeout)

    def expect_none(self, window: float) -> None:
        """Nothing may arrive for ``window`` seconds."""
        self._actor.expect_none(window)

    def expect_closed(self, timeout: Optional[float] = None) -> None:
        """The server must close the connection."""
        self._actor.expect_closed(self.default_timeout if timeout is None else timeout)

    def close(self) -> None:
        """Closes gracefully (FIN)."""
        self._actor.close()

    def kill(self) -> None:
        """Closes abortively (RST), like a crashed peer."""
        self._actor.kill()

    @property
    def closed(self) -> bool:
        return self._actor.closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Client(Actor):
    """A client connection."""

    role = "client"

    def submit(self, function: Value, unique: Value = "", data: Value = b"", kind: str = "SUBMIT_JOB") -> bytes:
        """Submits a job and returns its handle (from JOB_CREATED)."""
        self.send(kind, function, unique, data)
        return self.expect("JOB_CREATED")[0]


class Worker(Actor):
    """A worker connection."""

    role = "worker"

    def can_do(self, *functions: Value) -> None:
        for f in functions:
            self.send("CAN_DO", f)

    def grab(self, timeout: Optional[float] = None) -> Optional[Packet]:
        """GRAB_JOB; returns the JOB_ASSIGN packet, or None for NO_JOB."""
        self.send("GRAB_JOB")
        packet = self.receive(timeout)
        if packet is None:
            raise ExpectError("expected JOB_ASSIGN or NO_JOB, but nothing arrived")
        if packet.name == "NO_JOB":
            return None
        if packet.name != "JOB_ASSIGN":
            raise ExpectError("expected JOB_ASSIGN or NO_JOB, got %r" % packet)
        return packet


class Admin(Actor):
    """An admin (text protocol) connection."""

    role = "admin"

    def command(self, line: str, timeout: Optional[float] = None) -> AdminResponse:
        """Sends an admin line (e.g. "status") and returns the whole answer."""
        return self._actor.admin(line, self.default_timeout if timeout is None else timeout)

    def wait_until(self, line: str, predicate, timeout: float = 2.0, interval: float = 0.02) -> AdminResponse:
        """Repeats ``line`` until ``predicate(answer)`` is true (the engine's wait_until: every
        ``interval`` seconds, bounded by ``timeout``); raises ExpectError with the last answer."""
        return self._actor.wait_until(line, predicate, timeout, interval)


def parallel(*functions, timeout: float = 30.0) -> list:
    """Runs callables concurrently (each on a thread of its own; the engine releases the GIL while
    it waits) and returns their results in order. The first exception is re-raised once all have
    finished; ExpectError if one is still running after ``timeout`` seconds."""
    return _gearspec.parallel(list(functions), timeout)


def packet_names() -> list:
    """The 42 packet names."""
    return _gearspec.packet_names()


# ----------------------------------------------------------------------------------------------
# Running YAML scenarios.

def load_scenario(path: Union[str, os.PathLike]) -> Scenario:
    """Loads a scenario file; raises ScenarioError with file:line:column."""
    return _gearspec.load_scenario_file(str(path))


def load_scenario_string(yaml: str, name: str = "<string>") -> Scenario:
    return _gearspec.load_scenario_string(yaml, name)


class Result:
    """The verdict of one scenario. ``verdict`` is pass, fail, expected-fail, unexpected-pass,
    unsupported, blocked (the target lacks a capability it needs: ``blocked_by``), informational
    (an IMPL scenario: ``variant`` is the known variant the server showed, or "" for none of
    them), flaky (differed between --repeat rounds) or error. ``level`` is MUST, SHOULD or IMPL."""

    def __init__(self, run, index):
        self._run, self._i = run, index
        self.id = run.id(index)
        self.title = run.title(index)
        self.file = run.file(index)
        self.verdict = run.verdict(index)
        self.reason = run.reason(index)
        self.evidence = run.evidence(index)
        self.elapsed_ms = run.elapsed_ms(index)
        self.mismatch = run.mismatch(index)
        self.level = run.level(index)
        self.variant = run.variant(index)
        self.blocked_by = list(run.blocked_by(index))

    @property
    def passed(self) -> bool:
        """True unless the verdict fails a run (fail, unexpected-pass, flaky, error)."""
        return self.verdict in ("pass", "expected-fail", "unsupported", "blocked", "informational")

    @property
    def transcript(self) -> list:
        """Every packet and event, as TranscriptEntry objects (``.packet`` is a Packet or None)."""
        return self._run.transcript(self._i)

    def details(self) -> str:
        """The readable report: mismatch and transcript."""
        return self._run.details(self._i)

    def __repr__(self):
        return "<Result %s %s>" % (self.verdict, self.id)


class Results(list):
    """Results of a run, in scenario order, with the CLI's report writers."""

    def __init__(self, run):
        super().__init__(Result(run, i) for i in range(len(run)))
        self._run = run
        self.target = run.target

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self)

    def write_junit(self, path) -> None:
        self._run.write_junit(str(path))

    def write_json(self, path) -> None:
        self._run.write_json(str(path))

    def write_html(self, path) -> None:
        """The self-contained HTML report (as ``gearspec run --html``)."""
        self._run.write_html(str(path))


def probe(*, target=None, spawn: str = "", persistent: bool = False, timeout_scale: float = 1.0,
          reference_options: Optional[dict] = None):
    """Probes a target's capabilities once (``.present``, ``.missing`` name -> what the probe saw,
    ``.grab``: the grab request it answers); pass the result to ``run(capabilities=...)`` to skip
    probing again."""
    targets = [target] if isinstance(target, str) else list(target or [])
    return _gearspec.probe_capabilities(targets, spawn, persistent, reference_options or {}, timeout_scale)


def run(paths: Union[str, os.PathLike, Iterable] = (), *, scenarios: Sequence[Scenario] = (), target=None,
        spawn: str = "", persistent: bool = False, profile=None, jobs: int = 1, repeat: int = 1,
        timeout_scale: float = 1.0, reference_options: Optional[dict] = None, probe: bool = True,
        capabilities=None) -> Results:
    """Runs scenario files (or folders) and/or loaded scenarios. Target: the embedded reference
    server by default, ``target="HOST:PORT"`` (or a list of NAME=HOST:PORT), or
    ``spawn="COMMAND {port}"`` (``persistent=True`` if that command configures a persistent queue
    in ``{dir}``); ``profile`` is a profile file. The target's capabilities are probed first
    (``probe=False`` skips it: nothing is blocked), unless ``capabilities`` from ``probe()`` are
    given."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    loaded = list(scenarios)
    for p in paths:
        for f in _gearspec.find_scenario_files(str(p)):
            loaded.append(_gearspec.load_scenario_file(f))
    if not loaded:
        raise ValueError("no scenario to run")
    targets = [target] if isinstance(target, str) else list(target or [])
    return Results(_gearspec.run_scenarios(loaded, targets, spawn, persistent, reference_options or {},
                                           str(profile) if profile else None, jobs, repeat, timeout_scale,
                                           probe, capabilities))


def explore(*, target=None, spawn: str = "", reference_options: Optional[dict] = None,
            seconds: float = 60.0, seed: int = 1, length: int = 14, weights: str = "",
            timeout_scale: float = 1.0, out_dir: Union[str, os.PathLike, None] = None, programs: int = 0,
            jobs: int = 0):
    """Differential exploration (as ``gearspec explore``): random legal programs run against the
    target and the embedded reference server for ``seconds``; returns a report with
    ``.programs``, ``.divergences`` and ``.notes`` (known implementation-defined variants), each
    finding with ``.kind``, ``.yaml`` (a scenario in the suite's format), ``.reproduces`` and
    ``.seed``. Target: the embedded reference server by default (``reference_options`` configure
    it, e.g. ``{"emulate": "duplicate-completions"}``), ``target="HOST:PORT"`` or
    ``spawn="COMMAND {port}"``. ``out_dir`` writes each finding's scenario there; ``programs`` stops
    after that many programs (``seed=S, programs=1`` replays one); ``jobs`` programs run at once
    (0: the command line's default, 2 per processor core)."""
    targets = [target] if isinstance(target, str) else list(target or [])
    return _gearspec.explore(targets, spawn, reference_options or {}, float(seconds), int(seed), int(length),
                             weights, float(timeout_scale), str(out_dir) if out_dir else "", int(programs),
                             int(jobs))


def run_yaml(yaml: str, **kwargs) -> Result:
    """Runs one scenario given as YAML text and returns its Result."""
    return run(scenarios=[load_scenario_string(yaml)], **kwargs)[0]
