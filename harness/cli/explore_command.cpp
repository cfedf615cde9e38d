// gearspec explore: differential exploration of a server against the embedded reference server.

#include "harness/cli/explore_command.hpp"

#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#include "harness/common/command_line.hpp"
#include "harness/engine/json.hpp"
#include "harness/explore/explore.hpp"
#include "harness/scenario/loader.hpp"
#include "harness/targets/make_target.hpp"

namespace gearspec::cli {
namespace {

constexpr int exit_ok = 0, exit_divergences = 1, exit_usage = 2;

constexpr const char* explore_usage = R"(usage: gearspec explore [options]

Generates random, legal programs of client, worker and admin moves, runs each against the target
and against the embedded reference server, and reports where what a connection observes differs.
Each kind of divergence is shrunk to a minimal program and written as a scenario in the suite's
format (expectations: what the reference did), which is then run against both to check that it
reproduces. A difference that the reference shows too with one of its implementation-defined
options is reported as a known variant, not a divergence; one that the --profile lists under
explore: is a known defect of that server, listed apart. Exit code: 0 no divergence (or only
known ones), 1 at least one other (its scenario is printed when a profile is given), 2 a usage
error or nothing could be explored.

target (default: the embedded reference server itself):
  --spawn 'COMMAND {port}'    start COMMAND for each thread of programs (see --server-reuse)
  --persistent                the --spawn command configures a persistent queue in {dir}: programs
                              then restart and crash the server too, and after each an account
                              checks that every acknowledged background job that had not ended
                              is queued again (the embedded reference always has one)
  --target HOST:PORT          an existing server (programs use their own function names)
  --ref OPTION[=VALUE]        the target is the embedded reference server with this option
                              (e.g. --ref emulate=hold-job-created)
  --profile FILE              the target's profile: its name labels the report, and the
                              divergences it lists under explore: do not fail the run

exploring:
  --time DURATION             how long to explore (default 60s)
  --seed N                    the first program's seed (default 1; then N+1, ...)
  --length N                  moves per program (default 14)
  --programs N                stop after N programs (--seed S --programs 1 replays one program)
  -j N                        run N programs at once, each thread on its own servers (default:
                              8 per processor core, at most 32;
                              -j 1 also finds each kind first at the same seed every run)
  --weights KIND=W,...        relative weights of the moves: submit, option, get_status, can_do,
                              cant_do, reset, grab, pre_sleep, work, admin_status, admin_workers,
                              admin_cancel, admin_maxqueue, wait, disconnect, kill, cut_packet,
                              restart, crash; and second_server=SHARE (0 to 1, default 0.25): the
                              programs whose actors are spread over two servers
  --timeout-scale X           multiply every wait (slow targets)
  --server-reuse N            programs run in turn on one started server, each with functions and
                              client ids of its own, before it is replaced (default 50; 1: a
                              fresh server for every program and shrinking run). Written
                              scenarios are always checked on fresh servers.

output:
  --out DIR                   write each divergence's scenario as DIR/<kind>-<seed>.yaml
  --json FILE                 the findings, for tools
)";

}  // namespace

bool explore_option_takes_value(std::string_view flag) {
  for (const char* with_value :
       {"--spawn", "--target", "--ref", "--profile", "--time", "--seed", "--length", "--programs",
        "--weights", "--timeout-scale", "--out", "--json", "-j", "--jobs", "--server-reuse"})
    if (flag == with_value) return true;
  return false;
}

