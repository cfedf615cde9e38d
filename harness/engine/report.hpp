#pragma once
// Reports: a readable terminal report, JUnit XML and JSON.

#include <ostream>
#include <string>
#include <vector>

#include "harness/engine/suite.hpp"

namespace gearspec::engine {

struct terminal_style {
  bool colour = false;
  bool verbose = false;  ///< transcripts for passing scenarios too
};

/// "[ 12/150] PASS  attach/late-attach  (23 ms)"
void print_progress_line(std::ostream& out, const scenario_result& r, std::size_t done,
                         std::size_t total, const terminal_style& style);

/// The first mismatch, the transcript and server logs of a scenario that did not pass.
void print_details(std::ostream& out, const scenario_result& r, const terminal_style& style);

/// Counts and the list of scenarios that need attention.
void print_summary(std::ostream& out, const std::vector<scenario_result>& results,
                   const std::string& target, const terminal_style& style);

/// JUnit XML as GitLab, Jenkins and GitHub read it. Returns false if the file cannot be written.
bool write_junit(const std::string& path, const std::vector<scenario_result>& results,
                 const std::string& target);

/// Every verdict with its transcript. Returns false if the file cannot be written.
bool write_json(const std::string& path, const std::vector<scenario_result>& results,
                const std::string& target);

}  // namespace gearspec::engine
