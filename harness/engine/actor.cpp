#include "harness/engine/actor.hpp"

#include <algorithm>

#include "harness/wire/ascii.hpp"
#include "harness/wire/encoder.hpp"
#include "harness/wire/printer.hpp"

namespace gearspec::engine {

namespace asio = net::asio;
using net::tcp;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

std::string ms_text(milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

/// A short name for the kind of undecodable input (for grouping failures).
std::string undecodable_kind(const wire::decode_result& r) {
  switch (static_cast<wire::errc>(r.error.value())) {
    case wire::errc::bad_magic:
      return "bytes without a packet magic";
    case wire::errc::unexpected_magic:
      return "a response with the request magic \\0REQ";
    case wire::errc::unknown_command:
      return "a packet of unknown type";
    case wire::errc::too_few_arguments:
      return "a packet with too few arguments";
    case wire::errc::packet_too_large:
      return "a packet above the size limit";
    default:
      return r.error.message();
  }
}

/// What arrived, in words, when the stream could not be decoded (frame and result of the
/// failing decode; rest: the bytes from the failing frame on).
std::string undecodable(const wire::decode_result& r, const wire::frame& f, std::string_view rest) {
  const auto bytes = [](std::string_view b) { return quote(b.substr(0, 24)); };
  switch (static_cast<wire::errc>(r.error.value())) {
    case wire::errc::bad_magic:
      return "bytes that do not start with a packet magic (\\0RES): " + bytes(rest);
    case wire::errc::unexpected_magic:
      return "a packet with the request magic \\0REQ, which only clients and workers send "
             "(a server sends \\0RES): " +
             wire::to_string(f.packet, {64, true});
    case wire::errc::unknown_command:
      return "a packet of unknown type " + std::to_string(f.type_number) + ": " + bytes(f.raw);
    case wire::errc::too_few_arguments:
      return "a " + std::string(wire::name(f.packet.cmd)) +
             " packet with fewer arguments than its " +
             std::to_string(wire::info(f.packet.cmd).arg_count) + ": " + bytes(f.raw);
    case wire::errc::packet_too_large:
      return "a packet header announcing more payload than the 64 MiB limit: " + bytes(rest);
    default:
      return r.error.message() + ": " + bytes(rest);
  }
}

}  // namespace

actor::actor(asio::io_context& io, std::string name, protocol speaks,
             std::vector<wire::command> ignore, transcript_sink sink)
    : io_(io),
      name_(std::move(name)),
      speaks_(speaks),
      ignore_(std::move(ignore)),
      sink_(std::move(sink)),
      socket_(io),
      signal_(io),
      pause_(io),
      decoder_(wire::packet_magic::response, {}, speaks == protocol::mixed) {}

actor::actor(asio::io_context& io, std::string name, std::vector<wire::command> ignore,
             transcript_sink sink, accepted_peer)
    : io_(io),
      name_(std::move(name)),
      speaks_(protocol::binary),
      ignore_(std::move(ignore)),
      sink_(std::move(sink)),
      socket_(io),
      signal_(io),
      pause_(io),
      decoder_(wire::packet_magic::request, {}, false),
      peer_("the library") {}

actor::~actor() {
  *alive_ = false;
  net::error_code ignored;
  socket_.close(ignored);
}

void actor::record(char direction, std::string text, std::optional<wire::packet> p) {
  if (sink_) sink_(name_, direction, std::move(text), std::move(p));
}

bool actor::ignored(wire::command cmd) const {
  return std::find(ignore_.begin(), ignore_.end(), cmd) != ignore_.end();
}

asio::awaitable<void> actor::nap(steady_time deadline) {
  signal_.expires_at(deadline);
  net::error_code ec;
  co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> actor::pause(milliseconds d) {
  pause_.expires_after(d);
  net::error_code ec;
  co_await pause_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

void actor::abort() {
  aborted_ = true;
  signal_.cancel();
  pause_.cancel();
  if (connected_ && !closed_) {
    closed_by_us_ = true;
    net::error_code ignored;
    socket_.close(ignored);
  }
}

void actor::close(bool abortive) {
  closed_by_us_ = true;
  if (closed_) {
    // The scenario ends this connection anyway; the server got there first.
    record('*', "already " + close_reason_);
    return;
  }
  net::error_code ec;
  if (abortive)
    socket_.set_option(asio::socket_base::linger(true, 0), ec);  // close() then sends RST
  else
    socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  record('*', abortive ? "killed (RST)" : "disconnected");
}

// ---------------------------------------------------------------------------------------------
// Connecting, reading and writing.

asio::awaitable<step_outcome> actor::connect(const endpoint& where, milliseconds limit) {
  const std::string expected = "a connection to " + where.str();
  net::error_code ec;
  tcp::endpoint target;
  const auto address = asio::ip::make_address(where.host, ec);
  if (!ec) {
    target = tcp::endpoint(address, where.port);
  } else {
    tcp::resolver resolver(io_);
    const auto found = co_await resolver.async_resolve(
        where.host, std::to_string(where.port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec || found.empty())
      co_return step_outcome::error(expected, "cannot resolve " + where.host, "target");
    target = *found.begin();
  }
  // Bounded connect: a timer closes the socket if the server does not answer.
  asio::steady_timer timer(io_);
  timer.expires_after(limit);
  bool timed_out = false;
  auto on_limit = [this, &timed_out](const net::error_code& e) {
    if (e) return;
    timed_out = true;
    net::error_code ignored;
    socket_.close(ignored);
  };
  timer.async_wait(on_limit);
  co_await socket_.async_connect(target, asio::redirect_error(asio::use_awaitable, ec));
  timer.cancel();
  if (aborted_) co_return step_outcome::aborted();
  if (ec)
    co_return step_outcome::error(
        expected, timed_out ? "no connection within " + ms_text(limit) : ec.message(),
        "could not reach the target");
  socket_.set_option(tcp::no_delay(true), ec);
  connected_ = true;
  record('*', "connected to " + where.str());
  start_reading();
  co_return step_outcome::ok();
}

void actor::adopt(tcp::socket accepted) {
  socket_ = std::move(accepted);
  net::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  connected_ = true;
  const auto from = socket_.remote_endpoint(ec);
  record('*', "accepted a connection" +
                  (ec ? std::string() : " from port " + std::to_string(from.port())));
  start_reading();
}

void actor::start_reading() {
  reading_ = true;
  auto on_reader_end = [this, alive = alive_](std::exception_ptr) {
    if (*alive) reading_ = false;
  };
  asio::co_spawn(io_, reader(), on_reader_end);
}

void actor::decode_received(std::string_view bytes) {
  if (speaks_ == protocol::admin) {
    text_.append(bytes);
    return;
  }
  decoder_.feed(bytes);
  while (garbage_.empty()) {
    wire::frame f;
    const auto rest = decoder_.pending();
    const auto r = decoder_.next(f);
    if (r.status == wire::decode_status::need_more) break;
    if (r.status == wire::decode_status::error && accept_request_magic_ &&
        r.error == wire::errc::unexpected_magic && f.type == wire::frame::kind::binary &&
        !wire::split_arguments(f.packet.cmd, f.raw.substr(wire::header_size), f.packet)) {
      auto p = wire::packet::from(f.packet);
      record('<', wire::to_string(p) + " [request magic]", p);
      inbox_.push_back(std::move(p));
      continue;
    }
    if (r.status == wire::decode_status::error) {
      // The first bad frame ends decoding: what follows cannot be trusted to be framed right.
      garbage_ = undecodable(r, f, rest);
      garbage_kind_ = "undecodable: " + undecodable_kind(r);
      record('<', "undecodable: " + garbage_);
      break;
    }
    if (f.type == wire::frame::kind::text) {  // mixed: admin lines wait for an admin exchange
      text_.append(f.raw);
      continue;
    }
    auto p = wire::packet::from(f.packet);
    record('<', wire::to_string(p), p);
    inbox_.push_back(std::move(p));
  }
}

asio::awaitable<void> actor::reader() {
  const auto alive = alive_;  // in the coroutine frame, which outlives a destroyed actor
  std::string chunk(64 * 1024, '\0');
  while (true) {
    net::error_code ec;
    const auto n = co_await socket_.async_read_some(asio::buffer(chunk),
                                                    asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;  // the actor is gone; its destructor closed the socket
    if (ec) {
      closed_ = true;
      close_reason_ = ec == asio::error::eof ? "closed by " + peer_ : ec.message();
      if (!closed_by_us_) record('*', "connection " + close_reason_);
      signal_.cancel();
      co_return;
    }
    decode_received(std::string_view(chunk.data(), n));
    signal_.cancel();
  }
}

asio::awaitable<step_outcome> actor::write(std::string bytes, scenario::write_pacing pacing,
                                           std::string shown, std::optional<wire::packet> packet) {
  if (packet) {
    last_request_ = std::string(wire::name(packet->cmd));
    last_packet_ = packet->cmd;
  } else if (!shown.empty()) {
    last_request_ = "raw bytes";
    last_packet_.reset();
  }
  if (!shown.empty()) record('>', std::move(shown), std::move(packet));
  if (closed_)
    co_return step_outcome::fail("an open connection to write to",
                                 "the connection was " + close_reason_, {},
                                 "connection closed before a write");
  const std::size_t piece = pacing.chunk ? pacing.chunk : std::max<std::size_t>(bytes.size(), 1);
  for (std::size_t at = 0; at < bytes.size() || (at == 0 && bytes.empty()); at += piece) {
    net::error_code ec;
    const auto part = std::string_view(bytes).substr(at, piece);
    co_await asio::async_write(socket_, asio::buffer(part.data(), part.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (aborted_) co_return step_outcome::aborted();
    if (ec)
      co_return step_outcome::fail("to write " + std::to_string(bytes.size()) + " bytes",
                                   "write failed: " + ec.message());
    if (bytes.empty()) break;
    if (pacing.delay.count() > 0 && at + piece < bytes.size()) co_await pause(pacing.delay);
  }
  co_return step_outcome::ok();
}

// ---------------------------------------------------------------------------------------------
// Waiting and judging.

asio::awaitable<std::optional<wire::packet>> actor::next_packet(steady_time deadline,
                                                                step_outcome* why) {
  while (!aborted_) {
    if (!inbox_.empty()) {
      auto p = std::move(inbox_.front());
      inbox_.pop_front();
      co_return p;
    }
    if (!garbage_.empty()) {
      if (why) *why = step_outcome::fail("a packet", "undecodable bytes: " + garbage_);
      co_return std::nullopt;
    }
    if (closed_) {
      if (why) *why = step_outcome::fail("a packet", "connection " + close_reason_);
      co_return std::nullopt;
    }
    if (clock::now() >= deadline) {
      if (why) *why = step_outcome::fail("a packet", "nothing", "timeout");
      co_return std::nullopt;
    }
    co_await nap(deadline);
  }
  if (why) *why = step_outcome::aborted();
  co_return std::nullopt;
}

asio::awaitable<step_outcome> actor::expect(const alternatives& wanted, variables& vars,
                                            steady_time deadline, milliseconds limit,
                                            std::vector<wire::packet>* matched) {
  // When the step awaits the answer to the actor's last request (JOB_ASSIGN after GRAB_JOB), a
  // packet that cannot be that answer (a NOOP) does not end the wait: what is reported is then
  // whether the answer ever came.
  std::vector<wire::command> answers;
  if (last_packet_) answers = answers_to(*last_packet_);
  const auto is_answer = [&answers](wire::command c) {
    return std::find(answers.begin(), answers.end(), c) != answers.end();
  };
  bool awaits_answer = !answers.empty();
  for (const auto& sequence : wanted)
    if (sequence.empty() || !is_answer(sequence.front().cmd)) awaits_answer = false;
  const std::string request = last_request_;
  while (!aborted_) {
    inbox_judgement j;
    try {
      j = judge_inbox(wanted, inbox_, ignore_, vars);
    } catch (const bad_pattern& e) {
      co_return step_outcome::error(describe(wanted, vars), e.what(), "the scenario's fault",
                                    "the scenario's regex is invalid");
    }
    if (j.result == inbox_judgement::kind::match) {
      vars.commit(j.captures);
      if (matched)
        for (const auto* p : j.relevant) {
          matched->push_back(*p);
          if (matched->size() == j.matched) break;
        }
      inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<long>(j.consumed));
      co_return step_outcome::ok();
    }
    const bool answered = std::any_of(j.relevant.begin(), j.relevant.end(),
                                      [&](const wire::packet* p) { return is_answer(p->cmd); });
    const bool keep_waiting =
        awaits_answer && !answered && garbage_.empty() && !closed_ && clock::now() < deadline;
    if (j.result == inbox_judgement::kind::mismatch && !keep_waiting) {
      if (awaits_answer && !answered)
        co_return step_outcome::fail(describe(wanted, vars),
                                     "no answer to " + request + " within " + ms_text(limit) +
                                         "; what came instead: " + show(j.relevant),
                                     "timeout", "no answer to " + request);
      co_return step_outcome::fail(describe(wanted, vars), show(j.relevant), {},
                                   mismatch_cause(wanted, j.relevant, request, vars));
    }
    if (!garbage_.empty())
      co_return step_outcome::fail(describe(wanted, vars), "undecodable bytes: " + garbage_, {},
                                   garbage_kind_);
    if (closed_)
      co_return step_outcome::fail(
          describe(wanted, vars),
          "connection " + close_reason_ + (j.relevant.empty() ? "" : " after a partial match"), {},
          (request.empty() ? "" : "after " + request + ": ") + "connection closed instead of " +
              expected_kinds(wanted));
    if (clock::now() >= deadline) {
      if (j.relevant.empty() || (awaits_answer && !answered)) {
        // "No answer to X" only where the step awaits X's answer; a WORK_DATA that never comes
        // after a SUBMIT_JOB is not a missing answer to the submit.
        const bool unanswered = awaits_answer && !request.empty();
        std::string actual = unanswered ? "no answer to " + request + " within " + ms_text(limit)
                                        : "nothing within " + ms_text(limit);
        if (!j.relevant.empty()) actual += "; what came instead: " + show(j.relevant);
        co_return step_outcome::fail(describe(wanted, vars), actual, "timeout",
                                     unanswered
                                         ? "no answer to " + request
                                         : expected_kinds(wanted) + " never came" +
                                               (request.empty() ? "" : " (after " + request + ")"));
      }
      co_return step_outcome::fail(describe(wanted, vars),
                                   "only " + wire::to_string(*j.relevant[0]) +
                                       (j.relevant.size() > 1 ? " ..." : "") + " (timed out)",
                                   "timeout", mismatch_cause(wanted, j.relevant, request, vars));
    }
    co_await nap(deadline);
  }
  co_return step_outcome::aborted();
}

asio::awaitable<step_outcome> actor::expect_none(milliseconds window) {
  const auto deadline = clock::now() + window;  // the window is the behaviour: not scaled
  const auto expected = "nothing for " + ms_text(window);
  while (!aborted_) {
    if (const auto* p = first_unignored(inbox_, ignore_))
      co_return step_outcome::fail(
          expected, wire::to_string(*p), {},
          "unexpected " + std::string(wire::name(p->cmd)) + " where nothing should arrive");
    if (!garbage_.empty())
      co_return step_outcome::fail(expected, "undecodable bytes: " + garbage_, {}, garbage_kind_);
    if (closed_)
      co_return step_outcome::fail("an open, quiet connection", "connection " + close_reason_, {},
                                   "connection closed where it should stay open");
    if (clock::now() >= deadline) co_return step_outcome::ok();
    co_await nap(deadline);
  }
  co_return step_outcome::aborted();
}

asio::awaitable<step_outcome> actor::expect_closed(steady_time deadline, milliseconds limit) {
  const std::string expected = "the server closes the connection";
  while (!aborted_) {
    if (const auto* p = first_unignored(inbox_, ignore_))
      co_return step_outcome::fail(expected, wire::to_string(*p) + " arrived first", {},
                                   std::string(wire::name(p->cmd)) + " instead of a close");
    if (!garbage_.empty())
      co_return step_outcome::fail(expected, "undecodable bytes arrived first: " + garbage_, {},
                                   garbage_kind_);
    if (closed_) {
      if (binary() && decoder_.buffered() > 0)
        co_return step_outcome::fail(expected,
                                     std::to_string(decoder_.buffered()) +
                                         " bytes that are not a whole packet, then the close");
      close_expected_ = true;
      co_return step_outcome::ok();
    }
    if (clock::now() >= deadline)
      co_return step_outcome::fail(expected, "still open after " + ms_text(limit), "timeout",
                                   (last_request_.empty() ? "" : "after " + last_request_ + ": ") +
                                       "the connection stays open");
    co_await nap(deadline);
  }
  co_return step_outcome::aborted();
}

asio::awaitable<admin_result> actor::exchange(const std::string& line, steady_time deadline) {
  admin_result out;
  out.status = co_await write(line + "\n", {}, {}, {});
  const auto space = line.find(' ');
  last_request_ = wire::to_lower(line.substr(0, std::min(line.size(), space)));
  if (last_request_ == "show" || last_request_ == "cancel" || last_request_ == "create" ||
      last_request_ == "drop")  // two-word commands
    last_request_ = wire::to_lower(line.substr(0, line.find(' ', space + 1)));
  last_packet_.reset();
  if (!out.status) co_return out;
  const auto shape = wire::admin_response_shape(line);
  while (!aborted_) {
    wire::admin_response answer;
    const auto r = wire::parse_admin_response(text_, shape, answer);
    if (r.status == wire::decode_status::complete) {
      text_.erase(0, r.consumed);
      out.answer = std::move(answer);
      co_return out;
    }
    if (r.status == wire::decode_status::error) {
      out.status = step_outcome::fail("an admin answer", r.error.message(), {},
                                      "admin " + last_request_ + ": an undecodable answer");
      co_return out;
    }
    if (closed_) {
      out.status = step_outcome::fail(
          "an answer to " + quote(line),
          "connection " + close_reason_ + (text_.empty() ? "" : " after " + quote(text_)), {},
          "admin " + last_request_ + ": connection closed instead of an answer");
      co_return out;
    }
    if (clock::now() >= deadline) {
      out.status =
          step_outcome::fail("an answer to " + quote(line),
                             text_.empty() ? "nothing (timed out)"
                                           : "incomplete answer " + quote(text_) + " (timed out)",
                             "timeout", "admin " + last_request_ + ": no answer");
      co_return out;
    }
    co_await nap(deadline);
  }
  out.status = step_outcome::aborted();
  co_return out;
}

std::string actor::shown(const wire::admin_response& answer) {
  std::string out;
  for (const auto& l : answer.lines) out += (out.empty() ? "" : " | ") + wire::escape_bytes(l, 200);
  return answer.type == wire::admin_response::kind::list ? "[" + out + "] ." : quote(out);
}

asio::awaitable<admin_result> actor::admin(const std::string& line, steady_time deadline) {
  record('>', quote(line));
  auto result = co_await exchange(line, deadline);
  if (result.answer) record('<', shown(*result.answer));
  co_return result;
}

asio::awaitable<admin_result> actor::poll_admin(const std::string& line, const answer_judge& judge,
                                                steady_time deadline, milliseconds per_poll,
                                                milliseconds interval) {
  std::string previous;  // the last answer shown in the transcript
  std::string wrong;
  admin_result last;
  int polls = 0;
  record('>', quote(line));
  while (!aborted_) {
    const auto poll_deadline = std::max(deadline, clock::now() + per_poll);
    auto result = co_await exchange(line, poll_deadline);
    if (!result.status) co_return result;
    ++polls;
    // A repeated identical answer is counted, not recorded again.
    const auto now_shown = shown(*result.answer);
    if (now_shown != previous) {
      if (!previous.empty()) record('>', quote(line) + " (polling)");
      record('<', now_shown);
      previous = now_shown;
    }
    try {
      wrong = judge(*result.answer);
    } catch (const bad_pattern& e) {
      result.status =
          step_outcome::error("an answer to " + quote(line), e.what(), "the scenario's fault");
      co_return result;
    }
    last = std::move(result);
    if (wrong.empty()) co_return last;
    if (clock::now() + interval >= deadline) break;
    co_await pause(interval);
  }
  if (aborted_) {
    last.status = step_outcome::aborted();
    co_return last;
  }
  last.status = step_outcome::fail(wrong, show(*last.answer),
                                   "timeout after " + std::to_string(polls) + " polls",
                                   "admin " + last_request_ + ": the awaited answer never came");
  co_return last;
}

asio::awaitable<step_outcome> actor::end_round_trip(const std::string& token, steady_time deadline,
                                                    milliseconds limit, const char* label,
                                                    wire::command sync) {
  if (!connected_ || closed_ || lost_to_restart || !binary()) co_return step_outcome::ok();
  // ECHO_REQ -> ECHO_RES(token); GET_STATUS of a handle no server issued -> STATUS_RES(token, ...)
  const bool echo = sync == wire::command::echo_req;
  const wire::command ask = echo ? wire::command::echo_req : wire::command::get_status;
  const wire::command answer = echo ? wire::command::echo_res : wire::command::status_res;
  const std::string asked(wire::name(ask));
  wire::packet request{wire::packet_magic::request, ask, {token}};
  std::string bytes;
  wire::encode(request, bytes);
  auto shown = wire::to_string(request) + " (" + label + ")";
  // A write refused because the server closed the connection is the audit's business.
  if (const auto sent = co_await write(std::move(bytes), {}, std::move(shown), std::move(request));
      !sent && !closed_)
    co_return sent;
  while (!aborted_ && !closed_) {
    const auto it = std::find_if(inbox_.begin(), inbox_.end(), [&](const wire::packet& p) {
      return p.cmd == answer && !p.args.empty() && p.args[0] == token;
    });
    if (it != inbox_.end()) {
      inbox_.erase(it);
      co_return step_outcome::ok();
    }
    if (!garbage_.empty()) co_return step_outcome::ok();  // audit() reports it
    if (clock::now() >= deadline)
      co_return step_outcome::fail(
          std::string(wire::name(answer)) + "(\"" + token + "\") (" + label + ")",
          "no answer to " + asked + " within " + ms_text(limit), "timeout",
          std::string("no answer to the ") + label + " " + asked);
    co_await nap(deadline);
  }
  co_return step_outcome::ok();
}

std::vector<wire::packet> actor::take_received() {
  std::vector<wire::packet> out(std::make_move_iterator(inbox_.begin()),
                                std::make_move_iterator(inbox_.end()));
  inbox_.clear();
  return out;
}

step_outcome actor::audit() const {
  if (!garbage_.empty())
    return step_outcome::fail("only Gearman packets", "undecodable bytes: " + garbage_, {},
                              garbage_kind_);
  if (const auto* p = first_unignored(inbox_, ignore_))
    return step_outcome::fail(
        "no packet that no step expects", wire::to_string(*p),
        "unexpected packet (expect it, or add its type to the actor's ignore list)",
        "an extra " + std::string(wire::name(p->cmd)) + " nobody expected");
  if (binary() && closed_ && !closed_by_us_ && !close_expected_ && !lost_to_restart)
    return step_outcome::fail("the connection to stay open", "connection " + close_reason_,
                              "unexpected disconnect (add an expect_closed step if the server "
                              "should close it)",
                              "an unexpected disconnect");
  if (!text_.empty())
    return step_outcome::fail("no unread admin output", quote(text_), {}, "extra admin output");
  return step_outcome::ok();
}

}  // namespace gearspec::engine
