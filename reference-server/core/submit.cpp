#include "reference-server/core/job_server.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include "harness/wire/admin.hpp"
#include "harness/wire/ascii.hpp"
#include "harness/wire/encoder.hpp"
#include "reference-server/core/core_util.hpp"

namespace gearspec::refsrv {
namespace {

using wire::command;

// How a SUBMIT_* packet maps onto a job (PROTOCOL "SUBMIT_JOB ..." sections).
struct submit_shape {
  priority prio = priority::normal;
  bool background = false;
  bool epoch = false;
  bool reduce = false;
};

submit_shape shape_of(command cmd) {
  switch (cmd) {
    case command::submit_job:
      return {priority::normal, false, false, false};
    case command::submit_job_bg:
      return {priority::normal, true, false, false};
    case command::submit_job_high:
      return {priority::high, false, false, false};
    case command::submit_job_high_bg:
      return {priority::high, true, false, false};
    case command::submit_job_low:
      return {priority::low, false, false, false};
    case command::submit_job_low_bg:
      return {priority::low, true, false, false};
    // SUBMIT_JOB_EPOCH: a background NORMAL job not runnable before EPOCH (docs/protocol.md §3.12).
    case command::submit_job_epoch:
      return {priority::normal, true, true, false};
    case command::submit_reduce_job:
      return {priority::normal, false, false, true};
    case command::submit_reduce_job_background:
      return {priority::normal, true, false, true};
    default:
      return {};
  }
}

}  // namespace

using detail::parse_int;
using wire::command;

std::string job_server::unique_key(const function& fn, std::string_view unique,
                                   std::string_view data) const {
  // Keys are per function (docs/protocol.md §3.1). An empty unique never coalesces; "-" means "the
  // data is the key", in its own namespace so a literal unique equal to that data stays separate
  // (C).
  if (unique.empty()) return {};
  std::string key = fn.name;
  key.push_back('\0');
  if (unique == "-") {
    if (data.empty()) return {};
    key.push_back('D');
    key.append(data);
  } else {
    key.push_back('U');
    key.append(unique);
  }
  return key;
}

void job_server::handle_submit(connection& c, const wire::packet_view& p, time_point now) {
  const auto shape = shape_of(p.cmd);
  const auto func = p.arg(0);
  const auto unique = p.arg(1);
  const auto data = p.arg(p.arg_count - 1);
  if (unique.size() > options_.max_unique) {
    send_error(c.id, "ARGUMENT_TOO_LARGE", "Unique value too large");
    return;
  }
  std::int64_t epoch = 0;
  if (shape.epoch) {
    const auto parsed = parse_int(p.arg(2));
    if (!parsed) {
      send_error(c.id, "INVALID_ARGUMENT", "SUBMIT_JOB_EPOCH epoch is not a number");
      return;
    }
    epoch = *parsed;
  }
  function& fn = function_named(func);
  const auto key = unique_key(fn, unique, data);

  // Coalescing: the same (function, unique) while the job exists attaches to it. The first
  // submitter's data and priority stay (docs/protocol.md §3.1).
  if (!key.empty()) {
    if (auto found = by_unique_.find(key); found != by_unique_.end()) {
      job& j = *found->second;
      if (shape.background) {
        // A background submitter keeps it alive (C gets this wrong: B1), and it was promised a
        // queued job: a persistent queue must keep it from now on.
        if (!j.stored && store_ && !store_job(j)) {
          send_error(c.id, "QUEUE_ERROR", "Could not store the job");
          return;
        }
        j.keep_alive = true;
      } else {
        // One entry per foreground submission, even from the same connection: client libraries
        // keep one pending task per JOB_CREATED and wait for one result per task (C and Perl send
        // every WORK_* once per submission: UNIQ-PER-SUBMISSION).
        c.listening.insert(&j);
        j.clients.push_back(c.id);
      }
      send(c.id, command::job_created, {j.handle});
      return;
    }
  }

  const auto limit = fn.max_queue[static_cast<std::size_t>(shape.prio)];
  if (limit > 0 && static_cast<std::int64_t>(fn.total) >= limit) {
    if (options_.maxqueue != maxqueue_policy::evict) {
      send_error(c.id, "QUEUE_ERROR", "Job queue is full");
      return;
    }
    // Evict: make room by failing the newest queued jobs, lowest priority first (Perl).
    auto queued = [&fn] { return fn.queues[0].size + fn.queues[1].size + fn.queues[2].size; };
    while (queued() > 0 && static_cast<std::int64_t>(queued()) >= limit) {
      job* victim = nullptr;
      for (std::size_t pr = 3; pr-- > 0 && !victim;) victim = fn.queues[pr].tail;
      fail_job(*victim);
    }
  }

  auto owned = std::make_unique<job>();
  job& j = *owned;
  j.number = next_handle_++;
  j.handle = options_.handle_prefix + std::to_string(j.number);
  j.fn = &fn;
  j.unique = std::string(unique);
  j.data = std::string(data);
  if (shape.reduce) {
    j.has_reducer = true;
    j.reducer = std::string(p.arg(2));
    j.aggregator = std::string(p.arg(3));
  }
  j.prio = shape.prio;
  j.keep_alive = shape.background;
  if (shape.epoch) j.epoch = epoch;
  // Background jobs go to the persistent queue before JOB_CREATED (the I/O layer commits the
  // store before it writes this event's replies).
  if (shape.background && store_ && !store_job(j)) {
    --next_handle_;
    send_error(c.id, "QUEUE_ERROR", "Could not store the job");
    return;
  }
  if (!shape.background) {
    j.clients.push_back(c.id);
    c.listening.insert(&j);
  }
  ++fn.total;
  if (!key.empty()) j.unique_key = &by_unique_.emplace(key, &j).first->first;
  jobs_.emplace(j.handle, std::move(owned));
  send(c.id, command::job_created, {j.handle});
  start_job(j, now, true);
}

void job_server::start_job(job& j, time_point now, bool wake) {
  if (j.epoch) {
    const auto delay_ms = j.epoch * 1000 - options_.unix_time_ms();
    if (delay_ms > 0) {
      arm_timer(j, now + std::chrono::milliseconds(delay_ms), timer_entry::kind::epoch_due);
      return;
    }
  }
  enqueue(j, wake);
}

bool job_server::store_job(job& j) {
  stored_job record;
  record.handle = j.handle;
  record.function = j.fn->name;
  record.unique = j.unique;
  record.data = j.data;
  record.prio = j.prio;
  record.epoch = j.epoch;
  record.has_reducer = j.has_reducer;
  record.reducer = j.reducer;
  record.aggregator = j.aggregator;
  j.stored = store_->add(record);
  return j.stored;
}

bool job_server::restore(const stored_job& stored, time_point now) {
  if (jobs_.count(stored.handle)) return false;
  auto owned = std::make_unique<job>();
  job& j = *owned;
  // Keep the handle; new handles continue after the highest restored number of our own prefix.
  j.handle = stored.handle;
  j.number = next_handle_;
  if (std::string_view(j.handle).substr(0, options_.handle_prefix.size()) ==
      options_.handle_prefix) {
    if (auto n = parse_int(std::string_view(j.handle).substr(options_.handle_prefix.size()));
        n && *n > 0) {
      j.number = static_cast<std::uint64_t>(*n);
      next_handle_ = std::max(next_handle_, j.number + 1);
    }
  }
  // Emulated: the second keyless job of a function "exists" already. Its row stays in the store,
  // and its number is not handed out again.
  if (options_.defects.keyless_jobs_collide_on_reload && stored.unique.empty() &&
      !restored_keyless_.insert(stored.function).second)
    return false;
  function& fn = function_named(stored.function);
  j.fn = &fn;
  j.unique = stored.unique;
  j.data = stored.data;
  j.prio = stored.prio;
  j.epoch = stored.epoch;
  j.has_reducer = stored.has_reducer;
  j.reducer = stored.reducer;
  j.aggregator = stored.aggregator;
  j.keep_alive = true;
  j.stored = true;
  ++fn.total;
  if (const auto key = unique_key(fn, j.unique, j.data); !key.empty()) {
    auto [entry, fresh] = by_unique_.emplace(key, &j);
    if (fresh) j.unique_key = &entry->first;  // a duplicate key stays runnable, just not attachable
  }
  jobs_.emplace(j.handle, std::move(owned));
  start_job(j, now, false);
  return true;
}

}  // namespace gearspec::refsrv
