#include "harness/engine/capabilities.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "harness/scenario/loader.hpp"
#include "harness/scenario/needs.hpp"
#include "harness/wire/ascii.hpp"

namespace gearspec::engine {
namespace {

using wire::command;

/// One probe: a capability and the scenario steps that show it (the actors are declared here).
struct probe {
  const char* name;
  const char* actors;
  const char* steps;
  bool needs_grab;  ///< second phase: uses the generic grab found in the first
};

// A line is an answer, not "unknown command", in C's or Perl's words (docs/protocol.md §2.2).
#define KNOWN_COMMAND R"({regex: "(?!ERR\\s+(UNKNOWN_COMMAND|unknown_command)).*"})"

const probe probes[] = {
    {"echo", "c: client", R"(
  - c: {send: ECHO_REQ, args: [probe]}
  - c: {expect: ECHO_RES, args: [probe]})",
     false},
    {"grab-job", "c: client\n  w: worker", R"(
  - w: {send: CAN_DO, args: ["${fn}"]}
  - c: {send: SUBMIT_JOB, args: ["${fn}", "", d]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - w: GRAB_JOB
  - w: {expect: JOB_ASSIGN, args: ["$h", "${fn}", d]}
  - w: {send: WORK_COMPLETE, args: ["$h", r]}
  - c: {expect: WORK_COMPLETE, args: ["$h", r]})",
     false},
    {"grab-job-uniq", "c: client\n  w: worker", R"(
  - w: {send: CAN_DO, args: ["${fn}"]}
  - c: {send: SUBMIT_JOB, args: ["${fn}", "${uniq}", d]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - w: GRAB_JOB_UNIQ
  - w: {expect: JOB_ASSIGN_UNIQ, args: ["$h", "${fn}", "${uniq}", d]}
  - w: {send: WORK_COMPLETE, args: ["$h", r]}
  - c: {expect: WORK_COMPLETE, args: ["$h", r]})",
     false},
    {"grab-job-all", "c: client\n  w: worker", R"(
  - w: {send: CAN_DO, args: ["${fn}"]}
  - c: {send: SUBMIT_JOB, args: ["${fn}", "${uniq}", d]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - w: GRAB_JOB_ALL
  - w: {any_of: [{JOB_ASSIGN_UNIQ: ["$h", "${fn}"]}, {JOB_ASSIGN_ALL: ["$h", "${fn}"]}]}
  - w: {send: WORK_COMPLETE, args: ["$h", r]}
  - c: {expect: WORK_COMPLETE, args: ["$h", r]})",
     false},
    {"submit-background", "c: client", R"(
  - c: {send: SUBMIT_JOB_BG, args: ["${fn}", "", d]}
  - c: {expect: JOB_CREATED})",
     false},
    {"submit-high", "c: client", R"(
  - c: {send: SUBMIT_JOB_HIGH, args: ["${fn}", "", d]}
  - c: {expect: JOB_CREATED})",
     false},
    {"submit-high-background", "c: client", R"(
  - c: {send: SUBMIT_JOB_HIGH_BG, args: ["${fn}", "", d]}
  - c: {expect: JOB_CREATED})",
     false},
    {"submit-low", "c: client", R"(
  - c: {send: SUBMIT_JOB_LOW, args: ["${fn}", "", d]}
  - c: {expect: JOB_CREATED})",
     false},
    {"submit-low-background", "c: client", R"(
  - c: {send: SUBMIT_JOB_LOW_BG, args: ["${fn}", "", d]}
  - c: {expect: JOB_CREATED})",
     false},
    {"submit-epoch", "c: client", R"(
  - c: {send: SUBMIT_JOB_EPOCH, args: ["${fn}", "", "${epoch3600}", d]}
  - c: {expect: JOB_CREATED})",
     false},
    {"submit-reduce", "c: client", R"(
  - c: {send: SUBMIT_REDUCE_JOB_BACKGROUND, args: ["${fn}", "", r, "", d]}
  - c: {expect: JOB_CREATED})",
     false},
    {"get-status", "c: client", R"(
  - c: {send: SUBMIT_JOB, args: ["${fn}", "", d]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - c: {send: GET_STATUS, args: ["$h"]}
  - c: {expect: STATUS_RES, args: ["$h"]})",
     false},
    {"get-status-unique", "c: client", R"(
  - c: {send: GET_STATUS_UNIQUE, args: ["${uniq}"]}
  - c: {expect: STATUS_RES_UNIQUE, args: ["${uniq}"]})",
     false},
    {"option-exceptions", "c: client", R"(
  - c: {send: OPTION_REQ, args: [exceptions]}
  - c: {expect: OPTION_RES, args: [exceptions]})",
     false},
    {"unique-attach", "c: client\n  d: client", R"(
  - c: {send: SUBMIT_JOB, args: ["${fn}", "${uniq}", d]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - d: {send: SUBMIT_JOB, args: ["${fn}", "${uniq}", d]}
  - d: {expect: JOB_CREATED, args: ["$h"]})",
     false},
    {"admin-status", "a: admin", "\n  - a: {admin: status, response: list}", false},
    {"admin-workers", "a: admin", "\n  - a: {admin: workers, response: list}", false},
    {"admin-version", "a: admin", "\n  - a: {admin: version, line: " KNOWN_COMMAND "}", false},
    {"admin-maxqueue", "a: admin",
     "\n  - a: {admin: \"maxqueue ${fn} 0\", line: " KNOWN_COMMAND "}", false},
    {"admin-getpid", "a: admin", "\n  - a: {admin: getpid, line: " KNOWN_COMMAND "}", false},
    {"admin-verbose", "a: admin", "\n  - a: {admin: verbose, line: " KNOWN_COMMAND "}", false},
    {"admin-prioritystatus", "a: admin", "\n  - a: {admin: prioritystatus, response: list}", false},
    {"admin-show-jobs", "a: admin", "\n  - a: {admin: show jobs, response: list}", false},
    {"admin-show-unique-jobs", "a: admin", "\n  - a: {admin: show unique jobs, response: list}",
     false},
    {"admin-cancel-job", "a: admin",
     "\n  - a: {admin: \"cancel job H:gearspec-probe:${run}\", line: " KNOWN_COMMAND "}", false},
    {"admin-create-function", "a: admin",
     "\n  - a: {admin: \"create function ${fn}\", line: " KNOWN_COMMAND "}", false},
    {"admin-drop-function", "a: admin",
     "\n  - a: {admin: \"drop function ${fn}\", line: " KNOWN_COMMAND "}", false},
    // Second phase: these need a worker to hold a job.
    {"work-data", "c: client\n  w: worker", R"(
  - w: {send: CAN_DO, args: ["${fn}"]}
  - c: {send: SUBMIT_JOB, args: ["${fn}", "", d]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - w: {grab: ["$h"]}
  - w: {send: WORK_DATA, args: ["$h", part]}
  - c: {expect: WORK_DATA, args: ["$h", part]}
  - w: {send: WORK_COMPLETE, args: ["$h", r]}
  - c: {expect: WORK_COMPLETE, args: ["$h", r]})",
     true},
    {"work-warning", "c: client\n  w: worker", R"(
  - w: {send: CAN_DO, args: ["${fn}"]}
  - c: {send: SUBMIT_JOB, args: ["${fn}", "", d]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - w: {grab: ["$h"]}
  - w: {send: WORK_WARNING, args: ["$h", careful]}
  - c: {expect: WORK_WARNING, args: ["$h", careful]}
  - w: {send: WORK_COMPLETE, args: ["$h", r]}
  - c: {expect: WORK_COMPLETE, args: ["$h", r]})",
     true},
    {"work-exception", "c: client\n  w: worker", R"(
  - c: {send: OPTION_REQ, args: [exceptions]}
  - c: {expect: OPTION_RES, args: [exceptions]}
  - w: {send: CAN_DO, args: ["${fn}"]}
  - c: {send: SUBMIT_JOB, args: ["${fn}", "", d]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - w: {grab: ["$h"]}
  - w: {send: WORK_EXCEPTION, args: ["$h", boom]}
  - c: {expect: WORK_EXCEPTION, args: ["$h", boom]})",
     true},
    {"can-do-timeout", "c: client\n  w: worker", R"(
  - w: {send: CAN_DO_TIMEOUT, args: ["${fn}", "60000"]}
  - c: {send: SUBMIT_JOB, args: ["${fn}", "", d]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - w: {grab: ["$h"]}
  - w: {send: WORK_COMPLETE, args: ["$h", r]}
  - c: {expect: WORK_COMPLETE, args: ["$h", r]})",
     true},
    {"set-client-id", "w: worker\n  a: admin", R"(
  - w: {send: SET_CLIENT_ID, args: ["probe-${run}"]}
  - a: {wait_until: workers, contains: [{regex: "\\S+ \\S+ probe-${run} :.*"}]})",
     true},
};

