#pragma once
#include <string_view>
#include <vector>

namespace gearspec::cli {

/// `gearspec run`: loads, filters and runs scenarios; returns the exit code
/// (0 all as expected, 1 failures/unexpected passes/errors, 2 usage or load error or nothing ran).
int run_command(const std::vector<std::string_view>& args);

}  // namespace gearspec::cli
