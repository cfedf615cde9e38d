#pragma once
// Reports of a run: a readable terminal report, JUnit XML and JSON (the contract tools and CI
// read: docs/reading-a-report.md). Every failure shows its level and its requirement's text;
// failures and blocked scenarios are grouped by root cause, largest group first.

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "harness/engine/capabilities.hpp"
#include "harness/engine/suite.hpp"

namespace gearspec::engine {

/// Scenarios that share one cause (a missing capability, or the same request, expected and
/// actual packet kind), largest group first.
struct root_cause {
  std::string cause;
  std::vector<std::string> ids;
  std::size_t failed = 0;   ///< of ids: failures (fail, error, flaky, unexpected pass)
  std::size_t blocked = 0;  ///< of ids: blocked by the same missing capability
  /// False for groups with no failure: blocked scenarios, or IMPL scenarios that showed none of
  /// their known variants (worth a look, not failures).
  bool failing = true;
  std::vector<std::string> capabilities;  ///< the missing capabilities a "lacks" cause names
  int level = 0;  ///< the strongest level among its failures (3 MUST, 2 SHOULD, 1 IMPL)
};

/** Groups failures (errors, flaky and stale-profile verdicts too) and blocked scenarios by cause,
    largest first; a failing scenario about a capability the probe found missing is grouped with
    the scenarios that capability blocks. Then IMPL scenarios that showed none of their known
    variants. */
std::vector<root_cause> root_causes(const std::vector<scenario_result>& results);

/// Everything a report shows about one run.
struct run_report {
  const std::vector<scenario_result>* results = nullptr;
  std::string target;   ///< describe() of the target
  std::string profile;  ///< "gearmand 1.1.20", or empty
  const capability_report* capabilities = nullptr;
  const std::map<std::string, scenario::requirement>* catalog = nullptr;
  double elapsed_s = 0;  ///< wall time of the run (0: not shown)
};

/// "149 passed, 60 informational": the non-zero counts, in a fixed order.
std::string count_text(const suite_counts& c);

struct terminal_style {
  bool colour = false;
  bool verbose = false;  ///< transcripts for passing scenarios too
  const std::map<std::string, scenario::requirement>* catalog = nullptr;
};

/// "[ 12/150] PASS  attach/late-attach  (23 ms)"
void print_progress_line(std::ostream& out, const scenario_result& r, std::size_t done,
                         std::size_t total, const terminal_style& style);

/// The first mismatch, the transcript and server logs of a scenario that did not pass.
void print_details(std::ostream& out, const scenario_result& r, const terminal_style& style);

/// One line of counts, the root causes, and the closing line CI systems read.
void print_summary(std::ostream& out, const run_report& report, const terminal_style& style);

/// The capabilities the probe found missing, one line (nothing if none or not probed).
void print_capabilities(std::ostream& out, const capability_report& caps);

/// What a report says when the probe found replies carrying the request magic (request_magic).
inline constexpr const char* read_past_request_magic_note =
    "reading past a framing defect: the target's replies carry the request magic \\0REQ; the "
    "scenarios about framing fail, every other one reads them as replies and judges the rest";

/// Text for XML or HTML: markup characters as entities, control characters (other than newline,
/// tab and CR) as \xNN, which XML forbids even escaped.
std::string markup_escape(std::string_view s);

/// The CI system whose annotations a run writes, from its environment variables.
struct ci_annotations {
  bool github = false;    ///< GITHUB_ACTIONS=true: ::error workflow commands on stdout
  bool gitlab = false;    ///< GITLAB_CI=true: step locations in the JUnit report
  std::string workspace;  ///< GITHUB_WORKSPACE or CI_PROJECT_DIR: paths are shown relative to it
  static ci_annotations from_environment();
  /// file relative to the workspace when it lies inside it (CI systems link such paths).
  std::string path(const std::string& file) const;
};

/** JUnit XML as GitLab, Jenkins and GitHub read it. With step_locations (GitLab CI), a failing
    testcase's file and line are those of the step that failed, and its failure message starts
    with them. Returns false if the file cannot be written. */
bool write_junit(const std::string& path, const run_report& report,
                 const ci_annotations* step_locations = nullptr);

/// Where a result failed: the step of its first mismatch (of any round), else its file's top.
scenario::source_mark failure_location(const scenario_result& r);

/// One GitHub Actions error annotation: "::error file=F,line=L,col=C,title=T::MESSAGE\n".
std::string github_error(const ci_annotations& ci, const scenario::source_mark& at,
                         std::string_view title, std::string_view message);

/// A GitHub error annotation for each failure (fail, error, flaky, unexpected pass).
void print_github_annotations(std::ostream& out, const ci_annotations& ci,
                              const std::vector<scenario_result>& results);

/// Every verdict with its transcript. Returns false if the file cannot be written.
bool write_json(const std::string& path, const run_report& report);

/** A self-contained HTML page of the run (html_report.cpp): totals by verdict and level, root
    causes, then a section per scenario (requirement text, expected and actual, transcript),
    failures first, with filters by verdict. False if the file cannot be written. */
bool write_html(const std::string& path, const run_report& report);

/// A result's verdict as one word for people: PASS, FAIL, XFAIL, BLOCK, INFO, ...
const char* verdict_label(verdict v);

}  // namespace gearspec::engine
