"""Every scenario file in the suite validates against docs/scenario.schema.json, so the schema that
editors use stays in step with what the loader accepts (the loader itself is stricter)."""

import json
import pathlib

import jsonschema
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "scenario.schema.json").read_text())
FILES = sorted((ROOT / "scenarios").rglob("*.yaml"))


def test_there_are_scenarios():
    assert len(FILES) > 0


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT / "scenarios")) for p in FILES])
def test_scenario_matches_schema(path):
    jsonschema.validate(yaml.safe_load(path.read_text()), SCHEMA)


def test_schema_rejects_an_unknown_key():
    doc = yaml.safe_load(FILES[0].read_text())
    doc["bogus"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


def _all_scenarios():
    return [yaml.safe_load(p.read_text()) for p in FILES]


def _walk_steps(steps):
    for step in steps:
        (key, value), = step.items()
        if key == "parallel":
            for branch in value:
                yield from _walk_steps(branch if isinstance(branch, list) else [branch])
        elif key == "timed":
            yield from _walk_steps(value["steps"])
        elif key not in ("sleep", "restart", "crash"):
            yield value


def _all_steps(doc):
    """The scenario's own steps and every variant's."""
    steps = list(doc.get("steps") or [])
    for variant in (doc.get("variants") or {}).values():
        steps += variant["steps"]
    return steps


REQUEST_TYPES = ["CAN_DO", "CANT_DO", "RESET_ABILITIES", "PRE_SLEEP", "SUBMIT_JOB", "GRAB_JOB", "WORK_STATUS",
                 "WORK_COMPLETE", "WORK_FAIL", "GET_STATUS", "ECHO_REQ", "SUBMIT_JOB_BG", "SUBMIT_JOB_HIGH",
                 "SET_CLIENT_ID", "CAN_DO_TIMEOUT", "ALL_YOURS", "WORK_EXCEPTION", "OPTION_REQ", "WORK_DATA",
                 "WORK_WARNING", "GRAB_JOB_UNIQ", "SUBMIT_JOB_HIGH_BG", "SUBMIT_JOB_LOW", "SUBMIT_JOB_LOW_BG",
                 "SUBMIT_JOB_SCHED", "SUBMIT_JOB_EPOCH", "SUBMIT_REDUCE_JOB", "SUBMIT_REDUCE_JOB_BACKGROUND",
                 "GRAB_JOB_ALL", "GET_STATUS_UNIQUE"]
ADMIN_COMMANDS = ["workers", "status", "prioritystatus", "maxqueue", "version", "getpid", "verbose", "show jobs",
                  "show unique jobs", "cancel job", "create function", "drop function", "shutdown"]


def test_every_request_type_is_sent_by_some_scenario():
    sent = set()
    for doc in _all_scenarios():
        for action in _walk_steps(_all_steps(doc)):
            if isinstance(action, str):
                sent.add(action)
            elif "send" in action:
                sent.add(action["send"])
    assert [t for t in REQUEST_TYPES if t not in sent] == []


def test_every_admin_command_is_used_by_some_scenario():
    used = []
    for doc in _all_scenarios():
        for action in _walk_steps(_all_steps(doc)):
            if isinstance(action, dict):
                for key in ("admin", "wait_until"):
                    if isinstance(action.get(key), str):
                        used.append(action[key].lower())
    assert [c for c in ADMIN_COMMANDS if not any(u.startswith(c) for u in used)] == []


def test_requirements_are_all_covered_and_all_known():
    import re
    catalog = set(re.findall(r"^\| ([A-Z][A-Z0-9-]+) \| (?:MUST|SHOULD|IMPL) \|",
                             (ROOT / "docs" / "requirements.md").read_text(), re.M))
    cited = {r for doc in _all_scenarios() for r in doc["requirements"]}
    # The client-library requirements (CL-*) are checked by gearspec clients' cases instead.
    cases = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "clients" / "cases").rglob("*.yaml"))]
    cited_by_cases = {r for doc in cases for r in doc.get("requirements", [])}
    assert sorted(cited - catalog) == [], "scenarios cite IDs missing from docs/requirements.md"
    assert sorted(cited_by_cases - catalog) == [], "client cases cite IDs missing from docs/requirements.md"
    assert all(r.startswith("CL-") for r in cited_by_cases), "client cases cite server requirements"
    assert sorted(catalog - cited - cited_by_cases) == [], "requirements without a scenario or case"


def test_at_least_150_scenarios_with_unique_ids():
    ids = [doc["id"] for doc in _all_scenarios()]
    assert len(ids) >= 150
    assert len(ids) == len(set(ids))


LEVEL_RANK = {"IMPL": 0, "SHOULD": 1, "MUST": 2}


def _catalog_levels():
    import re
    return dict(re.findall(r"^\| ([A-Z][A-Z0-9-]+) \| (MUST|SHOULD|IMPL) \|",
                           (ROOT / "docs" / "requirements.md").read_text(), re.M))


def test_scenario_levels_agree_with_their_requirements():
    # A scenario is never stricter than every requirement it checks, nor laxer than all of them.
    levels = _catalog_levels()
    wrong = []
    for doc in _all_scenarios():
        ranks = [LEVEL_RANK[levels[r]] for r in doc["requirements"] if r in levels]
        if ranks and not min(ranks) <= LEVEL_RANK[doc["level"]] <= max(ranks):
            wrong.append(f'{doc["id"]}: {doc["level"]} for {doc["requirements"]}')
    assert wrong == []


def test_impl_scenarios_name_variants_and_only_they_do():
    wrong = [doc["id"] for doc in _all_scenarios() if (doc["level"] == "IMPL") != bool(doc.get("variants"))]
    assert wrong == []


def test_schema_lists_exactly_the_needs_the_loader_knows():
    import re
    source = (ROOT / "harness" / "scenario" / "needs.cpp").read_text()
    known = set(re.findall(r'"([a-z][a-z-]*)"', source))
    assert set(SCHEMA["properties"]["needs"]["items"]["enum"]) == known
