#include "harness/scenario/loader.hpp"

#include "harness/scenario/needs.hpp"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <regex>
#include <set>

#include "harness/scenario/yaml_support.hpp"

namespace gearspec::scenario {
namespace {

using namespace detail;

/// Step keys that are not actors (scenario_parser::parse_step handles each).
bool is_step_keyword(std::string_view key) {
  return key == "sleep" || key == "sleep_until" || key == "parallel" || key == "timed" ||
         key == "repeat" || key == "restart" || key == "crash";
}

class scenario_parser {
 public:
  scenario_parser(const reader& r, scenario& s) : r_(r), s_(s) {}

  step_list parse_steps(const YAML::Node& list, const std::string& where) {
    r_.require_sequence(list, where);
    step_list steps;
    for (const auto& item : list) steps.push_back(parse_step(item));
    return steps;
  }

 private:
  step parse_step(const YAML::Node& n) {
    r_.require_map(n, "a step");
    if (n.size() != 1)
      r_.fail(n,
              "a step has exactly one key: an actor name, 'sleep', 'parallel', 'timed', "
              "'restart' or 'crash' (is a '-' missing?)");
    const auto kv = *n.begin();
    const auto key = kv.first.Scalar();
    step st;
    st.mark = r_.mark(kv.first);
    if (key == "sleep") {
      st.what = sleep_step{parse_duration(r_.scalar(kv.second, "sleep"), r_.mark(kv.second))};
      return st;
    }
    if (key == "sleep_until") {
      const auto& spec = kv.second;
      r_.require_map(spec, "sleep_until");
      r_.only_keys(spec, {"epoch", "plus"}, "a sleep_until step");
      if (!spec["epoch"]) r_.fail(spec, "sleep_until needs epoch: the name of an epoch variable");
      sleep_until_step until;
      until.variable = r_.scalar(spec["epoch"], "epoch");
      static const std::regex epoch_name("epoch(soon)?[0-9]*");
      if (!std::regex_match(until.variable, epoch_name))
        r_.fail(spec["epoch"],
                "sleep_until waits for an epoch variable (epoch, epoch5, epochsoon, "
                "epochsoon1, ...), got '" +
                    until.variable + "'");
      if (spec["plus"])
        until.plus = parse_duration(r_.scalar(spec["plus"], "plus"), r_.mark(spec["plus"]));
      st.what = std::move(until);
      return st;
    }
    if (key == "restart" || key == "crash") {
      server_fault_step fault{r_.scalar(kv.second, key.c_str()), key == "crash"};
      if (std::find(s_.servers.begin(), s_.servers.end(), fault.server) == s_.servers.end())
        r_.fail(kv.second,
                key + " names server '" + fault.server + "', which is not listed under servers:");
      if (!s_.needs_restart()) s_.needs.push_back("restart");
      st.what = std::move(fault);
      return st;
    }
    if (key == "parallel") {
      parallel_step par;
      r_.require_sequence(kv.second, "parallel");
      for (const auto& branch : kv.second) {
        if (branch.IsSequence())
          par.branches.push_back(parse_steps(branch, "a parallel branch"));
        else
          par.branches.push_back(step_list{parse_step(branch)});
      }
      if (par.branches.size() < 2) r_.fail(kv.second, "parallel needs at least two branches");
      st.what = std::move(par);
      return st;
    }
    if (key == "repeat") {
      const auto& t = kv.second;
      r_.require_map(t, "repeat");
      r_.only_keys(t, {"times", "steps"}, "a repeat step");
      if (!t["times"] || !t["steps"]) r_.fail(t, "repeat needs times and steps");
      timed_step repeat;
      repeat.judge_time = false;
      repeat.rounds = parse_count(t["times"], "times", 2, 1000);
      repeat.steps = parse_steps(t["steps"], "repeat steps");
      if (repeat.steps.empty()) r_.fail(t["steps"], "repeat needs at least one step");
      st.what = std::move(repeat);
      return st;
    }
    if (key == "timed") {
      const auto& t = kv.second;
      r_.require_map(t, "timed");
      r_.only_keys(t, {"rounds", "median_under", "steps"}, "a timed step");
      if (!t["median_under"] || !t["steps"])
        r_.fail(t, "timed needs median_under (the longest acceptable median round) and steps");
      timed_step timed;
      if (t["rounds"]) timed.rounds = parse_count(t["rounds"], "rounds", 3, 1000);
      timed.median_under =
          parse_duration(r_.scalar(t["median_under"], "median_under"), r_.mark(t["median_under"]));
      timed.steps = parse_steps(t["steps"], "timed steps");
      if (timed.steps.empty()) r_.fail(t["steps"], "timed needs at least one step");
      st.what = std::move(timed);
      return st;
    }
    const actor* a = s_.find_actor(key);
    if (!a) r_.fail(kv.first, "unknown actor '" + key + "' (declare it under actors:)");
    st.what = parse_action(*a, kv.second);
    return st;
  }

