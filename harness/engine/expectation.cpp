#include "harness/engine/expectation.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>

#include "harness/wire/printer.hpp"

namespace gearspec::engine {

using scenario::matcher;
using scenario::packet_expectation;

std::string random_token() {
  std::random_device rd;
  std::mt19937_64 rng(rd() ^ static_cast<std::uint64_t>(
                                 std::chrono::steady_clock::now().time_since_epoch().count()));
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(digits[rng() % 36]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Variables.

long long epoch_after(long long seconds) {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
         seconds;
}

long long epoch_soon(long long n) {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return (now_ms + 500 + 1000 * n + 999) / 1000;
}

std::string variables::value(const std::string& name, const bindings& pending) {
  if (auto it = pending.find(name); it != pending.end()) return it->second;
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  // Generated placeholders: fn/uniq/key are unique per run, so runs can share a server; epochN
  // is the Unix time N seconds after its first use; epochsoonN the first whole second at least
  // N.5 seconds after it (a due time soon, but never so close that a step could miss it).
  std::string generated = name == "run" ? token_ : name + "-" + token_;
  if (name.rfind("epochsoon", 0) == 0)
    generated = std::to_string(epoch_soon(name.size() > 9 ? std::stoll(name.substr(9)) : 0));
  else if (name.rfind("epoch", 0) == 0)
    generated = std::to_string(epoch_after(name.size() > 5 ? std::stoll(name.substr(5)) : 0));
  values_[name] = generated;
  return generated;
}

std::string variables::expand(const scenario::value_template& t, const bindings& pending) {
  std::string out;
  for (const auto& p : t.pieces) out += p.is_variable ? value(p.text, pending) : p.text;
  return out;
}

void variables::commit(const bindings& captures) {
  for (const auto& [name, v] : captures) values_[name] = v;
}

// ---------------------------------------------------------------------------------------------
// Matching.

bool matches(const matcher& m, std::string_view value, variables& vars, bindings& pending) {
  switch (m.type) {
    case matcher::kind::any:
      return true;
    case matcher::kind::capture:
      for (const auto& other : m.differs_from)
        if (value == vars.expand(other, pending)) return false;
      pending[m.name] = std::string(value);
      return true;
    case matcher::kind::exact:
      return value == vars.expand(m.value, pending);
    case matcher::kind::prefix: {
      const auto prefix = vars.expand(m.value, pending);
      return value.substr(0, prefix.size()) == prefix;
    }
    case matcher::kind::regex: {
      const auto pattern = vars.expand(m.value, pending);
      std::regex re;
      try {
        re = std::regex(pattern, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        throw bad_pattern("the regex /" + pattern + "/ is not a valid pattern: " + e.what());
      }
      return std::regex_match(value.begin(), value.end(), re);
    }
  }
  return false;
}

const wire::packet* first_unignored(const std::deque<wire::packet>& inbox,
                                    const std::vector<wire::command>& ignore) {
  for (const auto& p : inbox)
    if (std::find(ignore.begin(), ignore.end(), p.cmd) == ignore.end()) return &p;
  return nullptr;
}

namespace {

/// One alternative against the relevant packets.
inbox_judgement::kind try_sequence(const std::vector<packet_expectation>& sequence,
                                   const std::vector<const wire::packet*>& got, variables& vars,
                                   bindings& pending) {
  for (std::size_t i = 0; i < sequence.size(); ++i) {
    if (i >= got.size()) return inbox_judgement::kind::need_more;
    const auto& e = sequence[i];
    const auto& p = *got[i];
    if (p.cmd != e.cmd) return inbox_judgement::kind::mismatch;
    for (std::size_t a = 0; a < e.args.size(); ++a)
      if (a >= p.args.size() || !matches(e.args[a], p.args[a], vars, pending))
        return inbox_judgement::kind::mismatch;
  }
  return inbox_judgement::kind::match;
}

/// Assigns matchers to distinct lines (small n: backtracking).
bool assign_lines(const std::vector<matcher>& ms, std::size_t i,
                  const std::vector<std::string>& lines, std::vector<bool>& used, variables& vars,
                  bindings& pending) {
  if (i == ms.size()) return true;
  for (std::size_t l = 0; l < lines.size(); ++l) {
    if (used[l]) continue;
    auto trial = pending;
    if (!matches(ms[i], lines[l], vars, trial)) continue;
    used[l] = true;
    if (assign_lines(ms, i + 1, lines, used, vars, trial)) {
      pending = trial;
      return true;
    }
    used[l] = false;
  }
  return false;
}

std::string describe_lines(const std::vector<matcher>& ms, variables& vars,
                           const bindings& pending) {
  std::string out;
  for (const auto& m : ms) out += (out.empty() ? "" : ", ") + describe(m, vars, pending);
  return out;
}

const char* kind_name(scenario::admin_expectation::kind k) {
  using kind = scenario::admin_expectation::kind;
  switch (k) {
    case kind::ok:
      return "ok";
    case kind::err:
      return "err";
    case kind::list:
      return "list";
    case kind::other:
      return "other";
    case kind::any:
      return "any";
  }
  return "?";
}

}  // namespace

inbox_judgement judge_inbox(const alternatives& wanted, const std::deque<wire::packet>& inbox,
                            const std::vector<wire::command>& ignore, variables& vars) {
  // Packet types an alternative names are never skipped as "ignored".
  std::set<wire::command> named;
  for (const auto& sequence : wanted)
    for (const auto& p : sequence) named.insert(p.cmd);
  inbox_judgement out;
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < inbox.size(); ++i) {
    const auto cmd = inbox[i].cmd;
    if (!named.count(cmd) && std::find(ignore.begin(), ignore.end(), cmd) != ignore.end()) continue;
    out.relevant.push_back(&inbox[i]);
    positions.push_back(i);
  }
  bool waiting = false;
  for (const auto& sequence : wanted) {
    bindings pending;
    const auto v = try_sequence(sequence, out.relevant, vars, pending);
    if (v == inbox_judgement::kind::match) {
      out.result = v;
      out.captures = std::move(pending);
      out.consumed = positions[sequence.size() - 1] + 1;
      out.matched = sequence.size();
      return out;
    }
    if (v == inbox_judgement::kind::need_more) waiting = true;
  }
  out.result = waiting ? inbox_judgement::kind::need_more : inbox_judgement::kind::mismatch;
  return out;
}

bool workers_lists(const wire::admin_response& answer, const std::string& client_id) {
  const std::string column = " " + client_id + " :";
  return std::any_of(answer.lines.begin(), answer.lines.end(), [&](const std::string& line) {
    return line.find(column) != std::string::npos;
  });
}

std::string judge_admin(const scenario::admin_expectation& want, const wire::admin_response& got,
                        variables& vars, bindings& pending) {
  using k = scenario::admin_expectation::kind;
  using r = wire::admin_response::kind;
  if (want.response != k::any) {
    const bool ok = (want.response == k::ok && got.type == r::ok) ||
                    (want.response == k::err && got.type == r::err) ||
                    (want.response == k::list && got.type == r::list) ||
                    (want.response == k::other && got.type == r::other);
    if (!ok)
      return std::string("a response of kind ") + kind_name(want.response) + ", got " +
             std::string(wire::name(got.type));
  }
  if (want.line) {
    const std::string whole = got.lines.empty() ? std::string{} : got.lines[0];
    if (got.lines.size() != 1 || !matches(*want.line, whole, vars, pending))
      return "the line " + describe(*want.line, vars, pending) + ", got " + quote(whole);
  }
  if (want.lines) {
    const auto& ms = *want.lines;
    bool ok = ms.size() == got.lines.size();
    if (ok && !want.unordered) {
      for (std::size_t i = 0; i < ms.size() && ok; ++i)
        ok = matches(ms[i], got.lines[i], vars, pending);
    } else if (ok) {
      std::vector<bool> used(got.lines.size(), false);
      ok = assign_lines(ms, 0, got.lines, used, vars, pending);
    }
    if (!ok)
      return "exactly the lines [" + describe_lines(ms, vars, pending) + "]" +
             (want.unordered ? " in any order" : "");
  }
  if (!want.contains.empty()) {
    std::vector<bool> used(got.lines.size(), false);
    if (!assign_lines(want.contains, 0, got.lines, used, vars, pending))
      return "lines including [" + describe_lines(want.contains, vars, pending) + "]";
  }
  for (const auto& m : want.excludes) {
    for (const auto& l : got.lines) {
      auto trial = pending;
      if (matches(m, l, vars, trial))
        return "no line like " + describe(m, vars, pending) + ", got " + quote(l);
    }
  }
  return {};
}

std::vector<wire::command> answers_to(wire::command request) {
  using wire::command;
  if (wire::is_submit(request)) return {command::job_created, command::error};
  switch (request) {
    case command::grab_job:
      return {command::job_assign, command::no_job, command::error};
    case command::grab_job_uniq:
      return {command::job_assign_uniq, command::no_job, command::error};
    case command::grab_job_all:
      return {command::job_assign_all, command::job_assign_uniq, command::no_job, command::error};
    case command::echo_req:
      return {command::echo_res, command::error};
    case command::get_status:
      return {command::status_res, command::error};
    case command::get_status_unique:
      return {command::status_res_unique, command::error};
    case command::option_req:
      return {command::option_res, command::error};
    default:
      return {};
  }
}

std::string expected_kinds(const alternatives& wanted) {
  std::vector<std::string> names;
  for (const auto& sequence : wanted) {
    if (sequence.empty()) continue;
    const std::string n(wire::name(sequence.front().cmd));
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : "|") + n;
  return out;
}

std::string mismatch_cause(const alternatives& wanted, const std::vector<const wire::packet*>& got,
                           const std::string& request, variables& vars) {
  const std::string after = request.empty() ? "" : "after " + request + ": ";
  if (got.empty()) return after + "expected " + expected_kinds(wanted) + ", got nothing";
  const auto& first = *got.front();
  // Same packet type, other arguments: name the first argument that differs.
  for (const auto& sequence : wanted) {
    if (sequence.empty() || sequence.front().cmd != first.cmd) continue;
    const auto& e = sequence.front();
    for (std::size_t a = 0; a < e.args.size(); ++a) {
      bindings scratch;
      if (a >= first.args.size() || !matches(e.args[a], first.args[a], vars, scratch))
        return std::string(wire::name(first.cmd)) + " with another " +
               std::string(wire::info(first.cmd).arg_names[a]) + " than expected";
    }
    // The first packet is right; what follows is not. Name a kind that came fewer times than the
    // sequence expects (the last one if it is short, as a result sent once instead of once per
    // submission is), else the first position that differs.
    std::map<wire::command, std::size_t> want_count, got_count;
    for (const auto& x : sequence) ++want_count[x.cmd];
    for (const auto* p : got) ++got_count[p->cmd];
    auto short_of = [&](wire::command c) { return got_count[c] < want_count[c]; };
    std::optional<wire::command> missing;
    if (short_of(sequence.back().cmd)) missing = sequence.back().cmd;
    for (std::size_t i = 0; !missing && i < sequence.size(); ++i)
      if (short_of(sequence[i].cmd)) missing = sequence[i].cmd;
    if (missing)
      return after + "fewer " + std::string(wire::name(*missing)) + " than expected (" +
             std::to_string(got_count[*missing]) + " of " + std::to_string(want_count[*missing]) +
             ")";
    for (std::size_t i = 1; i < sequence.size() && i < got.size(); ++i)
      if (sequence[i].cmd != got[i]->cmd)
        return after + "expected " + std::string(wire::name(sequence[i].cmd)) + " after " +
               std::string(wire::name(sequence[i - 1].cmd)) + ", got " +
               std::string(wire::name(got[i]->cmd));
    return after + "the packets after " + std::string(wire::name(first.cmd)) +
           " are not the expected ones";
  }
  return after + "expected " + expected_kinds(wanted) + ", got " +
         std::string(wire::name(first.cmd));
}

// ---------------------------------------------------------------------------------------------
// Descriptions.

std::string quote(std::string_view bytes) {
  std::string out(1, '"');  // (appending avoids g++ 12's -Wrestrict false positive on "x" + s)
  out += wire::escape_bytes(bytes, 80);
  out += '"';
  return out;
}

std::string describe(const matcher& m, variables& vars, const bindings& pending) {
  switch (m.type) {
    case matcher::kind::any:
      return "*";
    case matcher::kind::capture: {
      std::string out = "<capture " + m.name;
      for (std::size_t i = 0; i < m.differs_from.size(); ++i)
        out += (i ? ", " : ", not ") + quote(vars.expand(m.differs_from[i], pending));
      return out + ">";
    }
    case matcher::kind::regex:
      return "/" + vars.expand(m.value, pending) + "/";
    case matcher::kind::prefix:
      return quote(vars.expand(m.value, pending)) + "...";
    case matcher::kind::exact:
      return quote(vars.expand(m.value, pending));
  }
  return "?";
}

std::string describe(const packet_expectation& e, variables& vars) {
  const auto& shape = wire::info(e.cmd);
  std::string out(shape.name);
  out += "(";
  for (std::size_t i = 0; i < e.args.size(); ++i) {
    if (i) out += ", ";
    out += std::string(shape.arg_names[i]) + "=" + describe(e.args[i], vars);
  }
  return out + ")";
}

std::string describe(const std::vector<packet_expectation>& sequence, variables& vars) {
  std::string out;
  for (const auto& p : sequence) out += (out.empty() ? "" : " then ") + describe(p, vars);
  return out;
}

std::string describe(const alternatives& wanted, variables& vars) {
  std::string out;
  for (const auto& sequence : wanted)
    out += (out.empty() ? "" : "  OR  ") + describe(sequence, vars);
  return out;
}

namespace {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

std::string describe(const scenario::step& st) {
  return std::visit(
      overloaded{
          [](const scenario::connect_step& s) { return s.actor + ": connect"; },
          [](const scenario::send_step& s) {
            return s.actor + ": send " + std::string(wire::name(s.cmd));
          },
          [](const scenario::send_raw_step& s) { return s.actor + ": send_raw"; },
          [](const scenario::expect_step& s) {
            return s.actor + ": expect " +
                   (s.alternatives.size() == 1 && s.alternatives[0].size() == 1
                        ? std::string(wire::name(s.alternatives[0][0].cmd))
                        : std::to_string(s.alternatives.size()) + " alternative(s)");
          },
          [](const scenario::grab_step& s) { return s.actor + ": grab"; },
          [](const scenario::sync_step& s) { return s.actor + ": sync"; },
          [](const scenario::expect_none_step& s) { return s.actor + ": expect_none"; },
          [](const scenario::expect_closed_step& s) { return s.actor + ": expect_closed"; },
          [](const scenario::disconnect_step& s) {
            return s.actor + (s.abortive ? ": kill" : ": disconnect");
          },
          [](const scenario::admin_step& s) {
            return s.actor + (s.poll ? ": wait_until" : ": admin");
          },
          [](const scenario::sleep_step&) { return std::string("sleep"); },
          [](const scenario::sleep_until_step& s) { return "sleep_until " + s.variable; },
          [](const scenario::parallel_step&) { return std::string("parallel"); },
          [](const scenario::timed_step& s) {
            return (s.judge_time ? "timed (" : "repeat (") + std::to_string(s.rounds) + " rounds)";
          },
          [](const scenario::server_fault_step& s) {
            return (s.crash ? "crash " : "restart ") + s.server;
          },
      },
      st.what);
}

std::string show(const wire::admin_response& got) {
  std::string out;
  for (const auto& l : got.lines) out += (out.empty() ? "" : " | ") + quote(l);
  return std::string(wire::name(got.type)) + ": " + (out.empty() ? "(no lines)" : out);
}

std::string show(const std::vector<const wire::packet*>& got, std::size_t limit) {
  std::string out;
  for (std::size_t i = 0; i < got.size() && i < limit; ++i)
    out += (i ? ", " : "") + wire::to_string(*got[i]);
  return out;
}

}  // namespace gearspec::engine
