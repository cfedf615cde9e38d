#pragma once
#include <string_view>
#include <vector>

namespace gearspec::cli {

/// `gearspec run`: loads, filters and runs scenarios; returns the exit code
/// (0 all as expected, 1 failures/unexpected passes/errors, 2 usage or load error or nothing ran).
int run_command(const std::vector<std::string_view>& args);

/// Whether a `gearspec run` option takes a value (for --name=value).
bool run_option_takes_value(std::string_view flag);

/// The text of `gearspec run --help`.
const char* run_help();

}  // namespace gearspec::cli
