#pragma once
// The scenario model: plain structs that the YAML loader fills and the engine runs.
// docs/scenario-format.md describes the YAML; every field here has a place there.

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "harness/wire/command.hpp"

namespace gearspec::scenario {

using duration = std::chrono::milliseconds;

/// Where something was written: file, line and column (1-based).
struct source_mark {
  std::string file;
  int line = 0;
  int column = 0;
  std::string str() const {
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
  }
};

/// A load-time error in a scenario or profile file, with its position.
class scenario_error : public std::runtime_error {
 public:
  scenario_error(const source_mark& mark, const std::string& what)
      : std::runtime_error(mark.str() + ": " + what), mark_(mark) {}
  const source_mark& mark() const noexcept { return mark_; }

 private:
  source_mark mark_;
};

/// A byte string that may refer to variables: literal pieces and ${name} / $name references.
struct value_template {
  struct piece {
    bool is_variable = false;
    std::string text;  ///< literal bytes, or the variable's name
  };
  std::vector<piece> pieces;
  source_mark mark;

  static value_template literal(std::string bytes) { return {{{false, std::move(bytes)}}, {}}; }
};

/// How one received argument (or admin line) is judged.
struct matcher {
  enum class kind {
    exact,    ///< equal to the expanded template
    regex,    ///< ECMAScript regex over the whole value (the pattern may use variables)
    any,      ///< anything
    capture,  ///< anything; stored in variable `name`
    prefix,   ///< starts with the expanded template
  };
  kind type = kind::any;
  value_template value;
  std::string name;  ///< for capture
  source_mark mark;
  /// For capture: values the captured one must differ from (`differs_from:`), e.g. the handles
  /// of earlier jobs when a new job is expected.
  std::vector<value_template> differs_from;

  /// Matchers of literal bytes (scripts build these; scenarios come from the loader).
  static matcher any() { return {}; }
  static matcher exact(std::string bytes) {
    return {kind::exact, value_template::literal(std::move(bytes)), {}, {}, {}};
  }
  static matcher regex(std::string pattern) {
    return {kind::regex, value_template::literal(std::move(pattern)), {}, {}, {}};
  }
  static matcher prefix(std::string bytes) {
    return {kind::prefix, value_template::literal(std::move(bytes)), {}, {}, {}};
  }
};

/// One expected packet: its type and a matcher per argument (missing = any).
struct packet_expectation {
  wire::command cmd = wire::command::noop;
  std::vector<matcher> args;
  source_mark mark;
};

/// What an admin answer must look like.
struct admin_expectation {
  enum class kind { any, ok, err, list, other };
  kind response = kind::any;
  /// For lists: the exact lines (in order unless unordered).
  std::optional<std::vector<matcher>> lines;
  bool unordered = false;
  /// For lists: lines that must be present (any order, others allowed).
  std::vector<matcher> contains;
  /// Lines that must not be present.
  std::vector<matcher> excludes;
  /// For single-line answers: the whole line.
  std::optional<matcher> line;
};

struct step;
using step_list = std::vector<step>;

/// How a send writes its bytes: in chunks of this size (1 = byte by byte, 0 = all at once), with a
/// pause between chunks (a slow writer).
struct write_pacing {
  std::size_t chunk = 0;
  duration delay{0};
};

/// Open the actor's connection (done implicitly before its first use).
struct connect_step {
  std::string actor;
};

/// Send a packet by name; the arguments are joined as given (a scenario may craft odd packets).
struct send_step {
  std::string actor;
  wire::command cmd = wire::command::noop;
  std::vector<value_template> args;
  bool request_magic = true;
  write_pacing pacing;
};

/// Send arbitrary bytes (malformed input).
struct send_raw_step {
  std::string actor;
  value_template bytes;
  write_pacing pacing;
};

/// The actor's next packets match one of the alternatives, each a sequence of packets.
struct expect_step {
  std::string actor;
  std::vector<std::vector<packet_expectation>> alternatives;
  std::optional<duration> timeout;
};

/** Grab a job with a grab request the target answers (GRAB_JOB, else GRAB_JOB_UNIQ, else
    GRAB_JOB_ALL: the harness probes which) and expect the matching assignment, or NO_JOB. Worker
    scenarios that are not about a particular grab request use it, so a server that lacks one
    fails only the scenarios about that request. */
struct grab_step {
  std::string actor;
  bool no_job = false;              ///< expect NO_JOB instead of an assignment
  std::vector<matcher> assignment;  ///< handle, func, data (missing trailing ones match anything)
  std::optional<duration> timeout;
};

/** A barrier on the actor's connection: a round trip the target answers (ECHO_REQ, else GET_STATUS
    of a handle that does not exist: the harness probes which). Its answer comes after everything
    the server sent before on that connection, so the steps after it see all of that. Scenarios
    that are not about ECHO use it rather than ECHO_REQ/ECHO_RES, so a server without ECHO fails
    only the scenarios about ECHO. */
struct sync_step {
  std::string actor;
};

/// Nothing (not ignored) arrives for the window, and the connection stays open.
struct expect_none_step {
  std::string actor;
  duration window{0};
};

/// The server closes the connection, with nothing (not ignored) before.
struct expect_closed_step {
  std::string actor;
  std::optional<duration> timeout;
};

/// Close the connection: gracefully (FIN, `disconnect`) or abortively (RST, `kill`).
struct disconnect_step {
  std::string actor;
  bool abortive = false;
};

/// Send an admin line and judge the answer; with poll (`wait_until`), repeat until it matches.
struct admin_step {
  std::string actor;
  value_template line;
  admin_expectation answer;
  std::optional<duration> timeout;
  bool poll = false;
  /** `wait_until_gone: ACTOR`: repeat "workers" until the server no longer lists that actor's
      (closed) connection. The engine names the connection itself when it opens (SET_CLIENT_ID
      "<actor>-${run}") where the target answers SET_CLIENT_ID; where it does not, the server must
      list no more connections than the scenario has open. So the scenarios about a closed
      connection need neither SET_CLIENT_ID nor a regex of the `workers` line. */
  std::string gone;
};

/// Pause; only where the behaviour is about time.
struct sleep_step {
  duration length{0};
};

/// Pause until an epoch variable's Unix second (plus a margin) has passed: for SUBMIT_JOB_EPOCH,
/// whose times are whole seconds, so that a scenario waits only as long as the behaviour needs.
struct sleep_until_step {
  std::string variable;  ///< epoch, epochN, epochsoon or epochsoonN
  duration plus{0};
};

/// Run branches concurrently.
struct parallel_step {
  std::vector<step_list> branches;
};

/** Repeats its steps `rounds` times. As `timed:` it also judges how long one round takes: the
    median must stay under `median_under` (scaled like timeouts). For latency: a server that holds
    back small replies (Nagle's algorithm without TCP_NODELAY, about 40 ms each) passes every
    functional check. As `repeat:` (judge_time false) it only repeats: a scenario about an ordering
    window tries the window many times, so a race that shows in a few percent of attempts is
    caught in one run. */
struct timed_step {
  unsigned rounds = 20;
  duration median_under{0};
  step_list steps;
  bool judge_time = true;
};

/// Stop a server and start it again on the same port with the same data: gracefully
/// (`restart`) or as a crash (`crash`: SIGKILL, or an in-process stop that writes nothing more).
struct server_fault_step {
  std::string server;
  bool crash = false;
};

/// One step of a scenario: where it was written and what it does. The runner dispatches on the
/// variant, so every kind of step is handled or the engine does not compile.
struct step {
  using action =
      std::variant<connect_step, send_step, send_raw_step, expect_step, grab_step, sync_step,
                   expect_none_step, expect_closed_step, disconnect_step, admin_step, sleep_step,
                   sleep_until_step, parallel_step, timed_step, server_fault_step>;
  source_mark mark;
  action what;

