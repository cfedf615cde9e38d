#pragma once
// Internal to harness/scenario: YAML helpers that keep positions, and the parsers of byte values,
// matchers and packet expectations shared by the scenario and profile loaders.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "harness/scenario/model.hpp"

namespace gearspec::scenario::detail {

/// Reads YAML nodes of one file; every failure is a scenario_error at the node's position.
class reader {
 public:
  explicit reader(std::string file) : file_(std::move(file)) {}

  source_mark mark(const YAML::Node& n) const {
    const auto m = n.Mark();
    return {file_, m.line + 1, m.column + 1};
  }

  [[noreturn]] void fail(const YAML::Node& n, const std::string& what) const {
    throw scenario_error(mark(n), what);
  }

  std::string scalar(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + " must be a single value");
    return n.Scalar();
  }

  void require_map(const YAML::Node& n, const std::string& what) const {
    if (!n.IsMap()) fail(n, what + " must be a mapping (key: value)");
  }

  void require_sequence(const YAML::Node& n, const std::string& what) const {
    if (!n.IsSequence()) fail(n, what + " must be a list");
  }

  /// Fails on keys that are not allowed (users ask not to have unknown keys silently ignored).
  void only_keys(const YAML::Node& map, std::initializer_list<const char*> allowed,
                 const std::string& where) const {
    for (const auto& kv : map) {
      const auto key = kv.first.Scalar();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(kv.first, "unknown key '" + key + "' in " + where + " (allowed: " + list + ")");
      }
    }
  }

  std::vector<std::string> string_list(const YAML::Node& n, const std::string& what) const {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return out;
    }
    require_sequence(n, what);
    for (const auto& item : n) out.push_back(scalar(item, what + " entries"));
    return out;
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

/// True if c may appear in a variable name (first: at its start).
bool valid_variable_char(char c, bool first);
/// "$h", "${fn}-x", "$$" for a literal dollar.
value_template parse_template(const reader& r, const YAML::Node& n, const std::string& text);
/// A byte value: a string (with variables), or {hex}, {base64}, {bytes}, {repeat, count}.
value_template parse_value(const reader& r, const YAML::Node& n);
/// An argument matcher: a value, {regex}, {prefix}, {any}, {capture}.
matcher parse_matcher(const reader& r, const YAML::Node& n);
/// A packet name (see `gearspec packets`).
wire::command parse_command(const reader& r, const YAML::Node& n);
/// "SUBMIT_JOB takes 3 arguments (func, unique, data)".
std::string shape_text(wire::command cmd);
/// NAME with args, {NAME: [args]}, and a sequence alternative (a list of them or one).
packet_expectation parse_packet_expectation(const reader& r, const YAML::Node& name_node,
                                            const YAML::Node& args);
packet_expectation parse_packet_shorthand(const reader& r, const YAML::Node& n);
std::vector<packet_expectation> parse_alternative(const reader& r, const YAML::Node& n);
/// An admin answer's kind: ok, err, list, other or any.
admin_expectation::kind parse_response_kind(const reader& r, const YAML::Node& n);
/// A send's `chunk` (bytes per write) and `chunk_delay` (the pause between them).
write_pacing parse_pacing(const reader& r, const YAML::Node& n);
/// map[key] as a duration, if present.
std::optional<duration> optional_duration(const reader& r, const YAML::Node& map, const char* key);
/// Parses YAML text, turning syntax errors into positioned scenario errors.
YAML::Node parse_yaml(const std::string& yaml, const std::string& name);
/// The whole content of a file, or a scenario error naming it.
std::string read_text(const std::string& path, const char* what);

}  // namespace gearspec::scenario::detail
