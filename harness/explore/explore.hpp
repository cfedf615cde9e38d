#pragma once
// gearspec explore: random legal programs run against a target and against the embedded reference
// server side by side; where what a connection observes differs, the program is shrunk to a
// minimal one that still differs the same way, checked against the reference's other known
// variants (its implementation-defined options), and written as a scenario in the suite's format.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/engine/target.hpp"
#include "harness/explore/executor.hpp"
#include "harness/explore/program.hpp"

namespace gearspec::explore {

/// Where a target's observations first differ from the reference's.
struct divergence {
  std::size_t step = 0;  ///< window index: 0 after connecting, i after move i
  std::string actor;
  window reference, target;
  std::string move;  ///< the move before the window ("connect" for 0)
  std::string kind;  ///< stable words for grouping: the move and what each side saw
};

/// The first difference, or nullopt when the runs agree (runs with an error never compare).
std::optional<divergence> first_divergence(const program& p, const observation& reference,
                                           const observation& target);

/// One distinct kind of divergence, with its minimal program.
struct finding {
  divergence found;  ///< in the shrunk program
  program shrunk;
  observation reference, target;  ///< of the shrunk program
  std::size_t original_moves = 0;
  std::size_t seen = 1;  ///< programs that diverged this way
  /// Set when the reference with one of its implementation-defined options behaves as the target:
  /// a known variant, reported as a note rather than a divergence.
  std::string known_variant;
  /// For a known variant: the reference options that together behave as the target (usually
  /// one; the IMPL requirements are theirs), and what the reference with them observed (the
  /// written IMPL scenario's second variant).
  std::vector<std::pair<std::string, std::string>> variant_options;
  observation variant_observation;
  /// The reference option the divergence is judged against ("" = default options): set when the
  /// target first differed by an implementation-defined choice and diverged for real later.
  std::string judged_with;
  /// The same as the written scenario's reference_options (name, value).
  std::vector<std::pair<std::string, std::string>> reference_options;
  std::string first_kind;  ///< the kind against the default reference (for grouping)
  std::string yaml;        ///< the scenario text
  std::string yaml_path;   ///< where it was written ("" if not)
  /// Whether the written scenario says what explore saw: a divergence passes on the reference (a
  /// plain run, with the file's reference_options) and fails on the target; a known variant is
  /// an IMPL scenario whose default variant the reference shows and whose other the target shows.
  std::string reproduction;
  bool reproduces = false;
};

/// Programs run at once by default: 8 per processor core, at most 32 (a program mostly waits on
/// round trips and timers, and its thread's servers are reused: docs/performance.md).
unsigned default_jobs();

struct explore_options {
  std::chrono::milliseconds time_budget{60000};
  std::uint64_t seed = 1;
  std::size_t length = 14;       ///< moves per program
  std::size_t max_programs = 0;  ///< stop after this many programs (0: only the time budget)
  /// Programs run at once (each with its own servers); 1 runs them one after another.
  unsigned jobs = 1;
  weights moves;
  run_settings run;
  std::string out_dir;                               ///< scenarios written here ("" = not written)
  std::size_t shrink_runs = 200;                     ///< at most this many program runs per shrink
  std::function<void(const std::string&)> progress;  ///< one line at a time
  /// Probe the target's capabilities first and leave out the moves it lacks.
  bool probe = true;
  /// Programs run on one started server before it is replaced (each thread has its own; 1: a
  /// fresh server for every program and shrinking run).
  std::size_t server_reuse = 50;
};

struct explore_report {
  std::size_t programs = 0;
  std::size_t errors = 0;  ///< programs that could not run on one side (infrastructure)
  std::string first_error;
  std::vector<finding> divergences;  ///< distinct kinds, in the order found
  std::vector<finding> notes;        ///< known variants (implementation-defined)
  /// Moves left out because the target lacks them: "SUBMIT_JOB_HIGH (submit-high): <what the
  /// probe saw>".
  std::vector<std::string> not_explored;
};

/// What a program's servers need: restarts and a persistent queue if it restarts or crashes them.
engine::server_needs needs_of(const program& p);

/// Explores target against reference (an embedded reference server with default options).
/// reference_target_for(options) makes a reference with extra options, for the variant check.
explore_report run_explore(
    engine::target& target, engine::target& reference,
    const std::function<std::unique_ptr<engine::target>(
        const std::vector<std::pair<std::string, std::string>>&)>& reference_with,
    const explore_options& options);

/// The scenario (suite format) of a finding: the shrunk program's moves, and the reference's
/// observations as its expectations.
std::string render_yaml(const finding& f, const std::string& target_name);

}  // namespace gearspec::explore
