#include "harness/explore/explore.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <ranges>
#include <set>
#include <sstream>
#include <thread>

#include "harness/engine/capabilities.hpp"
#include "harness/engine/runner.hpp"
#include "harness/engine/suite.hpp"
#include "harness/scenario/loader.hpp"
#include "harness/wire/printer.hpp"

namespace gearspec::explore {
namespace {

using clock = std::chrono::steady_clock;
using wire::command;

/// What an admin window holds, from its normalised lines: "status" lines have tabs, "workers"
/// lines " :", and the answer of `cancel job` or `maxqueue` is one word (OK or ERR).
const char* admin_kind(const std::string& line) {
  return line.find('\t') != std::string::npos   ? "status"
         : line.find(" :") != std::string::npos ? "workers"
                                                : "answer";
}

std::string summary(const window& w) {
  std::vector<std::string> parts;
  for (const auto& p : w.packets) parts.emplace_back(wire::name(p.cmd));
  for (const auto& e : w.events) parts.push_back(e.substr(0, e.find(':')));
  // Not the number of lines: one cause (a job counted or not) shows as 1-vs-0 or 2-vs-1 lines.
  if (!w.admin_lines.empty()) {
    const std::string kind = admin_kind(w.admin_lines[0]);
    parts.push_back(kind == "answer" ? kind : kind + " lines");
  }
  if (parts.empty()) return "nothing";
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " + ") + p;
  return out;
}

std::string show(const window& w) {
  std::string out;
  for (const auto& p : w.packets) out += (out.empty() ? "" : ", ") + wire::to_string(p);
  for (const auto& e : w.events) out += (out.empty() ? "" : ", ") + e;
  for (const auto& l : w.admin_lines) {
    std::string shown = l;
    std::replace(shown.begin(), shown.end(), '\t', ' ');
    out += std::string(out.empty() ? "" : ", ") + admin_kind(l) + ": " + shown;
  }
  return out.empty() ? "nothing" : out;
}

std::string role(const std::string& actor) {
  return actor[0] == 'c' ? "client" : actor[0] == 'w' ? "worker" : "admin";
}

/// Servers kept for one thread's programs, run one after another. Every program has function
/// names, uniques and client ids of its own (a token per run), and the executor waits until the
/// server has let go of each connection it closed, so one server can run many programs in turn
/// (a server per program made explore 3.7x slower at -j 16: docs/performance.md). A server is
/// replaced after `reuse` programs, after a run that could not complete, and when its process
/// shows a problem; a written scenario is checked on fresh servers (check_reproduction), so what
/// a reused server carried over cannot make a finding.
class server_pool {
 public:
  server_pool(engine::target& t, std::size_t reuse, engine::server_needs needs = {},
              std::vector<std::string> servers = {"main"})
      : target_(t),
        reuse_(std::max<std::size_t>(1, reuse)),
        needs_(std::move(needs)),
        names_(std::move(servers)) {}

  observation run(const program& p, const run_settings& s) {
    if (servers_ && uses_ >= reuse_) servers_.reset();
    if (!servers_) {
      uses_ = 0;
      try {
        servers_ = target_.start(names_, needs_);
      } catch (const std::exception& e) {
        observation o;
        o.error = std::string("the target did not start: ") + e.what();
        return o;
      }
    }
    ++uses_;
    auto o = execute(p, *servers_, s);
    if (!o.error.empty() || servers_->problem()) servers_.reset();
    return o;
  }

