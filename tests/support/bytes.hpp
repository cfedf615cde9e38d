#pragma once
// Test helpers for writing wire bytes by hand.

#include <cctype>
#include <stdexcept>
#include <string>
#include <string_view>

namespace gearspec::test {

/// Bytes from hex digits; spaces are ignored ("00524551 00000001").
inline std::string hex(std::string_view digits) {
  std::string out;
  int high = -1;
  for (char c : digits) {
    if (c == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) throw std::invalid_argument("not hex");
    const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<char>(high * 16 + v));
      high = -1;
    }
  }
  if (high >= 0) throw std::invalid_argument("odd number of hex digits");
  return out;
}

/// A string literal that may contain NULs: bytes("a\0b") keeps all three bytes.
template <std::size_t N>
std::string bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

}  // namespace gearspec::test
