#pragma once
// Loads scenarios and profiles from YAML. Every problem is a scenario_error that names the file,
// line and column; loading never touches the network.

#include <map>
#include <string>
#include <vector>

#include "harness/scenario/model.hpp"

namespace gearspec::scenario {

/// Loads one scenario file.
scenario load_scenario_file(const std::string& path);

/// Loads a scenario from YAML text; name is used in error positions.
scenario load_scenario_string(const std::string& yaml, const std::string& name = "<string>");

/// The *.yaml files under a path (a file gives itself), sorted.
std::vector<std::string> find_scenario_files(const std::string& path);

/// True for variable names that the engine generates per run: fn, fn2, uniq, key3, ... (unique
/// names), run (the run token), epoch, epoch5, ... (Unix time now, or N seconds from now).
bool is_generated_variable(const std::string& name);

/// Parses "250ms", "2s", "1.5s" or a plain number of milliseconds.
duration parse_duration(const std::string& text, const source_mark& mark);

/// Expected verdict of one scenario on one implementation.
struct profile_entry {
  enum class verdict {
    expected_fail,  ///< a MUST or SHOULD scenario the implementation is known to fail
    unsupported,    ///< not run on this implementation
    pinned,         ///< an IMPL scenario must show this variant (CI notices a change)
    /// Client-library expectations only (`gearspec clients`): the library fails the case in some
    /// runs and not others; a failure is expected, a pass is not news. Its reason says how often.
    fails_sometimes,
  };
  std::string pattern;  ///< scenario id or glob (*, ?)
  verdict expect = verdict::expected_fail;
  std::string variant;  ///< for pinned
  /// For pinned: the server sometimes shows none of the variants (a nondeterministic defect of
  /// its own); then that run is an expected failure rather than a changed variant. How often and
  /// where it was seen.
  std::string sometimes_none;
  std::string reason;
  std::string evidence;
  source_mark mark;
};

/// A divergence `gearspec explore` is known to find on this implementation: its kind (a glob
/// over the kind text explore reports), why, and the suite scenario that shows it, if any.
struct explore_entry {
  std::string pattern;
  std::string reason;
  std::string evidence;
  std::string scenario;
  source_mark mark;
};

/// A profile of known deviations for one implementation and version.
struct profile {
  std::string implementation;
  std::string version;
  std::string description;
  std::vector<profile_entry> entries;
  std::vector<explore_entry> explore;
  std::string file;

  /// The explore entry whose pattern matches a divergence kind, if any.
  const explore_entry* known_divergence(const std::string& kind) const;

  /// The entry for a scenario id, if any (first match wins).
  const profile_entry* find(const std::string& id) const;
};

profile load_profile_file(const std::string& path);
profile load_profile_string(const std::string& yaml, const std::string& name = "<string>");

/// One requirement of the catalog (docs/requirements.md).
struct requirement {
  std::string id;
  std::string level;  ///< MUST, SHOULD or IMPL
  std::string text;
};

/// The catalog's requirements by ID, read from its markdown table rows ("| ID | LEVEL | text |").
/// An unreadable file gives an empty catalog (reports then show IDs only).
std::map<std::string, requirement> load_requirement_catalog(const std::string& path);

/// Glob match with * and ? (used for ids and profile patterns).
bool glob_match(const std::string& pattern, const std::string& text);

}  // namespace gearspec::scenario
