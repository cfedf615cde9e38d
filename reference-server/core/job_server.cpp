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
using detail::parse_int;
using wire::command;

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
  if (options_.defects.ignored.count(p.cmd)) return;  // emulated defect: never answered
  if (options_.defects.refused.count(p.cmd)) {
    send_error(conn, "INVALID_COMMAND", "not implemented (emulated defect)");
    return;
  }
  if (wire::is_submit(p.cmd) && p.cmd != command::submit_job_sched) {
    handle_submit(c, p, now);
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

// ---------------------------------------------------------------------------------------------
// Output.

void job_server::send(conn_id conn, command cmd, std::initializer_list<std::string_view> args) {
  scratch_.clear();
  wire::encode(wire::packet_magic::response, cmd,
               std::span<const std::string_view>(args.begin(), args.size()), scratch_);
  sink_.write(conn, scratch_);
}

void job_server::send_error(conn_id conn, std::string_view code, std::string_view text) {
  if (options_.defects.lowercase_error_codes) {
    const std::string lower = wire::to_lower(code);
    send(conn, command::error, {lower, text});
    return;
  }
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
  if (options_.defects.per_connection_results) {
    std::vector<conn_id> once;
    for (conn_id client : j.clients)
      if (std::find(once.begin(), once.end(), client) == once.end()) once.push_back(client);
    for (conn_id client : once) sink_.write(client, scratch_);
    return;
  }
  for (conn_id client : j.clients) sink_.write(client, scratch_);
  if (options_.defects.duplicate_completions && cmd == command::work_complete)
    for (conn_id client : j.clients) sink_.write(client, scratch_);
}

}  // namespace gearspec::refsrv