#undef KNOWN_COMMAND

/// The capability of a packet type a scenario sends, or "" for the core every server has.
std::string capability_of(command cmd) {
  switch (cmd) {
    case command::grab_job:
      return "grab-job";
    case command::grab_job_uniq:
      return "grab-job-uniq";
    case command::grab_job_all:
      return "grab-job-all";
    case command::echo_req:
      return "echo";
    case command::submit_job_bg:
      return "submit-background";
    case command::submit_job_high:
      return "submit-high";
    case command::submit_job_high_bg:
      return "submit-high-background";
    case command::submit_job_low:
      return "submit-low";
    case command::submit_job_low_bg:
      return "submit-low-background";
    case command::submit_job_epoch:
      return "submit-epoch";
    case command::submit_reduce_job:
    case command::submit_reduce_job_background:
      return "submit-reduce";
    case command::get_status:
      return "get-status";
    case command::get_status_unique:
      return "get-status-unique";
    case command::option_req:
      return "option-exceptions";
    case command::work_data:
      return "work-data";
    case command::work_warning:
      return "work-warning";
    case command::work_exception:
      return "work-exception";
    case command::set_client_id:
      return "set-client-id";
    case command::can_do_timeout:
      return "can-do-timeout";
    default:
      return {};
  }
}

/// The capability of an admin line's command, or "" if it is not one of the known commands.
std::string capability_of_admin(const scenario::value_template& line) {
  std::string text;
  for (const auto& p : line.pieces) {
    if (p.is_variable) break;
    text += p.text;
  }
  const std::string lower = wire::to_lower(text);
  const auto starts = [&](std::string_view w) {
    return lower.rfind(w, 0) == 0 &&
           (lower.size() == w.size() || lower[w.size()] == ' ' || lower[w.size()] == '\r');
  };
  for (const char* plain : {"status", "workers", "version", "maxqueue", "getpid", "verbose",
                            "prioritystatus", "shutdown"})
    if (starts(plain)) return std::string("admin-") + plain;
  if (starts("show unique jobs")) return "admin-show-unique-jobs";
  if (starts("show jobs")) return "admin-show-jobs";
  if (starts("cancel")) return "admin-cancel-job";
  if (starts("create")) return "admin-create-function";
  if (starts("drop")) return "admin-drop-function";
  return {};
}

