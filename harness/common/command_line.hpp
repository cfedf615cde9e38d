#pragma once
// Conventions every gearspec binary shares on its command line: `--name=value` means the same as
// `--name value`, and `--version` prints one line.

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#ifndef GEARSPEC_VERSION
#define GEARSPEC_VERSION "unknown"
#endif

namespace gearspec::command_line {

/// The arguments after argv[0], with "--name=value" split into "--name" "value" wherever
/// takes_value(name) says the option takes one (so "--name=value" and "--name value" read the
/// same); anything else is left as it is, for the program to accept or refuse.
inline std::vector<std::string> arguments(
    int argc, char** argv, const std::function<bool(std::string_view)>& takes_value) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    const auto eq = a.find('=');
    if (a.starts_with("--") && eq != std::string_view::npos && takes_value(a.substr(0, eq))) {
      out.emplace_back(a.substr(0, eq));
      out.emplace_back(a.substr(eq + 1));
    } else {
      out.emplace_back(a);
    }
  }
  return out;
}

/// The value of a numeric option, which must lie in [low, high]; otherwise std::invalid_argument
/// "FLAG needs a number from LOW to HIGH, got 'TEXT'".
inline double number_in_range(std::string_view flag, const std::string& text, double low,
                              double high) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value >= low && value <= high)) {
    char message[160];
    std::snprintf(message, sizeof message, "%.*s needs a number from %g to %g, got '%.60s'",
                  static_cast<int>(flag.size()), flag.data(), low, high, text.c_str());
    throw std::invalid_argument(message);
  }
  return value;
}

/// True (after printing "PROGRAM VERSION") if the arguments ask for the version.
inline bool print_version_if_asked(const std::vector<std::string>& args, const char* program) {
  for (const auto& a : args)
    if (a == "--version") {
      std::printf("%s %s\n", program, GEARSPEC_VERSION);
      return true;
    }
  return false;
}

}  // namespace gearspec::command_line
