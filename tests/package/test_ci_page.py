"""docs/ci.md works as written: its YAML jobs parse, and every command on the page runs and passes.

The GitHub Actions and GitLab CI jobs are run here, on this machine, as their runners would run them:
in order, in a workspace that holds what the page says the repository holds (ci/gearspec_*.deb and
ci/gearmand.profile.yaml), with the job's environment. What differs, and only that: every job of a
workflow runs whatever its `if:`/`rules:` say; a matrix or `parallel:` job runs its first shard;
EXPLORE_TIME is 5s instead of 10m; an `apt-get update` that cannot reach the archive is reported
and not fatal (the install after it uses what the machine has); the nightly --repeat job may exit 1
when all it found is flaky verdicts (a race of the example server: what that job is for). `uses:` steps are actions, not
commands: they are checked to be the ones the page explains (checkout, upload-artifact).

Needs root (apt-get) and the package: GEARSPEC_DEB, else build/release/gearspec_*.deb
(scripts/package.sh). Removes the package afterwards unless it was installed before.
"""

import os
import pathlib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "ci.md"
PROFILE = pathlib.Path("/usr/share/gearspec/profiles/gearmand-1.1.20.yaml")
CI_VARIABLES = ("GITHUB_ACTIONS", "GITHUB_WORKSPACE", "GITLAB_CI", "CI_PROJECT_DIR")


def blocks(language):
    """The page's fenced blocks of one language, in order."""
    return re.findall(r"^```" + language + r"\n(.*?)^```", PAGE.read_text(), flags=re.S | re.M)


def named_yaml(name):
    """The YAML block whose first line is the comment '# NAME'."""
    found = [b for b in blocks("yaml") if b.splitlines()[0] == "# " + name]
    assert len(found) == 1, f"docs/ci.md has {len(found)} blocks for {name}"
    return yaml.safe_load(found[0])


def deb_path():
    if os.environ.get("GEARSPEC_DEB"):
        return pathlib.Path(os.environ["GEARSPEC_DEB"])
    found = sorted((ROOT / "build" / "release").glob("gearspec_*.deb"))
    assert found, "no package: run scripts/package.sh first (or set GEARSPEC_DEB)"
    return found[-1]


def tolerate_offline_update(script):
    return re.sub(r"^(\s*apt-get update[^\n]*)$",
                  r"\1 || echo 'ci page test: apt-get update failed; installing from what is cached' >&2",
                  script, flags=re.M)


def only_flaky_failures(script, cwd):
    """For a --repeat run that exited 1: True when its JUnit report's failures are all flaky
    verdicts. That is the nightly job doing its work (C gearmand 1.1.20 rarely misses the NOOP of
    sleep/noop-for-a-requeued-job under load), not the command failing."""
    junit = re.search(r"--junit (\S+)", script)
    if "--repeat" not in script or not junit or not (cwd / junit.group(1)).is_file():
        return False
    root = ET.parse(cwd / junit.group(1)).getroot()
    failures = [f for case in root.iter("testcase") for f in case.findall("failure")]
    return root.get("errors") == "0" and bool(failures) and all(f.get("type") == "flaky" for f in failures)


def run_script(script, cwd, env, what):
    r = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", tolerate_offline_update(script)], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=900)
    if r.returncode == 1 and only_flaky_failures(script, cwd):
        print(f"{what}: the repeated run found a flaky verdict (accepted):\n{r.stdout[-1500:]}")
        return r
    assert r.returncode == 0, f"{what}: exit {r.returncode}\n$ {script}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return r


