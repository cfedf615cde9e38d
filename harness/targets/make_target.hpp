#pragma once
// Building a target from what the user asked for: the one place the CLI, the Python module, the
// benchmark and the soak turn flags into servers.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/engine/target.hpp"

namespace gearspec::targets {

/// Where a run's servers come from (the embedded reference server unless addresses or spawn).
struct target_spec {
  /// Existing servers: "HOST:PORT" or "NAME=HOST:PORT" each (--target).
  std::vector<std::string> addresses;
  /// A command to start per scenario, with {port} (and {dir}) (--spawn).
  std::optional<std::string> spawn;
  /// The spawn command configures a persistent queue in {dir} (--persistent).
  bool persistent = false;
  /// Options of the embedded reference server, as gearspec-server's flags without the dashes
  /// (--ref NAME[=VALUE]); a flag without a value is given as "".
  std::vector<std::pair<std::string, std::string>> reference_options;
  /// Multiplies the spawn target's own waits (slow machines).
  double timeout_scale = 1.0;
};

/// Builds the target. Throws std::invalid_argument with a message for the user when the spec
/// does not make sense (both addresses and spawn, options for the wrong target, a bad option).
std::unique_ptr<engine::target> make_target(const target_spec& spec);

}  // namespace gearspec::targets
