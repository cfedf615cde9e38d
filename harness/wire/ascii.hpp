#pragma once
// ASCII case helpers: protocol names and admin commands are matched case-insensitively.

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace gearspec::wire {

/// True if a and b are equal ignoring ASCII case.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

/// s with ASCII letters lower-cased.
inline std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace gearspec::wire