int explore_command(const std::vector<std::string_view>& argv) {
  targets::target_spec target_spec;
  explore::explore_options options;
  options.time_budget = std::chrono::seconds(60);
  options.jobs = explore::default_jobs();
  std::string json_path, label;
  std::optional<scenario::profile> profile;
  try {
    for (std::size_t i = 0; i < argv.size(); ++i) {
      const std::string flag(argv[i]);
      auto value = [&]() -> std::string {
        if (i + 1 >= argv.size()) throw std::invalid_argument(flag + " needs a value");
        return std::string(argv[++i]);
      };
      auto number = [&](const std::string& v, double low, double high) {
        return command_line::number_in_range(flag, v, low, high);
      };
      if (flag == "--help" || flag == "-h") {
        std::fputs(explore_usage, stdout);
        return exit_ok;
      } else if (flag == "--version") {
        std::printf("gearspec %s\n", GEARSPEC_VERSION);
        return exit_ok;
      } else if (flag == "--spawn") {
        target_spec.spawn = value();
      } else if (flag == "--persistent") {
        target_spec.persistent = true;
      } else if (flag == "--target") {
        target_spec.addresses.push_back(value());
      } else if (flag == "--ref") {
        const auto v = value();
        const auto eq = v.find('=');
        target_spec.reference_options.emplace_back(v.substr(0, eq),
                                                   eq == std::string::npos ? "" : v.substr(eq + 1));
      } else if (flag == "--profile") {
        profile = scenario::load_profile_file(value());
        label = profile->implementation + " " + profile->version;
      } else if (flag == "--time") {
        options.time_budget = scenario::parse_duration(value(), {"--time", 0, 0});
      } else if (flag == "--seed") {
        options.seed = static_cast<std::uint64_t>(number(value(), 0, 1e15));
      } else if (flag == "--length") {
        options.length = static_cast<std::size_t>(number(value(), 1, 200));
      } else if (flag == "--programs") {
        options.max_programs = static_cast<std::size_t>(number(value(), 1, 1e9));
      } else if (flag == "-j" || flag == "--jobs") {
        options.jobs = static_cast<unsigned>(number(value(), 1, 256));
      } else if (flag.starts_with("-j") && flag.size() > 2) {
        options.jobs =
            static_cast<unsigned>(command_line::number_in_range("-j", flag.substr(2), 1, 256));
      } else if (flag == "--server-reuse") {
        options.server_reuse = static_cast<std::size_t>(number(value(), 1, 1e6));
      } else if (flag == "--weights") {
        options.moves.apply(value());
      } else if (flag == "--timeout-scale") {
        options.run.timeout_scale = number(value(), 0.1, 100);
      } else if (flag == "--out") {
        options.out_dir = value();
      } else if (flag == "--json") {
        json_path = value();
      } else {
        throw std::invalid_argument("unknown option '" + flag + "'");
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gearspec explore: %s\n(see gearspec explore --help)\n", e.what());
    return exit_usage;
  }

  std::unique_ptr<engine::target> target, reference;
  try {
    target_spec.timeout_scale = options.run.timeout_scale;
    target = targets::make_target(target_spec);
    reference = targets::make_target({});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gearspec explore: %s\n", e.what());
    return exit_usage;
  }
  const std::string name =
      label.empty() ? target->describe() : label + " (" + target->describe() + ")";
  std::cout << "gearspec explore: " << name << " against the embedded reference server, "
            << std::chrono::duration<double>(options.time_budget).count() << " s from seed "
            << options.seed << "\n"
            << std::flush;
  options.progress = [](const std::string& line) { std::cout << line << "\n" << std::flush; };
  auto reference_with = [](const std::vector<std::pair<std::string, std::string>>& extra) {
    targets::target_spec spec;
    spec.reference_options = extra;
    return targets::make_target(spec);
  };
  const auto started = std::chrono::steady_clock::now();
  const auto report = explore::run_explore(*target, *reference, reference_with, options);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::cout << "\n";
  // Each finding with its details; `why`, where given, adds a line (a known divergence's reason).
  auto list = [](const char* heading, const std::vector<explore::finding>& findings,
                 const std::function<std::string(const explore::finding&)>& why = nullptr) {
    if (findings.empty()) return;
    std::cout << heading << "\n";
    for (const auto& f : findings) {
      std::cout << "  " << f.found.kind << "\n      seen in " << f.seen << " program(s); seed "
                << f.shrunk.seed << ", " << f.shrunk.actions.size() << " of " << f.original_moves
                << " moves; after move " << f.found.step << " (" << f.found.move << ")\n";
      if (!f.known_variant.empty()) std::cout << "      " << f.known_variant << "\n";
      if (why) std::cout << "      " << why(f) << "\n";
      std::cout << "      scenario " << (f.reproduces ? "reproduces" : "does NOT reproduce") << ": "
                << f.reproduction << "\n";
      if (!f.yaml_path.empty()) std::cout << "      written to " << f.yaml_path << "\n";
    }
  };
  // With a profile (a CI guard), divergences it already explains (known defects of this server)
  // are listed apart, and so are those whose written scenario did not reproduce (timing: shown,
  // not counted); any other fails the run.
  std::vector<explore::finding> unknown, known, unconfirmed;
  for (const auto& f : report.divergences)
    (!profile                                  ? unknown
     : profile->known_divergence(f.found.kind) ? known
     : !f.reproduces                           ? unconfirmed
                                               : unknown)
        .push_back(f);
  list("divergences (distinct kinds):", unknown);
  list("unconfirmed divergences (the written scenario did not reproduce; timing?):", unconfirmed);
  list("known divergences (in the profile's explore: list):", known,
       [&](const explore::finding& f) {
         return "in the profile: " + profile->known_divergence(f.found.kind)->reason;
       });
  list("known variants (implementation-defined, not divergences):", report.notes);
  if (!report.not_explored.empty()) {
    std::cout << "not explored (the target lacks them, as its capability probe found):\n";
    for (const auto& lacking : report.not_explored) std::cout << "  " << lacking << "\n";
  }
  if (report.errors)
    std::cout << report.errors << " program(s) could not run; the first: " << report.first_error
              << "\n";
  if (profile && !unknown.empty()) {
    // What a CI log needs to act on: each new divergence as the scenario that reproduces it.
    std::cout << "\nnot in the profile " << profile->file << ", as scenarios:\n";
    for (const auto& f : unknown) std::cout << "---\n" << f.yaml;
  }
  // Every program failed to run, or none could start (a target explore cannot synchronise with).
  const bool explored_nothing = report.programs <= report.errors;
  char line[200];
  std::snprintf(
      line, sizeof line,
      "%s: %zu programs in %.1f s, %zu divergence(s)%s, %zu known variant(s), %zu error(s)",
      explored_nothing  ? "NOTHING EXPLORED"
      : unknown.empty() ? "OK"
                        : "DIVERGENT",
      report.programs, took, report.divergences.size(),
      known.empty() ? "" : (" (" + std::to_string(known.size()) + " in the profile)").c_str(),
      report.notes.size(), report.errors);
  std::cout << line << "\n";

  if (!json_path.empty()) {
    std::ofstream out(json_path);
    engine::json_writer json(out);
    json.begin_object().key("target").value(name).key("programs").value(report.programs);
    json.key("seconds").value(took).key("errors").value(report.errors);
    json.key("not_explored").begin_array();
    for (const auto& lacking : report.not_explored) json.value(lacking);
    json.end_array();
    auto write = [&](const char* key, const std::vector<explore::finding>& findings) {
      json.key(key).begin_array();
      for (const auto& f : findings) {
        json.begin_object().key("kind").value(f.found.kind).key("seen").value(f.seen);
        json.key("seed").value(f.shrunk.seed).key("moves").value(f.shrunk.actions.size());
        json.key("original_moves").value(f.original_moves).key("step").value(f.found.step);
        json.key("move").value(f.found.move).key("actor").value(f.found.actor);
        json.key("known_variant").value(f.known_variant).key("reproduces").value(f.reproduces);
        json.key("reproduction").value(f.reproduction).key("scenario").value(f.yaml_path);
        const auto* in_profile = profile ? profile->known_divergence(f.found.kind) : nullptr;
        json.key("in_profile").value(in_profile ? in_profile->reason : std::string());
        json.key("yaml").value(f.yaml).end_object();
      }
      json.end_array();
    };
    write("divergences", report.divergences);
    write("known_variants", report.notes);
    json.end_object().newline();
  }
  if (explored_nothing) {
    std::cerr << "gearspec explore: no program could run, so nothing was explored"
              << (report.first_error.empty() ? "" : ": " + report.first_error) << "\n";
    return exit_usage;
  }
  return unknown.empty() ? exit_ok : exit_divergences;
}

}  // namespace gearspec::cli
