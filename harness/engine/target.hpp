#pragma once
// Targets: where the servers of a scenario come from. The engine only needs addresses; starting,
// watching and stopping servers is a target's job.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace gearspec::engine {

/// A server address.
struct endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string str() const { return host + ":" + std::to_string(port); }
};

/// The target could not provide a server (it did not start, or is not reachable): an
/// infrastructure problem, reported as the verdict "error", never as a failure of the server.
class target_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The servers one scenario run uses.
class target_instance {
 public:
  virtual ~target_instance() = default;
  /// Address of a named server of the scenario.
  virtual endpoint address(const std::string& server) const = 0;
  /// If a server has died or misbehaved at the process level, says how (checked after a failure).
  virtual std::optional<std::string> problem() { return std::nullopt; }
  /// Server-side log lines worth showing with a failure (spawned servers' output).
  virtual std::string logs() const { return {}; }
};

/// A source of servers.
class target {
 public:
  virtual ~target() = default;
  /// Starts or locates one server per name. Throws target_error.
  virtual std::unique_ptr<target_instance> start(const std::vector<std::string>& servers) = 0;
  /// Why a scenario with these servers cannot run here, or nullopt if it can.
  virtual std::optional<std::string> unsupported(const std::vector<std::string>& servers) const {
    (void)servers;
    return std::nullopt;
  }
  /// One line for reports, e.g. "embedded reference server".
  virtual std::string describe() const = 0;
};

/// Existing servers: one address for "main" (or every name), or NAME=HOST:PORT per server.
class fixed_target final : public target {
 public:
  /// Each spec is "HOST:PORT" or "NAME=HOST:PORT". Throws std::invalid_argument on bad syntax.
  explicit fixed_target(const std::vector<std::string>& specs);
  std::unique_ptr<target_instance> start(const std::vector<std::string>& servers) override;
  std::optional<std::string> unsupported(const std::vector<std::string>& servers) const override;
  std::string describe() const override;

 private:
  std::map<std::string, endpoint> named_;
  std::optional<endpoint> default_;
};

/// A fresh server process per server per scenario: COMMAND with {port} replaced by a free port
/// (and {dir} by a private temporary directory). Ready when the port is in the listen table.
class spawn_target final : public target {
 public:
  explicit spawn_target(std::string command_template, double timeout_scale = 1.0);
  std::unique_ptr<target_instance> start(const std::vector<std::string>& servers) override;
  std::string describe() const override;

 private:
  std::string command_;
  double scale_;
};

/// Parses "HOST:PORT" (throws std::invalid_argument).
endpoint parse_endpoint(const std::string& text);

/// A port on 127.0.0.1 that was free a moment ago.
std::uint16_t pick_free_port();

/// True if something listens on TCP port (any local address), from /proc/net/tcp{,6}.
bool port_is_listening(std::uint16_t port);

}  // namespace gearspec::engine
