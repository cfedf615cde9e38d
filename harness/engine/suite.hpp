#pragma once
// Runs many scenarios against a target, applies an implementation profile and reports verdicts.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "harness/engine/runner.hpp"
#include "harness/engine/target.hpp"
#include "harness/scenario/loader.hpp"

namespace gearspec::engine {

/// The verdict of a scenario on a target, after the profile.
enum class verdict {
  pass,             ///< behaved as the scenario says
  fail,             ///< did not, and the profile does not expect that
  expected_fail,    ///< did not, as the profile says (with its reason)
  unexpected_pass,  ///< the profile says it fails, but it passed: the profile is stale (a failure)
  unsupported,      ///< not run: the profile or the target says it cannot apply
  error,            ///< infrastructure problem: connect, spawn, target death, time limit
};

const char* verdict_name(verdict v);

/// True for verdicts that make the run fail (exit code 1).
inline bool is_bad(verdict v) {
  return v == verdict::fail || v == verdict::unexpected_pass || v == verdict::error;
}

struct scenario_result {
  const scenario::scenario* source = nullptr;
  verdict result = verdict::error;
  std::string reason;    ///< profile reason, unsupported reason, or error cause
  std::string evidence;  ///< profile evidence
  run_result run;
  unsigned round = 1;  ///< with --repeat
};

struct suite_options {
  run_options run;
  unsigned jobs = 1;    ///< scenarios run at once (each with its own servers)
  unsigned repeat = 1;  ///< run everything this many times
  const scenario::profile* profile = nullptr;
  /// Stop starting scenarios after this long (0 = no limit); those not started are errors.
  std::chrono::milliseconds global_limit{0};
  /// Called after each scenario, from the thread that ran it, serialised.
  std::function<void(const scenario_result&, std::size_t done, std::size_t total)> on_result;
};

/// Runs every scenario (in the given order; results come back in that order).
std::vector<scenario_result> run_suite(const std::vector<scenario::scenario>& scenarios, target& t,
                                       const suite_options& options);

/// Counts per verdict.
struct suite_counts {
  std::size_t pass = 0, fail = 0, expected_fail = 0, unexpected_pass = 0, unsupported = 0,
              error = 0;
  std::size_t total() const {
    return pass + fail + expected_fail + unexpected_pass + unsupported + error;
  }
  bool ok() const { return fail == 0 && unexpected_pass == 0 && error == 0; }
};
suite_counts count(const std::vector<scenario_result>& results);

}  // namespace gearspec::engine
