#pragma once
// The default target: a fresh in-process reference server per server of each scenario.

#include "harness/engine/target.hpp"
#include "reference-server/server/tcp_server.hpp"

namespace gearspec::targets {

class embedded_target final : public engine::target {
 public:
  /// config.port is ignored (each server gets a free loopback port).
  explicit embedded_target(refsrv::server_config config = {}) : config_(std::move(config)) {}
  std::unique_ptr<engine::target_instance> start(const std::vector<std::string>& servers) override;
  std::string describe() const override { return "embedded reference server"; }

 private:
  refsrv::server_config config_;
};

}  // namespace gearspec::targets
