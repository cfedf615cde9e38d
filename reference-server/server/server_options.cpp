#include "reference-server/server/server_options.hpp"

#include <charconv>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>

#include "harness/wire/command.hpp"

namespace gearspec::refsrv {
namespace {

bool parse_unsigned(std::string_view value, std::uint64_t& out) {
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  return ec == std::errc{} && end == value.data() + value.size() && !value.empty();
}

template <typename Enum>
std::string choose(std::string_view name, std::string_view value, Enum& out,
                   std::initializer_list<std::pair<std::string_view, Enum>> choices) {
  std::string names;
  for (const auto& [text, e] : choices) {
    if (value == text) {
      out = e;
      return {};
    }
    names += (names.empty() ? "" : " | ") + std::string(text);
  }
  return "--" + std::string(name) + " must be " + names + ", got '" + std::string(value) + "'";
}

std::string number(std::string_view name, std::string_view value, std::uint64_t max,
                   std::uint64_t& out) {
  if (!parse_unsigned(value, out) || out > max)
    return "--" + std::string(name) + " needs a number up to " + std::to_string(max) + ", got '" +
           std::string(value) + "'";
  return {};
}

/// --emulate DEFECT (repeatable): a defect for the suite to catch (tests/integration).
std::string apply_emulation(server_config& config, std::string_view value) {
  auto& core = config.core.defects;
  auto& wire_side = config.wire_defects;
  const auto colon = value.find(':');
  const auto kind = value.substr(0, colon);
  if (colon != std::string_view::npos && (kind == "ignore" || kind == "refuse")) {
    const auto type = value.substr(colon + 1);
    const auto cmd = wire::command_from_name(type);
    if (!cmd || !wire::info(*cmd).is_request) {
      std::string message = "--emulate ";
      message.append(kind).append(":TYPE needs a request packet name, got '").append(type);
      return message + "'";
    }
    (kind == "ignore" ? core.ignored : core.refused).insert(*cmd);
    return {};
  }
  if (value == "lowercase-error-codes") return core.lowercase_error_codes = true, std::string();
  if (value == "per-connection-results") return core.per_connection_results = true, std::string();
  if (value == "duplicate-completions") return core.duplicate_completions = true, std::string();
  if (value == "noop-before-assign") return core.noop_before_assign = true, std::string();
  if (value == "forget-jobs-of-lost-workers")
    return core.forget_jobs_of_lost_workers = true, std::string();
  if (value == "keyless-jobs-collide-on-reload")
    return core.keyless_jobs_collide_on_reload = true, std::string();
  if (value == "request-magic") return wire_side.request_magic = true, std::string();
  if (value == "hold-job-created") return wire_side.hold_job_created = true, std::string();
  if (value == "hold-job-created-rarely") {
    wire_side.hold_job_created = wire_side.hold_rarely = true;
    return {};
  }
  if (value == "nagle") return wire_side.nagle = true, std::string();
  std::string message =
      "--emulate must be ignore:TYPE | refuse:TYPE | request-magic | hold-job-created | "
      "lowercase-error-codes | nagle | per-connection-results | duplicate-completions | "
      "noop-before-assign | hold-job-created-rarely | forget-jobs-of-lost-workers | "
      "keyless-jobs-collide-on-reload, got '";
  message.append(value);
  return message + "'";
}

}  // namespace

std::optional<bool> server_option_takes_value(std::string_view name) {
  for (std::string_view known :
       {"worker-loss", "ability-loss",    "timeout-policy", "maxqueue-policy", "priority",
        "high-order",  "abandoned-jobs",  "can-do-wake",    "grab-all",        "work-exception",
        "emulate",     "handle-prefix",   "job-retries",    "wakeup",          "max-unique",
        "max-packet",  "max-connections", "queue",          "queue-sync",      "max-output"})
    if (name == known) return true;
  if (name == "exceptions") return false;
  return std::nullopt;
}

std::string apply_server_option(server_config& config, std::string_view name,
                                std::string_view value) {
  auto& core = config.core;
  std::uint64_t n = 0;
  std::string error;
  if (name == "worker-loss")
    return choose<worker_loss_policy>(
        name, value, core.worker_loss,
        {{"requeue", worker_loss_policy::requeue}, {"fail", worker_loss_policy::fail}});
  if (name == "ability-loss")
    return choose<ability_loss_policy>(
        name, value, core.ability_loss,
        {{"requeue", ability_loss_policy::requeue}, {"keep", ability_loss_policy::keep}});
  if (name == "timeout-policy")
    return choose<timeout_policy>(
        name, value, core.can_do_timeout,
        {{"requeue", timeout_policy::requeue}, {"fail", timeout_policy::fail}});
  if (name == "maxqueue-policy")
    return choose<maxqueue_policy>(name, value, core.maxqueue,
                                   {{"reject", maxqueue_policy::reject},
                                    {"evict", maxqueue_policy::evict},
                                    {"reject-known", maxqueue_policy::reject_known}});
  if (name == "priority")
    return choose<priority_scope>(
        name, value, core.scope,
        {{"global", priority_scope::global}, {"per-function", priority_scope::per_function}});
  if (name == "can-do-wake")
    return choose<bool>(name, value, core.can_do_wake, {{"yes", true}, {"no", false}});
  if (name == "abandoned-jobs")
    return choose<abandoned_jobs>(name, value, core.abandoned,
                                  {{"at-once", abandoned_jobs::at_once},
                                   {"at-next-grab", abandoned_jobs::at_next_grab},
                                   {"at-next-peek", abandoned_jobs::at_next_peek}});
  if (name == "high-order")
    return choose<high_order>(name, value, core.high,
                              {{"fifo", high_order::fifo}, {"lifo", high_order::lifo}});
  if (name == "grab-all")
    return choose<grab_all_reply>(
        name, value, core.grab_all,
        {{"assign-uniq", grab_all_reply::assign_uniq}, {"assign-all", grab_all_reply::assign_all}});
  if (name == "work-exception")
    return choose<exception_policy>(
        name, value, core.work_exception,
        {{"terminal", exception_policy::terminal}, {"passthrough", exception_policy::passthrough}});
  if (name == "emulate") return apply_emulation(config, value);
  if (name == "handle-prefix") {
    core.handle_prefix = std::string(value);
    return {};
  }
  if (name == "job-retries") {
    if (!(error = number(name, value, 0xffffffffu, n)).empty()) return error;
    core.job_retries = static_cast<std::uint32_t>(n);
    return {};
  }
  if (name == "wakeup") {
    if (!(error = number(name, value, 0xffffffffu, n)).empty()) return error;
    core.wakeup_limit = static_cast<std::uint32_t>(n);
    return {};
  }
  if (name == "max-unique") {
    if (!(error = number(name, value, 1u << 20, n)).empty()) return error;
    core.max_unique = n;
    return {};
  }
  if (name == "max-packet") {
    if (!(error = number(name, value, 0xffffffffu, n)).empty()) return error;
    config.limits.max_payload = static_cast<std::uint32_t>(n);
    return {};
  }
  if (name == "max-connections") {
    if (!(error = number(name, value, 10'000'000, n)).empty()) return error;
    config.max_connections = n;
    return {};
  }
  if (name == "max-output") {
    if (!(error = number(name, value, 1ull << 40, n)).empty()) return error;
    config.max_output_bytes = n;
    return {};
  }
  if (name == "exceptions") {
    core.exceptions_default = true;
    return {};
  }
  if (name == "queue") {
    try {
      (void)sqlite_path_from_spec(std::string(value));
    } catch (const std::invalid_argument& e) {
      return "--queue: " + std::string(e.what());
    }
    config.queue = std::string(value);
    return {};
  }
  if (name == "queue-sync")
    return choose<store_sync>(name, value, config.queue_sync,
                              {{"normal", store_sync::normal}, {"full", store_sync::full}});
  return "unknown option '--" + std::string(name) + "'";
}

const char* server_options_help() {
  return "  --handle-prefix P        job handle prefix (default \"H:<hostname>:\")\n"
         "  --worker-loss P          requeue | fail       job of a worker that disconnects "
         "(default requeue)\n"
         "  --ability-loss P         requeue | keep       held job on CANT_DO/RESET_ABILITIES "
         "(default requeue)\n"
         "  --timeout-policy P       requeue | fail       CAN_DO_TIMEOUT expiry (default requeue)\n"
         "  --maxqueue-policy P      reject | evict | reject-known  submit over maxqueue (default\n"
         "                                                reject; reject-known: a limit set for a\n"
         "                                                function not seen yet is not kept)\n"
         "  --priority P             global | per-function  priority across a worker's functions "
         "(default global)\n"
         "  --can-do-wake P          yes | no             NOOP to a sleeping worker whose CAN_DO "
         "meets\n"
         "                                                queued work (default yes)\n"
         "  --abandoned-jobs P       at-once | at-next-grab | at-next-peek  when a foreground job "
         "whose\n"
         "                                                clients all left before a grab is "
         "forgotten\n"
         "                                                (at-next-peek: a grab or a PRE_SLEEP; "
         "default at-once)\n"
         "  --high-order P           fifo | lifo          order of HIGH jobs (default fifo)\n"
         "  --grab-all P             assign-uniq | assign-all  GRAB_JOB_ALL's answer for a job "
         "without\n"
         "                                                a reducer (default assign-uniq)\n"
         "  --work-exception P       terminal | passthrough  WORK_EXCEPTION ends the job, or only\n"
         "                                                reaches clients that opted in (default\n"
         "                                                terminal)\n"
         "  --job-retries N          attempts before a lost job fails; 0 = unlimited (default 0)\n"
         "  --wakeup N               sleeping workers woken per job; 0 = all (default 0)\n"
         "  --max-unique N           longest unique key accepted (default 64)\n"
         "  --max-packet BYTES       largest packet payload accepted (default 67108864)\n"
         "  --max-connections N      connections accepted at once (default 100000)\n"
         "  --max-output BYTES       unsent replies a peer may leave unread before it is "
         "disconnected\n"
         "                           (default 67108864)\n"
         "  --exceptions             forward WORK_EXCEPTION to every client (as OPTION_REQ "
         "\"exceptions\")\n"
         "  --queue sqlite:PATH      keep background jobs in an SQLite database, reloaded at start "
         "(default: none)\n"
         "  --queue-sync P           normal | full        normal survives a server crash, full "
         "also a power loss\n"
         "                                                (default full)\n"
         "  --emulate DEFECT         for testing gearspec itself: behave wrongly on purpose\n"
         "                           (repeatable): ignore:TYPE (never answer a request type),\n"
         "                           refuse:TYPE (answer it with ERROR), request-magic (replies\n"
         "                           start \\0REQ), hold-job-created (JOB_CREATED 100 ms late,\n"
         "                           overtaken by later replies), lowercase-error-codes, nagle\n"
         "                           (no TCP_NODELAY, packets written in two pieces),\n"
         "                           per-connection-results (one result per connection, not per\n"
         "                           submission), duplicate-completions (every WORK_COMPLETE\n"
         "                           twice), noop-before-assign (a NOOP before each JOB_ASSIGN*),\n"
         "                           hold-job-created-rarely (every 20th JOB_CREATED held back)\n";
}

}  // namespace gearspec::refsrv