  /// A whole number from low to high (at most 4 digits), or a load error at the node.
  unsigned parse_count(const YAML::Node& n, const char* what, unsigned low, unsigned high) {
    const auto text = r_.scalar(n, what);
    const bool digits =
        !text.empty() && text.size() <= 4 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoul(text) < low || std::stoul(text) > high)
      r_.fail(n, std::string(what) + " must be a whole number from " + std::to_string(low) +
                     " to " + std::to_string(high));
    return static_cast<unsigned>(std::stoul(text));
  }

  step::action parse_word(const actor& a, const YAML::Node& n) {
    const auto word = n.Scalar();
    if (word == "connect") return connect_step{a.name};
    if (word == "disconnect") return disconnect_step{a.name, false};
    if (word == "kill") return disconnect_step{a.name, true};
    if (word == "expect_closed") return expect_closed_step{a.name, std::nullopt};
    if (word == "grab") {
      if (a.type == actor::role::admin) fail_admin_packets(a, n);
      return grab_step{a.name, false, {}, std::nullopt};
    }
    if (word == "sync") {
      if (a.type == actor::role::admin) fail_admin_packets(a, n);
      return sync_step{a.name};
    }
    if (auto cmd = wire::command_from_name(word)) {
      // Shorthand for sending a packet without arguments: "w: GRAB_JOB".
      if (wire::info(*cmd).arg_count != 0)
        r_.fail(n, shape_text(*cmd) + "; write {send: " + word + ", args: [...]}");
      if (a.type == actor::role::admin) fail_admin_packets(a, n);
      send_step send;
      send.actor = a.name;
      send.cmd = *cmd;
      return send;
    }
    r_.fail(n, "unknown action '" + word +
                   "' (connect, disconnect, kill, expect_closed, grab, sync, or a packet name)");
  }

  [[noreturn]] void fail_admin_packets(const actor& a, const YAML::Node& n) {
    r_.fail(n, "actor '" + a.name +
                   "' is an admin connection; give it a client or worker role to use packets");
  }

