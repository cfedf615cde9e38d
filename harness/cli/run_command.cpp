#include "harness/cli/run_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "harness/cli/live_status.hpp"
#include "harness/common/command_line.hpp"
#include "harness/engine/report.hpp"
#include "harness/engine/suite.hpp"
#include "harness/scenario/loader.hpp"
#include "harness/targets/make_target.hpp"

#ifndef GEARSPEC_SOURCE_DIR
#define GEARSPEC_SOURCE_DIR "."
#endif

namespace gearspec::cli {
namespace {

constexpr int exit_ok = 0, exit_failures = 1, exit_usage = 2;

constexpr const char* run_usage = R"(usage: gearspec run [PATH...] [options]

Runs YAML scenarios (files, or folders searched for *.yaml; default: scenarios/) against a target
and prints a report. Exit code: 0 every verdict as expected, 1 a failure, unexpected pass or error,
2 a usage or load error, or no scenario ran.

target (default: a fresh embedded reference server per scenario):
  --target [NAME=]HOST:PORT   an existing server (NAME=... once per server of multi-server scenarios)
  --spawn 'COMMAND {port}'    start COMMAND per scenario with {port} (and {dir}) filled in; it is
                              ready when the port is listening, and stopped with SIGTERM after
  --persistent                the --spawn command configures a persistent queue in {dir} (scenarios
                              that need one are otherwise unsupported); {dir} survives restarts
  --ref OPTION[=VALUE]        an option of the embedded reference server (see gearspec-server --help),
                              e.g. --ref worker-loss=fail
  --profile FILE              expected deviations of the target (profiles/*.yaml)

selection:
  --id GLOB                   only scenarios whose id matches (repeatable)
  --tag TAG                   only scenarios with this tag (repeatable; any of them)
  --level LEVEL[,LEVEL]       only scenarios of these levels: MUST (what PROTOCOL demands),
                              SHOULD, IMPL
  --list                      list the selected scenarios and exit

running:
  -j N                        run N scenarios at once (default: 16 with the embedded server, 8 with
                              --spawn, 4 with --target: scenarios mostly wait, and the embedded
                              server costs almost nothing)
  --no-probe                  do not probe the target's capabilities first (nothing is blocked)
  --repeat N                  run everything N times
  --timeout-scale X           multiply every timeout (slow targets), default 1
  --max-time DURATION         stop starting scenarios after this long (e.g. 10m)

reports:
  --junit FILE                JUnit XML
  --json FILE                 every verdict with its transcript
  --html FILE                 a self-contained HTML page: totals, root causes, then every scenario
                              with its requirement, expected and actual, transcript (failures first)
  --verbose                   transcripts of passing scenarios too
  --no-color                  plain output (also when NO_COLOR is set or not a terminal)
)";

struct run_args {
  std::vector<std::string> paths;
  std::vector<std::string> targets;
  std::optional<std::string> spawn;
  bool persistent = false;
  std::vector<std::pair<std::string, std::string>> ref_options;
  std::optional<std::string> profile;
  std::vector<std::string> ids;
  std::vector<std::string> tags;
  std::vector<std::string> levels;
  bool list = false;
  bool probe = true;
  unsigned jobs = 0;  ///< 0: chosen per target (default_jobs)
  unsigned repeat = 1;
  double timeout_scale = 1.0;
  std::chrono::milliseconds max_time{0};
  std::optional<std::string> junit;
  std::optional<std::string> json;
  std::optional<std::string> html;
  bool verbose = false;
  bool no_color = false;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "gearspec run: %s\n(see gearspec run --help)\n", message.c_str());
  return exit_usage;
}

unsigned parse_count(const std::string& flag, std::string_view text) {
  char* end = nullptr;
  const std::string s(text);
  const long v = std::strtol(s.c_str(), &end, 10);
  if (*end != '\0' || v < 1 || v > 10000)
    throw std::invalid_argument(flag + " needs a whole number from 1 to 10000");
  return static_cast<unsigned>(v);
}

bool selected(const scenario::scenario& s, const run_args& a) {
  if (!a.ids.empty() && std::none_of(a.ids.begin(), a.ids.end(), [&](const std::string& g) {
        return scenario::glob_match(g, s.id);
      }))
    return false;
  if (!a.tags.empty() && std::none_of(a.tags.begin(), a.tags.end(), [&](const std::string& t) {
        return std::find(s.tags.begin(), s.tags.end(), t) != s.tags.end();
      }))
    return false;
  if (!a.levels.empty() && std::find(a.levels.begin(), a.levels.end(), s.level) == a.levels.end())
    return false;
  return true;
}

/// Why a profile entry does not fit a scenario it matches, if it does not.
std::optional<std::string> profile_entry_problem(const scenario::profile_entry& e,
                                                 const scenario::scenario& s) {
  using kind = scenario::profile_entry::verdict;
  if (e.expect == kind::expected_fail && s.level == "IMPL")
    return "'" + s.id + "' is an IMPL scenario: it never fails by itself, so it cannot be an " +
           "expected failure (pin the variant the implementation shows instead)";
  if (e.expect == kind::fails_sometimes)
    return "'fails-sometimes' is for client-library expectations (gearspec clients); a server "
           "scenario that passes only sometimes shows as flaky with --repeat";
  if (e.expect == kind::pinned) {
    if (s.variants.empty())
      return "'" + s.id + "' has no variants to pin (only IMPL scenarios have them)";
    if (std::none_of(s.variants.begin(), s.variants.end(),
                     [&](const auto& v) { return v.name == e.variant; }))
      return "'" + s.id + "' has no variant '" + e.variant + "'";
  }
  return std::nullopt;
}

/// The suite to run when no path is given: ./scenarios, else the one installed next to the
/// program (PREFIX/share/gearspec/scenarios), else the source tree's (a build tree's program).
std::string default_suite() {
  namespace fs = std::filesystem;
  if (fs::is_directory("scenarios")) return "scenarios";
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  const auto installed = exe.parent_path().parent_path() / "share" / "gearspec" / "scenarios";
  if (!ec && fs::is_directory(installed)) return installed.string();
  return std::string(GEARSPEC_SOURCE_DIR) + "/scenarios";
}

/// docs/requirements.md of the repository the scenarios come from (for requirement texts).
std::string catalog_path(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  for (const auto& p : paths) {
    for (auto dir = fs::absolute(p); !dir.empty() && dir != dir.root_path();
         dir = dir.parent_path()) {
      const auto candidate = dir / "docs" / "requirements.md";
      if (fs::is_regular_file(candidate)) return candidate.string();
    }
  }
  return std::string(GEARSPEC_SOURCE_DIR) + "/docs/requirements.md";
}

/// Ids of the whole suite the paths belong to (the scenarios/ beside docs/requirements.md): a
/// profile entry for a scenario that was merely not selected is not stale.
std::set<std::string> suite_ids(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::set<std::string> ids;
  const auto root = fs::path(catalog_path(paths)).parent_path().parent_path() / "scenarios";
  try {
    for (const auto& f : scenario::find_scenario_files(root.string())) {
      try {
        ids.insert(scenario::load_scenario_file(f).id);
      } catch (const scenario::scenario_error&) {
        // reported when it is selected
      }
    }
  } catch (const scenario::scenario_error&) {
  }
  return ids;
}

}  // namespace

bool run_option_takes_value(std::string_view flag) {
  for (const char* with_value :
       {"--target", "--spawn", "--ref", "--profile", "--id", "--tag", "--level", "--jobs",
        "--repeat", "--timeout-scale", "--max-time", "--junit", "--json", "--html"})
    if (flag == with_value) return true;
  return false;
}

const char* run_help() {
  return run_usage;
}

int run_command(const std::vector<std::string_view>& argv) {
  run_args a;
  try {
    for (std::size_t i = 0; i < argv.size(); ++i) {
      const std::string flag(argv[i]);
      auto value = [&]() -> std::string {
        if (i + 1 >= argv.size()) throw std::invalid_argument(flag + " needs a value");
        return std::string(argv[++i]);
      };
      if (flag == "--help" || flag == "-h") {
        std::fputs(run_usage, stdout);
        return exit_ok;
      } else if (flag == "--version") {
        std::printf("gearspec %s\n", GEARSPEC_VERSION);
        return exit_ok;
      } else if (flag == "--target") {
        a.targets.push_back(value());
      } else if (flag == "--spawn") {
        a.spawn = value();
      } else if (flag == "--persistent") {
        a.persistent = true;
      } else if (flag == "--ref") {
        const auto v = value();
        const auto eq = v.find('=');
        a.ref_options.emplace_back(v.substr(0, eq),
                                   eq == std::string::npos ? "" : v.substr(eq + 1));
      } else if (flag == "--profile") {
        a.profile = value();
      } else if (flag == "--id") {
        a.ids.push_back(value());
      } else if (flag == "--tag") {
        a.tags.push_back(value());
      } else if (flag == "--list") {
        a.list = true;
      } else if (flag == "--level") {
        const auto v = value();
        for (std::size_t at = 0; at <= v.size();) {
          const auto comma = std::min(v.find(',', at), v.size());
          const auto level = v.substr(at, comma - at);
          if (level != "MUST" && level != "SHOULD" && level != "IMPL")
            throw std::invalid_argument("--level takes MUST, SHOULD or IMPL (comma-separated)");
          a.levels.push_back(level);
          at = comma + 1;
        }
      } else if (flag == "--no-probe") {
        a.probe = false;
      } else if (flag == "-j" || flag == "--jobs") {
        a.jobs = parse_count(flag, value());
      } else if (flag.starts_with("-j") && flag.size() > 2) {
        a.jobs = parse_count("-j", flag.substr(2));
      } else if (flag == "--repeat") {
        a.repeat = parse_count(flag, value());
      } else if (flag == "--timeout-scale") {
        a.timeout_scale = command_line::number_in_range(flag, value(), 0.1, 100);
      } else if (flag == "--max-time") {
        a.max_time = scenario::parse_duration(value(), {"--max-time", 0, 0});
      } else if (flag == "--junit") {
        a.junit = value();
      } else if (flag == "--json") {
        a.json = value();
      } else if (flag == "--html") {
        a.html = value();
      } else if (flag == "--verbose" || flag == "-v") {
        a.verbose = true;
      } else if (flag == "--no-color" || flag == "--no-colour") {
        a.no_color = true;
      } else if (flag.starts_with("-")) {
        throw std::invalid_argument("unknown option '" + flag + "'");
      } else {
        a.paths.push_back(flag);
      }
    }
  } catch (const std::exception& e) {
    return usage_error(e.what());
  }

  // Scenarios: every load error is reported (file:line:col), and none is run if any failed.
  if (a.paths.empty()) a.paths.push_back(default_suite());
  const auto ci = engine::ci_annotations::from_environment();
  std::vector<scenario::scenario> all;
  int load_errors = 0;
  // Every load error goes to stderr; under GitHub Actions also as an annotation at its place.
  const auto load_error = [&](const scenario::source_mark& at, const std::string& text) {
    std::fprintf(stderr, "%s\n", text.c_str());
    if (ci.github) std::cout << engine::github_error(ci, at, "gearspec: cannot load", text);
    ++load_errors;
  };
  for (const auto& path : a.paths) {
    std::vector<std::string> files;
    try {
      files = scenario::find_scenario_files(path);
    } catch (const scenario::scenario_error& e) {
      load_error(e.mark(), e.what());
      continue;
    }
    for (const auto& f : files) {
      try {
        all.push_back(scenario::load_scenario_file(f));
      } catch (const scenario::scenario_error& e) {
        load_error(e.mark(), e.what());
      }
    }
  }
  std::map<std::string, std::string> seen;
  for (const auto& s : all) {
    if (auto [it, fresh] = seen.emplace(s.id, s.file); !fresh)
      load_error({s.file, 1, 1},
                 s.file + ": duplicate scenario id '" + s.id + "' (also in " + it->second + ")");
  }
  std::optional<scenario::profile> profile;
  if (a.profile) {
    try {
      profile = scenario::load_profile_file(*a.profile);
      std::optional<std::set<std::string>> whole_suite;  // loaded only if needed
      for (const auto& e : profile->entries) {
        bool used = std::any_of(all.begin(), all.end(), [&](const auto& s) {
          return scenario::glob_match(e.pattern, s.id);
        });
        if (!used) {
          if (!whole_suite) whole_suite = suite_ids(a.paths);
          used = std::any_of(whole_suite->begin(), whole_suite->end(),
                             [&](const auto& id) { return scenario::glob_match(e.pattern, id); });
        }
        if (!used)
          load_error(e.mark,
                     e.mark.str() + ": profile entry '" + e.pattern + "' matches no scenario");
        for (const auto& s : all) {
          if (!scenario::glob_match(e.pattern, s.id)) continue;
          if (auto problem = profile_entry_problem(e, s))
            load_error(e.mark, e.mark.str() + ": " + *problem);
        }
      }
    } catch (const scenario::scenario_error& e) {
      load_error(e.mark(), e.what());
    }
  }
  if (load_errors) {
    std::fprintf(stderr, "gearspec run: %d load error%s; nothing was run\n", load_errors,
                 load_errors == 1 ? "" : "s");
    return exit_usage;
  }
  std::vector<scenario::scenario> chosen;
  for (auto& s : all)
    if (selected(s, a)) chosen.push_back(std::move(s));
  if (chosen.empty()) {
    std::fprintf(stderr, "gearspec run: no scenario matched (searched %zu file(s))\n", all.size());
    return exit_usage;
  }
  if (a.list) {
    for (const auto& s : chosen)
      std::printf("%-50s %-6s %s\n", s.id.c_str(), s.level.c_str(), s.title.c_str());
    std::printf("%zu scenario%s\n", chosen.size(), chosen.size() == 1 ? "" : "s");
    return exit_ok;
  }

  std::unique_ptr<engine::target> target;
  try {
    targets::target_spec spec;
    spec.addresses = a.targets;
    spec.spawn = a.spawn;
    spec.persistent = a.persistent;
    spec.reference_options = a.ref_options;
    spec.timeout_scale = a.timeout_scale;
    target = targets::make_target(spec);
  } catch (const std::exception& e) {
    return usage_error(e.what());
  }

  const auto catalog = scenario::load_requirement_catalog(catalog_path(a.paths));
  engine::terminal_style style;
  style.colour = !a.no_color && std::getenv("NO_COLOR") == nullptr && ::isatty(STDOUT_FILENO);
  style.verbose = a.verbose;
  style.catalog = &catalog;
  const std::string profile_name =
      profile ? profile->implementation + " " + profile->version : std::string();
  std::cout << "gearspec: " << chosen.size() << " scenario" << (chosen.size() == 1 ? "" : "s")
            << " against " << target->describe() << (profile ? " with profile " + profile_name : "")
            << (a.repeat > 1 ? ", " + std::to_string(a.repeat) + " rounds" : "") << "\n";
  if (a.jobs == 0) a.jobs = a.spawn ? 8 : !a.targets.empty() ? 4 : 16;
  engine::suite_options options;
  options.run.timeout_scale = a.timeout_scale;
  engine::capability_report capabilities;
  if (a.probe) {
    capabilities = engine::probe_capabilities(*target, options.run, a.jobs);
    engine::use_probe_results(capabilities, options);
    engine::print_capabilities(std::cout, capabilities);
  }
  options.jobs = a.jobs;
  options.repeat = a.repeat;
  options.profile = profile ? &*profile : nullptr;
  options.global_limit = a.max_time;
  // On a terminal a live status line shows what is running; elsewhere plain lines only.
  live_status live(::isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr && !a.no_color,
                   chosen.size() * a.repeat);
  options.on_start = [&](const scenario::scenario& s) { live.started(s.id); };
  options.on_result = [&](const engine::scenario_result& r, std::size_t done, std::size_t total) {
    live.finished(r.source->id, [&] {
      engine::print_progress_line(std::cout, r, done, total, style);
      std::cout.flush();
    });
  };
  const auto started = std::chrono::steady_clock::now();
  const auto results = engine::run_suite(chosen, *target, options);
  live.stop();
  for (const auto& r : results) engine::print_details(std::cout, r, style);
  engine::run_report report{&results, target->describe(), profile_name, &capabilities, &catalog};
  report.elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  engine::print_summary(std::cout, report, style);
  if (ci.github) engine::print_github_annotations(std::cout, ci, results);
  int code = engine::count(results).ok() ? exit_ok : exit_failures;
  if (a.junit && !engine::write_junit(*a.junit, report, ci.gitlab ? &ci : nullptr)) {
    std::fprintf(stderr, "gearspec run: cannot write %s\n", a.junit->c_str());
    code = exit_usage;
  }
  if (a.json && !engine::write_json(*a.json, report)) {
    std::fprintf(stderr, "gearspec run: cannot write %s\n", a.json->c_str());
    code = exit_usage;
  }
  if (a.html && !engine::write_html(*a.html, report)) {
    std::fprintf(stderr, "gearspec run: cannot write %s\n", a.html->c_str());
    code = exit_usage;
  }
  if (engine::count(results).total() == engine::count(results).unsupported) {
    std::fprintf(stderr, "gearspec run: every selected scenario was unsupported; nothing ran\n");
    code = exit_usage;
  }
  return code;
}

}  // namespace gearspec::cli
