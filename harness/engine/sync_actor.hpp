#pragma once
// A blocking actor for scripting (the Python bindings, socket tests): the engine's actor
// (actor.hpp) on an io_context of its own, each call run to completion. Every wait is bounded.
// A mismatch or timeout is thrown as expect_error with a message that says what was awaited and
// what arrived instead; a bad packet name, arity or regex is std::invalid_argument.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/scenario/model.hpp"
#include "harness/wire/admin.hpp"
#include "harness/wire/packet.hpp"

namespace gearspec::engine {

/// An expectation was not met (wrong packet, timeout, closed connection).
class expect_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class sync_actor {
 public:
  /// Connects to host:port within timeout; throws expect_error if it cannot.
  sync_actor(const std::string& host, std::uint16_t port,
             std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~sync_actor();
  sync_actor(const sync_actor&) = delete;
  sync_actor& operator=(const sync_actor&) = delete;

  /// Sends a request packet by protocol name (case-insensitive). Throws std::invalid_argument for
  /// an unknown name or the wrong number of arguments, expect_error if the connection is gone.
  void send(const std::string& name, const std::vector<std::string>& args);
  /// Sends arbitrary bytes.
  void send_raw(const std::string& bytes);
  /// The next packet, or nullopt if none arrives within timeout (throws if the connection closed).
  std::optional<wire::packet> receive(std::chrono::milliseconds timeout);
  /// The next packet must be `name` with arguments matching (missing trailing ones match
  /// anything); returns it, or throws expect_error.
  wire::packet expect(const std::string& name, const std::vector<scenario::matcher>& args,
                      std::chrono::milliseconds timeout);
  /// Nothing may arrive for `window`; throws expect_error naming what did.
  void expect_none(std::chrono::milliseconds window);
  /// The server must close the connection within timeout, sending nothing more first.
  void expect_closed(std::chrono::milliseconds timeout);
  /// Sends an admin line and returns the whole answer.
  wire::admin_response admin(const std::string& line, std::chrono::milliseconds timeout);
  /// Repeats the admin line every interval until accept(answer), within timeout; returns that
  /// answer or throws expect_error with the last one.
  wire::admin_response wait_until(const std::string& line,
                                  const std::function<bool(const wire::admin_response&)>& accept,
                                  std::chrono::milliseconds timeout,
                                  std::chrono::milliseconds interval);
  /// Graceful close (FIN).
  void close();
  /// Abortive close (RST).
  void kill();
  bool closed() const noexcept;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace gearspec::engine
