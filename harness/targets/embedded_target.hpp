#pragma once
// The default target: a fresh in-process reference server per server of each scenario.

#include <string>
#include <utility>
#include <vector>

#include "harness/engine/target.hpp"
#include "reference-server/server/tcp_server.hpp"

namespace gearspec::targets {

/// Applies options of the reference server (names without dashes, "" for a flag's value) to
/// config, as `--ref` and a scenario's reference_options give them. Returns "" or what is wrong.
std::string apply_reference_options(
    refsrv::server_config& config,
    const std::vector<std::pair<std::string, std::string>>& options);

/// Servers run in-process. Restart stops a server and starts a new one on the same port; a crash
/// stops it between two events without closing anything in order or writing anything more (what
/// a SIGKILL would leave). Scenarios that need a persistent queue get one in a private directory.
class embedded_target final : public engine::target {
 public:
  /// config.port is ignored (each server gets a free loopback port).
  explicit embedded_target(refsrv::server_config config = {}) : config_(std::move(config)) {}
  using engine::target::start;
  std::unique_ptr<engine::target_instance> start(const std::vector<std::string>& servers,
                                                 const engine::server_needs& needs) override;
  std::string describe() const override { return "embedded reference server"; }

 private:
  refsrv::server_config config_;
};

}  // namespace gearspec::targets
