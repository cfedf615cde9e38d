// Loads an agents file (docs/clients.md, "Adapters in this repository"): the adapters to test and
// the expectations of each, with load-time errors at file:line:col.

#include <filesystem>

#include "harness/clients/clients_suite.hpp"
#include "harness/scenario/yaml_support.hpp"

namespace gearspec::clients {

std::vector<agent_under_test> load_agents_file(const std::string& path,
                                               const std::string& program_dir,
                                               std::vector<std::string>& skipped) {
  namespace fs = std::filesystem;
  using namespace scenario::detail;
  const reader r(path);
  const auto root = parse_yaml(read_text(path, "agents file"), path);
  r.require_map(root, "an agents file");
  r.only_keys(root, {"agents"}, "an agents file");
  if (!root["agents"]) r.fail(root, "an agents file lists its adapters under 'agents'");
  r.require_sequence(root["agents"], "agents");
  const auto here = fs::absolute(path).parent_path();
  std::vector<agent_under_test> agents;
  for (const auto& n : root["agents"]) {
    r.require_map(n, "an agent");
    r.only_keys(n, {"name", "command", "program", "expectations"}, "an agent");
    if (!n["name"]) r.fail(n, "an agent needs a name");
    if (!n["command"] == !n["program"])
      r.fail(n, "an agent has a command or a program, one of them");
    agent_under_test a;
    a.spec.name = r.scalar(n["name"], "name");
    if (n["command"]) {
      a.spec.command = r.scalar(n["command"], "command");
      for (std::size_t at; (at = a.spec.command.find("{here}")) != std::string::npos;)
        a.spec.command.replace(at, 6, here.string());
    } else {
      const auto program = fs::path(program_dir) / r.scalar(n["program"], "program");
      if (!fs::exists(program)) {
        skipped.push_back(a.spec.name + ": " + program.string() + " is not built");
        continue;
      }
      a.spec.command = program.string();
    }
    if (n["expectations"]) {
      auto file = fs::path(r.scalar(n["expectations"], "expectations"));
      if (file.is_relative()) file = here / file;
      a.expectations = scenario::load_profile_file(file.string());
    }
    agents.push_back(std::move(a));
  }
  return agents;
}

}  // namespace gearspec::clients
