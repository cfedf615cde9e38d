"""pytest plugin for gearspec: fixtures for scripted checks, and YAML scenarios as pytest items.

Enable it with ``-p gearspec.pytest_plugin`` (or ``pytest_plugins = ["gearspec.pytest_plugin"]``
in a conftest.py). Options:

  --gearspec-target HOST:PORT   run against an existing server instead of the embedded one
  --gearspec-spawn 'CMD {port}' for YAML items: a fresh server per scenario
  --gearspec-profile FILE       for YAML items: the implementation's expected deviations
  --gearspec-yaml               collect *.yaml scenario files given on the command line as tests

Fixtures: ``gearspec_server`` gives an address (host, port): a fresh embedded reference server per
test, or the --gearspec-target.
"""

import pytest

import gearspec


def pytest_addoption(parser):
    group = parser.getgroup("gearspec")
    group.addoption("--gearspec-target", default=None, help="HOST:PORT of the Gearman server under test")
    group.addoption("--gearspec-spawn", default=None, help="command that starts a server on {port}")
    group.addoption("--gearspec-profile", default=None, help="profile of expected deviations")
    group.addoption("--gearspec-yaml", action="store_true", help="collect *.yaml scenarios as tests")


@pytest.fixture
def gearspec_server(request):
    """(host, port) of the server under test."""
    target = request.config.getoption("--gearspec-target")
    if target:
        host, _, port = target.rpartition(":")
        yield (host, int(port))
        return
    with gearspec.ReferenceServer() as server:
        yield server.address


def pytest_collect_file(parent, file_path):
    if file_path.suffix in (".yaml", ".yml") and parent.config.getoption("--gearspec-yaml"):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        try:
            scenario = gearspec.load_scenario(self.path)
        except gearspec.ScenarioError as e:
            raise self.CollectError(str(e))
        yield ScenarioItem.from_parent(self, name=scenario.id, scenario=scenario)


_CAPABILITIES = pytest.StashKey[dict]()
_MARKERS = pytest.StashKey[set]()


def _register_marker(config, name):
    known = config.stash.setdefault(_MARKERS, set())
    if name not in known:
        config.addinivalue_line("markers", "%s: gearspec scenario tag or level" % name)
        known.add(name)


class ScenarioFailure(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario, **kwargs):
        super().__init__(**kwargs)
        self.scenario = scenario
        for name in [t.replace("-", "_") for t in scenario.tags] + [scenario.level.lower()]:
            _register_marker(self.config, name)  # so that --strict-markers accepts every tag
            self.add_marker(name)  # -m attach, -m must, -m "not impl"

    def runtest(self):
        config = self.config
        target = config.getoption("--gearspec-target")
        spawn = config.getoption("--gearspec-spawn") or ""
        # One capability probe per session and target, shared by every scenario item.
        cache = config.stash.setdefault(_CAPABILITIES, {})
        if (target, spawn) not in cache:
            cache[(target, spawn)] = gearspec.probe(target=target, spawn=spawn)
        result = gearspec.run(scenarios=[self.scenario], target=target, spawn=spawn,
                              profile=config.getoption("--gearspec-profile"),
                              capabilities=cache[(target, spawn)])[0]
        self.user_properties.append(("verdict", result.verdict))
        if result.verdict == "pass":
            return
        if result.verdict == "informational":
            # An IMPL scenario never fails by itself; the variant the server showed is the result.
            self.user_properties.append(("variant", result.variant or "none of the known variants"))
            return
        if result.verdict == "expected-fail":
            pytest.xfail(result.reason)
        if result.verdict in ("unsupported", "blocked"):
            pytest.skip(result.reason)
        raise ScenarioFailure(result.details())

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, "scenario %s" % self.scenario.id


def pytest_configure(config):
    # Scenario tags and levels become markers. Each is registered when its first scenario is
    # collected (so any tag works with --strict-markers); these are registered up front so that
    # "pytest --markers" lists them.
    for tag in ("attach", "seed", "background", "priority", "sleep", "worker", "client", "admin", "status",
                "options", "malformed", "submit", "errors", "multi_server", "work_data", "exceptions",
                "echo", "binary", "large", "framing", "timeout", "epoch", "reduce", "maxqueue", "latency",
                "durability", "crash", "faults", "must", "should", "impl"):
        _register_marker(config, tag)
