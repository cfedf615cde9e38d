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
                 ///< epoch job is due in an hour (queued, never runnable during the program)
    option,      ///< client: OPTION_REQ "exceptions"
    get_status,  ///< client: GET_STATUS of the job it submitted `job` submissions ago (0 = last)
    can_do,      ///< worker: CAN_DO fn
    cant_do,     ///< worker: CANT_DO fn
    reset,       ///< worker: RESET_ABILITIES
    grab,        ///< worker: cmd is GRAB_JOB, GRAB_JOB_UNIQ or GRAB_JOB_ALL
    pre_sleep,   ///< worker: PRE_SLEEP
    work,        ///< worker: cmd (WORK_STATUS/DATA/WARNING/COMPLETE/FAIL/EXCEPTION) for its oldest
                 ///< held job; nothing if it holds none on that server
    admin_status,   ///< admin: "status"
    admin_workers,  ///< admin: "workers" (every actor then names itself with SET_CLIENT_ID)
    disconnect,     ///< any actor: FIN
    kill,           ///< any actor: RST
    cut_packet,     ///< client or worker: half of a SUBMIT_JOB / WORK_COMPLETE, then RST
  };
  kind what = kind::submit;
  std::string actor;  ///< "c1", "w2", "adm"
  wire::command cmd = wire::command::noop;
  int fn = 1;      ///< function f1, f2
  int unique = 0;  ///< 0: empty unique; 1, 2: u1, u2
  std::string data;
  int job = 0;
};

/// Relative weights of the kinds of moves (configurable: --weights).
struct weights {
  std::map<std::string, double> of{{"submit", 6},       {"option", 0.5},        {"get_status", 1},
                                   {"can_do", 2},       {"cant_do", 0.5},       {"reset", 0.3},
                                   {"grab", 6},         {"pre_sleep", 1},       {"work", 4},
                                   {"admin_status", 1}, {"admin_workers", 0.7}, {"disconnect", 1.5},
                                   {"kill", 2},         {"cut_packet", 0.3}};
  /// Which request each submit, grab and work move sends, and how often.
  std::vector<std::pair<wire::command, double>> submits{
      {wire::command::submit_job, 4},        {wire::command::submit_job_bg, 2},
      {wire::command::submit_job_high, 1},   {wire::command::submit_job_high_bg, 0.5},
      {wire::command::submit_job_low, 1},    {wire::command::submit_job_low_bg, 0.5},
      {wire::command::submit_job_epoch, 0.5}};
  std::vector<std::pair<wire::command, double>> grabs{{wire::command::grab_job, 4},
                                                      {wire::command::grab_job_uniq, 2},
                                                      {wire::command::grab_job_all, 1}};
  std::vector<std::pair<wire::command, double>> works{
      {wire::command::work_complete, 4},  {wire::command::work_fail, 1},
      {wire::command::work_status, 1},    {wire::command::work_data, 1},
      {wire::command::work_warning, 0.5}, {wire::command::work_exception, 0.5}};
  /// Parses "submit=3,kill=0" onto the defaults; throws std::invalid_argument naming the problem.
  void apply(const std::string& text);
  /// Leaves out what a target lacks (capability names from the probe, as the suite's `blocked`):
  /// one missing feature should not hide the rest. Returns what was left out, for the report.
  std::vector<std::string> exclude_missing(const std::set<std::string>& missing);
};

struct program {
  std::uint64_t seed = 0;
  std::vector<std::string> clients, workers;  ///< actor names
  bool admin = false;
  std::vector<action> actions;
};

/// A program of about `length` moves from the seed; every move is legal for its actor at that
/// point (a connected actor of the right role, a function the worker registered before it works).
program generate(std::uint64_t seed, const weights& w, std::size_t length = 14);

/// A move, briefly: "c1 SUBMIT_JOB_BG f1 u2 'd3'".
std::string describe(const action& a);

/// The names of the move kinds (for --weights and reports).
const std::vector<std::string>& kind_names();
std::string kind_name(action::kind k);

}  // namespace gearspec::explore
