#include "harness/wire/printer.hpp"

#include <cstdio>

namespace gearspec::wire {

std::string escape_bytes(std::string_view bytes, std::size_t max_shown) {
  std::string out;
  const std::size_t shown = bytes.size() < max_shown ? bytes.size() : max_shown;
  out.reserve(shown + 8);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\0': out += "\\0"; break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out.push_back(static_cast<char>(c));
        } else {
          char hex[5];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        }
    }
  }
  if (shown < bytes.size()) out += "...";
  return out;
}

std::string to_string(const packet_view& p, const print_options& options) {
  const auto& shape = info(p.cmd);
  std::string out;
  if (options.show_magic) out += p.magic == packet_magic::request ? "REQ " : "RES ";
  out += shape.name;
  out.push_back('(');
  for (std::size_t i = 0; i < p.arg_count; ++i) {
    if (i > 0) out += ", ";
    const auto arg_name = i < shape.arg_count ? shape.arg_names[i] : std::string_view{"extra"};
    out += arg_name;
    out.push_back('=');
    if (arg_name == "data") {
      out += std::to_string(p.args[i].size());
      out += p.args[i].size() == 1 ? " byte " : " bytes ";
    }
    out.push_back('"');
    out += escape_bytes(p.args[i], options.max_shown);
    out.push_back('"');
  }
  out.push_back(')');
  return out;
}

std::string to_string(const packet& p, const print_options& options) {
  return to_string(p.view(), options);
}

}  // namespace gearspec::wire
