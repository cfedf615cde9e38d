#include "harness/wire/error.hpp"

#include <string>

namespace gearspec::wire {
namespace {

class wire_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "gearspec.wire"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::bad_magic:
        return "bad magic: packet does not start with \\0REQ or \\0RES";
      case errc::unexpected_magic:
        return "unexpected magic: response magic where a request was expected, or the reverse";
      case errc::unknown_command:
        return "unknown packet type (0 or above 42)";
      case errc::too_few_arguments:
        return "too few NUL-separated arguments for the packet type";
      case errc::packet_too_large:
        return "packet size above the configured limit";
      case errc::line_too_long:
        return "admin text line longer than the configured limit";
      case errc::wrong_argument_count:
        return "wrong number of arguments for the packet type";
      case errc::nul_in_argument:
        return "NUL byte in an argument that is not the last one";
    }
    return "unknown gearspec.wire error";
  }
};

}  // namespace

const std::error_category& wire_category() noexcept {
  static const wire_error_category category;
  return category;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), wire_category()}; }

bool is_recoverable(errc e) noexcept {
  switch (e) {
    case errc::unexpected_magic:
    case errc::unknown_command:
    case errc::too_few_arguments:
      return true;
    default:
      return false;
  }
}

}  // namespace gearspec::wire