 private:
  engine::target& target_;
  std::size_t reuse_;
  std::size_t uses_ = 0;
  engine::server_needs needs_;
  std::vector<std::string>
      names_;  ///< the servers started: "main", and "s2" for two-server programs
  std::unique_ptr<engine::target_instance> servers_;
};

/// Starts fresh servers and runs the program once.
observation run_on(engine::target& t, const program& p, const run_settings& s) {
  return server_pool(t, 1, needs_of(p), servers_of(p)).run(p, s);
}

struct pair_run {
  observation reference, target;
  std::optional<divergence> found;
};

/// Runs the program on both sides at once: they share nothing, and most of a run is waiting on
/// round trips and timers, so this halves the time of every run, shrinking included.
pair_run run_both(server_pool& target, server_pool& reference, const program& p,
                  const run_settings& s) {
  pair_run r;
  std::thread reference_side([&] {
    try {
      r.reference = reference.run(p, s);
    } catch (const std::exception& e) {  // an infrastructure problem, reported as such
      r.reference.error = std::string("explore engine error: ") + e.what();
    }
  });
  r.target = target.run(p, s);  // bounded by the executor's own watchdog, as is the other
  reference_side.join();
  r.found = first_divergence(p, r.reference, r.target);
  return r;
}

/// Removes an actor and every move it makes.
program without_actor(const program& p, const std::string& name) {
  program out = p;
  out.actions.erase(std::remove_if(out.actions.begin(), out.actions.end(),
                                   [&](const action& a) { return a.actor == name; }),
                    out.actions.end());
  std::erase(out.clients, name);
  std::erase(out.workers, name);
  out.on_second.erase(name);
  if (name == "adm") out.admin = false;
  return out;
}

/// Delta debugging, greedy: drop everything after the divergence (found in the original after
/// move `diverged_at`), then each actor, then each move (from the last), then simplify what
/// remains, keeping a change only if the same kind of divergence remains (and, given
/// `explaining`, the reference with the known variant's options still behaves as the target).
/// Bounded by options.shrink_runs.
program shrink(const program& original, const std::string& kind, std::size_t diverged_at,
               server_pool& target, server_pool& reference, const explore_options& o,
               std::size_t& runs, server_pool* explaining = nullptr) {
  auto still = [&](const program& candidate) {
    if (runs >= o.shrink_runs) return false;
    ++runs;
    const auto r = run_both(target, reference, candidate, o.run);
    if (!r.found || r.found->kind != kind) return false;
    if (!explaining) return true;
    // A known variant's program must stay one the reference with that option explains whole
    // (else its IMPL scenario's two variants would be the same steps).
    const auto alt = explaining->run(candidate, o.run);
    return alt.error.empty() && !first_divergence(candidate, alt, r.target);
  };
  program best = original;
  // 1. Nothing after the divergence matters.
  if (diverged_at < best.actions.size()) {
    program cut = best;
    cut.actions.resize(diverged_at);
    if (still(cut)) best = cut;
  }
  // 2. Whole actors.
  std::vector<std::string> everyone = best.clients;
  everyone.insert(everyone.end(), best.workers.begin(), best.workers.end());
  if (best.admin) everyone.push_back("adm");
  for (const auto& name : everyone) {
    const auto candidate = without_actor(best, name);
    if ((candidate.clients.size() + candidate.workers.size()) > 0 && still(candidate))
      best = candidate;
  }
  // 3. Single moves, last first (a later move often depends on an earlier one).
  for (std::size_t i = best.actions.size(); i-- > 0;) {
    program candidate = best;
    candidate.actions.erase(candidate.actions.begin() + static_cast<long>(i));
    if (still(candidate)) best = candidate;
  }
  // 4. Simpler values: plain submits and grabs, no uniques, short data.
  for (std::size_t i = 0; i < best.actions.size(); ++i) {
    auto simpler = [&](auto&& change) {
      program candidate = best;
      if (!change(candidate.actions[i])) return;
      if (still(candidate)) best = candidate;
    };
    simpler([](action& a) {
      if (a.what != action::kind::submit || a.cmd == command::submit_job) return false;
      a.cmd = a.cmd == command::submit_job_bg || a.cmd == command::submit_job_high_bg ||
                      a.cmd == command::submit_job_low_bg
                  ? command::submit_job_bg
                  : command::submit_job;
      return true;
    });
    simpler([](action& a) {
      if (a.what != action::kind::grab || a.cmd == command::grab_job) return false;
      a.cmd = command::grab_job;
      return true;
    });
    simpler([](action& a) {
      if (a.what != action::kind::submit || a.unique == 0) return false;
      a.unique = 0;
      return true;
    });
    simpler([](action& a) {
      if (a.what != action::kind::submit || a.fn == 1) return false;
      a.fn = 1;
      return true;
    });
  }
  // One server rather than two, if the divergence does not need both.
  if (!best.on_second.empty()) {
    program candidate = best;
    candidate.on_second.clear();
    if (still(candidate)) best = candidate;
  }
  // Actors that no longer act are dropped.
  std::set<std::string> acting;
  for (const auto& a : best.actions) acting.insert(a.actor);
  for (const auto& name : everyone)
    if (!acting.count(name) && (name != "adm" || best.admin)) {
      const auto candidate = without_actor(best, name);
      if (candidate.clients.size() + candidate.workers.size() > 0 && still(candidate))
        best = candidate;
    }
  return best;
}

/// An option of the reference server: name and value ("" for a flag).
using reference_option = std::pair<std::string, std::string>;

/// The reference's implementation-defined options, each the variant of an IMPL requirement.
const std::vector<std::pair<reference_option, const char*>>& variants() {
  static const std::vector<std::pair<reference_option, const char*>> all{
      {{"worker-loss", "fail"}, "WORKER-LOSS"},
      {{"ability-loss", "keep"}, "WORKER-CANT-DO-HELD"},
      {{"maxqueue-policy", "evict"}, "MAXQUEUE-FULL"},
      {{"maxqueue-policy", "reject-known"}, "MAXQUEUE-FULL"},
      {{"priority", "per-function"}, "SUBMIT-PRIORITY-SCOPE"},
      {{"high-order", "lifo"}, "SUBMIT-HIGH-ORDER"},
      {{"abandoned-jobs", "at-next-grab"}, "CLIENT-DEATH-STATUS"},
      {{"abandoned-jobs", "at-next-peek"}, "CLIENT-DEATH-STATUS"},
      {{"can-do-wake", "no"}, "SLEEP-CAN-DO-WAKE"},
      {{"grab-all", "assign-all"}, "SUBMIT-REDUCE"},
      {{"exceptions", ""}, "EXC-NOT-OPTED"},
      {{"work-exception", "passthrough"}, "EXC-NOT-OPTED"},
      {{"timeout-policy", "fail"}, "WORKER-TIMEOUT"},
  };
  return all;
}

std::string option_text(const reference_option& option) {
  return "--" + option.first + (option.second.empty() ? "" : " " + option.second);
}

/// "--a x --b y": options as given on the command line.
std::string options_text(const std::vector<reference_option>& options) {
  std::string out;
  for (const auto& o : options) out += (out.empty() ? "" : " ") + option_text(o);
  return out;
}

/// "A, B": the IMPL requirements the options belong to, each once.
std::string requirements_of(const std::vector<reference_option>& options) {
  std::set<std::string_view> seen;
  std::string out;
  for (const auto& o : options)
    for (const auto& [option, requirement] : variants())
      if (option == o && seen.insert(requirement).second)
        out += (out.empty() ? "" : ", ") + std::string(requirement);
  return out;
}

std::string variant_note(const std::vector<reference_option>& options) {
  return "the reference behaves the same with " + options_text(options) + " (" +
         requirements_of(options) + ", implementation-defined)";
}

std::string slug(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c >= 'A' && c <= 'Z')
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    else if (keep)
      out.push_back(c);
    else if (!out.empty() && out.back() != '-')
      out.push_back('-');
    if (out.size() > 60) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

// ---------------------------------------------------------------------------------------------
// The scenario of a finding.

/// A symbol as a scenario value. A job's handle the first time (capture_new): a capture that must
/// differ from the handles captured before, except `unrelated` ones (of another server, or of an
/// earlier life of this one, which may hand out the same bytes).
std::string var_of(const std::string& symbol, std::set<std::string>& captured, bool capture_new,
                   const std::set<std::string>& unrelated = {}) {
  if (symbol.size() > 1 && symbol[0] == 'H' &&
      std::isdigit(static_cast<unsigned char>(symbol[1]))) {
    const auto name = std::string("h") + symbol.substr(1);
    if (!captured.count(name)) {
      if (!capture_new) return "\"" + symbol + "\"";  // never seen on the reference: literal
      // A new job's handle: it must not be one of the earlier jobs'.
      std::string earlier;
      for (const auto& c : captured)
        if (!unrelated.count(c)) earlier += (earlier.empty() ? "" : ", ") + ("\"$" + c + "\"");
      captured.insert(name);
      return "{capture: " + name + (earlier.empty() ? "" : ", differs_from: [" + earlier + "]") +
             "}";
    }
    return "\"$" + name + "\"";
  }
  if (symbol == "f1") return "\"${fn}\"";
  if (symbol == "f2") return "\"${fn2}\"";
  if (symbol == "u1") return "\"${uniq}\"";
  if (symbol == "u2") return "\"${uniq2}\"";
  if (symbol == "u3" || symbol == "u4" || symbol == "u5")
    return "\"" + boundary_unique(symbol[1] - '0') + "\"";
  if (symbol == "*") return "{any: true}";
  std::string quoted = "\"";
  for (char c : symbol) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    if (c == '$') quoted.push_back('$');  // $$ is a literal dollar
    quoted.push_back(c);
  }
  return quoted + "\"";
}

