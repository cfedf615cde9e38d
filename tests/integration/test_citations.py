"""Every citation in the repository resolves inside it.

Scenarios, profiles, docs and source comments cite the protocol notes (`docs/protocol.md §3.1`,
bug labels such as B1), requirement IDs (`UNIQ-PER-SUBMISSION`), evidence files
(`docs/evidence/...`) and, in the protocol notes, scenario ids. A citation that points nowhere fails
here, with the file and line.
"""

import fnmatch
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTES = ROOT / "docs" / "protocol.md"
CATALOG = ROOT / "docs" / "requirements.md"

SOURCE_SUFFIXES = {".yaml", ".md", ".cpp", ".hpp", ".py", ".sh", ".txt", ".json", ".php", ".pl", ".js"}
SKIP_PARTS = {"build", "node_modules", "corpus", ".git", "__pycache__"}


def repository_files():
    for top in ["scenarios", "profiles", "docs", "harness", "reference-server", "bindings", "tests", "scripts"]:
        for p in sorted((ROOT / top).rglob("*")):
            if p.is_file() and p.suffix in SOURCE_SUFFIXES and not SKIP_PARTS & set(p.relative_to(ROOT).parts):
                yield p
    for name in ["README.md", "CMakeLists.txt"]:
        yield ROOT / name


FILES = [p for p in repository_files() if p != pathlib.Path(__file__).resolve()]
# Words of PROTOCOL's own text that look like requirement IDs (the `workers` line format).
PROTOCOL_WORDS = {"CLIENT-ID", "IP-ADDRESS"}


def lines(path):
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        yield "%s:%d" % (path.relative_to(ROOT), number), line


def sections():
    found = set()
    for line in NOTES.read_text().splitlines():
        m = re.match(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", line)
        if m:
            found.add(m.group(1))
    return found


def bug_labels():
    text = NOTES.read_text()
    return set(re.findall(r"^- \*\*(B\d+)\.\*\*", text, re.M))


def catalog():
    return set(re.findall(r"^\| ([A-Z][A-Z0-9-]+) \| (?:MUST|SHOULD|IMPL) \|", CATALOG.read_text(), re.M))


def scenario_ids():
    return [yaml.safe_load(p.read_text())["id"] for p in sorted((ROOT / "scenarios").rglob("*.yaml"))]


def test_the_notes_have_their_sections():
    assert {"1", "1.1", "1.3", "1.4", "2", "2.2", "3", "3.1", "3.16", "4", "4.2"} <= sections()
    assert {"B%d" % i for i in range(1, 9)} <= bug_labels()


def test_every_section_citation_resolves():
    known = sections()
    bad = []
    for path in FILES:
        if path == NOTES:
            continue
        for where, line in lines(path):
            for m in re.finditer(r"§\s?(\S*)", line):
                number = re.match(r"(\d+(?:\.\d+)?)", m.group(1))
                if not number or number.group(1) not in known:
                    bad.append("%s: %s" % (where, m.group(0)))
    assert bad == [], "citations of sections that docs/protocol.md does not have"


def test_every_protocol_notes_reference_is_the_repository_file():
    bad = []
    for path in FILES:
        in_docs = path.parent == ROOT / "docs"
        for where, line in lines(path):
            for m in re.finditer(r"([\w./-]*)protocol\.md", line):
                prefix = m.group(1)
                if "shared/" in prefix or not (prefix.endswith("docs/") or (in_docs and prefix in ("", "./"))):
                    bad.append("%s: %s" % (where, m.group(0)))
    assert bad == [], "protocol notes are docs/protocol.md (protocol.md from inside docs/)"


def test_every_bug_label_resolves():
    known = bug_labels()
    bad = []
    for path in FILES:
        for where, line in lines(path):
            for m in re.finditer(r"(?:\bbug |\(|§4\.2 |, )(B\d+)\b", line):
                if m.group(1) not in known:
                    bad.append("%s: %s" % (where, m.group(1)))
    assert bad == []


def test_every_requirement_id_resolves():
    ids = catalog()
    prefixes = {i.split("-")[0] for i in ids}
    bad = []
    for path in FILES:
        if path.suffix not in (".yaml", ".md", ".py", ".cpp", ".hpp"):
            continue
        for where, line in lines(path):
            for m in re.finditer(r"(?<![\w-])([A-Z]{2,}(?:-[A-Z0-9]+)+)(?![\w-])", line):
                token = m.group(1)
                if token.split("-")[0] in prefixes and token not in ids and token not in PROTOCOL_WORDS:
                    bad.append("%s: %s" % (where, token))
    assert bad == [], "requirement IDs missing from docs/requirements.md"


def test_every_evidence_file_exists():
    bad = []
    for path in FILES:
        for where, line in lines(path):
            for m in re.finditer(r"(?:docs/)?evidence/([\w.-]+\.(?:txt|json|md))", line):
                if not (ROOT / "docs" / "evidence" / m.group(1)).exists():
                    bad.append("%s: %s" % (where, m.group(0)))
    assert bad == []


def test_every_scenario_the_notes_cite_exists():
    ids = scenario_ids()
    areas = {i.split("/")[0] for i in ids}
    bad = []
    for where, line in lines(NOTES):
        for m in re.finditer(r"`([a-z-]+/[a-z0-9*-]+)`", line):
            cited = m.group(1)
            if cited.split("/")[0] in areas and not fnmatch.filter(ids, cited) and not fnmatch.filter(ids, cited + "*"):
                bad.append("%s: %s" % (where, cited))
    assert bad == []


@pytest.mark.parametrize("text, ok", [("docs/protocol.md §3.1", True), ("docs/protocol.md §9.9", False)])
def test_the_section_check_can_fail(text, ok):
    known = sections()
    numbers = [re.match(r"(\d+(?:\.\d+)?)", m.group(1)) for m in re.finditer(r"§\s?(\S*)", text)]
    assert all(n and n.group(1) in known for n in numbers) == ok
