#include "harness/wire/command.hpp"

#include "harness/wire/ascii.hpp"

namespace gearspec::wire {
namespace {

// Argument counts follow libgearman/command.cc (gearmand_command_info_list): an entry {argc, data}
// becomes argc+1 arguments when data is true and argc otherwise. SUBMIT_REDUCE_JOB{,_BACKGROUND}
// carry four NUL-terminated fields before the data, not the three that PROTOCOL shows
// (docs/protocol.md §1.3 note A). Direction comes from PROTOCOL's REQ/RES column.
constexpr std::array<command_info, last_command_number> table{{
    {command::can_do, "CAN_DO", true, false, 1, {"func"}},
    {command::cant_do, "CANT_DO", true, false, 1, {"func"}},
    {command::reset_abilities, "RESET_ABILITIES", true, false, 0, {}},
    {command::pre_sleep, "PRE_SLEEP", true, false, 0, {}},
    {command::unused, "UNUSED", false, false, 0, {}},
    {command::noop, "NOOP", false, true, 0, {}},
    {command::submit_job, "SUBMIT_JOB", true, false, 3, {"func", "unique", "data"}},
    {command::job_created, "JOB_CREATED", false, true, 1, {"handle"}},
    {command::grab_job, "GRAB_JOB", true, false, 0, {}},
    {command::no_job, "NO_JOB", false, true, 0, {}},
    {command::job_assign, "JOB_ASSIGN", false, true, 3, {"handle", "func", "data"}},
    {command::work_status, "WORK_STATUS", true, true, 3, {"handle", "numerator", "denominator"}},
    {command::work_complete, "WORK_COMPLETE", true, true, 2, {"handle", "data"}},
    {command::work_fail, "WORK_FAIL", true, true, 1, {"handle"}},
    {command::get_status, "GET_STATUS", true, false, 1, {"handle"}},
    {command::echo_req, "ECHO_REQ", true, false, 1, {"data"}},
    {command::echo_res, "ECHO_RES", false, true, 1, {"data"}},
    {command::submit_job_bg, "SUBMIT_JOB_BG", true, false, 3, {"func", "unique", "data"}},
    {command::error, "ERROR", false, true, 2, {"code", "text"}},
    {command::status_res,
     "STATUS_RES",
     false,
     true,
     5,
     {"handle", "known", "running", "numerator", "denominator"}},
    {command::submit_job_high, "SUBMIT_JOB_HIGH", true, false, 3, {"func", "unique", "data"}},
    {command::set_client_id, "SET_CLIENT_ID", true, false, 1, {"id"}},
    {command::can_do_timeout, "CAN_DO_TIMEOUT", true, false, 2, {"func", "timeout"}},
    {command::all_yours, "ALL_YOURS", true, false, 0, {}},
    {command::work_exception, "WORK_EXCEPTION", true, true, 2, {"handle", "data"}},
    {command::option_req, "OPTION_REQ", true, false, 1, {"option"}},
    {command::option_res, "OPTION_RES", false, true, 1, {"option"}},
    {command::work_data, "WORK_DATA", true, true, 2, {"handle", "data"}},
    {command::work_warning, "WORK_WARNING", true, true, 2, {"handle", "data"}},
    {command::grab_job_uniq, "GRAB_JOB_UNIQ", true, false, 0, {}},
    {command::job_assign_uniq,
     "JOB_ASSIGN_UNIQ",
     false,
     true,
     4,
     {"handle", "func", "unique", "data"}},
    {command::submit_job_high_bg, "SUBMIT_JOB_HIGH_BG", true, false, 3, {"func", "unique", "data"}},
    {command::submit_job_low, "SUBMIT_JOB_LOW", true, false, 3, {"func", "unique", "data"}},
    {command::submit_job_low_bg, "SUBMIT_JOB_LOW_BG", true, false, 3, {"func", "unique", "data"}},
    {command::submit_job_sched,
     "SUBMIT_JOB_SCHED",
     true,
     false,
     8,
     {"func", "unique", "minute", "hour", "day_of_month", "month", "day_of_week", "data"}},
    {command::submit_job_epoch,
     "SUBMIT_JOB_EPOCH",
     true,
     false,
     4,
     {"func", "unique", "epoch", "data"}},
    {command::submit_reduce_job,
     "SUBMIT_REDUCE_JOB",
     true,
     false,
     5,
     {"func", "unique", "reducer", "aggregator", "data"}},
    {command::submit_reduce_job_background,
     "SUBMIT_REDUCE_JOB_BACKGROUND",
     true,
     false,
     5,
     {"func", "unique", "reducer", "aggregator", "data"}},
    {command::grab_job_all, "GRAB_JOB_ALL", true, false, 0, {}},
    {command::job_assign_all,
     "JOB_ASSIGN_ALL",
     false,
     true,
     5,
     {"handle", "func", "unique", "reducer", "data"}},
    {command::get_status_unique, "GET_STATUS_UNIQUE", true, false, 1, {"unique"}},
    {command::status_res_unique,
     "STATUS_RES_UNIQUE",
     false,
     true,
     6,
     {"unique", "known", "running", "numerator", "denominator", "client_count"}},
}};

// The table is indexed by number-1; a mistake in ordering would silently mislabel packets.
constexpr bool table_is_ordered() {
  for (std::size_t i = 0; i < table.size(); ++i)
    if (number(table[i].cmd) != i + 1) return false;
  return true;
}
static_assert(table_is_ordered(), "command table must be ordered by packet number");

}  // namespace

const command_info* find_command(std::uint32_t n) noexcept {
  if (n < first_command_number || n > last_command_number) return nullptr;
  return &table[n - 1];
}

const command_info& info(command cmd) noexcept {
  return table[number(cmd) - 1];
}

std::optional<command> command_from_name(std::string_view name) noexcept {
  for (const auto& entry : table)
    if (iequals(entry.name, name)) return entry.cmd;
  return std::nullopt;
}

bool is_submit(command cmd) noexcept {
  switch (cmd) {
    case command::submit_job:
    case command::submit_job_bg:
    case command::submit_job_high:
    case command::submit_job_high_bg:
    case command::submit_job_low:
    case command::submit_job_low_bg:
    case command::submit_job_sched:
    case command::submit_job_epoch:
    case command::submit_reduce_job:
    case command::submit_reduce_job_background:
      return true;
    default:
      return false;
  }
}

}  // namespace gearspec::wire