std::string expected_packet(const wire::packet& p, std::set<std::string>& captured,
                            const std::set<std::string>& unrelated = {}) {
  std::string out = std::string("{") + std::string(wire::name(p.cmd)) + ": [";
  for (std::size_t i = 0; i < p.args.size(); ++i) {
    if (i) out += ", ";
    // A status's unset numbers read as 0 on every server; accept either spelling.
    if (p.cmd == command::status_res && i >= 3 && p.args[i] == "0")
      out += "{regex: \"0?\"}";
    else
      // A job is first seen in JOB_CREATED, or, reloaded after a restart, in its assignment.
      out += var_of(p.args[i], captured,
                    p.cmd == command::job_created || p.cmd == command::job_assign ||
                        p.cmd == command::job_assign_uniq || p.cmd == command::job_assign_all,
                    unrelated);
  }
  return out + "]}";
}

std::string send_step(const action& a, const std::string& handle, std::set<std::string>& captured) {
  const auto fn = a.fn == 1 ? std::string("\"${fn}\"") : std::string("\"${fn2}\"");
  const auto uniq = a.unique == 0   ? std::string("\"\"")
                    : a.unique == 1 ? std::string("\"${uniq}\"")
                    : a.unique == 2 ? std::string("\"${uniq2}\"")
                                    : "\"" + boundary_unique(a.unique) + "\"";
  const auto h = handle.empty() ? std::string() : var_of(handle, captured, false);
  switch (a.what) {
    case action::kind::submit:
      return std::string("{send: ") + std::string(wire::name(a.cmd)) + ", args: [" + fn + ", " +
             uniq +
             (a.cmd == command::submit_job_epoch
                  ? (a.soon ? ", \"${epochsoon}\"" : ", \"${epoch3600}\"")
              : a.cmd == command::submit_reduce_job ||
                      a.cmd == command::submit_reduce_job_background
                  ? ", \"${fn2}\", \"\""
              : a.cmd == command::submit_job_sched ? ", \"0\", \"*\", \"*\", \"*\", \"*\""
                                                   : "") +
             ", \"" + a.data + "\"]}";
    case action::kind::option:
      return "{send: OPTION_REQ, args: [exceptions]}";
    case action::kind::get_status:
      return h.empty() ? "" : "{send: GET_STATUS, args: [" + h + "]}";
    case action::kind::can_do:
      return a.cmd == command::can_do_timeout
                 ? "{send: CAN_DO_TIMEOUT, args: [" + fn + ", \"1000\"]}"
                 : "{send: CAN_DO, args: [" + fn + "]}";
    case action::kind::cant_do:
      return "{send: CANT_DO, args: [" + fn + "]}";
    case action::kind::reset:
      return "RESET_ABILITIES";
    case action::kind::grab:
      return std::string(wire::name(a.cmd));
    case action::kind::pre_sleep:
      return "PRE_SLEEP";
    case action::kind::work:
      if (h.empty()) return "";
      if (a.cmd == command::work_status)
        return "{send: WORK_STATUS, args: [" + h + ", \"1\", \"2\"]}";
      if (a.cmd == command::work_fail) return "{send: WORK_FAIL, args: [" + h + "]}";
      return std::string("{send: ") + std::string(wire::name(a.cmd)) + ", args: [" + h + ", \"" +
             a.data + "\"]}";
    case action::kind::admin_status:
    case action::kind::admin_workers:
    case action::kind::admin_cancel:
    case action::kind::admin_maxqueue:
    case action::kind::wait:
    case action::kind::restart:
    case action::kind::crash:
      return "";  // written by render_steps
    case action::kind::disconnect:
      return "disconnect";
    case action::kind::kill:
      return "kill";
    case action::kind::cut_packet:
      return a.actor[0] == 'w' ? "{send_raw: \"\\0REQ\\0\\0\\0\\x01\\0\\0\\0\\x10${fn}\"}"
                               : "{send_raw: \"\\0REQ\\0\\0\\0\\x07\\0\\0\\0\\x40${fn}\\0\"}";
  }
  return "";
}

std::string indent_block(const std::string& text, const std::string& pad) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out += pad + line + "\n";
  return out;
}

std::string condensed(const program& p, const observation& o) {
  std::string out;
  for (std::size_t i = 0; i < o.windows.size(); ++i) {
    out += i == 0 ? std::string("connect") : std::to_string(i) + ". " + describe(p.actions[i - 1]);
    out += "\n";
    for (const auto& [actor, w] : o.windows[i])
      if (!(w == window{})) out += "     " + actor + std::string(": ") + show(w) + "\n";
  }
  return out;
}

}  // namespace

