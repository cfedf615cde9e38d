#include "harness/engine/sync_actor.hpp"

#include "harness/engine/actor.hpp"
#include "harness/wire/encoder.hpp"

namespace gearspec::engine {

namespace asio = net::asio;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct sync_actor::state {
  asio::io_context io{1};
  actor conn{io, "script", protocol::mixed, {}, {}};
  variables vars{"script"};
  bool shut = false;

  /// Runs one of the actor's operations to completion on this thread.
  template <typename T>
  T run(asio::awaitable<T> op) {
    std::optional<T> result;
    std::exception_ptr error;
    bool done = false;
    auto on_done = [&](std::exception_ptr e, T value) {
      done = true;
      error = e;
      if (!e) result.emplace(std::move(value));
    };
    asio::co_spawn(io, std::move(op), on_done);
    while (!done) {
      if (io.stopped()) io.restart();
      io.run_one();
    }
    if (error) std::rethrow_exception(error);
    return std::move(*result);
  }

  /// The outcome as the exception a script sees.
  [[noreturn]] static void raise(const step_outcome& o, const std::string& expected) {
    if (o.result == step_outcome::kind::error) throw std::invalid_argument(o.actual);
    std::string what = "expected " + expected;
    if (o.note == "timeout" && o.actual.rfind("nothing", 0) == 0)
      what += ", but " + o.actual.substr(0, 7) + " arrived" + o.actual.substr(7);
    else if (o.actual.rfind("connection closed by the server", 0) == 0)
      what += ", but the server closed the connection";
    else
      what += ", got " + o.actual;
    throw expect_error(what);
  }
};

sync_actor::sync_actor(const std::string& host, std::uint16_t port, milliseconds timeout)
    : state_(std::make_unique<state>()) {
  const auto o = state_->run(state_->conn.connect({host, port}, timeout));
  if (!o)
    throw expect_error("cannot connect to " + host + ":" + std::to_string(port) + ": " + o.actual);
}

sync_actor::~sync_actor() {
  state_->conn.abort();
  state_->io.restart();
  state_->io.run();  // lets the reader see the close and end
}

void sync_actor::send_raw(const std::string& bytes) {
  if (state_->conn.closed() || state_->shut) throw expect_error("send on a closed connection");
  const auto o = state_->run(state_->conn.write(bytes, {}, {}, {}));
  if (!o) throw expect_error("send failed: " + o.actual);
}

void sync_actor::send(const std::string& name, const std::vector<std::string>& args) {
  const auto cmd = wire::command_from_name(name);
  if (!cmd) throw std::invalid_argument("unknown packet name '" + name + "'");
  const auto& shape = wire::info(*cmd);
  if (args.size() != shape.arg_count) {
    std::string names;
    for (std::size_t i = 0; i < shape.arg_count; ++i)
      names += (i ? ", " : "") + std::string(shape.arg_names[i]);
    throw std::invalid_argument(
        std::string(shape.name) + " takes " + std::to_string(shape.arg_count) + " argument(s)" +
        (names.empty() ? "" : " (" + names + ")") + ", got " + std::to_string(args.size()));
  }
  // Arguments are joined as given, like YAML send steps, so scripts can also craft odd packets.
  std::string payload;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i) payload.push_back('\0');
    payload += args[i];
  }
  std::string bytes;
  wire::encode_raw(wire::magic_bytes(wire::packet_magic::request), wire::number(*cmd),
                   static_cast<std::uint32_t>(payload.size()), payload, bytes);
  send_raw(bytes);
}

std::optional<wire::packet> sync_actor::receive(milliseconds timeout) {
  step_outcome why;
  auto p = state_->run(state_->conn.next_packet(clock::now() + timeout, &why));
  if (p) return p;
  if (why.note == "timeout") return std::nullopt;
  if (why.actual.rfind("connection", 0) == 0)
    throw expect_error("the server closed the connection");
  throw expect_error(why.actual);
}

wire::packet sync_actor::expect(const std::string& name, const std::vector<scenario::matcher>& args,
                                milliseconds timeout) {
  const auto cmd = wire::command_from_name(name);
  if (!cmd) throw std::invalid_argument("unknown packet name '" + name + "'");
  const auto& shape = wire::info(*cmd);
  if (args.size() > shape.arg_count)
    throw std::invalid_argument(std::string(shape.name) + " has " +
                                std::to_string(shape.arg_count) + " argument(s), got " +
                                std::to_string(args.size()) + " matchers");
  const alternatives wanted{{scenario::packet_expectation{*cmd, args, {}}}};
  std::vector<wire::packet> matched;
  const auto o = state_->run(
      state_->conn.expect(wanted, state_->vars, clock::now() + timeout, timeout, &matched));
  if (!o) state::raise(o, describe(wanted, state_->vars));
  return matched.front();
}

void sync_actor::expect_none(milliseconds window) {
  const auto o = state_->run(state_->conn.expect_none(window));
  if (!o) throw expect_error("expected " + o.expected + ", got " + o.actual);
}

void sync_actor::expect_closed(milliseconds timeout) {
  const auto o = state_->run(state_->conn.expect_closed(clock::now() + timeout, timeout));
  if (!o) throw expect_error("expected the server to close the connection, but " + o.actual);
}

wire::admin_response sync_actor::admin(const std::string& line, milliseconds timeout) {
  auto r = state_->run(state_->conn.admin(line, clock::now() + timeout));
  if (!r.status) throw expect_error("expected " + r.status.expected + ", got " + r.status.actual);
  return std::move(*r.answer);
}

wire::admin_response sync_actor::wait_until(
    const std::string& line, const std::function<bool(const wire::admin_response&)>& accept,
    milliseconds timeout, milliseconds interval) {
  const actor::answer_judge judge = [&accept](const wire::admin_response& answer) {
    return accept(answer) ? std::string() : std::string("the predicate to hold");
  };
  auto r =
      state_->run(state_->conn.poll_admin(line, judge, clock::now() + timeout, timeout, interval));
  if (!r.status)
    throw expect_error("admin '" + line + "' never matched within " +
                       std::to_string(timeout.count()) + " ms (" + r.status.note +
                       "); last answer: " + r.status.actual);
  return std::move(*r.answer);
}

void sync_actor::close() {
  if (state_->shut) return;
  state_->shut = true;
  state_->conn.close(false);
}

void sync_actor::kill() {
  if (state_->shut) return;
  state_->shut = true;
  state_->conn.close(true);
}

bool sync_actor::closed() const noexcept {
  return state_->shut || state_->conn.closed();
}

}  // namespace gearspec::engine