/// The capabilities of the whole \0REQ packets at the start of raw bytes (a scenario that writes
/// a packet by hand, e.g. to add payload to a GRAB_JOB, still needs what that packet needs).
void collect_raw(const scenario::value_template& bytes, std::set<std::string>& out) {
  std::string raw;
  for (const auto& p : bytes.pieces) {
    if (p.is_variable) break;
    raw += p.text;
  }
  auto be32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(raw[at + i]);
    return v;
  };
  for (std::size_t at = 0;
       at + 12 <= raw.size() && raw.compare(at, 4, std::string("\0REQ", 4)) == 0;) {
    const auto* info = wire::find_command(be32(at + 4));
    if (!info) break;
    if (auto c = capability_of(info->cmd); !c.empty()) out.insert(c);
    at += 12 + static_cast<std::size_t>(be32(at + 8));
  }
}

void collect(const scenario::step_list& steps, std::set<std::string>& out) {
  for (const auto& st : steps) {
    if (const auto* raw = st.as<scenario::send_raw_step>()) {
      collect_raw(raw->bytes, out);
    } else if (const auto* send = st.as<scenario::send_step>()) {
      if (auto c = capability_of(send->cmd); !c.empty()) out.insert(c);
    } else if (st.as<scenario::grab_step>()) {
      out.insert("grab");
    } else if (st.as<scenario::sync_step>()) {
      out.insert("sync");
    } else if (const auto* admin = st.as<scenario::admin_step>()) {
      if (auto c = capability_of_admin(admin->line); !c.empty()) out.insert(c);
    } else if (const auto* par = st.as<scenario::parallel_step>()) {
      for (const auto& branch : par->branches) collect(branch, out);
    } else if (const auto* timed = st.as<scenario::timed_step>()) {
      collect(timed->steps, out);
    }
  }
}

}  // namespace

const std::vector<std::string>& probed_capabilities() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out{"binary-framing"};
    for (const auto& p : probes) out.emplace_back(p.name);
    return out;
  }();
  return names;
}

std::string who_breaks_without(const std::string& capability) {
  // Measured with the installed libraries (tests/interop/test_grab_requests.py), except where the
  // text says the library's code was read.
  static const std::map<std::string, std::string> users{
      {"grab-job-all",
       "libgearman 1.1 workers (its C API, PHP's gearman extension, the gearman tool) send only "
       "GRAB_JOB_ALL: they never get a job"},
      {"grab-job",
       "Perl Gearman::Worker and the npm gearman and gearmanode workers send only GRAB_JOB: they "
       "never get a job"},
      {"grab-job-uniq",
       "python-gearman and gearman-go workers send only GRAB_JOB_UNIQ (their code): they never get "
       "a job"},
  };
  const auto it = users.find(capability);
  return it == users.end() ? std::string() : it->second;
}