std::optional<divergence> first_divergence(const program& p, const observation& reference,
                                           const observation& target) {
  if (!reference.error.empty() || !target.error.empty()) return std::nullopt;
  const auto steps = std::min(reference.windows.size(), target.windows.size());
  for (std::size_t i = 0; i < steps; ++i) {
    std::set<std::string> actors;
    for (const auto& [a, w] : reference.windows[i]) actors.insert(a);
    for (const auto& [a, w] : target.windows[i]) actors.insert(a);
    for (const auto& a : actors) {
      const auto r = reference.windows[i].count(a) ? reference.windows[i].at(a) : window{};
      const auto t = target.windows[i].count(a) ? target.windows[i].at(a) : window{};
      if (r == t) continue;
      divergence d;
      d.step = i;
      d.actor = a;
      d.reference = r;
      d.target = t;
      d.move = i == 0 ? "connect" : describe(p.actions[i - 1]);
      const auto move_kind = i == 0 ? std::string("connect") : kind_name(p.actions[i - 1].what);
      const auto cmd = i == 0 || p.actions[i - 1].cmd == command::noop
                           ? std::string()
                           : std::string(" ") + std::string(wire::name(p.actions[i - 1].cmd));
      d.kind = "after " + move_kind + cmd + (role(a) == "admin" ? ", an " : ", a ") + role(a) +
               std::string(" gets ") + summary(t) + std::string(" where the reference sends ") +
               summary(r);
      if (summary(t) == summary(r)) {
        // The same packets with other arguments: name the first argument that differs.
        std::string which = "arguments";
        for (std::size_t k = 0; k < t.packets.size() && k < r.packets.size(); ++k) {
          const auto& shape = wire::info(t.packets[k].cmd);
          for (std::size_t j = 0; j < t.packets[k].args.size() && j < r.packets[k].args.size(); ++j)
            if (t.packets[k].args[j] != r.packets[k].args[j]) {
              which =
                  std::string(wire::name(t.packets[k].cmd)) + " " + std::string(shape.arg_names[j]);
              break;
            }
          if (which != "arguments") break;
        }
        if (which == "arguments" && t.admin_lines != r.admin_lines) which = "admin lines";
        d.kind += " (another " + which + ")";
      }
      return d;
    }
  }
  return std::nullopt;
}

