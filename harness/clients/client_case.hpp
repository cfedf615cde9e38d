#pragma once
// The model of a client-library case (`gearspec clients`): the harness plays one to three Gearman
// servers, drives a library through its adapter (docs/clients.md, "The adapter contract") and
// judges both what the library put on the wire and the events its adapter reported. Plain
// structs filled by the loader; the wire steps reuse the scenario model's.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "harness/scenario/model.hpp"

namespace gearspec::clients {

using scenario::duration;
using scenario::matcher;
using scenario::source_mark;
using scenario::value_template;

/// One action of a worker's per-job script, done in order inside the library's job callback.
struct job_action {
  enum class kind { data, warning, status, complete, fail, exception, sleep };
  kind what = kind::complete;
  value_template bytes;  ///< data, warning, complete, exception
  unsigned numerator = 0, denominator = 0;
  duration pause{0};

  /// The action's name in case files and in the adapter contract ("do").
  static const char* name(kind k);
  /// The action whose name that is, if any.
  static std::optional<kind> named(const std::string& name);
  /// Data, warning, complete and exception carry bytes.
  static bool carries_bytes(kind k) {
    return k == kind::data || k == kind::warning || k == kind::complete || k == kind::exception;
  }
};

/// A command written to the adapter (one JSON line). Fields a verb does not use stay empty.
struct agent_command {
  std::string verb;  ///< submit, run, status, status_unique, echo, register, unregister, work,
                     ///< client_id, quit
  std::string id;    ///< names a submission in later events
  std::optional<value_template> function, unique, data, handle;
  std::string priority;  ///< normal (default), high, low
  bool background = false;
  std::optional<duration> timeout;  ///< submit: client-side; register: CAN_DO_TIMEOUT
  unsigned jobs = 0;                ///< work: how many jobs before `done`
  std::vector<job_action> script;   ///< register: what each job of the function does
};

/// An event the adapter must report next for a submission (or for the worker, or `done`).
struct event_expectation {
  std::vector<std::string> events;  ///< accepted names, e.g. [fail, exception]
  std::string id;                   ///< the submission, or "" for job/done/status_answer/hello
  std::optional<matcher> data, function, unique, handle, error_class;
  std::optional<unsigned> numerator, denominator;
  std::optional<bool> known, running;
  source_mark mark;
};

struct agent_command_step {
  agent_command command;
};
struct agent_expect_step {
  event_expectation want;
  std::optional<duration> timeout;
};
/// The adapter reports nothing (but `created`) for the window.
struct agent_quiet_step {
  duration window{0};
};
/// Waits for the next connection a library opens to a server and names it.
struct accept_step {
  std::string server;
  std::string connection;
  std::optional<duration> timeout;
};
/// A server drops its connections and stops listening; `restart` keeps listening (its port is
/// never released), so the library's next connection is the restarted server's.
struct server_step {
  std::string server;
  bool listen_again = false;
  bool abortive = false;  ///< connections end with RST rather than FIN
};
/** Answers the next grab request (GRAB_JOB, _UNIQ or _ALL, whichever the library sends) with the
    matching assignment, or NO_JOB; which one the library used is recorded. A worker may also go
    to sleep before it asks (PRE_SLEEP first, which PROTOCOL allows): offering a job, the harness
    then wakes it with NOOP as a server with a queued job does; offering none, the worker is
    asleep and the step is done (a later `asleep` step is then satisfied). */
struct answer_grab_step {
  std::string connection;
  bool no_job = false;
  bool error = false;  ///< answer with ERROR instead (a server refusing the grab)
  value_template handle, function, unique, data;
  std::optional<duration> timeout;
};
/// The worker is asleep: it sent PRE_SLEEP, now or during an earlier grab step.
struct asleep_step {
  std::string connection;
  std::optional<duration> timeout;
};
/// Several reply packets in one write (coalesced), or split with pacing.
struct send_many_step {
  std::string connection;
  std::vector<std::pair<wire::command, std::vector<value_template>>> packets;
  scenario::write_pacing pacing;
};

struct case_step {
  using action =
      std::variant<agent_command_step, agent_expect_step, agent_quiet_step, accept_step,
                   server_step, answer_grab_step, asleep_step, send_many_step,
                   scenario::send_raw_step, scenario::expect_step, scenario::expect_none_step,
                   scenario::expect_closed_step, scenario::disconnect_step, scenario::sleep_step>;
  source_mark mark;
  action what;
};

/// A server the case plays: listening from the start, or `down` (its port refuses connections).
struct played_server {
  std::string name;
  bool down = false;
};

struct client_case {
  std::string id;
  std::string title;
  std::vector<std::string> requirements;
  std::string level;  ///< MUST, SHOULD, or INFO (recorded, never a failure)
  std::string description;
  /// What the library must be able to do (the adapter's hello lists it), else `unsupported`.
  std::vector<std::string> needs;
  std::vector<played_server> servers;
  /// Request types a connection may send at any time without a step expecting them; always so
  /// for OPTION_REQ and ECHO_REQ (the harness answers them), SET_CLIENT_ID and RESET_ABILITIES
  /// (no answer).
  std::vector<wire::command> ignore;
  std::vector<case_step> steps;
  std::optional<duration> time_limit;
  std::string file;
};

client_case load_client_case_file(const std::string& path);
client_case load_client_case_string(const std::string& yaml, const std::string& name = "<string>");
/// The case files (*.yaml) under a path, sorted.
std::vector<std::string> find_client_case_files(const std::string& path);

}  // namespace gearspec::clients
