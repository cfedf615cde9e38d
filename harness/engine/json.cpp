#include "harness/engine/json.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace gearspec::engine {

namespace {

/// Length of the UTF-8 sequence starting at s[i], or 0 if it is not a valid one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1fu;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0fu;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07u;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3fu);
  }
  // Overlong forms, surrogates and values above U+10FFFF are not UTF-8.
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

}  // namespace

std::string json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      if (const auto n = utf8_length(text, i)) {
        out.append(text.substr(i, n));
        i += n;
      } else {
        out += "\xef\xbf\xbd";  // U+FFFD
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\u%04x", c);
          out += hex;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
  return out;
}

void json_writer::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ << ", ";
    first_.back() = false;
  }
}

json_writer& json_writer::begin_object() {
  before_value();
  out_ << '{';
  first_.push_back(true);
  return *this;
}

json_writer& json_writer::end_object() {
  first_.pop_back();
  out_ << '}';
  return *this;
}

json_writer& json_writer::begin_array() {
  before_value();
  out_ << '[';
  first_.push_back(true);
  return *this;
}

json_writer& json_writer::end_array() {
  first_.pop_back();
  out_ << ']';
  return *this;
}

json_writer& json_writer::key(std::string_view name) {
  before_value();
  out_ << json_string(name) << ": ";
  after_key_ = true;
  return *this;
}

json_writer& json_writer::value(std::string_view text) {
  before_value();
  out_ << json_string(text);
  return *this;
}

json_writer& json_writer::value(bool b) {
  before_value();
  out_ << (b ? "true" : "false");
  return *this;
}

json_writer& json_writer::value(double number) {
  before_value();
  if (!std::isfinite(number)) {
    out_ << "null";
    return *this;
  }
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", number);
  // Short forms where they are exact enough for people to read (0.1 rather than
  // 0.10000000000000001).
  char shorter[40];
  std::snprintf(shorter, sizeof shorter, "%.6g", number);
  out_ << (std::strtod(shorter, nullptr) == number ? shorter : text);
  return *this;
}

json_writer& json_writer::value(std::int64_t number) {
  before_value();
  out_ << number;
  return *this;
}

json_writer& json_writer::value(std::uint64_t number) {
  before_value();
  out_ << number;
  return *this;
}

json_writer& json_writer::null() {
  before_value();
  out_ << "null";
  return *this;
}

json_writer& json_writer::strings(const std::vector<std::string>& items) {
  begin_array();
  for (const auto& s : items) value(s);
  return end_array();
}

json_writer& json_writer::newline() {
  out_ << "\n";
  return *this;
}

}  // namespace gearspec::engine