namespace {

/// The steps of a program, with what one server observed as their expectations.
std::string render_steps(const program& p, const observation& o) {
  std::set<std::string> captured;
  std::string steps;
  // After a connection was closed the server learns of it on its own schedule (the executor waits
  // a moment): an admin answer after that is awaited rather than read once.
  auto after_fault = [&](std::size_t window) {
    for (std::size_t k = 0; k + 1 < window; ++k)
      if (closes_its_connection(p.actions[k])) return true;
    return false;
  };
  auto admin_verb = [&](std::size_t window) {
    return std::string(after_fault(window) ? "wait_until: " : "admin: ");
  };
  auto admin_end = [&](std::size_t window) {
    return std::string(after_fault(window) ? ", timeout: 2s}\n" : "}\n");
  };
  // An admin "status" step expecting what the window's admin lines say: the program's functions
  // with work, and no line with work for the others.
  auto status_step = [&](const std::string& actor, const window& w, const std::string& verb,
                         const std::string& end) {
    std::string contains, excludes;
    std::set<std::string> listed;
    for (const auto& line : w.admin_lines) {  // "f1<TAB>total<TAB>running<TAB>workers"
      const auto fn = line.substr(0, 2);
      listed.insert(fn);
      std::string text = fn == "f1" ? "${fn}" : "${fn2}";
      for (char c : line.substr(2)) text += c == '\t' ? std::string("\\t") : std::string(1, c);
      contains += std::string(contains.empty() ? "" : ", ") + "\"" + text + "\"";
    }
    for (const char* fn : {"f1", "f2"})
      if (!listed.count(fn))
        excludes += std::string(excludes.empty() ? "" : ", ") + "{regex: \"" +
                    (std::string(fn) == "f1" ? "${fn}" : "${fn2}") + "\\t(?!0\\t0\\t0$$).*\"}";
    return "  - " + actor + ": {" + verb + "status" +
           (contains.empty() ? "" : ", contains: [" + contains + "]") +
           (excludes.empty() ? "" : ", excludes: [" + excludes + "]") + end;
  };
  // Every connection opens before the first move, as in the executor (an actor's first move may
  // be to disconnect, and "workers" lists idle connections too); after a restart or crash, each
  // actor the program has not closed connects again, as a new actor (connection_name).
  std::set<std::string> ended;                     // closed by the program
  std::set<std::string> dropped;                   // closed by the server in this server life
  std::set<std::string> past;                      // handles captured in earlier server lives
  std::map<std::string, std::string> captured_on;  // handle variable -> its server
  // A packet an actor expects: a new handle must differ from the earlier ones of its own server
  // in this life (two servers, or two lives, may hand out the same bytes).
  auto expect = [&](const std::string& actor, const wire::packet& pk) {
    const auto server = server_of(p, actor);
    std::set<std::string> elsewhere = past;
    for (const auto& [variable, on] : captured_on)
      if (on != server) elsewhere.insert(variable);
    const auto text = expected_packet(pk, captured, elsewhere);
    for (const auto& c : captured) captured_on.try_emplace(c, server);
    return text;
  };
  auto open_all = [&](int lives) {
    std::vector<std::string> everyone = p.clients;
    everyone.insert(everyone.end(), p.workers.begin(), p.workers.end());
    if (p.admin) everyone.push_back("adm");
    if (o.settled_by_workers) everyone.push_back("watch");
    if (o.settled_by_workers && !p.on_second.empty()) everyone.push_back("watch2");
    for (const auto& n : everyone)
      if (!ended.count(n)) steps += "  - " + connection_name(n, lives) + ": connect\n";
    // For "workers" queries every connection names itself first, as the executor's did. (The
    // connections a `wait_until_gone` awaits are named by the engine.)
    if (o.named && asks_workers(p))
      for (const auto& n : everyone)
        if (!ended.count(n) && n != "adm" && n != "watch" && n != "watch2")
          steps += "  - " + connection_name(n, lives) + ": {send: SET_CLIENT_ID, args: [\"" + n +
                   "-${run}\"]}\n";
  };
  open_all(0);
  std::vector<std::string> named;
  if (o.named && asks_workers(p)) {
    for (const auto& c : p.clients) named.push_back(c);
    for (const auto& w : p.workers) named.push_back(w);
  }
  for (std::size_t i = 1; i < o.windows.size(); ++i) {
    const auto& a = p.actions[i - 1];
    const int lives = lives_before(p, i);  // after this move
    const auto adm = connection_name("adm", lives);
    const auto handle = i - 1 < o.handle_used.size() ? o.handle_used[i - 1] : std::string();
    if (restarts_the_server(a)) {
      // Everything sent before is in once each open connection's next round trip is answered
      // (the executor's barrier did the same).
      for (const auto& group : {p.clients, p.workers})
        for (const auto& n : group)
          if (!ended.count(n) && !dropped.count(n))
            steps += "  - " + connection_name(n, lives - 1) + ": sync\n";
      dropped.clear();
      steps +=
          std::string("  - ") + (a.what == action::kind::crash ? "crash" : "restart") + ": main\n";
      past = captured;  // a new server life may hand out the same handle bytes again
      open_all(lives);
      if (o.accounted) {
        // The account: the background jobs acknowledged before and not ended are queued again.
        const auto& w = o.windows[i].count("acct") ? o.windows[i].at("acct") : window{};
        steps += "  - acct" + std::to_string(lives) + ": connect\n" +
                 status_step("acct" + std::to_string(lives), w, "admin: ", "}\n");
      }
    }
    if (a.what == action::kind::admin_status) {
      const auto& w = o.windows[i].count("adm") ? o.windows[i].at("adm") : window{};
      steps += status_step(adm, w, admin_verb(i), admin_end(i));
      continue;
    }
    if (a.what == action::kind::admin_workers) {
      // One line per connection of this program that is still listed; the functions of a line
      // are not in a fixed order, hence a lookahead for each.
      const auto& w = o.windows[i].count("adm") ? o.windows[i].at("adm") : window{};
      std::string contains, excludes;
      for (const auto& actor : named) {
        const std::string prefix = "\\\\S+ \\\\S+ " + actor + "-${run} :";
        const auto line =
            std::find_if(w.admin_lines.begin(), w.admin_lines.end(),
                         [&](const std::string& l) { return l.rfind(actor + " :", 0) == 0; });
        if (line == w.admin_lines.end()) {
          excludes += std::string(excludes.empty() ? "" : ", ") + "{regex: \"" + prefix + ".*\"}";
          continue;
        }
        std::istringstream fns(line->substr(actor.size() + 2));
        std::string pattern = prefix;
        int count = 0;
        for (std::string fn; fns >> fn; ++count)
          pattern += std::string("(?=.* ") + (fn == "f1" ? "${fn}" : "${fn2}") + "( |$$))";
        pattern +=
            count ? "( \\\\S+){" + std::to_string(count) + "}\\\\s*$$" : std::string("\\\\s*$$");
        contains += std::string(contains.empty() ? "" : ", ") + "{regex: \"" + pattern + "\"}";
      }
      steps += "  - " + adm + ": {" + admin_verb(i) + "workers" +
               (contains.empty() ? "" : ", contains: [" + contains + "]") +
               (excludes.empty() ? "" : ", excludes: [" + excludes + "]") + admin_end(i);
      continue;
    }
    if (a.what == action::kind::wait) steps += "  - sleep: 1800ms\n";  // the executor's ceiling
    if (a.what == action::kind::admin_cancel || a.what == action::kind::admin_maxqueue) {
      // The answer's first word (OK or ERR), then what the command did to the others' windows.
      const auto& w = o.windows[i].count("adm") ? o.windows[i].at("adm") : window{};
      std::string line;
      if (a.what == action::kind::admin_maxqueue) {
        line = std::string("maxqueue ") + (a.fn == 1 ? "${fn}" : "${fn2}") + (a.job ? " 1" : "");
      } else if (!handle.empty()) {
        const auto quoted = var_of(handle, captured, false);  // "\"$h1\""
        line = "cancel job " + quoted.substr(1, quoted.size() - 2);
      }
      if (!line.empty() && !w.admin_lines.empty())
        steps += "  - " + adm + ": {admin: \"" + line +
                 "\", response: " + (w.admin_lines.front() == "OK" ? "ok" : "err") + "}\n";
    }
    const auto sent = send_step(a, handle, captured);
    const auto actor_now = connection_name(a.actor, lives);
    if (!sent.empty()) steps += "  - " + actor_now + ": " + sent + "\n";
    if (a.what == action::kind::cut_packet) steps += "  - " + actor_now + ": kill\n";
    if (closes_its_connection(a)) ended.insert(a.actor);
    if (closes_its_connection(a) && o.settled_by_workers && a.actor != "adm") {  // as executed
      // The watching admin connection on the closed one's server.
      const auto watch = server_of(p, a.actor) == "main" ? "watch" : "watch2";
      steps += "  - " + connection_name(watch, lives) + ": {wait_until_gone: " + actor_now +
               ", timeout: 2s}\n";
      steps += "  - sleep: 100ms  # C 1.1.20 frees the connection's jobs after unlisting it\n";
    }
    for (const auto& [actor, w] : o.windows[i]) {
      if (actor == "adm" || actor == "acct") continue;
      const auto shown = connection_name(actor, lives);
      if (w.packets.size() == 1) {
        const auto e = expect(actor, w.packets[0]);
        steps += "  - " + shown + ": {expect: [" + e + "]}\n";
      } else if (w.packets.size() >= 2 && w.packets.size() <= 5) {
        std::string list;
        for (const auto& pk : w.packets)
          list += std::string(list.empty() ? "" : ", ") + expect(actor, pk);
        steps += "  - " + shown + ": {unordered: [" + list + "]}\n";
      } else {
        for (const auto& pk : w.packets)
          steps += "  - " + shown + ": {expect: [" + expect(actor, pk) + "]}\n";
      }
      for (const auto& e : w.events)
        if (e.rfind("connection ended", 0) == 0 && a.actor != actor) {
          steps += "  - " + shown + ": expect_closed\n";
          dropped.insert(actor);
        }
    }
  }
  return steps.empty() ? "  - sleep: 1ms\n" : steps;
}

/// The actors: the program's, and after each restart or crash a new one for each connection that
/// connects again (connection_name), and the account's admin connection; those on the second
/// server say so.
std::string render_actors(const program& p, const observation& o) {
  std::string actors;
  std::set<std::string> ended;
  int lives = 0;
  auto one = [&](const std::string& name, const char* role, const std::string& server) {
    actors += "  " + connection_name(name, lives) + ": " +
              (server == "main" ? std::string(role)
                                : "{role: " + std::string(role) + ", server: " + server + "}") +
              "\n";
  };
  auto declare = [&] {
    for (const auto& c : p.clients)
      if (!ended.count(c)) one(c, "client", server_of(p, c));
    for (const auto& w : p.workers)
      if (!ended.count(w)) one(w, "worker", server_of(p, w));
    if (p.admin) one("adm", "admin", "main");
    if (o.settled_by_workers) one("watch", "admin", "main");
    if (o.settled_by_workers && !p.on_second.empty()) one("watch2", "admin", "s2");
    if (lives > 0 && o.accounted) actors += "  acct" + std::to_string(lives) + ": admin\n";
  };
  declare();
  for (std::size_t i = 0; i + 1 < o.windows.size() && i < p.actions.size(); ++i) {
    const auto& a = p.actions[i];
    if (closes_its_connection(a)) ended.insert(a.actor);
    if (restarts_the_server(a)) {
      ++lives;
      declare();
    }
  }
  return actors;
}

/// The scenario's servers (when two) and needs (a persistent queue when the program restarts or
/// crashes its server).
std::string render_needs(const program& p) {
  return std::string(p.on_second.empty() ? "" : "servers: [main, s2]\n") +
         (restarts_server(p) ? "needs: [persistent-queue]\n" : "");
}

std::string option_argument(const reference_option& option) {
  return option.first + (option.second.empty() ? "" : "=" + option.second);
}

}  // namespace

