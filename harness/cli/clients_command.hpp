#pragma once
// `gearspec clients`: client-library conformance, the harness playing the server.

#include <string>
#include <string_view>
#include <vector>

namespace gearspec::cli {

int clients_command(const std::vector<std::string_view>& args);
bool clients_option_takes_value(std::string_view flag);

}  // namespace gearspec::cli
