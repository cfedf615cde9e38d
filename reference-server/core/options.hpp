#pragma once
// Behaviour knobs of the reference job core. Where real servers differ (docs/protocol.md, and the
// IMPL requirements of docs/requirements.md) the behaviour is a named option; defaults follow C
// gearmand 1.1.20 unless that loses work or contradicts PROTOCOL (see docs/requirements.md for each
// choice).

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "harness/wire/command.hpp"

namespace gearspec::refsrv {

/// What happens to a job whose worker disconnects while holding it (docs/protocol.md §3.4).
enum class worker_loss_policy {
  /// Put it back at the tail of its queue (C gearmand). Clients hear nothing.
  requeue,
  /// Send WORK_FAIL to its clients and drop it (Perl Gearman::Server).
  fail,
};

/// What CANT_DO / RESET_ABILITIES do to a job the worker holds (docs/protocol.md §3.6).
enum class ability_loss_policy {
  /// Requeue it; the worker's later results get ERROR JOB_NOT_FOUND (C gearmand).
  requeue,
  /// Leave it with the worker (Perl Gearman::Server).
  keep,
};

/// What happens when a CAN_DO_TIMEOUT expires (docs/protocol.md §3.11).
enum class timeout_policy {
  /// Requeue silently, counting a retry (C gearmand).
  requeue,
  /// Send WORK_FAIL to the clients and drop the job (PROTOCOL's wording; Perl).
  fail,
};

/// Whether a submit over maxqueue is refused or makes room (docs/protocol.md §3.15).
enum class maxqueue_policy {
  /// ERROR QUEUE_ERROR "Job queue is full" (C gearmand).
  reject,
  /// Accept, evicting the newest queued job with WORK_FAIL (Perl Gearman::Server).
  evict,
  /// As reject, but a limit set for a function the server has not seen yet (no job, no worker)
  /// is answered OK and not kept (C gearmand 1.1.20, docs/protocol.md §3.15).
  reject_known,
};

/// Whether priority is compared across all of a worker's functions (docs/protocol.md §3.7).
enum class priority_scope {
  /// HIGH of any function before NORMAL of any (PROTOCOL at HEAD, C gearmand 2.0).
  global,
  /// The most recently registered function with work first, then its best priority (C 1.1.20).
  per_function,
};

/// When a foreground job whose every client left before a worker took it is forgotten
/// (CLIENT-DEATH-STATUS, docs/protocol.md §3.3). It never runs either way (CLIENT-DEATH-QUEUED).
enum class abandoned_jobs {
  /// Dropped as soon as its last client leaves: "status" stops counting it.
  at_once,
  /// Left queued and counted until a grab meets it, drops it and takes the next job (Perl 1.130).
  /// A client that submits its key meanwhile attaches and revives it (Perl).
  at_next_grab,
  /// As at_next_grab, and a PRE_SLEEP that looks at the queue drops it too, so it wakes no one
  /// (C 1.1.20: PRE_SLEEP and GRAB_JOB both go through gearman_server_job_peek).
  at_next_peek,
};

/// Order of HIGH jobs within a function (docs/protocol.md §3.8).
enum class high_order {
  fifo,  ///< C gearmand.
  lifo,  ///< Perl Gearman::Server.
};

/// What WORK_EXCEPTION does to its job (EXC-NOT-OPTED, docs/protocol.md §3.10).
enum class exception_policy {
  /// It ends the job; clients that did not opt in get WORK_FAIL (C gearmand).
  terminal,
  /// It is passed to the clients that opted in, like WORK_WARNING, and the job runs on until
  /// WORK_COMPLETE or WORK_FAIL (Perl Gearman::Server 1.130).
  passthrough,
};

/// What GRAB_JOB_ALL returns for a job submitted without a reducer (docs/protocol.md §1.3).
enum class grab_all_reply {
  assign_uniq,  ///< JOB_ASSIGN_UNIQ (C gearmand).
  assign_all,   ///< JOB_ASSIGN_ALL with an empty reducer (PROTOCOL's text).
};

/** Defects the reference server can emulate so that tests can prove the suite catches each one and
    names it (tests/integration/test_emulated_defects.py). None is a behaviour any server should
    have; all are off by default. */
struct emulated_defects {
  std::set<wire::command> ignored;     ///< requests read and never answered
  std::set<wire::command> refused;     ///< requests answered with ERROR instead of being served
  bool lowercase_error_codes = false;  ///< "job_not_found" instead of "JOB_NOT_FOUND"
  /// A connection that submitted one job several times gets each result once, not once per
  /// submission (UNIQ-PER-SUBMISSION; real client libraries then wait forever).
  bool per_connection_results = false;
  /// Every WORK_COMPLETE goes to each client twice: a stray packet only the end-of-scenario check
  /// can see.
  bool duplicate_completions = false;
  /// A NOOP to the worker right before each JOB_ASSIGN*, although it is awake (seen on a server
  /// that NOOPs every worker of a function when a job arrives): PROTOCOL-harmless, but a NOOP
  /// where none was due.
  bool noop_before_assign = false;
  /// A job whose worker's connection ends is dropped without a word: neither requeued nor
  /// failed, so its clients wait forever (a server that ignores worker deaths).
  bool forget_jobs_of_lost_workers = false;
  /// On reload from the persistent queue, background jobs without a unique key collide: only the
  /// first of each function comes back (gearmand issue #216, "replay_add(JOB_EXISTS)" at start,
  /// and #87, a keyless job that stopped the restart), although each was acknowledged.
  bool keyless_jobs_collide_on_reload = false;
  bool any() const noexcept {
    return !ignored.empty() || !refused.empty() || lowercase_error_codes ||
           per_connection_results || duplicate_completions || noop_before_assign ||
           forget_jobs_of_lost_workers || keyless_jobs_collide_on_reload;
  }
};

/// Options of the job core.
struct core_options {
  /// Job handles are prefix + counter, counter starting at 1 (C: "H:<host>:<n>").
  std::string handle_prefix = "H:gearspec:";
  worker_loss_policy worker_loss = worker_loss_policy::requeue;
  ability_loss_policy ability_loss = ability_loss_policy::requeue;
  timeout_policy can_do_timeout = timeout_policy::requeue;
  maxqueue_policy maxqueue = maxqueue_policy::reject;
  priority_scope scope = priority_scope::global;
  high_order high = high_order::fifo;
  abandoned_jobs abandoned = abandoned_jobs::at_once;
  /// CAN_DO from a sleeping worker for a function with queued work sends NOOP (SLEEP-CAN-DO-WAKE);
  /// C 1.1.20 and Perl 1.130 send nothing until a job arrives.
  bool can_do_wake = true;
  grab_all_reply grab_all = grab_all_reply::assign_uniq;
  exception_policy work_exception = exception_policy::terminal;
  emulated_defects defects;
  /// Attempts a job gets before it fails for good after worker loss or timeout; 0 = unlimited
  /// (C 1.1.20's -j: N attempts in total).
  std::uint32_t job_retries = 0;
  /// Sleeping workers woken per runnable job; 0 = all that can do the function (C default).
  std::uint32_t wakeup_limit = 0;
  /// Longest unique key accepted; longer ones get ERROR ARGUMENT_TOO_LARGE (C: 64).
  std::size_t max_unique = 64;
  /// Treat every connection as if it had sent OPTION_REQ "exceptions" (C --exceptions).
  bool exceptions_default = false;
  /// Answer to the admin "version" command.
  std::string version = "gearspec-0.1.0";
  /// Answer to the admin "getpid" command.
  long pid = 0;
  /// Milliseconds since the Unix epoch, for SUBMIT_JOB_EPOCH; injectable for tests.
  std::function<std::int64_t()> unix_time_ms;
};

}  // namespace gearspec::refsrv
