#pragma once
// Runs one client-library case against one adapter: the harness listens as the case's servers,
// starts the adapter with their addresses, and walks the steps, judging the library's packets
// with the scenario engine's matchers and the adapter's events against the case. A verdict is
// data: pass, fail, hang (an awaited event did not come while the adapter lived), crash (the
// adapter died), error (the adapter broke the contract, or the harness could not run the case)
// and unsupported (the library lacks a capability the case needs).

#include <chrono>
#include <string>
#include <vector>

#include "harness/clients/client_case.hpp"

namespace gearspec::clients {

/// An adapter: a name for reports and the command line that starts it (run by /bin/sh).
struct agent_spec {
  std::string name;
  std::string command;
};

enum class case_verdict {
  pass,
  fail,
  hang,
  crash,
  error,
  unsupported,
  informational,   ///< an INFO case: what happened is recorded, never a failure
  expected_fail,   ///< failed (or hung, or crashed) as the agent's expectations say
  unexpected_pass  ///< the expectations say it fails, and it passed: update them
};
const char* verdict_name(case_verdict v);

struct case_result {
  std::string case_id;
  std::string title;
  std::string level;
  std::vector<std::string> requirements;
  std::string agent;
  case_verdict verdict = case_verdict::pass;
  /// What went wrong: the step's position, what was expected, what happened, a stable cause.
  std::string where;
  std::string expected;
  std::string actual;
  std::string cause;
  /// For INFO cases and expected failures: what the library did, in a line.
  std::string note;
  /// The expectation entry's reason, for expected failures.
  std::string reason;
  /// The library as its adapter introduced itself ("libgearman 1.1.20").
  std::string library;
  /// The library it is built on, if its adapter says so (hello's "based_on": PHP's extension is
  /// libgearman underneath), so a defect of the base is counted once.
  std::string based_on;
  /// What the adapter says about itself (hello's "note"), e.g. glue it had to supply.
  std::string adapter_note;
  /// Set by the report: the agent of the base library that fails this case too.
  std::string shared_with;
  std::vector<std::string> transcript;
  std::string adapter_stderr;
  double seconds = 0;
};

struct case_settings {
  std::chrono::milliseconds step_timeout{5000};
  std::chrono::milliseconds case_limit{30000};
};

case_result run_case(const client_case& c, const agent_spec& agent, const case_settings& settings);

}  // namespace gearspec::clients
