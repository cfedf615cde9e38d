#pragma once
// A blocking actor for scripting (the Python bindings): one TCP connection, packets in and out
// through the codec, every wait bounded. Mismatches and timeouts are thrown as expect_error with a
// message that says what was awaited and what arrived instead.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "harness/wire/admin.hpp"
#include "harness/wire/packet.hpp"

namespace gearspec::engine {

/// An expectation was not met (wrong packet, timeout, closed connection).
class expect_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How one argument of an expected packet is judged.
struct arg_matcher {
  enum class kind { any, exact, regex, prefix };
  kind type = kind::any;
  std::string value;
  static arg_matcher any() { return {}; }
  static arg_matcher exact(std::string v) { return {kind::exact, std::move(v)}; }
  static arg_matcher regex(std::string v) { return {kind::regex, std::move(v)}; }
  static arg_matcher prefix(std::string v) { return {kind::prefix, std::move(v)}; }
  bool matches(const std::string& actual) const;
  std::string describe() const;
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
  /// The next packet must be `name` with arguments matching; returns it, or throws expect_error.
  wire::packet expect(const std::string& name, const std::vector<arg_matcher>& args,
                      std::chrono::milliseconds timeout);
  /// Nothing may arrive for `window`; throws expect_error naming what did.
  void expect_none(std::chrono::milliseconds window);
  /// The server must close the connection within timeout.
  void expect_closed(std::chrono::milliseconds timeout);
  /// Sends an admin line and returns the whole answer.
  wire::admin_response admin(const std::string& line, std::chrono::milliseconds timeout);
  /// Graceful close (FIN).
  void close();
  /// Abortive close (RST).
  void kill();
  bool closed() const noexcept { return fd_ < 0 || eof_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace gearspec::engine
