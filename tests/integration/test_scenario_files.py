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
