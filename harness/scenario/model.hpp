#pragma once
// The scenario model: plain structs that the YAML loader fills and the engine runs.
// docs/scenario-format.md describes the YAML; every field here has a place there.

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
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

/// One step of a scenario.
struct step {
  enum class kind {
    connect,        ///< open the actor's connection (done implicitly before its first use)
    send,           ///< send a packet (by name, with arguments)
    send_raw,       ///< send arbitrary bytes
    expect,         ///< the actor's next packets match one of the alternatives
    expect_none,    ///< nothing arrives for a while
    expect_closed,  ///< the server closes the connection
    disconnect,     ///< close gracefully (FIN)
    kill,           ///< close abortively (RST)
    admin,          ///< send an admin line and judge the answer
    wait_until,     ///< repeat an admin line until the answer matches
    sleep,          ///< only where the behaviour is about time
    parallel,       ///< run branches concurrently
    restart,        ///< stop a server gracefully and start it again (same port, same data)
    crash,          ///< kill a server (SIGKILL) and start it again (same port, same data)
  };
  kind type = kind::send;
  std::string actor;
  source_mark mark;
  // send
  wire::command cmd = wire::command::noop;
  std::vector<value_template> args;
  bool request_magic = true;
  // send_raw
  value_template raw;
  /// For send/send_raw: write the bytes in chunks of this size (1 = byte by byte).
  std::size_t chunk = 0;
  /// For send/send_raw with chunk: pause between chunks (a slow writer).
  duration chunk_delay{0};
  // restart / crash
  std::string server;
  // expect: alternatives, each a sequence of packets
  std::vector<std::vector<packet_expectation>> alternatives;
  // admin / wait_until
  value_template admin_line;
  admin_expectation answer;
  // timing
  std::optional<duration> timeout;  ///< expect / expect_closed / wait_until / admin
  duration length{0};               ///< expect_none window, sleep length
  // parallel
  std::vector<step_list> branches;
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
  std::vector<std::string> tags;
  std::string description;
  std::vector<std::string> servers{"main"};
  std::vector<actor> actors;
  step_list steps;
  std::string file;
  /// Whole-scenario time limit (default 30 s, scaled).
  std::optional<duration> time_limit;
  /// Target capabilities (`needs:`): "restart" (implied by restart/crash steps),
  /// "persistent-queue".
  std::vector<std::string> needs;
  bool needs_restart() const {
    return std::find(needs.begin(), needs.end(), "restart") != needs.end();
  }
  bool needs_persistent_queue() const {
    return std::find(needs.begin(), needs.end(), "persistent-queue") != needs.end();
  }

  const actor* find_actor(const std::string& name) const {
    for (const auto& a : actors)
      if (a.name == name) return &a;
    return nullptr;
  }
};

}  // namespace gearspec::scenario
