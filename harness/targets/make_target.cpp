#include "harness/targets/make_target.hpp"

#include <stdexcept>

#include "harness/targets/embedded_target.hpp"
#include "harness/targets/fixed_target.hpp"
#include "harness/targets/spawn_target.hpp"

namespace gearspec::targets {

std::unique_ptr<engine::target> make_target(const target_spec& spec) {
  if (!spec.addresses.empty() && spec.spawn)
    throw std::invalid_argument("give either a target address or a spawn command, not both");
  if (spec.persistent && !spec.spawn)
    throw std::invalid_argument(
        "persistent describes a spawn command (--persistent goes with --spawn)");
  if (!spec.reference_options.empty() && (!spec.addresses.empty() || spec.spawn))
    throw std::invalid_argument("reference server options apply to the embedded server only");
  if (!spec.addresses.empty()) return std::make_unique<fixed_target>(spec.addresses);
  if (spec.spawn)
    return std::make_unique<spawn_target>(*spec.spawn, spec.timeout_scale, spec.persistent);
  refsrv::server_config config;
  if (auto error = apply_reference_options(config, spec.reference_options); !error.empty())
    throw std::invalid_argument(error);
  return std::make_unique<embedded_target>(std::move(config));
}

}  // namespace gearspec::targets