std::vector<std::string> capabilities_of_requirement(const std::string& id) {
  // What a MUST or SHOULD requirement is about: where the feature is missing, its scenarios run
  // and fail (docs/requirements.md has the requirements; docs/scenario-format.md this list).
  static const std::map<std::string, std::vector<std::string>> about{
      {"FRAME-RES-MAGIC", {"binary-framing"}},
      {"ECHO-IDENTICAL", {"echo"}},
      {"OPT-EXCEPTIONS", {"option-exceptions"}},
      {"OPT-CLIENT-ID", {"set-client-id"}},
      {"SUBMIT-BG-SILENT", {"submit-background"}},
      {"SUBMIT-FG-RESULTS", {"work-data", "work-warning"}},
      {"SUBMIT-PRIORITY",
       {"submit-high", "submit-low", "submit-high-background", "submit-low-background"}},
      {"SUBMIT-VARIANTS",
       {"submit-high", "submit-low", "submit-high-background", "submit-low-background"}},
      {"WORKER-GRAB-JOB", {"grab-job"}},
      {"WORKER-GRAB-UNIQ", {"grab-job-uniq"}},
      {"WORKER-GRAB-ALL", {"grab-job-all"}},
      {"FRAME-EXTRA-PAYLOAD", {"grab-job"}},
      {"STATUS-RUNNING", {"get-status"}},
      {"STATUS-QUEUED", {"get-status"}},
      {"STATUS-UNKNOWN", {"get-status"}},
      {"STATUS-AFTER-END", {"get-status"}},
      {"EXC-FORWARD", {"option-exceptions", "work-exception"}},
      {"MAXQUEUE-OK", {"admin-maxqueue"}},
      {"ADMIN-STATUS", {"admin-status"}},
      {"ADMIN-STATUS-COUNTS", {"admin-status"}},
      {"ADMIN-CASE", {"admin-status"}},
      {"ADMIN-WORKERS", {"admin-workers"}},
      {"UNIQ-ATTACH-QUEUED", {"unique-attach"}},
      {"UNIQ-ATTACH-RUNNING", {"unique-attach"}},
      {"UNIQ-ALL-NOTIFIED", {"unique-attach"}},
      {"UNIQ-RUN-ONCE", {"unique-attach"}},
      {"UNIQ-WORKERLESS", {"unique-attach"}},
      {"UNIQ-PER-SUBMISSION", {"unique-attach"}},
      {"UNIQ-BG-ATTACH", {"unique-attach", "submit-background"}},
      {"UNIQ-PROCESSING-PAGE", {"unique-attach", "submit-background"}},
  };
  const auto it = about.find(id);
  return it == about.end() ? std::vector<std::string>{} : it->second;
}

std::vector<std::string> used_capabilities(const scenario::scenario& s) {
  std::set<std::string> used;
  collect(s.steps, used);
  for (const auto& v : s.variants) collect(v.steps, used);
  for (const auto& need : s.needs) used.insert(need);
  for (const auto& a : s.actors)
    if (a.type != scenario::actor::role::admin) used.insert("binary-framing");
  // Target needs are the target's business (unsupported, not blocked).
  for (const auto& target_need : scenario::target_needs()) used.erase(target_need);
  return {used.begin(), used.end()};
}

std::vector<std::string> lacking_capabilities(const scenario::scenario& s,
                                              const std::set<std::string>& missing) {
  std::vector<std::string> out;
  const auto used = used_capabilities(s);
  for (const auto& req : s.requirements)
    for (const auto& c : capabilities_of_requirement(req))
      if (missing.count(c) && std::find(used.begin(), used.end(), c) != used.end() &&
          std::find(out.begin(), out.end(), c) == out.end())
        out.push_back(c);
  return out;
}

std::vector<std::string> needed_capabilities(const scenario::scenario& s) {
  const auto all = used_capabilities(s);
  std::set<std::string> used(all.begin(), all.end());
  if (s.level != "IMPL")
    for (const auto& req : s.requirements)
      for (const auto& c : capabilities_of_requirement(req)) used.erase(c);
  return {used.begin(), used.end()};
}