  step::action parse_action(const actor& a, const YAML::Node& n) {
    if (n.IsScalar()) return parse_word(a, n);
    r_.require_map(n, "an action");
    const bool binary = a.type != actor::role::admin;
    if (n["send"]) {
      r_.only_keys(n, {"send", "args", "magic", "chunk", "chunk_delay"}, "a send step");
      if (!binary) fail_admin_packets(a, n);
      send_step send;
      send.actor = a.name;
      send.cmd = parse_command(r_, n["send"]);
      const auto& shape = wire::info(send.cmd);
      const auto args = n["args"];
      const std::size_t given = args ? (r_.require_sequence(args, "args"), args.size()) : 0;
      if (given != shape.arg_count)
        r_.fail(args ? args : n["send"], shape_text(send.cmd) + ", got " + std::to_string(given));
      for (std::size_t i = 0; i < given; ++i) send.args.push_back(parse_value(r_, args[i]));
      if (n["magic"]) {
        const auto m = r_.scalar(n["magic"], "magic");
        if (m != "REQ" && m != "RES") r_.fail(n["magic"], "magic must be REQ or RES");
        send.request_magic = m == "REQ";
      }
      send.pacing = parse_pacing(r_, n);
      return send;
    }
    if (n["send_raw"]) {
      r_.only_keys(n, {"send_raw", "chunk", "chunk_delay"}, "a send_raw step");
      return send_raw_step{a.name, parse_value(r_, n["send_raw"]), parse_pacing(r_, n)};
    }
    if (n["wait_until_gone"]) return parse_gone(a, n);
    if (n["admin"] || n["wait_until"]) return parse_admin(a, n);
    if (n["expect"] || n["any_of"] || n["unordered"]) {
      r_.only_keys(n, {"expect", "args", "any_of", "unordered", "timeout"}, "an expect step");
      if (!binary) r_.fail(n, "admin actors use admin/wait_until steps, not expect");
      return parse_expect(a, n);
    }
    if (n["grab"]) {
      r_.only_keys(n, {"grab", "timeout"}, "a grab step");
      if (!binary) fail_admin_packets(a, n);
      grab_step g;
      g.actor = a.name;
      g.timeout = optional_duration(r_, n, "timeout");
      const auto what = n["grab"];
      if (what.IsScalar() && what.Scalar() == "NO_JOB") {
        g.no_job = true;
      } else {
        if (!what.IsSequence())
          r_.fail(what, "grab takes the expected assignment [handle, func, data] or NO_JOB");
        if (what.size() > 3)
          r_.fail(what, "grab's assignment has 3 parts (handle, func, data), got " +
                            std::to_string(what.size()));
        for (const auto& m : what) g.assignment.push_back(parse_matcher(r_, m));
      }
      return g;
    }
    if (n["expect_none"]) {
      r_.only_keys(n, {"expect_none"}, "an expect_none step");
      return expect_none_step{a.name, parse_duration(r_.scalar(n["expect_none"], "expect_none"),
                                                     r_.mark(n["expect_none"]))};
    }
    if (n["expect_closed"]) {
      r_.only_keys(n, {"expect_closed", "timeout"}, "an expect_closed step");
      return expect_closed_step{a.name, optional_duration(r_, n, "timeout")};
    }
    r_.fail(n,
            "unknown action: expected one of send, send_raw, expect, any_of, unordered, grab, "
            "expect_none, expect_closed, admin, wait_until, wait_until_gone");
  }

  admin_step parse_gone(const actor& a, const YAML::Node& n) {
    r_.only_keys(n, {"wait_until_gone", "timeout"}, "a wait_until_gone step");
    if (a.type != actor::role::admin)
      r_.fail(n, "wait_until_gone is an admin step (it asks \"workers\"); '" + a.name +
                     "' is not an admin actor");
    const auto whose = r_.scalar(n["wait_until_gone"], "wait_until_gone");
    const actor* closed = s_.find_actor(whose);
    if (!closed)
      r_.fail(n["wait_until_gone"], "unknown actor '" + whose + "' (declare it under actors:)");
    if (closed->type == actor::role::admin)
      r_.fail(n["wait_until_gone"],
              "wait_until_gone takes a client or worker, not admin actor '" + whose + "'");
    if (closed->server != a.server)
      r_.fail(n["wait_until_gone"],
              "'" + whose + "' and '" + a.name + "' talk to different servers");
    admin_step st;
    st.actor = a.name;
    st.poll = true;
    st.line = value_template::literal("workers");
    st.line.mark = r_.mark(n["wait_until_gone"]);
    st.answer.response = admin_expectation::kind::list;
    st.timeout = optional_duration(r_, n, "timeout");
    st.gone = whose;
    s_.awaited_closes.insert(whose);
    return st;
  }

