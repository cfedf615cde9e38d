#pragma once
// The Gearman binary packet types (PROTOCOL "Binary Packet" type table; libgearman-1.0/protocol.h).

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace gearspec::wire {

/// The 4-byte magic that starts every binary packet: "\0REQ" towards a server, "\0RES" from it.
enum class packet_magic : std::uint8_t { request, response };

/// Packet type numbers 1..42 as they appear on the wire (big-endian u32).
enum class command : std::uint32_t {
  can_do = 1,
  cant_do = 2,
  reset_abilities = 3,
  pre_sleep = 4,
  unused = 5,
  noop = 6,
  submit_job = 7,
  job_created = 8,
  grab_job = 9,
  no_job = 10,
  job_assign = 11,
  work_status = 12,
  work_complete = 13,
  work_fail = 14,
  get_status = 15,
  echo_req = 16,
  echo_res = 17,
  submit_job_bg = 18,
  error = 19,
  status_res = 20,
  submit_job_high = 21,
  set_client_id = 22,
  can_do_timeout = 23,
  all_yours = 24,
  work_exception = 25,
  option_req = 26,
  option_res = 27,
  work_data = 28,
  work_warning = 29,
  grab_job_uniq = 30,
  job_assign_uniq = 31,
  submit_job_high_bg = 32,
  submit_job_low = 33,
  submit_job_low_bg = 34,
  submit_job_sched = 35,
  submit_job_epoch = 36,
  submit_reduce_job = 37,
  submit_reduce_job_background = 38,
  grab_job_all = 39,
  job_assign_all = 40,
  get_status_unique = 41,
  status_res_unique = 42,
};

/// Lowest and highest packet numbers defined by the protocol.
inline constexpr std::uint32_t first_command_number = 1;
inline constexpr std::uint32_t last_command_number = 42;

/// The most arguments any packet has (SUBMIT_JOB_SCHED: FUNC UNIQ MIN HOUR MDAY MON WDAY DATA).
inline constexpr std::size_t max_arguments = 8;

/// Static facts about one packet type.
struct command_info {
  /// The packet type.
  command cmd;
  /// Upper-case protocol name, e.g. "SUBMIT_JOB".
  std::string_view name;
  /// True if peers may send it to a server (REQ magic).
  bool is_request;
  /// True if a server may send it (RES magic).
  bool is_response;
  /// Number of arguments. All but the last are NUL-terminated on the wire; the last one takes the
  /// rest of the payload and is the only one that may contain NUL bytes (PROTOCOL "Binary Packet").
  std::uint8_t arg_count;
  /// Lower-case argument names, used by the printer and the scenario format.
  std::array<std::string_view, max_arguments> arg_names;
};

/// Facts for a wire number, or nullptr when the number is 0 or above 42.
const command_info* find_command(std::uint32_t number) noexcept;

/// Facts for a known command (never null).
const command_info& info(command cmd) noexcept;

/// Looks a command up by its protocol name ("SUBMIT_JOB"), case-insensitively.
std::optional<command> command_from_name(std::string_view name) noexcept;

/// The protocol name of a command, e.g. "WORK_COMPLETE".
inline std::string_view name(command cmd) noexcept { return info(cmd).name; }

/// The number on the wire.
constexpr std::uint32_t number(command cmd) noexcept { return static_cast<std::uint32_t>(cmd); }

/// True for the SUBMIT_* family that creates jobs (7, 18, 21, 32, 33, 34, 35, 36, 37, 38).
bool is_submit(command cmd) noexcept;

}  // namespace gearspec::wire