std::string render_yaml(const finding& f, const std::string& target_name) {
  const auto& p = f.shrunk;
  const auto& d = f.found;
  std::ostringstream y;
  y << "id: explore/" << slug(d.kind).substr(0, 48) << "-" << p.seed << "\n";
  if (!f.known_variant.empty()) {
    // A permitted choice, not a defect: an IMPL scenario that names both behaviours, so that it
    // can join the suite without failing a server for its choice.
    std::string arguments;
    for (const auto& o : f.variant_options)
      arguments += (arguments.empty() ? "" : " ") + option_argument(o);
    const auto variant_name = slug(arguments);
    y << "title: \"Found by gearspec explore (seed " << p.seed
      << "), implementation-defined: " << d.kind << "\"\n"
      << "requirements: [" << requirements_of(f.variant_options) << "]\n"
      << "level: IMPL\n"
      << "tags: [explore, impl]\n"
      << "description: |\n"
      << "  Found by gearspec explore against " << target_name << ", seed " << p.seed
      << ", shrunk from " << f.original_moves << " moves to " << p.actions.size() << ".\n"
      << "  The target behaves as the reference server does with "
      << options_text(f.variant_options) << " (" << requirements_of(f.variant_options)
      << ", implementation-defined).\n"
      << "  After move " << d.step << " (" << d.move << "), " << d.actor
      << " got on the target: " << show(d.target) << "\n"
      << "  and on the reference with default options: " << show(d.reference) << "\n"
      << render_needs(p) << "actors:\n"
      << render_actors(p, f.reference) << "variants:\n"
      << "  reference-default:\n"
      << "    description: \"What the reference server does with its default options.\"\n"
      << "    steps:\n"
      << indent_block(render_steps(p, f.reference), "    ") << "  " << variant_name << ":\n"
      << "    description: \"What the reference server does with "
      << options_text(f.variant_options) << "; the target did the same (seed " << p.seed << ").\"\n"
      << "    steps:\n"
      << indent_block(render_steps(p, f.variant_observation), "    ");
    return y.str();
  }
  y << "title: \"Found by gearspec explore (seed " << p.seed << "): " << d.kind << "\"\n"
    << "requirements: [EXPLORE]\n"
    << "level: SHOULD\n"
    << "tags: [explore]\n";
  if (!f.reference_options.empty()) {
    // The judgement needed the reference with an option: a plain `gearspec run FILE` starts the
    // embedded reference with it, so the file passes there as it did in explore.
    y << "reference_options: [";
    for (std::size_t i = 0; i < f.reference_options.size(); ++i)
      y << (i ? ", " : "") << "\"" << option_argument(f.reference_options[i]) << "\"";
    y << "]\n";
  }
  y << "description: |\n"
    << "  Found by gearspec explore against " << target_name << ", seed " << p.seed
    << ", shrunk from " << f.original_moves << " moves to " << p.actions.size() << ".\n"
    << "  The expectations are what the reference server (gearspec-server, "
    << (f.judged_with.empty() ? std::string("default options")
                              : "with " + f.judged_with +
                                    ", the implementation-defined variant the target showed before "
                                    "this point; see reference_options")
    << ") did:\n"
    << "  review them, cite the requirement this shows and choose its level before adding the\n"
    << "  scenario to scenarios/.\n"
    << "  After move " << d.step << " (" << d.move << "), " << d.actor
    << " got on the target: " << show(d.target) << "\n"
    << "  and on the reference: " << show(d.reference) << "\n"
    << "  Reference, move by move:\n"
    << indent_block(condensed(p, f.reference), "    ") << "  Target, move by move:\n"
    << indent_block(condensed(p, f.target), "    ") << render_needs(p) << "actors:\n"
    << render_actors(p, f.reference) << "steps:\n"
    << render_steps(p, f.reference);
  return y.str();
}

namespace {

/// Runs the written scenario as a user would (`gearspec run FILE`, with the embedded reference
/// taking the file's reference_options) against the reference and the target, and says whether
/// it shows what explore saw.
void check_reproduction(finding& f, engine::target& target, engine::target& reference,
                        const explore_options& o) {
  try {
    const std::vector<scenario::scenario> scenarios{
        scenario::load_scenario_string(f.yaml, "explore.yaml")};
    engine::suite_options so;
    so.run.timeout_scale = o.run.timeout_scale;
    so.run.end_round_trip = true;
    const auto on_ref = engine::run_suite(scenarios, reference, so).at(0);
    const auto on_tgt = engine::run_suite(scenarios, target, so).at(0);
    auto said = [](const engine::scenario_result& r) {
      std::string text = engine::verdict_name(r.result);
      if (!r.variant.empty()) text += " (variant " + r.variant + ")";
      if (r.result != engine::verdict::pass && r.run.first)
        text += " (" + r.run.first->step + ": " + r.run.first->actual + ")";
      else if (r.result == engine::verdict::error)
        text += " (" + r.reason + ")";
      return text;
    };
    if (f.known_variant.empty()) {
      f.reproduces =
          on_ref.result == engine::verdict::pass && on_tgt.result == engine::verdict::fail;
    } else {
      f.reproduces = on_ref.variant == "reference-default" && !on_tgt.variant.empty() &&
                     on_tgt.variant != "reference-default";
    }
    f.reproduction = "reference: " + said(on_ref) + ", target: " + said(on_tgt);
  } catch (const std::exception& e) {
    f.reproduction = std::string("the written scenario does not load: ") + e.what();
  }
}

}  // namespace

