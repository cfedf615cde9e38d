#include "harness/cli/clients_command.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "harness/clients/clients_suite.hpp"
#include "harness/common/command_line.hpp"

#ifndef GEARSPEC_SOURCE_DIR
#define GEARSPEC_SOURCE_DIR "."
#endif

namespace gearspec::cli {
namespace {

constexpr int exit_usage = 2;

const char* help_text() {
  return R"(usage: gearspec clients [options] [CASE-FILE-OR-DIR...]

Client and worker libraries under test: the harness plays the Gearman server(s), drives each
library through its adapter (docs/clients.md, "The adapter contract") and judges what the library
sent on the wire and the events its adapter reported.

  --agent NAME=COMMAND        an adapter to test (repeatable); COMMAND runs under /bin/sh
  --agents FILE               every adapter an agents file lists, with its expectations
                              (clients/agents.yaml: all the libraries of this repository)
  --reference-agent           the built-in reference adapter (gearspec-agent), as "reference"
  --expect NAME=FILE          the agent's expectations (a profile: expected-fail, unsupported)
  --case GLOB                 only cases whose id matches (repeatable)
  -j N                        cases at once (default: 2 per core)
  --step-timeout MS           how long a step waits (default 5000)
  --json FILE                 the report as JSON too
  -v, --verbose               transcripts for every case, not only failures
  --list                      list the selected cases and exit

Cases default to clients/cases of the source tree (or share/gearspec/clients/cases installed).
Exit code: 0 every result as expected; 1 a library failed, hung or crashed on a MUST/SHOULD case
its expectations do not list (or passed one they do); 2 bad input or an adapter error.
)";
}

std::string default_cases() {
  namespace fs = std::filesystem;
  if (fs::is_directory("clients/cases")) return "clients/cases";
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  const auto installed =
      exe.parent_path().parent_path() / "share" / "gearspec" / "clients" / "cases";
  if (!ec && fs::is_directory(installed)) return installed.string();
  return std::string(GEARSPEC_SOURCE_DIR) + "/clients/cases";
}

std::string reference_agent_command() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  for (const auto& candidate : {exe.parent_path() / "gearspec-agent",
                                exe.parent_path().parent_path() / "clients" / "gearspec-agent"})
    if (!ec && fs::exists(candidate)) return candidate.string();
  return "gearspec-agent";
}

/// Where compiled adapters are: a build tree's clients/ folder (beside harness/), else beside the
/// gearspec binary.
std::string adapter_program_dir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  const auto build_tree = exe.parent_path().parent_path().parent_path() / "clients";
  if (!ec && fs::is_directory(build_tree)) return build_tree.string();
  return exe.parent_path().string();
}

}  // namespace

bool clients_option_takes_value(std::string_view flag) {
  return flag == "--agent" || flag == "--agents" || flag == "--expect" || flag == "--case" ||
         flag == "--json" || flag == "--step-timeout";
}

