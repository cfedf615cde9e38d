#pragma once
// One readable line per packet, for transcripts and mismatch reports.

#include <cstddef>
#include <string>
#include <string_view>

#include "harness/wire/packet.hpp"

namespace gearspec::wire {

/// How much of each argument a printed line shows.
struct print_options {
  /// Bytes of an argument shown before it is abbreviated with "...".
  std::size_t max_shown = 64;
  /// Prefix the line with "REQ " or "RES " (useful when the direction is unusual).
  bool show_magic = false;
};

/// Escapes bytes for display inside double quotes: printable ASCII stays, \" \\ \n \r \t \0 are
/// named, any other byte is \xNN. At most max_shown input bytes are shown; more are marked "...".
std::string escape_bytes(std::string_view bytes, std::size_t max_shown = 64);

/** A packet as one line, e.g.
    SUBMIT_JOB(func="reverse", unique="alpha", data=5 bytes "hello")
    Arguments named "data" also show their length, since payload size often matters. */
std::string to_string(const packet_view& p, const print_options& options = {});

/// Same for an owning packet.
std::string to_string(const packet& p, const print_options& options = {});

}  // namespace gearspec::wire
