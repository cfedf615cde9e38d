#pragma once
// Errors of the wire codec. The codec never throws: every malformed input maps to one of these.

#include <system_error>

namespace gearspec::wire {

/// Codec errors, reported through std::error_code with the "gearspec.wire" category.
enum class errc {
  /// The first four bytes of a binary packet are neither "\0REQ" nor "\0RES". The framing can no
  /// longer be trusted, so the stream cannot continue.
  bad_magic = 1,
  /// "\0RES" where a request was expected, or "\0REQ" where a response was expected. The packet is
  /// consumed; the stream can continue (C gearmand answers ERROR INVALID_MAGIC and goes on).
  unexpected_magic,
  /// The type field is 0 or above 42. The packet is consumed; the stream can continue.
  unknown_command,
  /// The payload has fewer NUL separators than the command's argument shape needs. The packet is
  /// consumed; the stream can continue.
  too_few_arguments,
  /// The size field is above the configured limit. The stream cannot continue.
  packet_too_large,
  /// An admin text line is longer than the configured limit without a newline. The stream cannot
  /// continue.
  line_too_long,
  /// Encoder: the number of arguments given does not match the command's shape.
  wrong_argument_count,
  /// Encoder: an argument other than the last contains a NUL byte and would shift the framing.
  nul_in_argument,
};

/// The category of errc, named "gearspec.wire".
const std::error_category& wire_category() noexcept;

/// Makes an error_code from a codec error.
std::error_code make_error_code(errc e) noexcept;

/// True if, after this error, the rest of the byte stream can still be decoded.
bool is_recoverable(errc e) noexcept;

}  // namespace gearspec::wire

template <>
struct std::is_error_code_enum<gearspec::wire::errc> : std::true_type {};
