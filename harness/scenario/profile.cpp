#include <algorithm>
#include <fstream>

#include "harness/scenario/loader.hpp"
#include "harness/scenario/yaml_support.hpp"

namespace gearspec::scenario {

using detail::reader;

bool glob_match(const std::string& pattern, const std::string& text) {
  // Iterative * and ? matching with backtracking to the last star.
  std::size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

const profile_entry* profile::find(const std::string& id) const {
  for (const auto& e : entries)
    if (glob_match(e.pattern, id)) return &e;
  return nullptr;
}

const explore_entry* profile::known_divergence(const std::string& kind) const {
  for (const auto& e : explore)
    if (glob_match(e.pattern, kind)) return &e;
  return nullptr;
}

profile load_profile_string(const std::string& yaml, const std::string& name) {
  reader r(name);
  const YAML::Node root = detail::parse_yaml(yaml, name);
  if (!root || !root.IsMap()) throw scenario_error({name, 1, 1}, "a profile must be a mapping");
  r.only_keys(root, {"implementation", "version", "description", "expectations", "explore"},
              "a profile");
  profile p;
  p.file = name;
  if (!root["implementation"]) r.fail(root, "a profile needs an implementation name");
  p.implementation = r.scalar(root["implementation"], "implementation");
  if (root["version"]) p.version = r.scalar(root["version"], "version");
  if (root["description"]) p.description = r.scalar(root["description"], "description");
  if (root["explore"]) {
    r.require_sequence(root["explore"], "explore");
    for (const auto& e : root["explore"]) {
      r.require_map(e, "an explore entry");
      r.only_keys(e, {"kind", "reason", "evidence", "scenario"}, "an explore entry");
      explore_entry entry;
      entry.mark = r.mark(e);
      if (!e["kind"]) r.fail(e, "an explore entry needs a kind (a glob over explore's kind text)");
      entry.pattern = r.scalar(e["kind"], "kind");
      if (!e["reason"]) r.fail(e, "every known divergence needs a reason");
      entry.reason = r.scalar(e["reason"], "reason");
      if (!e["evidence"])
        r.fail(e, "every known divergence needs evidence (what was observed, where)");
      entry.evidence = r.scalar(e["evidence"], "evidence");
      if (e["scenario"]) entry.scenario = r.scalar(e["scenario"], "scenario");
      p.explore.push_back(std::move(entry));
    }
  }
  if (root["expectations"]) {
    r.require_sequence(root["expectations"], "expectations");
    for (const auto& e : root["expectations"]) {
      r.require_map(e, "an expectation");
      r.only_keys(e, {"id", "verdict", "variant", "sometimes_none", "reason", "evidence"},
                  "an expectation");
      profile_entry entry;
      entry.mark = r.mark(e);
      if (!e["id"]) r.fail(e, "an expectation needs an id (a scenario id or glob)");
      entry.pattern = r.scalar(e["id"], "id");
      if (e["variant"]) {
        if (e["verdict"])
          r.fail(e["verdict"],
                 "an entry that pins a variant has no verdict (it passes when the "
                 "scenario shows that variant, and fails otherwise)");
        entry.expect = profile_entry::verdict::pinned;
        entry.variant = r.scalar(e["variant"], "variant");
        if (e["sometimes_none"])
          entry.sometimes_none = r.scalar(e["sometimes_none"], "sometimes_none");
      } else if (e["sometimes_none"]) {
        r.fail(e["sometimes_none"], "sometimes_none goes with a pinned variant");
      }
      const auto verdict =
          e["verdict"] ? r.scalar(e["verdict"], "verdict") : std::string("expected-fail");
      if (entry.expect != profile_entry::verdict::pinned) {
        if (verdict == "expected-fail")
          entry.expect = profile_entry::verdict::expected_fail;
        else if (verdict == "unsupported")
          entry.expect = profile_entry::verdict::unsupported;
        else if (verdict == "fails-sometimes")
          entry.expect = profile_entry::verdict::fails_sometimes;
        else
          r.fail(
              e["verdict"],
              "verdict must be expected-fail, unsupported or fails-sometimes (or pin a variant)");
      }
      if (!e["reason"]) r.fail(e, "every expected deviation needs a reason");
      entry.reason = r.scalar(e["reason"], "reason");
      if (!e["evidence"])
        r.fail(e, "every expected deviation needs evidence (what was observed, where)");
      entry.evidence = r.scalar(e["evidence"], "evidence");
      p.entries.push_back(std::move(entry));
    }
  }
  return p;
}

std::map<std::string, requirement> load_requirement_catalog(const std::string& path) {
  std::map<std::string, requirement> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    // | ID | LEVEL | requirement | source | ... : the first three cells.
    if (line.rfind("| ", 0) != 0) continue;
    std::vector<std::string> cells;
    std::size_t at = 1;
    while (cells.size() < 3) {
      const auto bar = line.find(" | ", at);
      if (bar == std::string::npos) break;
      cells.push_back(line.substr(at + 1, bar - at - 1));
      at = bar + 2;
    }
    if (cells.size() < 3 || (cells[1] != "MUST" && cells[1] != "SHOULD" && cells[1] != "IMPL"))
      continue;
    out[cells[0]] = requirement{cells[0], cells[1], cells[2]};
  }
  return out;
}

profile load_profile_file(const std::string& path) {
  return load_profile_string(detail::read_text(path, "cannot read profile"), path);
}

}  // namespace gearspec::scenario
