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

// ---------------------------------------------------------------------------------------------
// Job life cycle.

job_server::function& job_server::function_named(std::string_view name) {
  auto it = functions_.find(std::string(name));
  if (it != functions_.end()) return *it->second;
  auto fn = std::make_unique<function>();
  fn->name = std::string(name);
  auto& ref = *fn;
  functions_.emplace(ref.name, std::move(fn));
  return ref;
}

job_server::function* job_server::find_function(std::string_view name) {
  auto it = functions_.find(std::string(name));
  return it == functions_.end() ? nullptr : it->second.get();
}

job_server::job* job_server::find_job(std::string_view handle) {
  auto it = jobs_.find(std::string(handle));
  return it == jobs_.end() ? nullptr : it->second.get();
}

std::optional<function_counts> job_server::counts(std::string_view name) const {
  auto it = functions_.find(std::string(name));
  if (it == functions_.end()) return std::nullopt;
  return function_counts{it->second->total, it->second->running, it->second->workers.size()};
}

void job_server::enqueue(job& j, bool wake) {
  auto& queue = j.fn->queues[static_cast<std::size_t>(j.prio)];
  j.sequence = next_sequence_++;
  if (j.prio == priority::high && options_.high == high_order::lifo)
    queue.push_front(&j);
  else
    queue.push_back(&j);
  j.queued = true;
  if (wake) wake_workers(*j.fn);
}

void job_server::wake_workers(function& fn) {
  // NOOP each sleeping worker of the function once until its next GRAB (PROTOCOL "PRE_SLEEP").
  std::uint32_t woken = 0;
  for (conn_id id : fn.workers) {
    auto it = connections_.find(id);
    if (it == connections_.end()) continue;
    connection& w = *it->second;
    if (!w.sleeping || w.noop_sent) continue;
    w.noop_sent = true;
    send(id, command::noop, {});
    if (options_.wakeup_limit && ++woken >= options_.wakeup_limit) break;
  }
}

bool job_server::has_runnable_work(const connection& c) const {
  for (const auto& a : c.abilities)
    for (const auto& q : a.fn->queues)
      if (q.size) return true;
  return false;
}

job_server::job* job_server::pick_live_job(connection& worker) {
  // Abandoned jobs left queued (--abandoned-jobs at-next-grab, at-next-peek) are dropped when met,
  // never run. Each pass removes a job, so this ends.
  job* j = pick_job(worker);
  while (j && abandoned(*j)) {
    finish(*j);
    j = pick_job(worker);
  }
  return j;
}

job_server::job* job_server::pick_job(connection& worker) {
  if (options_.scope == priority_scope::per_function) {
    // C 1.1.20: the most recently registered function with any work, then its best priority.
    for (auto a = worker.abilities.rbegin(); a != worker.abilities.rend(); ++a)
      for (auto& q : a->fn->queues)
        if (q.head) return q.head;
    return nullptr;
  }
  // Global: HIGH of any function before NORMAL of any; oldest first across functions.
  for (std::size_t pr = 0; pr < 3; ++pr) {
    job* best = nullptr;
    for (auto& a : worker.abilities) {
      job* head = a.fn->queues[pr].head;
      if (head && (!best || head->sequence < best->sequence)) best = head;
    }
    if (best) return best;
  }
  return nullptr;
}

void job_server::assign(job& j, connection& worker, time_point now) {
  j.fn->queues[static_cast<std::size_t>(j.prio)].unlink(&j);
  j.queued = false;
  j.worker = worker.id;
  ++j.fn->running;
  worker.held.push_back(&j);
  for (const auto& a : worker.abilities) {
    if (a.fn == j.fn && a.timeout_ms > 0) {
      arm_timer(j, now + std::chrono::milliseconds(a.timeout_ms), timer_entry::kind::work_timeout);
      break;
    }
  }
}

void job_server::unassign(job& j) {
  if (!j.worker) return;
  if (auto it = connections_.find(j.worker); it != connections_.end())
    erase_value(it->second->held, &j);
  --j.fn->running;
  j.worker = 0;
}

void job_server::finish(job& j) {
  cancel_timer(j);
  if (j.queued) j.fn->queues[static_cast<std::size_t>(j.prio)].unlink(&j);
  unassign(j);
  --j.fn->total;
  for (conn_id client : j.clients)
    if (auto it = connections_.find(client); it != connections_.end())
      it->second->listening.erase(&j);
  if (j.unique_key) by_unique_.erase(by_unique_.find(*j.unique_key));  // the job owns its entry
  if (j.stored) store_->remove(j.handle);
  jobs_.erase(j.handle);  // destroys j
}

void job_server::fail_job(job& j) {
  broadcast(j, command::work_fail, {j.handle});
  finish(j);
}

void job_server::release_job(job& j, release_reason why, time_point) {
  unassign(j);
  cancel_timer(j);
  if (why == release_reason::disconnect && options_.defects.forget_jobs_of_lost_workers) {
    finish(j);  // emulated defect: no requeue, no WORK_FAIL
    return;
  }
  const bool fail =
      (why == release_reason::disconnect && options_.worker_loss == worker_loss_policy::fail) ||
      (why == release_reason::timeout && options_.can_do_timeout == timeout_policy::fail);
  if (fail) {
    fail_job(j);
    return;
  }
  // Requeue at the tail, counting the attempt; past the retry limit the job fails (C -j N).
  ++j.attempts;
  if (options_.job_retries && j.attempts >= options_.job_retries) {
    fail_job(j);
    return;
  }
  if (abandoned(j) && options_.abandoned == abandoned_jobs::at_once) {
    finish(j);  // nobody waits for it any more: never run it again
    return;
  }
  j.numerator = "0";
  j.denominator = "0";
  enqueue(j, true);
}

void job_server::detach_client(job& j, conn_id client) {
  erase_value(j.clients, client);  // every submission the connection made

  // Never run a foreground job nobody waits for; once a worker holds it, let it finish. With
  // --abandoned-jobs at-next-grab or at-next-peek it stays queued until met (pick_live_job).
  if (abandoned(j) && !j.worker && options_.abandoned == abandoned_jobs::at_once) finish(j);
}

void job_server::arm_timer(job& j, time_point when, timer_entry::kind what) {
  cancel_timer(j);
  j.timer = timers_.emplace(when, timer_entry{&j, what});
}

void job_server::cancel_timer(job& j) {
  if (j.timer) {
    timers_.erase(*j.timer);
    j.timer.reset();
  }
}

std::optional<time_point> job_server::next_deadline() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first;
}

void job_server::on_timer(time_point now) {
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const timer_entry entry = timers_.begin()->second;
    timers_.erase(timers_.begin());
    job& j = *entry.target;
    j.timer.reset();
    if (entry.what == timer_entry::kind::epoch_due) {
      enqueue(j, true);  // wakes sleepers at the due time (C 2.0; C 1.1.20 does not: §3.12)
    } else {
      release_job(j, release_reason::timeout, now);
    }
  }
}

}  // namespace gearspec::refsrv
