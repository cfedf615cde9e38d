#pragma once
// The administrative text protocol (PROTOCOL "Administrative Protocol"; docs/protocol.md §2):
// request lines such as "status" or "maxqueue f 10", and the server's single-line or dot-terminated
// answers. Both "\n" and "\r\n" endings occur in the wild (C gearmand ends OK/ERR lines with
// "\r\n").

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "harness/wire/decoder.hpp"

namespace gearspec::wire {

/// A parsed admin request line.
struct admin_request {
  /// The first word, lower-cased (servers match it case-insensitively). Empty if the line starts
  /// with a space, as in C gearmand, which then answers ERR UNKNOWN_COMMAND.
  std::string command;
  /// The remaining words, split on spaces; runs of spaces count as one separator.
  std::vector<std::string> args;
};

/// Parses one request line (without its ending).
admin_request parse_admin_request(std::string_view line);

/// Whether a command answers with one line or a list closed by ".".
enum class admin_shape { single_line, list };

/** The shape of the answer to a request line. Lists: workers, status, prioritystatus, show jobs,
    show unique jobs, jobs, clients, gladiator. Everything else (version, getpid, verbose, maxqueue,
    cancel job, create/drop function, shutdown, unknown words) answers with one line. */
admin_shape admin_response_shape(std::string_view request_line);

/// A parsed answer.
struct admin_response {
  enum class kind {
    /// "OK" or "OK <value>".
    ok,
    /// "ERR <code> <text>" (text is the raw, possibly '+'-encoded rest).
    err,
    /// A dot-terminated list; lines holds the entries without the ".".
    list,
    /// Some other single line, e.g. Perl's "v1.130.1" answer to version.
    other,
  };
  kind type = kind::other;
  /// The list entries, or the single line, without line endings.
  std::vector<std::string> lines;
  /// For ok: the text after "OK " (may be empty).
  std::string value;
  /// For err: the first word after "ERR" and the rest of the line.
  std::string error_code;
  std::string error_text;
  /// The ending of the last line read (C uses both kinds in one answer).
  line_ending ending = line_ending::lf;
  /// All bytes of the answer as received.
  std::string raw;
};

/// "ok", "err", "list" or "other" (the scenario format's words for the kinds).
std::string_view name(admin_response::kind k) noexcept;

/// Result of parsing an answer from the front of a buffer.
struct admin_parse_result {
  std::size_t consumed = 0;
  decode_status status = decode_status::need_more;
  std::error_code error;
};

/** Parses one answer of the given shape from the front of input. A list-shaped answer whose first
    line is "ERR ..." is an err answer (servers refuse list commands they do not know that way).
    Returns need_more until the whole answer is present; line_too_long if a line exceeds max_line.
 */
admin_parse_result parse_admin_response(std::string_view input, admin_shape shape,
                                        admin_response& out, std::size_t max_line = 65536);

}  // namespace gearspec::wire