@pytest.fixture(scope="module", autouse=True)
def package_installed_only_during_the_tests():
    query = ["dpkg-query", "-W", "-f=${Status}", "gearspec"]
    before = subprocess.run(query, capture_output=True, text=True).stdout
    yield
    if "install ok installed" not in before:
        subprocess.run(["apt-get", "remove", "-y", "-qq", "gearspec"], capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


@pytest.fixture
def workspace(tmp_path):
    """A repository as the page describes it: the package and the server's profile under ci/."""
    (tmp_path / "ci").mkdir()
    shutil.copy(deb_path(), tmp_path / "ci")
    return tmp_path


def base_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES and k != "PYTHONPATH"}
    env["DEBIAN_FRONTEND"] = "noninteractive"
    env.update(extra)
    return env


def with_profile(workspace):
    # The page's one-time step: the example server's profile, copied into the repository.
    assert PROFILE.is_file(), "the package is not installed"
    shutil.copy(PROFILE, workspace / "ci" / "gearmand.profile.yaml")


def test_the_shell_block_runs_from_the_repository_root():
    (script,) = blocks("sh")
    for line in script.splitlines():
        run_script(line, ROOT, base_env(), "docs/ci.md sh block")


def test_github_actions_workflow(workspace):
    flow = named_yaml(".github/workflows/gearman-conformance.yml")
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"push", "pull_request", "schedule"}
    assert set(flow["jobs"]) == {"conformance", "flakiness", "explore"}
    ran = []
    for name, job in flow["jobs"].items():
        matrix = {k: v[0] for k, v in job.get("strategy", {}).get("matrix", {}).items()}
        env = base_env(GITHUB_ACTIONS="true", GITHUB_WORKSPACE=str(workspace),
                       **{k: str(v) for k, v in {**flow.get("env", {}), **job.get("env", {})}.items()})
        env["EXPLORE_TIME"] = "5s"
        for step in job["steps"]:
            if "uses" in step:
                assert step["uses"].split("@")[0] in ("actions/checkout", "actions/upload-artifact"), step
                continue
            script = re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: str(matrix[m.group(1)]), step["run"])
            assert "${{" not in script, script
            run_script(script, workspace, env, f"GitHub job {name}")
            ran.append(script)
            if "apt-get install" in script:
                with_profile(workspace)
    assert any("--level MUST" in s for s in ran) and any("--repeat" in s for s in ran)
    assert any("explore" in s and "--seed $(( 0 * 1000000 + 1 ))" in s for s in ran)
    report = ET.parse(workspace / "gearspec.xml").getroot()
    assert int(report.get("tests")) > 100 and report.get("failures") == "0"
    assert (workspace / "gearspec.html").stat().st_size > 10000
    assert ET.parse(workspace / "repeat.xml").getroot().get("errors") == "0"


def gitlab_job(config, name):
    """A job with its `extends` resolved (one level, as the page uses it)."""
    job = dict(config[name])
    if "extends" in job:
        job = {**config[job.pop("extends")], **job}
    return job


def test_gitlab_ci_pipeline(workspace):
    config = named_yaml(".gitlab-ci.yml")
    assert config["image"] == "debian:bookworm"
    jobs = [k for k in config if not k.startswith(".") and isinstance(config[k], dict) and "extends" in config[k]]
    assert jobs == ["gearman-conformance", "gearman-flakiness", "gearman-explore"]
    for name in jobs:
        job = gitlab_job(config, name)
        env = base_env(GITLAB_CI="true", CI_PROJECT_DIR=str(workspace),
                       **{k: str(v) for k, v in config.get("variables", {}).items()})
        env["EXPLORE_TIME"] = "5s"
        if "parallel" in job:
            env.update(CI_NODE_INDEX="1", CI_NODE_TOTAL=str(job["parallel"]))
        for line in job.get("before_script", []) + job["script"]:
            run_script(line, workspace, env, f"GitLab job {name}")
            if "apt-get install" in line:
                with_profile(workspace)
        for report in job.get("artifacts", {}).get("reports", {}).values():
            assert (workspace / report).is_file(), f"{name} did not write its report {report}"
    report = ET.parse(workspace / "gearspec.xml").getroot()
    assert int(report.get("tests")) > 100 and report.get("failures") == "0"
