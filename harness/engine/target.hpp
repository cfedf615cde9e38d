#pragma once
// Targets: where the servers of a scenario come from. The engine only needs addresses; starting,
// watching and stopping servers is a target's job.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
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

/// What a scenario needs from its servers besides addresses (its `needs:` list).
struct server_needs {
  bool restart = false;           ///< restart / crash steps: the target must be able to do both
  bool persistent_queue = false;  ///< background jobs must survive a restart (a persistent queue)
  bool disposable = false;  ///< the scenario stops or disturbs the whole server: never a shared one
  /// Options an embedded reference server runs this scenario with (its `reference_options:`);
  /// targets that are not the reference ignore them.
  std::vector<std::pair<std::string, std::string>> reference_options;
};

/// The servers one scenario run uses.
class target_instance {
 public:
  virtual ~target_instance() = default;
  /// Address of a named server of the scenario.
  virtual endpoint address(const std::string& server) const = 0;
  /** Stops a server and starts it again on the same address with the same data directory:
      gracefully (SIGTERM, or an orderly stop in-process) or as a crash (SIGKILL, or an in-process
      stop that writes nothing more). Returns once it listens again. Throws target_error. */
  virtual void restart(const std::string& server, bool crash) {
    (void)crash;
    throw target_error("this target cannot restart server '" + server + "'");
  }
  /// If a server has died or misbehaved at the process level, says how (checked after a failure).
  virtual std::optional<std::string> problem() { return std::nullopt; }
  /// Server-side log lines worth showing with a failure (spawned servers' output).
  virtual std::string logs() const { return {}; }
  /// CPU time a server has used so far (user, system), where the target can see it: spawned
  /// servers (their process) and the embedded one (its thread). For efficiency, not verdicts.
  struct cpu_time {
    double user_s = 0, system_s = 0;
  };
  virtual std::optional<cpu_time> server_cpu(const std::string& server) const {
    (void)server;
    return std::nullopt;
  }
};

/// A source of servers.
class target {
 public:
  virtual ~target() = default;
  /// Starts or locates one server per name. Throws target_error.
  virtual std::unique_ptr<target_instance> start(const std::vector<std::string>& servers,
                                                 const server_needs& needs) = 0;
  std::unique_ptr<target_instance> start(const std::vector<std::string>& servers) {
    return start(servers, {});
  }
  /// Why a scenario with these servers and needs cannot run here, or nullopt if it can.
  virtual std::optional<std::string> unsupported(const std::vector<std::string>& servers,
                                                 const server_needs& needs) const {
    (void)servers;
    (void)needs;
    return std::nullopt;
  }
  std::optional<std::string> unsupported(const std::vector<std::string>& servers) const {
    return unsupported(servers, {});
  }
  /// One line for reports, e.g. "embedded reference server".
  virtual std::string describe() const = 0;
};

/// CPU time from a /proc/.../stat file (utime and stime, fields 14 and 15), or nullopt.
std::optional<target_instance::cpu_time> read_proc_cpu(const std::string& stat_path);

/// Parses "HOST:PORT" (throws std::invalid_argument).
endpoint parse_endpoint(const std::string& text);

}  // namespace gearspec::engine