  admin_step parse_admin(const actor& a, const YAML::Node& n) {
    r_.only_keys(n,
                 {"admin", "wait_until", "response", "lines", "unordered", "contains", "excludes",
                  "line", "timeout"},
                 "an admin step");
    if (n["admin"] && n["wait_until"]) r_.fail(n, "use admin or wait_until, not both");
    admin_step st;
    st.actor = a.name;
    st.poll = !n["admin"];
    st.line = parse_value(r_, n["admin"] ? n["admin"] : n["wait_until"]);
    st.timeout = optional_duration(r_, n, "timeout");
    auto& ans = st.answer;
    if (n["response"]) ans.response = parse_response_kind(r_, n["response"]);
    if (n["lines"]) {
      r_.require_sequence(n["lines"], "lines");
      ans.lines.emplace();
      for (const auto& l : n["lines"]) ans.lines->push_back(parse_matcher(r_, l));
    }
    if (n["unordered"]) ans.unordered = n["unordered"].as<bool>(false);
    if (n["contains"]) {
      r_.require_sequence(n["contains"], "contains");
      for (const auto& l : n["contains"]) ans.contains.push_back(parse_matcher(r_, l));
    }
    if (n["excludes"]) {
      r_.require_sequence(n["excludes"], "excludes");
      for (const auto& l : n["excludes"]) ans.excludes.push_back(parse_matcher(r_, l));
    }
    if (n["line"]) ans.line = parse_matcher(r_, n["line"]);
    if (st.poll && !ans.lines && ans.contains.empty() && ans.excludes.empty() && !ans.line &&
        ans.response == admin_expectation::kind::any)
      r_.fail(
          n,
          "wait_until needs something to wait for (lines, contains, excludes, line or response)");
    return st;
  }

  expect_step parse_expect(const actor& a, const YAML::Node& n) {
    expect_step st;
    st.actor = a.name;
    st.timeout = optional_duration(r_, n, "timeout");
    const int forms = (n["expect"] ? 1 : 0) + (n["any_of"] ? 1 : 0) + (n["unordered"] ? 1 : 0);
    if (forms != 1) r_.fail(n, "use one of expect, any_of or unordered in a step");
    if (n["expect"]) {
      if (n["expect"].IsSequence()) {
        if (n["args"]) r_.fail(n["args"], "args go inside each packet when expect is a list");
        st.alternatives.push_back(parse_alternative(r_, n["expect"]));
      } else {
        st.alternatives.push_back({parse_packet_expectation(r_, n["expect"], n["args"])});
      }
    } else if (n["any_of"]) {
      if (n["args"]) r_.fail(n["args"], "args go inside each alternative of any_of");
      r_.require_sequence(n["any_of"], "any_of");
      for (const auto& alt : n["any_of"]) st.alternatives.push_back(parse_alternative(r_, alt));
      if (st.alternatives.size() < 2)
        r_.fail(n["any_of"], "any_of needs at least two alternatives");
    } else {
      if (n["args"]) r_.fail(n["args"], "args go inside each packet of unordered");
      const auto packets = parse_alternative(r_, n["unordered"]);
      if (packets.size() < 2 || packets.size() > 5)
        r_.fail(n["unordered"], "unordered takes 2 to 5 packets");
      std::vector<std::size_t> order(packets.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      do {
        std::vector<packet_expectation> seq;
        for (auto i : order) seq.push_back(packets[i]);
        st.alternatives.push_back(std::move(seq));
      } while (std::next_permutation(order.begin(), order.end()));
    }
    return st;
  }

  const reader& r_;
  scenario& s_;
};

// ---------------------------------------------------------------------------------------------
// Variables: every $name must be generated (fn, uniq, ...) or captured earlier in step order.

class variable_checker {
 public:
  void check(const step_list& steps, std::set<std::string>& defined) {
    for (const auto& st : steps) check(st, defined);
  }

