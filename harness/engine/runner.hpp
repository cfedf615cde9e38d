#pragma once
// Runs one scenario against a set of server addresses: scripted actors as coroutines on one
// io_context, every wait bounded, every packet recorded. Mismatches are data, not exceptions.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/engine/target.hpp"
#include "harness/scenario/model.hpp"
#include "harness/wire/packet.hpp"

namespace gearspec::engine {

/// One line of a transcript.
struct transcript_entry {
  double at_ms = 0;      ///< since the scenario started
  std::string actor;     ///< actor name, or "" for scenario-level events
  char direction = '*';  ///< '>' sent, '<' received, '*' event
  std::string text;      ///< the packet as printed by the codec, an admin line, or an event
  std::optional<wire::packet> packet;  ///< the packet itself, for '>' and '<' packet lines
};

/// The first thing that did not go as the scenario said.
struct mismatch {
  scenario::source_mark mark;  ///< the step
  std::string step;            ///< the step, briefly ("c1: expect WORK_COMPLETE")
  std::string expected;
  std::string actual;
  std::string note;
  std::string cause;  ///< a few stable words for grouping failures by cause
};

/// Outcome of running a scenario, before any profile is applied.
enum class outcome {
  pass,   ///< every step matched
  fail,   ///< the server did something else (see mismatch)
  error,  ///< infrastructure: could not connect, target died, time limit hit
};

struct run_result {
  outcome result = outcome::error;
  std::optional<mismatch> first;
  std::vector<transcript_entry> transcript;
  std::chrono::milliseconds elapsed{0};
  std::string target_logs;  ///< only on failure or error
};

/// Knobs of a run.
struct run_options {
  /// Multiplies every timeout (not sleeps), for slow targets.
  double timeout_scale = 1.0;
  /// Wait for an expected packet or admin answer unless a step says otherwise.
  std::chrono::milliseconds default_timeout{2000};
  /// Whole-scenario limit unless the scenario sets time_limit.
  std::chrono::milliseconds default_time_limit{30000};
  /// Quiet time at the end during which stray packets are still caught.
  std::chrono::milliseconds settle{30};
  /** Instead of the settle time, prove the server has nothing more to say: two rounds of ECHO on
      every open binary connection (the server must answer each after all it sent before). Only
      for targets that answer ECHO (the capability probe says). */
  bool end_round_trip = false;
  /// Judge what is left at the end (stray packets, unexpected closes). Off for capability probes:
  /// they ask whether a feature answers, and leave everything else to the scenarios.
  bool end_audit = true;
  /// Fixed value for generated variables (tests); empty = random per run.
  std::string run_token;
  /// The request a generic `grab` step sends (the first grab request the target answers).
  wire::command grab = wire::command::grab_job;
  /// The request a `sync` step sends: ECHO_REQ, else GET_STATUS (the probe finds which answers).
  wire::command sync = wire::command::echo_req;
  /// The target answers SET_CLIENT_ID (the probe): wait_until_gone names connections with it.
  bool client_ids = true;
  /// Read replies with the request magic as replies (the probe found that the target's only
  /// framing defect; actor::accept_request_magic). Never for the scenarios about framing.
  bool accept_request_magic = false;
};

/// Runs a scenario against started servers: its steps, then those of variant v (IMPL scenarios).
run_result run_scenario(const scenario::scenario& s, target_instance& servers,
                        const run_options& options = {}, const scenario::variant* v = nullptr);

/// Prints a transcript, one line per entry.
std::string format_transcript(const std::vector<transcript_entry>& transcript);

}  // namespace gearspec::engine
