#include "reference-server/core/job_server.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include "harness/wire/admin.hpp"
#include "harness/wire/ascii.hpp"
#include "harness/wire/encoder.hpp"
#include "reference-server/core/core_util.hpp"

namespace gearspec::refsrv {

using detail::erase_value;
using wire::command;

void job_server::handle_grab(connection& c, command how, time_point now) {
  c.sleeping = false;
  c.noop_sent = false;
  job* j = pick_live_job(c);
  if (!j) {
    send(c.id, command::no_job, {});
    return;
  }
  assign(*j, c, now);
  if (options_.defects.noop_before_assign) send(c.id, command::noop, {});
  const std::string_view func = j->fn->name;
  if (how == command::grab_job) {
    send(c.id, command::job_assign, {j->handle, func, j->data});
  } else if (how == command::grab_job_all &&
             (j->has_reducer || options_.grab_all == grab_all_reply::assign_all)) {
    // JOB_ASSIGN_ALL carries the reducer; the aggregator is not sent on (C, docs/protocol.md §1.3).
    send(c.id, command::job_assign_all, {j->handle, func, j->unique, j->reducer, j->data});
  } else {
    send(c.id, command::job_assign_uniq, {j->handle, func, j->unique, j->data});
  }
}

job_server::job* job_server::held_job(connection& c, std::string_view handle) {
  job* j = find_job(handle);
  return j && j->worker == c.id ? j : nullptr;
}

void job_server::handle_work_update(connection& c, const wire::packet_view& p) {
  job* j = held_job(c, p.arg(0));
  if (!j) {
    // C gearmand's texts (docs/protocol.md §3.13).
    send_error(c.id, "JOB_NOT_FOUND",
               p.cmd == command::work_status ? "Job given in work result not found"
                                             : "Job does not exist on server");
    return;
  }
  if (p.cmd == command::work_status) {
    j->numerator = std::string(p.arg(1));
    j->denominator = std::string(p.arg(2));
    broadcast(*j, command::work_status, {j->handle, p.arg(1), p.arg(2)});
  } else {
    broadcast(*j, p.cmd, {j->handle, p.arg(1)});
  }
}

void job_server::handle_work_end(connection& c, const wire::packet_view& p) {
  job* j = held_job(c, p.arg(0));
  if (!j) {
    send_error(c.id, "JOB_NOT_FOUND",
               p.cmd == command::work_exception
                   ? "An exception was received for a job that does not exist"
                   : "Job given in work result not found");
    return;
  }
  if (p.cmd == command::work_complete) {
    broadcast(*j, command::work_complete, {j->handle, p.arg(1)});
  } else if (p.cmd == command::work_fail) {
    broadcast(*j, command::work_fail, {j->handle});
  } else {
    // WORK_EXCEPTION reaches the clients that opted in. By default it is terminal, and the others
    // get WORK_FAIL (C, docs/protocol.md §3.10), without C's stray trailing NUL; passed through
    // (Perl), the others hear nothing and the job runs on.
    const bool terminal = options_.work_exception == exception_policy::terminal;
    for (conn_id client : j->clients) {
      auto ci = connections_.find(client);
      if (ci != connections_.end() && ci->second->exceptions)
        send(client, command::work_exception, {j->handle, p.arg(1)});
      else if (terminal)
        send(client, command::work_fail, {j->handle});
    }
    if (!terminal) return;
  }
  finish(*j);
}

void job_server::handle_get_status(connection& c, const wire::packet_view& p) {
  // STATUS_RES: handle, known, running, numerator, denominator; "0" when unknown (C).
  const job* j = find_job(p.arg(0));
  if (!j) {
    send(c.id, command::status_res, {p.arg(0), "0", "0", "0", "0"});
    return;
  }
  send(c.id, command::status_res,
       {p.arg(0), "1", j->worker ? "1" : "0", j->numerator, j->denominator});
}

void job_server::handle_get_status_unique(connection& c, const wire::packet_view& p) {
  // The packet names no function, so several jobs may match; the oldest one answers (C answers
  // whichever its hash meets first: docs/protocol.md §4.2 B7).
  const job* best = nullptr;
  for (const auto& [name, fn] : functions_) {
    const auto key = unique_key(*fn, p.arg(0), {});
    if (key.empty()) continue;
    auto it = by_unique_.find(key);
    if (it != by_unique_.end() && (!best || it->second->number < best->number)) best = it->second;
  }
  if (!best) {
    send(c.id, command::status_res_unique, {p.arg(0), "0", "0", "0", "0", "0"});
    return;
  }
  const auto clients = std::to_string(best->clients.size());
  send(c.id, command::status_res_unique,
       {p.arg(0), "1", best->worker ? "1" : "0", best->numerator, best->denominator, clients});
}

void job_server::handle_can_do(connection& c, std::string_view name, std::int64_t timeout_ms) {
  function& fn = function_named(name);
  for (auto& a : c.abilities) {
    if (a.fn == &fn) {
      a.timeout_ms =
          timeout_ms;  // idempotent (C counts duplicates twice: docs/protocol.md §4.2 B8)
      return;
    }
  }
  c.abilities.push_back({&fn, timeout_ms});
  fn.workers.push_back(c.id);
  // A sleeping worker that learns a function with queued work hears about it (SLEEP-CAN-DO-WAKE;
  // C 1.1.20 and Perl 1.130 do not wake it: --can-do-wake no).
  if (options_.can_do_wake && c.sleeping && !c.noop_sent &&
      (fn.queues[0].size || fn.queues[1].size || fn.queues[2].size)) {
    c.noop_sent = true;
    send(c.id, command::noop, {});
  }
}

void job_server::drop_ability(connection& c, function& fn, time_point now) {
  erase_value(fn.workers, c.id);
  std::erase_if(c.abilities, [&fn](const ability& a) { return a.fn == &fn; });
  if (options_.ability_loss == ability_loss_policy::keep) return;
  const std::vector<job*> held = c.held;
  for (job* j : held)
    if (j->fn == &fn) release_job(*j, release_reason::ability, now);
}

void job_server::handle_cant_do(connection& c, std::string_view name, time_point now) {
  if (function* fn = find_function(name)) drop_ability(c, *fn, now);
}

void job_server::handle_reset_abilities(connection& c, time_point now) {
  const auto abilities = c.abilities;
  for (const auto& a : abilities) drop_ability(c, *a.fn, now);
}

void job_server::handle_pre_sleep(connection& c) {
  // PRE_SLEEP: wake at once if work is already waiting (C and Perl both do; docs/protocol.md §3.5).
  // Unlike C, a repeated PRE_SLEEP re-arms the wake-up, so a worker is never left asleep.
  c.sleeping = true;
  c.noop_sent = false;
  // C's PRE_SLEEP peeks at the queue as a grab does, dropping the abandoned jobs it meets.
  if (options_.abandoned == abandoned_jobs::at_next_peek) pick_live_job(c);
  if (has_runnable_work(c)) {
    c.noop_sent = true;
    send(c.id, command::noop, {});
  }
}

}  // namespace gearspec::refsrv
