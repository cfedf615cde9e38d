#pragma once
// Runs many scenarios against a target and gives each its verdict: the scenario's level, the
// target's capabilities and an implementation profile decide it; repeated rounds expose flaky
// verdicts.

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "harness/engine/capabilities.hpp"
#include "harness/engine/runner.hpp"
#include "harness/engine/target.hpp"
#include "harness/scenario/loader.hpp"

namespace gearspec::engine {

/// The verdict of a scenario on a target, after its level, the capabilities and the profile.
enum class verdict {
  pass,             ///< behaved as the scenario says
  fail,             ///< a MUST or SHOULD scenario did not, and the profile does not expect that
  expected_fail,    ///< did not, as the profile says (with its reason)
  unexpected_pass,  ///< the profile says it fails, but it passed: the profile is stale (a failure)
  unsupported,      ///< not run: the profile or the target says it cannot apply
  blocked,          ///< not run: the target lacks a capability the scenario needs (blocked_by)
  informational,    ///< an IMPL scenario: which known variant the server shows (or none of them)
  flaky,            ///< with repeated rounds, the verdict changed between rounds (a failure)
  error,            ///< infrastructure problem: connect, spawn, target death, time limit
};

const char* verdict_name(verdict v);

/// True for verdicts that make the run fail (exit code 1).
inline bool is_bad(verdict v) {
  return v == verdict::fail || v == verdict::unexpected_pass || v == verdict::error ||
         v == verdict::flaky;
}

/// One variant of an IMPL scenario tried against the target, and how it went.
struct variant_attempt {
  std::string name;
  outcome result = outcome::error;
  std::optional<mismatch> first;
};

struct scenario_result {
  const scenario::scenario* source = nullptr;
  verdict result = verdict::error;
  std::string reason;    ///< profile reason, unsupported reason, or error cause
  std::string evidence;  ///< profile evidence
  run_result run;        ///< the run shown (for IMPL: of the variant shown, else the first tried)
  /// IMPL: the variant the server showed; empty when it showed none of the known variants.
  std::string variant;
  std::vector<variant_attempt> attempts;  ///< IMPL: every variant tried, in order
  std::vector<std::string> blocked_by;    ///< capabilities the target lacks (verdict blocked)
  /// fail: capabilities the scenario is about (its requirements') that the probe found missing.
  std::vector<std::string> lacking;
  unsigned rounds = 1;                    ///< rounds run (--repeat)
  /// flaky: one result of each verdict seen besides the first, with its round.
  std::vector<std::pair<unsigned, scenario_result>> other_verdicts;
};

struct suite_options {
  run_options run;
  unsigned jobs = 1;    ///< scenarios run at once (each with its own servers)
  unsigned repeat = 1;  ///< run everything this many times; differing verdicts are flaky
  const scenario::profile* profile = nullptr;
  /// Capabilities the target lacks (from probe_capabilities); scenarios that need one are blocked.
  std::set<std::string> missing_capabilities;
  /** The target's replies decode but for the request magic (capability_report::request_magic):
      binary-framing blocks nothing, every scenario but those about framing reads past the magic
      (run_options::accept_request_magic), and those fail. */
  bool read_past_request_magic = false;
  /// Stop starting scenarios after this long (0 = no limit); those not started are errors.
  std::chrono::milliseconds global_limit{0};
  /// Called after each scenario round, from the thread that ran it, serialised.
  std::function<void(const scenario_result&, std::size_t done, std::size_t total)> on_result;
  /// Called when a scenario round starts (for live progress), serialised with on_result.
  std::function<void(const scenario::scenario&)> on_start;
};

/// Runs every scenario (results come back in the given order, one per scenario).
/** What the probe found, applied to a run: missing capabilities block, the generic grab sends
    the request the target answers, an ECHO-answering target proves each scenario's end with round
    trips, and a target whose replies carry the request magic is read past it. */
void use_probe_results(const capability_report& caps, suite_options& options);

std::vector<scenario_result> run_suite(const std::vector<scenario::scenario>& scenarios, target& t,
                                       const suite_options& options);

/// Counts per verdict.
struct suite_counts {
  std::size_t pass = 0, fail = 0, expected_fail = 0, unexpected_pass = 0, unsupported = 0,
              blocked = 0, informational = 0, flaky = 0, error = 0;
  std::size_t total() const {
    return pass + fail + expected_fail + unexpected_pass + unsupported + blocked + informational +
           flaky + error;
  }
  bool ok() const { return fail == 0 && unexpected_pass == 0 && error == 0 && flaky == 0; }
};
suite_counts count(const std::vector<scenario_result>& results);

}  // namespace gearspec::engine
