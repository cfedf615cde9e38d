// The administrative text protocol of the reference server (PROTOCOL "Administrative Protocol";
// byte formats follow C gearmand 1.1.20, docs/protocol.md §2.2): OK/ERR lines end "\r\n", list
// lines and "OK <value>" lines end "\n", lists end with ".\n".

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

#include "harness/wire/admin.hpp"
#include "harness/wire/ascii.hpp"
#include "reference-server/core/core_util.hpp"
#include "reference-server/core/job_server.hpp"

namespace gearspec::refsrv {
namespace {

constexpr std::string_view ok_line = "OK\r\n";
constexpr std::string_view unknown_command = "ERR UNKNOWN_COMMAND Unknown+server+command\r\n";
constexpr std::string_view incomplete_args =
    "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command\r\n";

}  // namespace

void job_server::on_admin_line(conn_id conn, std::string_view line, time_point) {
  auto it = connections_.find(conn);
  if (it == connections_.end()) return;
  connection& c = *it->second;
  const auto request = wire::parse_admin_request(line);
  const auto& cmd = request.command;
  const auto& args = request.args;
  if (cmd == "workers") {
    admin_workers(c);
  } else if (cmd == "status") {
    admin_status(c);
  } else if (cmd == "prioritystatus") {
    admin_prioritystatus(c);
  } else if (cmd == "maxqueue") {
    admin_maxqueue(c, args);
  } else if (cmd == "version") {
    send_text(conn, "OK " + options_.version + "\n");
  } else if (cmd == "getpid") {
    send_text(conn, "OK " + std::to_string(options_.pid) + "\n");
  } else if (cmd == "verbose") {
    send_text(conn, "OK INFO\n");
  } else if (cmd == "show" && !args.empty()) {
    admin_show(c, args);
  } else if (cmd == "cancel" && args.size() == 2 && wire::to_lower(args[0]) == "job") {
    admin_cancel(c, args);
  } else if (cmd == "create" && args.size() == 2 && wire::to_lower(args[0]) == "function") {
    admin_create_function(c, args);
  } else if (cmd == "drop" && args.size() == 2 && wire::to_lower(args[0]) == "function") {
    admin_drop_function(c, args);
  } else if (cmd == "shutdown") {
    // Removed from C gearmand in 2016; kept here as Perl has it: "graceful" stops accepting and
    // exits once no job is left, plain shutdown exits at once.
    if (args.empty() || (args.size() == 1 && wire::to_lower(args[0]) == "graceful")) {
      send_text(conn, ok_line);
      sink_.shutdown_requested(!args.empty());
    } else {
      send_text(conn, "ERR UNKNOWN_ARGS Unknown+arguments+to+server+command\r\n");
    }
  } else {
    send_text(conn, unknown_command);
  }
}

void job_server::admin_workers(connection& c) {
  // "<fd> <ip> <client-id> : <functions...>" for every connection, then "." (C format, with the
  // connection id standing in for the file descriptor).
  std::vector<const connection*> all;
  all.reserve(connections_.size());
  for (const auto& [id, conn] : connections_) all.push_back(conn.get());
  std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->id < b->id; });
  std::string out;
  for (const connection* w : all) {
    out += std::to_string(w->id) + " " + w->peer + " " + w->client_id + " :";
    for (const auto& a : w->abilities) out += " " + a.fn->name;
    out += "\n";
  }
  out += ".\n";
  send_text(c.id, out);
}

void job_server::admin_status(connection& c) {
  // "<function>\t<total>\t<running>\t<workers>" per function, sorted by name (C: hash order).
  std::vector<const function*> all;
  for (const auto& [name, fn] : functions_) all.push_back(fn.get());
  std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->name < b->name; });
  std::string out;
  for (const function* fn : all)
    out += fn->name + "\t" + std::to_string(fn->total) + "\t" + std::to_string(fn->running) + "\t" +
           std::to_string(fn->workers.size()) + "\n";
  out += ".\n";
  send_text(c.id, out);
}

