#pragma once
// Explore programs: random, legal sequences of protocol moves by a few clients, workers and an
// admin connection. A program is abstract: a worker "completes the job it holds", and which job
// that is (if any) is resolved on each server as it runs, so one program can run against two
// servers that answer differently.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness/wire/command.hpp"

namespace gearspec::explore {

/// One move. Which fields matter depends on kind.
struct action {
  enum class kind {
    submit,      ///< client: a SUBMIT_JOB* (cmd) of function fn with unique and data; an
                 ///< epoch job is due in an hour, or soon (within 1.5 s: a `wait` makes it due);
                 ///< a reduce job names f2 as its reducer; SUBMIT_JOB_SCHED any time
    option,      ///< client: OPTION_REQ "exceptions"
    get_status,  ///< client: GET_STATUS of the job it submitted `job` submissions ago (0 = last)
    can_do,      ///< worker: CAN_DO fn, or CAN_DO_TIMEOUT fn 1000 (cmd)
    cant_do,     ///< worker: CANT_DO fn
    reset,       ///< worker: RESET_ABILITIES
    grab,        ///< worker: cmd is GRAB_JOB, GRAB_JOB_UNIQ or GRAB_JOB_ALL
    pre_sleep,   ///< worker: PRE_SLEEP
    work,        ///< worker: cmd (WORK_STATUS/DATA/WARNING/COMPLETE/FAIL/EXCEPTION) for its oldest
                 ///< held job; nothing if it holds none on that server
    admin_status,    ///< admin: "status"
    admin_workers,   ///< admin: "workers" (every actor then names itself with SET_CLIENT_ID)
    admin_cancel,    ///< admin: "cancel job H" for client `target`'s submission `job` (C's command)
    admin_maxqueue,  ///< admin: "maxqueue fn 1" (job 1), or "maxqueue fn" (job 0: no limit again)
    wait,            ///< time passes until the program's timers have fired (0.25 to 1.8 s):
                     ///< CAN_DO_TIMEOUTs, epoch jobs due soon (a submit of an epoch job due soon
                     ///< is always followed by one)
    disconnect,      ///< any actor: FIN
    kill,            ///< any actor: RST
    cut_packet,      ///< client or worker: half of a SUBMIT_JOB / WORK_COMPLETE, then RST
    restart,         ///< the server stops gracefully and starts again with its persistent queue;
                     ///< every connection ends, and each actor still in the program connects
                     ///< again (a new connection: no abilities, jobs or submissions)
    crash,           ///< as restart, but the server is killed (SIGKILL)
  };
  kind what = kind::submit;
  std::string actor;  ///< "c1", "w2", "adm"
  wire::command cmd = wire::command::noop;
  int fn = 1;  ///< function f1, f2
  /// 0: empty unique; 1, 2: u1, u2; at the size limits servers enforce: 3, a 64-byte key, 4, a
  /// 63-byte key; 5, a key with leading, trailing and double spaces.
  int unique = 0;
  std::string data;
  int job = 0;
  bool soon = false;   ///< submit of an epoch job: due within 1.5 s rather than in an hour
  std::string target;  ///< admin_cancel: the client whose submission is cancelled
};

/// Relative weights of the kinds of moves (configurable: --weights).
struct weights {
  std::map<std::string, double> of{{"submit", 6},
                                   {"option", 0.5},
                                   {"get_status", 1},
                                   {"can_do", 2},
                                   {"cant_do", 0.5},
                                   {"reset", 0.3},
                                   {"grab", 6},
                                   {"pre_sleep", 1},
                                   {"work", 4},
                                   {"admin_status", 1},
                                   {"admin_workers", 0.7},
                                   {"disconnect", 1.5},
                                   {"kill", 2},
                                   {"cut_packet", 0.3},
                                   {"admin_cancel", 0.4},
                                   {"admin_maxqueue", 0.3},
                                   {"wait", 0.15},
                                   {"restart", 0.3},
                                   {"crash", 0.3}};
  /// Which request each submit, grab and work move sends, and how often.
  std::vector<std::pair<wire::command, double>> submits{
      {wire::command::submit_job, 4},
      {wire::command::submit_job_bg, 2},
      {wire::command::submit_job_high, 1},
      {wire::command::submit_job_high_bg, 0.5},
      {wire::command::submit_job_low, 1},
      {wire::command::submit_job_low_bg, 0.5},
      {wire::command::submit_job_epoch, 0.5},
      {wire::command::submit_reduce_job, 0.4},
      {wire::command::submit_reduce_job_background, 0.4},
      {wire::command::submit_job_sched, 0.15}};
  /// CAN_DO or CAN_DO_TIMEOUT (1000 ms).
  std::vector<std::pair<wire::command, double>> can_dos{{wire::command::can_do, 4},
                                                        {wire::command::can_do_timeout, 1}};
  /// How often each unique (action::unique) is chosen.
  std::vector<double> uniques{3, 5, 2, 0.4, 0.3, 0.3};
  std::vector<std::pair<wire::command, double>> grabs{{wire::command::grab_job, 4},
                                                      {wire::command::grab_job_uniq, 2},
                                                      {wire::command::grab_job_all, 1}};
  std::vector<std::pair<wire::command, double>> works{
      {wire::command::work_complete, 4},  {wire::command::work_fail, 1},
      {wire::command::work_status, 1},    {wire::command::work_data, 1},
      {wire::command::work_warning, 0.5}, {wire::command::work_exception, 0.5}};
  /// The share of programs (0 to 1) whose clients and workers are spread over two servers, "main"
  /// and "s2" (an admin connection is on main): attaching works only on the server that holds the
  /// job. Such a program does not restart its server. 0 where the target cannot give two servers.
  double second_server = 0.25;
  /// Parses "submit=3,kill=0" onto the defaults (and second_server=X); throws
  /// std::invalid_argument naming the problem.
  void apply(const std::string& text);
  /// Leaves out what a target lacks (capability names from the probe, as the suite's `blocked`):
  /// one missing feature should not hide the rest. Returns what was left out, for the report.
  std::vector<std::string> exclude_missing(const std::set<std::string>& missing);
};

struct program {
  std::uint64_t seed = 0;
  std::vector<std::string> clients, workers;  ///< actor names
  bool admin = false;
  /// Actors on the second server "s2"; everyone else (and the admin) is on "main".
  std::set<std::string> on_second;
  std::vector<action> actions;
};

/// The server an actor of the program uses: "main" or "s2".
std::string server_of(const program& p, const std::string& actor);

/// The servers a program needs: {"main"} or {"main", "s2"}.
std::vector<std::string> servers_of(const program& p);

/// Whether the move is a restart or crash of the server.
bool restarts_the_server(const action& a);
/// Whether the program restarts or crashes its server (then its servers need a persistent queue).
bool restarts_server(const program& p);

/// A program of about `length` moves from the seed; every move is legal for its actor at that
/// point (a connected actor of the right role, a function the worker registered before it works).
program generate(std::uint64_t seed, const weights& w, std::size_t length = 14);

/// What a boundary unique (action::unique 3 to 5) is, in words.
const char* unique_kind(int unique);

/// The bytes of boundary unique 3 to 5: 64 or 63 bytes long, or with leading, trailing and double
/// spaces. Fixed: keys are per function, and every run has functions of its own.
std::string boundary_unique(int unique);

/// A move, briefly: "c1 SUBMIT_JOB_BG f1 u2 'd3'".
std::string describe(const action& a);

/// The names of the move kinds (for --weights and reports).
const std::vector<std::string>& kind_names();
std::string kind_name(action::kind k);

}  // namespace gearspec::explore
