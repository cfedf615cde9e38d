#pragma once
// A fresh server process per server per scenario (--spawn), and the loopback port helpers it uses.

#include <cstdint>
#include <string>

#include "harness/engine/target.hpp"

namespace gearspec::targets {

/** A fresh server process per server per scenario: COMMAND with {port} replaced by a free port
    (and {dir} by a private directory that survives restarts). Ready when the port is in the
    listen table. If the process exits before listening because its port was taken in the
    meantime (another process bound it first), it is started again on a fresh port, a bounded
    number of times. persistent says the command configures a persistent queue (kept in {dir}). */
class spawn_target final : public engine::target {
 public:
  explicit spawn_target(std::string command_template, double timeout_scale = 1.0,
                        bool persistent = false);
  using engine::target::start;
  using engine::target::unsupported;
  std::unique_ptr<engine::target_instance> start(const std::vector<std::string>& servers,
                                                 const engine::server_needs& needs) override;
  std::optional<std::string> unsupported(const std::vector<std::string>& servers,
                                         const engine::server_needs& needs) const override;
  std::string describe() const override;

 private:
  std::string command_;
  double scale_;
  bool persistent_;
};

/// A port on 127.0.0.1 that was free a moment ago.
std::uint16_t pick_free_port();

/// True if something listens on TCP port (any local address), from /proc/net/tcp{,6}.
bool port_is_listening(std::uint16_t port);

}  // namespace gearspec::targets