int clients_command(const std::vector<std::string_view>& args) {
  std::vector<clients::agent_under_test> agents;
  std::map<std::string, std::string> expectation_files;
  std::vector<std::string> paths, globs, agents_files;
  std::string json_path;
  bool verbose = false, list = false;
  unsigned jobs = 2 * std::max(1u, std::thread::hardware_concurrency());
  clients::case_settings settings;
  auto usage = [](const std::string& what) {
    std::fprintf(stderr, "gearspec clients: %s (see gearspec clients --help)\n", what.c_str());
    return exit_usage;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::invalid_argument(std::string(a) + " needs a value");
      return std::string(args[++i]);
    };
    try {
      if (a == "--help" || a == "-h") {
        std::fputs(help_text(), stdout);
        return 0;
      } else if (a == "--agent" || a == "--expect") {
        const auto v = value();
        const auto eq = v.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
          return usage(std::string(a) + " takes NAME=" + (a == "--agent" ? "COMMAND" : "FILE") +
                       ", got '" + v + "'");
        if (a == "--agent")
          agents.push_back({{v.substr(0, eq), v.substr(eq + 1)}, std::nullopt});
        else
          expectation_files[v.substr(0, eq)] = v.substr(eq + 1);
      } else if (a == "--agents") {
        agents_files.push_back(value());
      } else if (a == "--reference-agent") {
        agents.push_back({{"reference", reference_agent_command()}, std::nullopt});
      } else if (a == "--case") {
        globs.push_back(value());
      } else if (a == "-j") {
        jobs = static_cast<unsigned>(command_line::number_in_range("-j", value(), 1, 64));
      } else if (a == "--step-timeout") {
        settings.step_timeout = std::chrono::milliseconds(static_cast<long long>(
            command_line::number_in_range("--step-timeout", value(), 10, 600000)));
      } else if (a == "--json") {
        json_path = value();
      } else if (a == "-v" || a == "--verbose") {
        verbose = true;
      } else if (a == "--list") {
        list = true;
      } else if (a.starts_with("-")) {
        return usage("unknown option '" + std::string(a) + "'");
      } else {
        paths.emplace_back(a);
      }
    } catch (const std::invalid_argument& e) {
      return usage(e.what());
    }
  }
  if (paths.empty()) paths.push_back(default_cases());
  std::vector<clients::client_case> cases;
  try {
    for (const auto& p : paths) {
      if (!std::filesystem::exists(p)) return usage("no such file or directory: " + p);
      for (const auto& f : clients::find_client_case_files(p)) {
        auto c = clients::load_client_case_file(f);
        bool selected = globs.empty();
        for (const auto& g : globs) selected = selected || scenario::glob_match(g, c.id);
        if (selected) cases.push_back(std::move(c));
      }
    }
    for (const auto& file : agents_files) {
      std::vector<std::string> skipped;
      for (auto& agent : clients::load_agents_file(file, adapter_program_dir(), skipped))
        agents.push_back(std::move(agent));
      for (const auto& s : skipped)
        std::fprintf(stderr, "gearspec clients: skipped %s\n", s.c_str());
    }
    for (auto& [name, file] : expectation_files) {
      bool found = false;
      for (auto& agent : agents)
        if (agent.spec.name == name) {
          agent.expectations = scenario::load_profile_file(file);
          found = true;
        }
      if (!found) return usage("--expect names agent '" + name + "', which no --agent defines");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gearspec clients: %s\n", e.what());
    return exit_usage;
  }
  if (cases.empty()) return usage("no cases selected");
  if (list) {
    for (const auto& c : cases)
      std::printf("%s (%s) %s\n", c.id.c_str(), c.level.c_str(), c.title.c_str());
    return 0;
  }
  if (agents.empty())
    return usage("no agent to test: give --agent NAME=COMMAND or --reference-agent");
  // A profile entry for a case that does not exist is stale: say so rather than ignore it.
  for (const auto& agent : agents) {
    if (!agent.expectations) continue;
    for (const auto& e : agent.expectations->entries) {
      bool any = false;
      for (const auto& c : cases) any = any || scenario::glob_match(e.pattern, c.id);
      if (!any && globs.empty() && paths.size() == 1 && paths.front() == default_cases())
        return usage(e.mark.str() + ": expectation '" + e.pattern + "' matches no case");
    }
  }
  std::fprintf(stderr, "gearspec clients: %zu cases x %zu agents, %u at once\n", cases.size(),
               agents.size(), jobs);
  std::size_t done = 0;
  const auto total = cases.size() * agents.size();
  auto progress = [&](const clients::case_result& r) {
    ++done;
    std::fprintf(stderr, "[%zu/%zu] %-15s %s %s\n", done, total, clients::verdict_name(r.verdict),
                 r.agent.c_str(), r.case_id.c_str());
  };
  const auto results = clients::run_cases(cases, agents, settings, jobs, progress);
  clients::write_text_report(std::cout, results, verbose);
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    clients::write_json_report(out, results);
    if (!out) {
      std::fprintf(stderr, "gearspec clients: cannot write %s\n", json_path.c_str());
      return exit_usage;
    }
  }
  return clients::summarize(results).exit_code();
}

}  // namespace gearspec::cli
