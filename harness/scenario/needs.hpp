#pragma once
// The names a scenario may list under `needs:`: target needs (what the target must offer: a
// restart, a persistent queue, a server of its own) and capabilities (optional or commonly
// missing protocol features; engine/capabilities probes them). docs/scenario-format.md explains
// each name.

#include <string>
#include <vector>

namespace gearspec::scenario {

/// restart, persistent-queue, disposable-server.
const std::vector<std::string>& target_needs();

/// Every capability name, in a stable order.
const std::vector<std::string>& capability_names();

/// True for a target need or a capability name.
bool is_known_need(const std::string& name);

/// True for a target need.
bool is_target_need(const std::string& name);

}  // namespace gearspec::scenario
