#pragma once
// Command-line options of the reference server, shared by gearspec-server and the harness's
// embedded target (gearspec run --ref NAME=VALUE).

#include <optional>
#include <string>
#include <string_view>

#include "reference-server/server/tcp_server.hpp"

namespace gearspec::refsrv {

/// Applies one option (name without dashes, e.g. "worker-loss") to config. Returns "" on success
/// or a message saying what is wrong. Flags without a value take value "".
std::string apply_server_option(server_config& config, std::string_view name,
                                std::string_view value);

/// Whether the option takes a value; nullopt if there is no such option.
std::optional<bool> server_option_takes_value(std::string_view name);

/// Help text for the behaviour and limit options (one per line, indented two spaces).
const char* server_options_help();

}  // namespace gearspec::refsrv
