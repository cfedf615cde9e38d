#pragma once
// Existing servers given by address (--target): scenarios share them.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/engine/target.hpp"

namespace gearspec::targets {

/// Existing servers: one address for "main" (or every name), or NAME=HOST:PORT per server.
class fixed_target final : public engine::target {
 public:
  /// Each spec is "HOST:PORT" or "NAME=HOST:PORT". Throws std::invalid_argument on bad syntax.
  explicit fixed_target(const std::vector<std::string>& specs);
  using engine::target::start;
  using engine::target::unsupported;
  std::unique_ptr<engine::target_instance> start(const std::vector<std::string>& servers,
                                                 const engine::server_needs& needs) override;
  std::optional<std::string> unsupported(const std::vector<std::string>& servers,
                                         const engine::server_needs& needs) const override;
  std::string describe() const override;

 private:
  std::map<std::string, engine::endpoint> named_;
  std::optional<engine::endpoint> default_;
};

}  // namespace gearspec::targets
