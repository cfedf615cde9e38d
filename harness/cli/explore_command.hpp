#pragma once
// gearspec explore (harness/explore): arguments after "explore"; returns the exit code.

#include <string_view>
#include <vector>

namespace gearspec::cli {

int explore_command(const std::vector<std::string_view>& args);

/// Whether a `gearspec explore` option takes a value (for --name=value).
bool explore_option_takes_value(std::string_view flag);

}  // namespace gearspec::cli