  template <typename T>
  const T* as() const noexcept {
    return std::get_if<T>(&what);
  }
  /// The actor the step acts on, or null for sleep, parallel, timed and server faults.
  const std::string* actor() const noexcept {
    return std::visit(
        [](const auto& a) -> const std::string* {
          if constexpr (requires { a.actor; })
            return &a.actor;
          else
            return nullptr;
        },
        what);
  }
};

/** One known behaviour of an implementation-defined (IMPL) scenario: the steps that follow the
    scenario's own steps when a server behaves this way, and where the behaviour was seen. */
struct variant {
  std::string name;         ///< short, e.g. "requeue" or "work-fail"
  std::string description;  ///< the behaviour and which servers show it (evidence)
  step_list steps;
  source_mark mark;
};

/// A connection driven by the scenario.
struct actor {
  enum class role { client, worker, admin };
  std::string name;
  role type = role::client;
  std::string server = "main";
  /// Packet types this actor may receive at any time without a step expecting them.
  std::vector<wire::command> ignore;
  source_mark mark;
};

/// A whole scenario file.
struct scenario {
  std::string id;
  std::string title;
  std::vector<std::string> requirements;
  std::string level;  ///< MUST, SHOULD or IMPL
  /// IMPL only: the known behaviours, tried in order after steps; the first that passes is the
  /// one the server shows. An IMPL scenario never fails by itself (its verdict is informational).
  std::vector<variant> variants;
  std::vector<std::string> tags;
  std::string description;
  std::vector<std::string> servers{"main"};
  std::vector<actor> actors;
  step_list steps;
  std::string file;
  /// Whole-scenario time limit (default 30 s, scaled).
  std::optional<duration> time_limit;
  /// `needs:` (scenario/needs.hpp): target needs ("restart", implied by restart/crash steps;
  /// "persistent-queue"; "disposable-server", for scenarios that stop the server) and capabilities.
  std::vector<std::string> needs;
  /// `reference_options:` options of the embedded reference server ("name" or "name=value", as
  /// `--ref`) that this scenario's expectations assume: an embedded target runs the scenario's
  /// servers with them; other targets ignore them. Written by `gearspec explore` when the target
  /// first made an implementation-defined choice and diverged after it.
  std::vector<std::pair<std::string, std::string>> reference_options;
  /// The actors a wait_until_gone step awaits (in the steps or a variant): the engine names
  /// their connections (filled by the loader).
  std::set<std::string> awaited_closes;
  bool needs_restart() const {
    return std::find(needs.begin(), needs.end(), "restart") != needs.end();
  }
  bool needs_persistent_queue() const {
    return std::find(needs.begin(), needs.end(), "persistent-queue") != needs.end();
  }
  bool needs_disposable_server() const {
    return std::find(needs.begin(), needs.end(), "disposable-server") != needs.end();
  }

  const actor* find_actor(const std::string& name) const {
    for (const auto& a : actors)
      if (a.name == name) return &a;
    return nullptr;
  }
};

}  // namespace gearspec::scenario