capability_report probe_capabilities(target& t, const run_options& options, unsigned jobs) {
  capability_report report;
  std::unique_ptr<target_instance> server;
  try {
    if (t.unsupported({"main"})) return report;
    server = t.start({"main"});
  } catch (const std::exception&) {
    return report;  // the suite's own scenarios will say what is wrong with the target
  }
  report.probed = true;
  auto run_probe = [&](const probe& p, const run_options& o) {
    const std::string yaml = std::string("id: capability/") + p.name +
                             "\ntitle: probe\nrequirements: [CAPABILITY]\nlevel: MUST\n"
                             "description: capability probe\nactors:\n  " +
                             p.actors + "\nsteps:" + p.steps + "\n";
    const auto s = scenario::load_scenario_string(yaml, std::string("capability/") + p.name);
    return run_scenario(s, *server, o);
  };
  run_options quick = options;
  quick.default_timeout = std::chrono::milliseconds(1000);
  quick.settle = std::chrono::milliseconds(0);
  quick.end_audit = false;
  std::mutex mutex;
  std::string undecodable;  // what a binary probe got that is not a decodable reply
  bool only_request_magic = true;  // ... and each time only for carrying the request magic
  auto run_phase = [&](bool second) {
    std::vector<const probe*> todo;
    for (const auto& p : probes)
      if (p.needs_grab == second) todo.push_back(&p);
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
      for (std::size_t i; (i = next++) < todo.size();) {
        const auto result = run_probe(*todo[i], quick);
        std::lock_guard<std::mutex> lock(mutex);
        if (result.result == outcome::pass) {
          report.present.insert(todo[i]->name);
        } else {
          report.missing[todo[i]->name] = result.first ? result.first->step + ": expected " +
                                                             result.first->expected + ", got " +
                                                             result.first->actual
                                                       : "no result";
          if (result.first && result.first->cause.rfind("undecodable", 0) == 0 &&
              std::string_view(todo[i]->actors).find("admin") == std::string_view::npos) {
            undecodable = report.missing[todo[i]->name];
            if (result.first->cause.find("request magic") == std::string::npos)
              only_request_magic = false;
          }
        }
      }
    };
    std::vector<std::thread> threads;
    for (unsigned j = 1; j < std::max(1u, std::min(jobs, 8u)); ++j) threads.emplace_back(worker);
    worker();
    for (auto& th : threads) th.join();
  };
  run_phase(false);
  // Replies whose one defect is the request magic: probe again reading past it, so that one
  // framing defect does not hide every other behaviour of the target (FRAME-RES-MAGIC still fails).
  if (!undecodable.empty() && only_request_magic) {
    const auto seen = undecodable;
    report.present.clear();
    report.missing.clear();
    undecodable.clear();
    quick.accept_request_magic = true;
    run_phase(false);
    if (undecodable.empty()) {
      report.request_magic = true;
      report.missing["binary-framing"] = seen;
    }
  }
  // Binary replies that do not decode (another magic, impossible sizes) fail every binary probe
  // for one reason: that is what the target lacks, not each feature (which stay unknown).
  if (!undecodable.empty()) {
    for (auto it = report.missing.begin(); it != report.missing.end();)
      it = it->first.rfind("admin-", 0) == 0 ? std::next(it) : report.missing.erase(it);
    report.missing["binary-framing"] = undecodable;
    return report;
  }
  if (!report.request_magic) report.present.insert("binary-framing");
  // A sync step's round trip: ECHO, else GET_STATUS (STATUS-UNKNOWN: any handle is answered).
  if (report.present.count("echo") || report.present.count("get-status")) {
    report.sync = report.present.count("echo") ? command::echo_req : command::get_status;
    report.present.insert("sync");
  } else {
    report.missing["sync"] = "neither ECHO_REQ nor GET_STATUS is answered (no round trip to synchronise on)";
  }
  // The generic grab sends the first grab request the server answers.
  for (const auto& [name, cmd] : {std::pair{"grab-job", command::grab_job},
                                  std::pair{"grab-job-uniq", command::grab_job_uniq},
                                  std::pair{"grab-job-all", command::grab_job_all}}) {
    if (report.present.count(name)) {
      report.grab = cmd;
      report.present.insert("grab");
      break;
    }
  }
  if (!report.present.count("grab")) {
    report.missing["grab"] = "no grab request (GRAB_JOB, GRAB_JOB_UNIQ, GRAB_JOB_ALL) works";
    for (const auto& p : probes)
      if (p.needs_grab) report.missing[p.name] = "not probed: no grab request works";
    return report;
  }
  quick.grab = report.grab;
  run_phase(true);
  // SET_CLIENT_ID is seen through `workers`: without that command it cannot be told apart.
  if (report.missing.count("admin-workers")) report.missing.erase("set-client-id");
  return report;
}

}  // namespace gearspec::engine
