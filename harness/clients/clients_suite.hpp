#pragma once
// Runs client-library cases against adapters, side by side (-j), applies each agent's
// expectations (a profile file: expected-fail with reason and evidence, unsupported), and writes
// the report: text for people, JSON for tools. Exit codes: 0 all as expected, 1 a library fails
// a MUST/SHOULD case it is not known to fail (or passes one it is), 2 an adapter error or bad
// input.

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "harness/clients/case_runner.hpp"
#include "harness/scenario/loader.hpp"

namespace gearspec::clients {

struct agent_under_test {
  agent_spec spec;
  std::optional<scenario::profile> expectations;
};

/** The agents of an agents file: `command` (with {here}, the file's folder) or `program` (looked
    up in program_dir; one that is not there is left out and named in skipped), each with its
    expectations file relative to the agents file. Throws scenario_error with the position. */
std::vector<agent_under_test> load_agents_file(const std::string& path,
                                               const std::string& program_dir,
                                               std::vector<std::string>& skipped);

/** Marks failures that an agent shares with the agent of the library it is built on (hello's
    "based_on" names that library): the same case failing on both is one defect of the base. */
void mark_shared_defects(std::vector<case_result>& results);

/// Runs every case for every agent, `jobs` at once; progress is called after each result.
std::vector<case_result> run_cases(const std::vector<client_case>& cases,
                                   const std::vector<agent_under_test>& agents,
                                   const case_settings& settings, unsigned jobs,
                                   const std::function<void(const case_result&)>& progress = {});

struct clients_summary {
  unsigned pass = 0, fail = 0, hang = 0, crash = 0, error = 0, unsupported = 0, informational = 0,
           expected_fail = 0, unexpected_pass = 0;
  /// Counts one result.
  void add(const case_result& r);
  int exit_code() const;
};
clients_summary summarize(const std::vector<case_result>& results);

/// The report: one line per case and agent, the details of every failure, the per-agent matrix.
void write_text_report(std::ostream& out, const std::vector<case_result>& results, bool verbose);
void write_json_report(std::ostream& out, const std::vector<case_result>& results);

}  // namespace gearspec::clients