engine::server_needs needs_of(const program& p) {
  engine::server_needs needs;
  needs.restart = needs.persistent_queue = restarts_server(p);
  return needs;
}

unsigned default_jobs() {
  return std::clamp(8 * std::max(1u, std::thread::hardware_concurrency()), 1u, 32u);
}

explore_report run_explore(
    engine::target& target, engine::target& reference,
    const std::function<std::unique_ptr<engine::target>(
        const std::vector<std::pair<std::string, std::string>>&)>& reference_with,
    const explore_options& given) {
  explore_options o = given;  // the probe may change how programs run
  explore_report report;
  const auto start = clock::now();
  std::mutex say_lock;
  auto say = [&](const std::string& line) {
    const std::lock_guard<std::mutex> lock(say_lock);
    if (o.progress) o.progress(line);
  };
  auto time_left = [&] { return clock::now() - start < o.time_budget; };
  weights moves = o.moves;
  if (o.probe) {
    // As the suite blocks scenarios, explore leaves out what the target lacks: otherwise one
    // missing request shows up in most programs and hides every other divergence.
    engine::run_options ro;
    ro.timeout_scale = o.run.timeout_scale;
    const auto found = engine::probe_capabilities(target, ro, 4);
    std::set<std::string> missing;
    for (const auto& [name, why] : found.missing) missing.insert(name);
    // The barrier after each move is a round trip the target answers: ECHO_REQ, else GET_STATUS.
    o.run.sync = found.sync;
    if (missing.count("echo") && missing.count("get-status")) {
      report.errors = 1;
      report.first_error =
          "the target answers neither ECHO_REQ nor GET_STATUS, one of which explore needs to know "
          "when a move's replies have all arrived: " +
          found.missing.at("echo");
      return report;
    }
    if (missing.count("echo"))
      say("the target does not answer ECHO_REQ: barriers use GET_STATUS of an unknown handle");
    // Closed connections are awaited in "workers" where connections can name themselves.
    o.run.settle_with_workers = !missing.count("set-client-id") && !missing.count("admin-workers");
    for (auto& left_out : moves.exclude_missing(missing)) {
      const auto open = left_out.find('(');
      const auto name = left_out.substr(open + 1, left_out.find(')') - open - 1);
      report.not_explored.push_back(left_out + ": " + found.missing.at(name));
    }
    // The account after a restart asks "status".
    o.run.account = !missing.count("admin-status");
    for (const auto& line : report.not_explored) say("not explored: " + line);
  }
  // Restart and crash moves need servers that can be restarted with a persistent queue, on both
  // sides (a spawn command with --persistent; the embedded reference keeps an SQLite queue).
  engine::server_needs pool_needs;
  if (moves.of.at("restart") > 0 || moves.of.at("crash") > 0) {
    engine::server_needs durable;
    durable.restart = durable.persistent_queue = true;
    auto why = target.unsupported({"main"}, durable);
    if (!why) why = reference.unsupported({"main"}, durable);
    if (why) {
      moves.of["restart"] = moves.of["crash"] = 0;
      report.not_explored.push_back("restart, crash (persistent-queue): " + *why);
      say("not explored: " + report.not_explored.back());
    } else {
      pool_needs = durable;
    }
  }
  // Two-server programs need a target that gives a scenario two servers (spawned, embedded, or
  // --target NAME=HOST:PORT for both); then every thread's pool starts both.
  std::vector<std::string> pool_servers{"main"};
  if (moves.second_server > 0) {
    const std::vector<std::string> two{"main", "s2"};
    auto why = target.unsupported(two, pool_needs);
    if (!why) why = reference.unsupported(two, pool_needs);
    if (why) {
      moves.second_server = 0;
      report.not_explored.push_back("second_server (two-servers): " + *why);
      say("not explored: " + report.not_explored.back());
    } else {
      pool_servers = two;
    }
  }
  // Programs run on `jobs` threads; seeds are handed out in order, so a set of programs
  // (--programs) is the same whatever the number of threads. Shared state is under one lock;
  // shrinking, the long part, runs outside it.
  std::mutex state;
  std::map<std::string, std::size_t> shrinking;  // kinds being shrunk -> programs seen meanwhile
  std::atomic<std::size_t> started{0};
  auto last_progress = clock::now();
  struct thread_servers {
    server_pool target, reference;
  };
  auto explore_program = [&](std::uint64_t seed, thread_servers& servers) {
    const auto p = generate(seed, moves, o.length);
    const auto r = run_both(servers.target, servers.reference, p, o.run);
    {
      const std::lock_guard<std::mutex> lock(state);
      ++report.programs;
      if (!r.reference.error.empty() || !r.target.error.empty()) {
        ++report.errors;
        if (report.first_error.empty())
          report.first_error = std::string("seed ") + std::to_string(seed) + ": " +
                               (r.reference.error.empty() ? "target: " + r.target.error
                                                          : "reference: " + r.reference.error);
        return;
      }
      // The account judges without the reference, so it also judges the reference: a loss
      // there is the reference's defect, never a finding about the target.
      if (!r.reference.lost.empty()) {
        ++report.errors;
        if (report.first_error.empty())
          report.first_error =
              "seed " + std::to_string(seed) + ": the reference itself: " + r.reference.lost;
        return;
      }
    }
    if (!r.found) return;
    const auto kind = r.found->kind;

    // Implementation-defined variants: the reference with one of its IMPL options may behave as
    // the target for the whole program (a known variant, a note), or only further into it; then
    // the real divergence is the one after that variant's choice, judged against that variant.
    // A target may have made several such choices (C: priority per function, and abandoned jobs
    // dropped at a peek): an option that takes the agreement further is kept, and the next ones
    // are tried on top of it (one value per option name).
    std::unique_ptr<engine::target> variant_reference;
    std::vector<reference_option> chosen;
    bool explained = false;
    std::optional<divergence> judged = r.found;
    for (const auto& option : variants() | std::views::keys) {
      auto with = chosen;
      std::erase_if(with, [&](const reference_option& c) { return c.first == option.first; });
      with.push_back(option);
      // On top of the options kept so far, and alone (a kept option may have agreed by chance).
      std::vector<std::vector<reference_option>> tries{with};
      if (with.size() > 1) tries.push_back({option});
      for (auto& options : tries) {
        auto other = reference_with(options);
        const auto alt = run_on(*other, p, o.run);
        if (!alt.error.empty()) continue;
        const auto d = first_divergence(p, alt, r.target);
        if (d && d->step <= judged->step) continue;
        variant_reference = std::move(other);
        chosen = std::move(options);
        if (!d) {
          explained = true;
          break;
        }
        judged = d;
      }
      if (explained) break;
    }
    const auto variant_text = options_text(chosen);
    const bool judged_by_variant = variant_reference && !explained;
    // Programs are grouped by what they show: the same first difference explained by a variant,
    // or the same divergence (after any variant's choice).
    const auto group = explained ? "variant: " + kind
                                 : judged->kind + (judged_by_variant ? " | " + variant_text : "");
    auto known = [&](std::vector<finding>& list) {
      for (auto& f : list)
        if (f.first_kind == group) {
          ++f.seen;
          return true;
        }
      return false;
    };
    {
      // One thread shrinks each kind; the others only count the programs that show it.
      const std::lock_guard<std::mutex> lock(state);
      if (known(report.divergences) || known(report.notes)) return;
      if (auto it = shrinking.find(group); it != shrinking.end()) {
        ++it->second;
        return;
      }
      shrinking[group] = 0;
    }
    say(std::string("seed ") + std::to_string(seed) + ": " + judged->kind +
        (judged_by_variant ? " (against the reference with " + variant_text + ")" : "") +
        (explained ? " (as the reference with " + variant_text + ")" : "") + "; shrinking");
    finding f;
    f.first_kind = group;
    f.original_moves = p.actions.size();
    std::optional<server_pool> variant_pool;
    if (judged_by_variant)
      variant_pool.emplace(*variant_reference, o.server_reuse, pool_needs, pool_servers);
    server_pool& judge = judged_by_variant ? *variant_pool : servers.reference;
    if (judged_by_variant) {
      f.judged_with = variant_text;
      f.reference_options = chosen;
    }
    // Explained programs shrink against the default reference, the rest against their judge.
    const divergence& shown = explained ? *r.found : *judged;
    std::size_t runs = 0;
    std::optional<server_pool> explaining;
    if (explained) explaining.emplace(*variant_reference, o.server_reuse, pool_needs, pool_servers);
    f.shrunk = shrink(p, shown.kind, shown.step, servers.target, judge, o, runs,
                      explaining ? &*explaining : nullptr);
    auto final_run = run_both(servers.target, judge, f.shrunk, o.run);
    if (!final_run.found) {  // did not stay: keep the original program
      f.shrunk = p;
      final_run = run_both(servers.target, judge, p, o.run);
      if (!final_run.found) {
        const std::lock_guard<std::mutex> lock(state);
        shrinking.erase(group);  // a later program of this kind may do better
        return;
      }
    }
    f.found = *final_run.found;
    if (!f.judged_with.empty())
      f.found.kind += " (against the reference with " + f.judged_with + ")";
    f.reference = std::move(final_run.reference);
    f.target = std::move(final_run.target);
    auto note_variant = [&](std::vector<reference_option> options, observation seen) {
      f.known_variant = variant_note(options);
      f.variant_options = std::move(options);
      f.variant_observation = std::move(seen);
    };
    if (explained) note_variant(chosen, run_on(*reference_with(chosen), f.shrunk, o.run));
    // Shrinking may leave a program that one option explains whole: a known variant after all
    // (the original also diverged otherwise at that move; or, judged against one option, it
    // shrank to what another explains, as Perl's rotation over functions, then its LIFO HIGH jobs).
    // A judged finding is then described against the default reference, as every note is.
    for (const auto& option : variants() | std::views::keys) {
      if (explained) break;
      auto alt = run_on(*reference_with({option}), f.shrunk, o.run);
      if (!alt.error.empty() || first_divergence(f.shrunk, alt, f.target)) continue;
      if (!f.judged_with.empty()) {
        auto plain = run_both(servers.target, servers.reference, f.shrunk, o.run);
        if (!plain.found) break;
        f.found = *plain.found;
        f.reference = std::move(plain.reference);
        f.target = std::move(plain.target);
        f.judged_with.clear();
        f.reference_options.clear();
      }
      note_variant({option}, std::move(alt));
      break;
    }
    f.yaml = render_yaml(f, target.describe());
    check_reproduction(f, target, reference, o);
    const std::lock_guard<std::mutex> lock(state);
    f.seen += shrinking[group];
    shrinking.erase(group);
    if (!o.out_dir.empty()) {
      std::filesystem::create_directories(o.out_dir);
      f.yaml_path = o.out_dir + std::string("/") + slug(f.found.kind).substr(0, 48) + "-" +
                    std::to_string(f.shrunk.seed) + ".yaml";
      std::ofstream(f.yaml_path) << f.yaml;
    }
    say(std::string(f.known_variant.empty() ? "  divergence" : "  known variant") + ", " +
        std::to_string(f.shrunk.actions.size()) + std::string(" moves after ") +
        std::to_string(runs) + " runs; scenario " +
        (f.reproduces ? "reproduces" : "does NOT reproduce") + " (" + f.reproduction + ")");
    (f.known_variant.empty() ? report.divergences : report.notes).push_back(std::move(f));
  };
  auto worker = [&] {
    thread_servers servers{server_pool(target, o.server_reuse, pool_needs, pool_servers),
                           server_pool(reference, o.server_reuse, pool_needs, pool_servers)};
    for (;;) {
      if (!time_left()) return;
      const std::size_t n = started.fetch_add(1);
      if (o.max_programs && n >= o.max_programs) return;
      explore_program(o.seed + n, servers);
      const std::lock_guard<std::mutex> lock(state);
      if (clock::now() - last_progress >= std::chrono::seconds(10)) {  // a sign of life
        last_progress = clock::now();
        say(std::to_string(report.programs) + " programs so far, " +
            std::to_string(report.divergences.size()) + " divergence(s), " +
            std::to_string(report.notes.size()) + " known variant(s)");
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < std::max(1u, o.jobs); ++j) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  return report;
}

}  // namespace gearspec::explore
