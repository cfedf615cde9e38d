#include "reference-server/core/job_server.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include "harness/wire/admin.hpp"
#include "harness/wire/ascii.hpp"
#include "harness/wire/encoder.hpp"

namespace gearspec::refsrv {
namespace {

using wire::command;

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

template <typename T>
void erase_value(std::vector<T>& v, const T& value) {
  v.erase(std::remove(v.begin(), v.end(), value), v.end());
}

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

// ---------------------------------------------------------------------------------------------
// Intrusive queue.

void job_server::job_list::push_back(job* j) {
  j->prev = tail;
  j->next = nullptr;
  (tail ? tail->next : head) = j;
  tail = j;
  ++size;
}

void job_server::job_list::push_front(job* j) {
  j->next = head;
  j->prev = nullptr;
  (head ? head->prev : tail) = j;
  head = j;
  ++size;
}

void job_server::job_list::unlink(job* j) {
  (j->prev ? j->prev->next : head) = j->next;
  (j->next ? j->next->prev : tail) = j->prev;
  j->prev = j->next = nullptr;
  --size;
}

// ---------------------------------------------------------------------------------------------
// Construction and connections.

job_server::job_server(core_options options, output_sink& sink)
    : options_(std::move(options)), sink_(sink) {
  if (!options_.unix_time_ms) {
    options_.unix_time_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
}

job_server::~job_server() = default;

void job_server::on_connect(conn_id conn, std::string peer) {
  auto c = std::make_unique<connection>();
  c->id = conn;
  c->peer = std::move(peer);
  c->exceptions = options_.exceptions_default;
  connections_[conn] = std::move(c);
}

void job_server::on_disconnect(conn_id conn, time_point now) {
  auto it = connections_.find(conn);
  if (it == connections_.end()) return;
  connection& c = *it->second;
  // A client leaving: its foreground jobs that no worker has taken yet are dropped once nobody
  // else waits for them (seed semantics "client death"; docs/protocol.md §3.3).
  const std::vector<job*> listening(c.listening.begin(), c.listening.end());
  for (job* j : listening) detach_client(*j, conn);
  // A worker leaving while holding jobs (docs/protocol.md §3.4).
  const std::vector<job*> held = c.held;
  for (job* j : held) release_job(*j, release_reason::disconnect, now);
  for (const auto& a : c.abilities) erase_value(a.fn->workers, conn);
  connections_.erase(it);
}

job_server::receive_result job_server::receive(conn_id conn, std::string_view bytes,
                                               time_point now) {
  receive_result result;
  while (result.consumed < bytes.size()) {
    wire::frame f;
    const auto r = decoder_.decode(bytes.substr(result.consumed), f);
    if (r.status == wire::decode_status::need_more) break;
    result.consumed += r.consumed;
    if (r.status == wire::decode_status::complete) {
      if (f.type == wire::frame::kind::text)
        on_admin_line(conn, f.line, now);
      else
        on_packet(conn, f.packet, now);
      continue;
    }
    // Malformed input: answer with a clear ERROR; close only where the framing is lost.
    switch (static_cast<wire::errc>(r.error.value())) {
      case wire::errc::unexpected_magic:
        send_error(conn, "INVALID_MAGIC", "Request magic expected");
        break;
      case wire::errc::unknown_command:
        send_error(conn, "INVALID_COMMAND", "Unknown packet type " + std::to_string(f.type_number));
        break;
      case wire::errc::too_few_arguments:
        send_error(conn, "INVALID_PACKET",
                   "Too few arguments for " + std::string(wire::name(f.packet.cmd)));
        break;
      case wire::errc::packet_too_large:
        send_error(conn, "ARGUMENT_TOO_LARGE", "Packet size above the server's limit");
        result.close = true;
        break;
      case wire::errc::line_too_long:
        send_text(conn, "ERR LINE_TOO_LONG Admin+line+too+long\r\n");
        result.close = true;
        break;
      default:
        send_error(conn, "INVALID_MAGIC", "Packet does not start with \\0REQ");
        result.close = true;
        break;
    }
    if (result.close) {
      sink_.close_after_flush(conn);
      break;
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Binary packets.

void job_server::on_packet(conn_id conn, const wire::packet_view& p, time_point now) {
  auto it = connections_.find(conn);
  if (it == connections_.end()) return;
  connection& c = *it->second;
  if (!wire::info(p.cmd).is_request) {
    // Response-only types sent to the server (C: ERROR INVALID_COMMAND "Command not expected").
    send_error(conn, "INVALID_COMMAND", "Command not expected");
    return;
  }
  switch (p.cmd) {
    case command::can_do:
      handle_can_do(c, p.arg(0), 0);
      break;
    case command::can_do_timeout: {
      // PROTOCOL: the timeout is in milliseconds; <= 0 means none.
      const auto ms = parse_int(p.arg(1));
      if (!ms) {
        send_error(conn, "INVALID_ARGUMENT", "CAN_DO_TIMEOUT timeout is not a number");
        break;
      }
      handle_can_do(c, p.arg(0), *ms > 0 ? *ms : 0);
      break;
    }
    case command::cant_do:
      handle_cant_do(c, p.arg(0), now);
      break;
    case command::reset_abilities:
      handle_reset_abilities(c, now);
      break;
    case command::pre_sleep:
      handle_pre_sleep(c);
      break;
    case command::submit_job:
    case command::submit_job_bg:
    case command::submit_job_high:
    case command::submit_job_high_bg:
    case command::submit_job_low:
    case command::submit_job_low_bg:
    case command::submit_job_epoch:
    case command::submit_reduce_job:
    case command::submit_reduce_job_background:
      handle_submit(c, p, now);
      break;
    case command::submit_job_sched:
      // PROTOCOL: "not currently used and may be removed"; C gearmand refuses it the same way.
      send_error(conn, "INVALID_COMMAND", "SUBMIT_JOB_SCHED is not supported");
      break;
    case command::grab_job:
    case command::grab_job_uniq:
    case command::grab_job_all:
      handle_grab(c, p.cmd, now);
      break;
    case command::work_status:
    case command::work_data:
    case command::work_warning:
      handle_work_update(c, p);
      break;
    case command::work_complete:
    case command::work_fail:
    case command::work_exception:
      handle_work_end(c, p);
      break;
    case command::get_status:
      handle_get_status(c, p);
      break;
    case command::get_status_unique:
      handle_get_status_unique(c, p);
      break;
    case command::echo_req:
      send(conn, command::echo_res, {p.arg(0)});
      break;
    case command::option_req:
      // OPTION_REQ: only "exceptions" exists; C compares case-insensitively and echoes the bytes.
      if (wire::iequals(p.arg(0), "exceptions")) {
        c.exceptions = true;
        send(conn, command::option_res, {p.arg(0)});
      } else {
        send_error(conn, "UNKNOWN_OPTION", "Server does not recognize given option");
      }
      break;
    case command::set_client_id:
      c.client_id = std::string(p.arg(0));
      break;
    default:
      // ALL_YOURS ("Not yet implemented" in PROTOCOL) and anything else unhandled.
      send_error(conn, "INVALID_COMMAND", "Command not expected");
      break;
  }
}

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
    if (options_.maxqueue == maxqueue_policy::reject) {
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

void job_server::handle_grab(connection& c, command how, time_point now) {
  c.sleeping = false;
  c.noop_sent = false;
  job* j = pick_job(c);
  if (!j) {
    send(c.id, command::no_job, {});
    return;
  }
  assign(*j, c, now);
  const std::string_view func = j->fn->name;
  if (how == command::grab_job) {
    send(c.id, command::job_assign, {j->handle, func, j->data});
  } else if (how == command::grab_job_all && j->has_reducer) {
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
    // WORK_EXCEPTION is terminal; clients that did not opt in get WORK_FAIL (C, docs/protocol.md
    // §3.10), without C's stray trailing NUL.
    for (conn_id client : j->clients) {
      auto ci = connections_.find(client);
      if (ci != connections_.end() && ci->second->exceptions)
        send(client, command::work_exception, {j->handle, p.arg(1)});
      else
        send(client, command::work_fail, {j->handle});
    }
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
  // A sleeping worker that learns a function with queued work must hear about it.
  if (c.sleeping && !c.noop_sent && (fn.queues[0].size || fn.queues[1].size || fn.queues[2].size)) {
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
  if (has_runnable_work(c)) {
    c.noop_sent = true;
    send(c.id, command::noop, {});
  }
}

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
  if (j.clients.empty() && !j.keep_alive) {
    finish(j);  // nobody waits for it any more: never run it again
    return;
  }
  j.numerator = "0";
  j.denominator = "0";
  enqueue(j, true);
}

void job_server::detach_client(job& j, conn_id client) {
  erase_value(j.clients, client);  // every submission the connection made

  // Never run a foreground job nobody waits for; once a worker holds it, let it finish.
  if (j.clients.empty() && !j.keep_alive && !j.worker) finish(j);
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

// ---------------------------------------------------------------------------------------------
// Output.

void job_server::send(conn_id conn, command cmd, std::initializer_list<std::string_view> args) {
  scratch_.clear();
  wire::encode(wire::packet_magic::response, cmd,
               std::span<const std::string_view>(args.begin(), args.size()), scratch_);
  sink_.write(conn, scratch_);
}

void job_server::send_error(conn_id conn, std::string_view code, std::string_view text) {
  send(conn, command::error, {code, text});
}

void job_server::send_text(conn_id conn, std::string_view text) {
  sink_.write(conn, text);
}

void job_server::broadcast(const job& j, command cmd,
                           std::initializer_list<std::string_view> args) {
  if (j.clients.empty()) return;
  scratch_.clear();
  wire::encode(wire::packet_magic::response, cmd,
               std::span<const std::string_view>(args.begin(), args.size()), scratch_);
  for (conn_id client : j.clients) sink_.write(client, scratch_);
}

}  // namespace gearspec::refsrv