 private:
  static void use(const value_template& t, const std::set<std::string>& defined) {
    for (const auto& p : t.pieces) {
      if (!p.is_variable || is_generated_variable(p.text) || defined.count(p.text)) continue;
      throw scenario_error(t.mark, "undefined variable $" + p.text +
                                       " (capture it earlier with {capture: " + p.text +
                                       "}, or use a generated name such as ${fn} or ${uniq})");
    }
  }
  static void use(const matcher& m, const std::set<std::string>& defined) {
    if (m.type != matcher::kind::capture && m.type != matcher::kind::any) use(m.value, defined);
    for (const auto& other : m.differs_from) use(other, defined);
  }

  void check(const step& st, std::set<std::string>& defined) {
    std::visit([&](const auto& action) { check_action(action, defined); }, st.what);
  }

  void check_action(const send_step& s, std::set<std::string>& defined) {
    for (const auto& a : s.args) use(a, defined);
  }
  void check_action(const send_raw_step& s, std::set<std::string>& defined) {
    use(s.bytes, defined);
  }
  void check_action(const expect_step& s, std::set<std::string>& defined) {
    for (const auto& alt : s.alternatives)
      for (const auto& p : alt)
        for (const auto& m : p.args) use(m, defined);
    // Captures are available afterwards only if every alternative makes them.
    std::set<std::string> common;
    bool first = true;
    for (const auto& alt : s.alternatives) {
      std::set<std::string> here;
      for (const auto& p : alt)
        for (const auto& m : p.args)
          if (m.type == matcher::kind::capture) here.insert(m.name);
      if (first) {
        common = here;
        first = false;
      } else {
        std::set<std::string> both;
        std::set_intersection(common.begin(), common.end(), here.begin(), here.end(),
                              std::inserter(both, both.end()));
        common = both;
      }
    }
    defined.insert(common.begin(), common.end());
  }
  void check_action(const grab_step& s, std::set<std::string>& defined) {
    for (const auto& m : s.assignment) use(m, defined);
    for (const auto& m : s.assignment)
      if (m.type == matcher::kind::capture) defined.insert(m.name);
  }
  void check_action(const admin_step& s, std::set<std::string>& defined) {
    use(s.line, defined);
    const auto& ans = s.answer;
    if (ans.lines)
      for (const auto& m : *ans.lines) use(m, defined);
    for (const auto& m : ans.contains) use(m, defined);
    for (const auto& m : ans.excludes) use(m, defined);
    if (ans.line) use(*ans.line, defined);
    if (ans.line && ans.line->type == matcher::kind::capture) defined.insert(ans.line->name);
  }
  void check_action(const parallel_step& s, std::set<std::string>& defined) {
    std::set<std::string> after = defined;
    for (const auto& branch : s.branches) {
      std::set<std::string> mine = defined;  // a branch cannot see another branch's captures
      check(branch, mine);
      after.insert(mine.begin(), mine.end());
    }
    defined = after;
  }
  void check_action(const timed_step& s, std::set<std::string>& defined) {
    // Inside repeat:, ${round} is the round's number (1, 2, ...): a fresh function name per round.
    if (!s.judge_time) {
      std::set<std::string> inside = defined;
      inside.insert("round");
      check(s.steps, inside);
      inside.erase("round");
      defined.insert(inside.begin(), inside.end());
      return;
    }
    check(s.steps, defined);
  }
  template <typename Other>
  void check_action(const Other&, std::set<std::string>&) {}  // no values in the other steps
};

scenario parse_scenario(const YAML::Node& root, const reader& r) {
  if (!root || root.IsNull()) throw scenario_error({r.file(), 1, 1}, "empty scenario file");
  r.require_map(root, "a scenario");
  r.only_keys(root,
              {"id", "title", "requirements", "level", "tags", "description", "servers", "actors",
               "steps", "variants", "time_limit", "needs", "reference_options"},
              "a scenario");
  scenario s;
  s.file = r.file();
  if (!root["id"]) r.fail(root, "a scenario needs an id");
  s.id = r.scalar(root["id"], "id");
  static const std::regex id_pattern("[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*");
  if (!std::regex_match(s.id, id_pattern))
    r.fail(root["id"],
           "id '" + s.id + "' must be lower-case words separated by '/', e.g. attach/late-attach");
  if (!root["title"]) r.fail(root, "a scenario needs a title");
  s.title = r.scalar(root["title"], "title");
  if (root["requirements"]) s.requirements = r.string_list(root["requirements"], "requirements");
  if (s.requirements.empty())
    r.fail(root["requirements"] ? root["requirements"] : root,
           "a scenario must cite at least one requirement ID (docs/requirements.md)");
  if (!root["level"]) r.fail(root, "a scenario needs a level (MUST, SHOULD or IMPL)");
  s.level = r.scalar(root["level"], "level");
  if (s.level != "MUST" && s.level != "SHOULD" && s.level != "IMPL")
    r.fail(root["level"], "level must be MUST, SHOULD or IMPL");
  if (root["tags"]) s.tags = r.string_list(root["tags"], "tags");
  if (root["description"]) s.description = r.scalar(root["description"], "description");
  if (s.description.empty())
    r.fail(root, "a scenario needs a description of the behaviour and its source");
  if (root["servers"]) {
    s.servers = r.string_list(root["servers"], "servers");
    if (s.servers.empty()) r.fail(root["servers"], "servers must name at least one server");
  }
  if (root["needs"]) {
    s.needs = r.string_list(root["needs"], "needs");
    for (const auto& need : s.needs)
      if (!is_known_need(need))
        r.fail(root["needs"], "unknown need '" + need +
                                  "' (a target need: restart, persistent-queue, disposable-server; "
                                  "or a capability listed in docs/scenario-format.md)");
  }
  if (root["reference_options"]) {
    static const std::regex option_pattern("([a-z][a-z0-9-]*)(=(.*))?");
    for (const auto& option : r.string_list(root["reference_options"], "reference_options")) {
      std::smatch m;
      if (!std::regex_match(option, m, option_pattern))
        r.fail(root["reference_options"],
               "reference option '" + option +
                   "' must be NAME or NAME=VALUE, as gearspec run --ref (e.g. can-do-wake=no)");
      s.reference_options.emplace_back(m[1].str(), m[3].str());
    }
  }
  if (root["time_limit"])
    s.time_limit =
        parse_duration(r.scalar(root["time_limit"], "time_limit"), r.mark(root["time_limit"]));
  if (!root["actors"]) r.fail(root, "a scenario needs actors");
  r.require_map(root["actors"], "actors");
  for (const auto& kv : root["actors"]) {
    actor a;
    a.name = kv.first.Scalar();
    a.mark = r.mark(kv.first);
    if (is_step_keyword(a.name))
      r.fail(kv.first, "'" + a.name + "' is reserved and cannot name an actor");
    std::string role;
    if (kv.second.IsScalar()) {
      role = kv.second.Scalar();
    } else {
      r.require_map(kv.second, "an actor");
      r.only_keys(kv.second, {"role", "server", "ignore"}, "an actor");
      if (!kv.second["role"]) r.fail(kv.second, "an actor needs a role (client, worker or admin)");
      role = r.scalar(kv.second["role"], "role");
      if (kv.second["server"]) a.server = r.scalar(kv.second["server"], "server");
      if (kv.second["ignore"])
        for (const auto& name : kv.second["ignore"]) a.ignore.push_back(parse_command(r, name));
    }
    if (role == "client")
      a.type = actor::role::client;
    else if (role == "worker")
      a.type = actor::role::worker;
    else if (role == "admin")
      a.type = actor::role::admin;
    else
      r.fail(kv.second, "role must be client, worker or admin, got '" + role + "'");
    if (std::find(s.servers.begin(), s.servers.end(), a.server) == s.servers.end())
      r.fail(kv.second, "actor '" + a.name + "' uses server '" + a.server +
                            "', which is not listed under servers:");
    s.actors.push_back(std::move(a));
  }
  if (!root["steps"] && !root["variants"]) r.fail(root, "a scenario needs steps");
  scenario_parser parser(r, s);
  if (root["steps"]) s.steps = parser.parse_steps(root["steps"], "steps");
  if (root["variants"]) {
    if (s.level != "IMPL")
      r.fail(root["variants"],
             "only IMPL scenarios have variants (a " + s.level + " scenario has one right answer)");
    r.require_map(root["variants"], "variants");
    for (const auto& kv : root["variants"]) {
      variant v;
      v.name = kv.first.Scalar();
      v.mark = r.mark(kv.first);
      static const std::regex name_pattern("[a-z0-9][a-z0-9-]*");
      if (!std::regex_match(v.name, name_pattern))
        r.fail(kv.first, "variant name '" + v.name + "' must be lower-case words joined by '-'");
      r.require_map(kv.second, "a variant");
      r.only_keys(kv.second, {"description", "steps"}, "a variant");
      if (!kv.second["description"])
        r.fail(kv.second, "variant '" + v.name +
                              "' needs a description: the behaviour and the "
                              "servers (or PROTOCOL text) that show it");
      v.description = r.scalar(kv.second["description"], "description");
      if (kv.second["steps"]) v.steps = parser.parse_steps(kv.second["steps"], "variant steps");
      for (const auto& other : s.variants)
        if (other.name == v.name) r.fail(kv.first, "variant '" + v.name + "' is named twice");
      s.variants.push_back(std::move(v));
    }
  }
  if (s.level == "IMPL" && s.variants.empty())
    r.fail(root,
           "an IMPL scenario names its known variants (variants: {name: {description, "
           "steps}}): it reports which one a server shows and never fails by itself");
  const bool any_steps =
      !s.steps.empty() || std::any_of(s.variants.begin(), s.variants.end(),
                                      [](const variant& v) { return !v.steps.empty(); });
  if (!any_steps)
    r.fail(root["steps"] ? root["steps"] : root, "a scenario needs at least one step");
  std::set<std::string> defined;
  variable_checker().check(s.steps, defined);
  for (const auto& v : s.variants) {
    auto mine = defined;  // a variant sees the captures of the scenario's steps, not of the others
    variable_checker().check(v.steps, mine);
  }
  return s;
}

}  // namespace

bool is_generated_variable(const std::string& name) {
  static const std::regex generated("(fn|uniq|key)[0-9]*|run|epoch(soon)?[0-9]*");
  return std::regex_match(name, generated);
}

duration parse_duration(const std::string& text, const source_mark& mark) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw scenario_error(mark, "bad duration '" + text + "' (e.g. 250ms, 2s)");
  }
  const auto unit = text.substr(used);
  double ms = value;
  if (unit == "s")
    ms = value * 1000;
  else if (unit != "ms" && !unit.empty())
    throw scenario_error(mark, "bad duration unit in '" + text + "' (use ms or s)");
  if (ms < 0 || ms > 3600 * 1000)
    throw scenario_error(mark, "duration '" + text + "' out of range (0 to 1 hour)");
  return duration(static_cast<long long>(ms));
}

scenario load_scenario_string(const std::string& yaml, const std::string& name) {
  reader r(name);
  const YAML::Node root = detail::parse_yaml(yaml, name);
  try {
    return parse_scenario(root, r);
  } catch (const YAML::Exception& e) {
    throw scenario_error({name, e.mark.line + 1, e.mark.column + 1}, e.msg);
  }
}

scenario load_scenario_file(const std::string& path) {
  return load_scenario_string(detail::read_text(path, "cannot read file"), path);
}

std::vector<std::string> find_scenario_files(const std::string& path) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return {path};
  if (!fs::is_directory(path, ec)) throw scenario_error({path, 0, 0}, "no such file or directory");
  for (const auto& entry : fs::recursive_directory_iterator(path, ec))
    if (entry.is_regular_file() &&
        (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml"))
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace gearspec::scenario