void job_server::admin_prioritystatus(connection& c) {
  // "<function>\t<high>\t<normal>\t<low>\t<workers>": queued (not running) jobs per priority.
  std::vector<const function*> all;
  for (const auto& [name, fn] : functions_) all.push_back(fn.get());
  std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->name < b->name; });
  std::string out;
  for (const function* fn : all)
    out += fn->name + "\t" + std::to_string(fn->queues[0].size) + "\t" +
           std::to_string(fn->queues[1].size) + "\t" + std::to_string(fn->queues[2].size) + "\t" +
           std::to_string(fn->workers.size()) + "\n";
  out += ".\n";
  send_text(c.id, out);
}

void job_server::admin_maxqueue(connection& c, const std::vector<std::string>& args) {
  // maxqueue <f> [n | high normal [low]]: one number for all priorities; none resets to unlimited.
  if (args.empty() || args.size() > 4) {
    send_text(c.id, incomplete_args);
    return;
  }
  std::array<std::int64_t, 3> limits{};
  std::vector<std::int64_t> numbers;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto v = detail::parse_int(args[i]);
    if (!v) {
      send_text(c.id, incomplete_args);
      return;
    }
    numbers.push_back(*v);
  }
  if (numbers.size() == 1) limits.fill(numbers[0]);
  for (std::size_t i = 0; numbers.size() > 1 && i < numbers.size(); ++i) limits[i] = numbers[i];
  // By default (unlike C) the limit is kept for a function not seen yet.
  if (options_.maxqueue == maxqueue_policy::reject_known && !find_function(args[0])) {
    send_text(c.id, ok_line);
    return;
  }
  function_named(args[0]).max_queue = limits;
  send_text(c.id, ok_line);
}

void job_server::admin_show(connection& c, const std::vector<std::string>& args) {
  const auto what = wire::to_lower(args[0]);
  const bool jobs = what == "jobs" && args.size() == 1;
  const bool uniques = what == "unique" && args.size() == 2 && wire::to_lower(args[1]) == "jobs";
  if (!jobs && !uniques) {
    send_text(c.id, "ERR UNKNOWN_SHOW_ARGUMENTS\r\n");
    return;
  }
  std::vector<const job*> all;
  for (const auto& [handle, j] : jobs_) all.push_back(j.get());
  std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->number < b->number; });
  std::string out;
  for (const job* j : all) {
    if (jobs)  // "<handle>\t<retries>\t<ignored>\t<background>" (C's columns)
      out += j->handle + "\t" + std::to_string(j->attempts) + "\t0\t" +
             (j->keep_alive ? "1" : "0") + "\n";
    else  // one unique per job; an empty unique prints an empty line, as in C
      out += j->unique + "\n";
  }
  out += ".\n";
  send_text(c.id, out);
}

void job_server::admin_cancel(connection& c, const std::vector<std::string>& args) {
  // cancel job <handle>: clients get WORK_FAIL and the job is gone; a worker still running it gets
  // ERROR JOB_NOT_FOUND for its results (C also delivers its WORK_COMPLETE: docs/protocol.md §4.2
  // B3).
  job* j = find_job(args[1]);
  if (!j) {
    send_text(c.id, "ERR UNKNOWN_JOB\r\n");
    return;
  }
  fail_job(*j);
  send_text(c.id, ok_line);
}

void job_server::admin_create_function(connection& c, const std::vector<std::string>& args) {
  function_named(args[1]);
  send_text(c.id, ok_line);
}

void job_server::admin_drop_function(connection& c, const std::vector<std::string>& args) {
  auto it = functions_.find(args[1]);
  if (it == functions_.end()) {
    send_text(c.id, "ERR function not found\r\n");
    return;
  }
  // Refuse while anything refers to it (C frees it under queued jobs: docs/protocol.md §4.2 B5).
  if (!it->second->workers.empty() || it->second->total > 0) {
    send_text(c.id, "ERR there are still connected workers or executing clients\r\n");
    return;
  }
  functions_.erase(it);
  send_text(c.id, ok_line);
}

}  // namespace gearspec::refsrv
