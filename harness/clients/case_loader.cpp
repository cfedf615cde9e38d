// Loads client-library cases from YAML (docs/clients.md, "Case files"). Every problem is a
// scenario_error with file:line:col; the byte values, matchers and packet expectations are parsed
// by the scenario loader's own helpers, so both formats read the same way.

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "harness/clients/client_case.hpp"
#include "harness/scenario/loader.hpp"
#include "harness/scenario/yaml_support.hpp"

namespace gearspec::clients {

namespace {
constexpr std::pair<job_action::kind, const char*> action_names[] = {
    {job_action::kind::data, "data"},     {job_action::kind::warning, "warning"},
    {job_action::kind::status, "status"}, {job_action::kind::complete, "complete"},
    {job_action::kind::fail, "fail"},     {job_action::kind::exception, "exception"},
    {job_action::kind::sleep, "sleep"}};
}  // namespace

const char* job_action::name(kind k) {
  for (const auto& [each, text] : action_names)
    if (each == k) return text;
  return "?";
}

std::optional<job_action::kind> job_action::named(const std::string& text) {
  for (const auto& [each, name] : action_names)
    if (text == name) return each;
  return std::nullopt;
}

namespace {

using namespace scenario::detail;
using scenario::parse_duration;

const std::set<std::string> known_needs = {
    "client",         "worker",          "background", "unique",  "priority",    "status",
    "status_unique",  "exceptions",      "data",       "warning", "work_status", "timeout",
    "can_do_timeout", "several_servers", "client_id",  "echo",    "reconnect",   "task_set"};

class case_parser {
 public:
  case_parser(const reader& r, client_case& c) : r_(r), c_(c) {}

  void parse(const YAML::Node& root) {
    r_.require_map(root, "a client case");
    r_.only_keys(root,
                 {"id", "title", "requirements", "level", "description", "needs", "servers",
                  "ignore", "steps", "time_limit"},
                 "a client case");
    for (const char* key : {"id", "level", "steps"})
      if (!root[key]) r_.fail(root, std::string("a client case needs '") + key + "'");
    c_.id = r_.scalar(root["id"], "id");
    if (root["title"]) c_.title = r_.scalar(root["title"], "title");
    if (root["description"]) c_.description = r_.scalar(root["description"], "description");
    c_.level = r_.scalar(root["level"], "level");
    if (c_.level != "MUST" && c_.level != "SHOULD" && c_.level != "INFO")
      r_.fail(root["level"], "level must be MUST, SHOULD or INFO, got '" + c_.level + "'");
    if (root["requirements"])
      c_.requirements = r_.string_list(root["requirements"], "requirements");
    if (c_.level != "INFO" && c_.requirements.empty())
      r_.fail(root, "a MUST or SHOULD case names its requirements (docs/clients.md)");
    if (root["needs"]) {
      c_.needs = r_.string_list(root["needs"], "needs");
      for (std::size_t i = 0; i < c_.needs.size(); ++i)
        if (!known_needs.count(c_.needs[i]))
          r_.fail(root["needs"].IsSequence() ? root["needs"][i] : root["needs"],
                  "unknown capability '" + c_.needs[i] + "' (docs/clients.md lists them)");
    }
    if (root["time_limit"])
      c_.time_limit =
          parse_duration(r_.scalar(root["time_limit"], "time_limit"), r_.mark(root["time_limit"]));
    parse_servers(root["servers"]);
    if (root["ignore"]) {
      r_.require_sequence(root["ignore"], "ignore");
      for (const auto& n : root["ignore"]) c_.ignore.push_back(parse_command(r_, n));
    }
    r_.require_sequence(root["steps"], "steps");
    for (const auto& n : root["steps"]) c_.steps.push_back(parse_step(n));
  }

 private:
  void parse_servers(const YAML::Node& n) {
    if (!n) {
      c_.servers.push_back({"s", false});
    } else {
      r_.require_sequence(n, "servers");
      for (const auto& item : n) {
        played_server s;
        if (item.IsScalar()) {
          s.name = item.Scalar();
        } else {
          r_.require_map(item, "a server");
          r_.only_keys(item, {"name", "down"}, "a server");
          if (!item["name"]) r_.fail(item, "a server needs a name");
          s.name = r_.scalar(item["name"], "name");
          if (item["down"]) s.down = item["down"].as<bool>(false);
        }
        if (s.name == "agent" || s.name == "sleep" || names_.count(s.name))
          r_.fail(item, "server name '" + s.name + "' is taken");
        names_[s.name] = kind::server;
        c_.servers.push_back(s);
      }
      if (c_.servers.empty() || c_.servers.size() > 3)
        r_.fail(n, "a case plays one to three servers");
    }
    for (const auto& s : c_.servers) names_[s.name] = kind::server;
  }

  case_step parse_step(const YAML::Node& n) {
    r_.require_map(n, "a step");
    if (n.size() != 1)
      r_.fail(n, "a step has exactly one key: agent, sleep, a server or a connection name");
    const auto kv = *n.begin();
    const auto key = kv.first.Scalar();
    case_step st;
    st.mark = r_.mark(kv.first);
    if (key == "sleep") {
      st.what =
          scenario::sleep_step{parse_duration(r_.scalar(kv.second, "sleep"), r_.mark(kv.second))};
    } else if (key == "agent") {
      st.what = parse_agent(kv.second);
    } else if (auto it = names_.find(key); it == names_.end()) {
      r_.fail(kv.first, "'" + key +
                            "' is not a server of this case nor a connection named by an earlier "
                            "accept step");
    } else if (it->second == kind::server) {
      st.what = parse_server_step(key, kv.second);
    } else {
      st.what = parse_connection_step(key, kv.second);
    }
    return st;
  }

  case_step::action parse_server_step(const std::string& server, const YAML::Node& n) {
    if (n.IsScalar()) {
      const auto word = n.Scalar();
      if (word == "restart" || word == "stop" || word == "crash")
        return server_step{server, word == "restart", word == "crash"};
      r_.fail(n, "a server step is accept, restart, stop or crash");
    }
    r_.require_map(n, "a server step");
    r_.only_keys(n, {"accept", "timeout"}, "an accept step");
    if (!n["accept"]) r_.fail(n, "a server step is accept, restart, stop or crash");
    accept_step a{server, r_.scalar(n["accept"], "accept"), optional_duration(r_, n, "timeout")};
    if (names_.count(a.connection) || a.connection == "agent" || a.connection == "sleep")
      r_.fail(n["accept"], "name '" + a.connection + "' is taken");
    names_[a.connection] = kind::connection;
    return a;
  }

  case_step::action parse_connection_step(const std::string& conn, const YAML::Node& n) {
    if (n.IsScalar()) {
      const auto word = n.Scalar();
      if (word == "close") return scenario::disconnect_step{conn, false};
      if (word == "reset") return scenario::disconnect_step{conn, true};
      if (word == "expect_closed") return scenario::expect_closed_step{conn, std::nullopt};
      if (word == "asleep") return asleep_step{conn, std::nullopt};
      r_.fail(n,
              "unknown action '" + word + "' (close, reset, expect_closed, asleep, or a mapping)");
    }
    r_.require_map(n, "a connection step");
    if (n["send"]) {
      r_.only_keys(n, {"send", "args", "chunk", "chunk_delay"}, "a send step");
      send_many_step s{conn, {parse_packet(n["send"], n["args"])}, parse_pacing(r_, n)};
      return s;
    }
    if (n["send_many"]) {
      r_.only_keys(n, {"send_many", "chunk", "chunk_delay"}, "a send_many step");
      r_.require_sequence(n["send_many"], "send_many");
      send_many_step s{conn, {}, parse_pacing(r_, n)};
      for (const auto& item : n["send_many"]) {
        r_.require_map(item, "a packet ({NAME: [args]})");
        if (item.size() != 1) r_.fail(item, "a packet is one {NAME: [args]}");
        const auto p = *item.begin();
        s.packets.push_back(parse_packet(p.first, p.second));
      }
      if (s.packets.size() < 2) r_.fail(n["send_many"], "send_many takes two packets or more");
      return s;
    }
    if (n["send_raw"]) {
      r_.only_keys(n, {"send_raw", "chunk", "chunk_delay"}, "a send_raw step");
      return scenario::send_raw_step{conn, parse_value(r_, n["send_raw"]), parse_pacing(r_, n)};
    }
    if (n["any_of"]) {
      r_.only_keys(n, {"any_of", "timeout"}, "an any_of step");
      r_.require_sequence(n["any_of"], "any_of");
      scenario::expect_step e;
      e.actor = conn;
      e.timeout = optional_duration(r_, n, "timeout");
      for (const auto& alt : n["any_of"]) e.alternatives.push_back(parse_alternative(r_, alt));
      if (e.alternatives.size() < 2) r_.fail(n["any_of"], "any_of needs at least two alternatives");
      return e;
    }
    if (n["expect"]) {
      r_.only_keys(n, {"expect", "args", "timeout"}, "an expect step");
      scenario::expect_step e;
      e.actor = conn;
      e.timeout = optional_duration(r_, n, "timeout");
      if (n["expect"].IsSequence()) {
        if (n["args"]) r_.fail(n["args"], "args go inside each packet when expect is a list");
        e.alternatives.push_back(parse_alternative(r_, n["expect"]));
      } else {
        e.alternatives.push_back({parse_packet_expectation(r_, n["expect"], n["args"])});
      }
      return e;
    }
    if (n["grab"]) {
      r_.only_keys(n, {"grab", "timeout"}, "a grab step");
      answer_grab_step g;
      g.connection = conn;
      g.timeout = optional_duration(r_, n, "timeout");
      const auto spec = n["grab"];
      if (spec.IsScalar() && (spec.Scalar() == "NO_JOB" || spec.Scalar() == "ERROR")) {
        g.no_job = spec.Scalar() == "NO_JOB";
        g.error = !g.no_job;
        return g;
      }
      r_.require_map(spec, "grab (the job to assign, NO_JOB or ERROR)");
      r_.only_keys(spec, {"handle", "function", "unique", "data"}, "a grab's job");
      for (const char* key : {"handle", "function", "data"})
        if (!spec[key]) r_.fail(spec, std::string("the job to assign needs ") + key);
      g.handle = parse_value(r_, spec["handle"]);
      g.function = parse_value(r_, spec["function"]);
      g.data = parse_value(r_, spec["data"]);
      if (spec["unique"]) g.unique = parse_value(r_, spec["unique"]);
      return g;
    }
    if (n["expect_none"]) {
      r_.only_keys(n, {"expect_none"}, "an expect_none step");
      return scenario::expect_none_step{
          conn,
          parse_duration(r_.scalar(n["expect_none"], "expect_none"), r_.mark(n["expect_none"]))};
    }
    if (n["expect_closed"]) {
      r_.only_keys(n, {"expect_closed", "timeout"}, "an expect_closed step");
      return scenario::expect_closed_step{conn, optional_duration(r_, n, "timeout")};
    }
    r_.fail(
        n,
        "unknown action: expected send, send_many, send_raw, expect, any_of, grab, expect_none, "
        "expect_closed, close or reset");
  }

  std::pair<wire::command, std::vector<value_template>> parse_packet(const YAML::Node& name,
                                                                     const YAML::Node& args) {
    const auto cmd = parse_command(r_, name);
    const auto& shape = wire::info(cmd);
    const std::size_t given = args ? (r_.require_sequence(args, "args"), args.size()) : 0;
    if (given != shape.arg_count)
      r_.fail(args ? args : name, shape_text(cmd) + ", got " + std::to_string(given));
    std::vector<value_template> values;
    for (std::size_t i = 0; i < given; ++i) values.push_back(parse_value(r_, args[i]));
    return {cmd, std::move(values)};
  }

  // --- the agent ---------------------------------------------------------------------------

  case_step::action parse_agent(const YAML::Node& n) {
    if (n.IsScalar()) {
      const auto word = n.Scalar();
      if (word == "run" || word == "quit") {
        agent_command c;
        c.verb = word;
        return agent_command_step{c};
      }
      r_.fail(n, "an agent step is run, quit, or a mapping (submit, event, quiet, ...)");
    }
    r_.require_map(n, "an agent step");
    if (n["event"]) return parse_event(n);
    if (n["quiet"]) {
      r_.only_keys(n, {"quiet"}, "a quiet step");
      return agent_quiet_step{parse_duration(r_.scalar(n["quiet"], "quiet"), r_.mark(n["quiet"]))};
    }
    agent_command c;
    if (n["submit"]) {
      r_.only_keys(n, {"submit", "function", "data", "unique", "priority", "background", "timeout"},
                   "a submit command");
      c.verb = "submit";
      c.id = r_.scalar(n["submit"], "submit (the submission's id)");
      if (!n["function"]) r_.fail(n, "a submit needs a function");
      c.function = parse_value(r_, n["function"]);
      c.data = n["data"] ? parse_value(r_, n["data"]) : value_template::literal("");
      if (n["unique"]) c.unique = parse_value(r_, n["unique"]);
      if (n["priority"]) {
        c.priority = r_.scalar(n["priority"], "priority");
        if (c.priority != "normal" && c.priority != "high" && c.priority != "low")
          r_.fail(n["priority"], "priority is normal, high or low");
      }
      if (n["background"]) c.background = n["background"].as<bool>(false);
      c.timeout = optional_duration(r_, n, "timeout");
      submissions_.insert(c.id);
    } else if (n["status"]) {
      r_.only_keys(n, {"status", "handle"}, "a status command");
      c.verb = "status";
      c.id = r_.scalar(n["status"], "status (the answer's id)");
      if (!n["handle"]) r_.fail(n, "a status command needs the job's handle");
      c.handle = parse_value(r_, n["handle"]);
    } else if (n["status_unique"]) {
      r_.only_keys(n, {"status_unique", "unique"}, "a status_unique command");
      c.verb = "status_unique";
      c.id = r_.scalar(n["status_unique"], "status_unique (the answer's id)");
      if (!n["unique"]) r_.fail(n, "a status_unique command needs the unique key");
      c.unique = parse_value(r_, n["unique"]);
    } else if (n["register"]) {
      r_.only_keys(n, {"register", "timeout", "script"}, "a register command");
      c.verb = "register";
      c.function = parse_value(r_, n["register"]);
      c.timeout = optional_duration(r_, n, "timeout");
      if (!n["script"])
        r_.fail(n, "a register command needs the job's script (e.g. [{complete: r}])");
      r_.require_sequence(n["script"], "script");
      for (const auto& a : n["script"]) c.script.push_back(parse_action(a));
    } else if (n["unregister"]) {
      r_.only_keys(n, {"unregister"}, "an unregister command");
      c.verb = "unregister";
      c.function = parse_value(r_, n["unregister"]);
    } else if (n["work"]) {
      r_.only_keys(n, {"work"}, "a work command");
      c.verb = "work";
      try {
        c.jobs = static_cast<unsigned>(std::stoul(r_.scalar(n["work"], "work")));
      } catch (const std::exception&) {
        r_.fail(n["work"], "work takes the number of jobs to do");
      }
      if (c.jobs == 0) r_.fail(n["work"], "work takes a positive number of jobs");
    } else if (n["client_id"]) {
      r_.only_keys(n, {"client_id"}, "a client_id command");
      c.verb = "client_id";
      c.data = parse_value(r_, n["client_id"]);
    } else if (n["echo"]) {
      r_.only_keys(n, {"echo"}, "an echo command");
      c.verb = "echo";
      c.data = parse_value(r_, n["echo"]);
    } else {
      r_.fail(n,
              "unknown agent step: expected submit, run, status, status_unique, register, "
              "unregister, work, client_id, echo, quit, event or quiet");
    }
    return agent_command_step{c};
  }

  job_action parse_action(const YAML::Node& n) {
    job_action a;
    if (n.IsScalar()) {
      if (n.Scalar() != "fail") r_.fail(n, "a script action is fail or a mapping");
      a.what = job_action::kind::fail;
      return a;
    }
    r_.require_map(n, "a script action");
    if (n.size() != 1) r_.fail(n, "a script action has one key");
    const auto kv = *n.begin();
    const auto key = kv.first.Scalar();
    const auto named = job_action::named(key);
    if (named && job_action::carries_bytes(*named)) {
      a.what = *named;
      a.bytes = parse_value(r_, kv.second);
    } else if (key == "status") {
      if (!kv.second.IsSequence() || kv.second.size() != 2)
        r_.fail(kv.second, "status takes [numerator, denominator]");
      a.what = job_action::kind::status;
      a.numerator = kv.second[0].as<unsigned>(0);
      a.denominator = kv.second[1].as<unsigned>(0);
    } else if (key == "sleep") {
      a.what = job_action::kind::sleep;
      a.pause = parse_duration(r_.scalar(kv.second, "sleep"), r_.mark(kv.second));
    } else {
      r_.fail(kv.first, "unknown script action '" + key +
                            "' (data, warning, status, complete, fail, exception, sleep)");
    }
    return a;
  }

  case_step::action parse_event(const YAML::Node& n) {
    r_.only_keys(n,
                 {"event", "id", "data", "function", "unique", "handle", "class", "numerator",
                  "denominator", "known", "running", "timeout"},
                 "an event expectation");
    static const std::set<std::string> known_events = {
        "created",   "data",  "warning", "status",        "complete", "fail",
        "exception", "error", "job",     "status_answer", "echo",     "done"};
    agent_expect_step e;
    e.want.mark = r_.mark(n);
    e.want.events = r_.string_list(n["event"], "event");
    for (const auto& ev : e.want.events)
      if (!known_events.count(ev))
        r_.fail(n["event"], "unknown event '" + ev + "' (docs/clients.md lists the events)");
    if (n["id"]) {
      e.want.id = r_.scalar(n["id"], "id");
      if (!submissions_.count(e.want.id) && !answer_ids(e.want.events))
        r_.fail(n["id"], "no earlier submit or status command has id '" + e.want.id + "'");
    }
    auto opt = [&](const char* key, std::optional<matcher>& into) {
      if (n[key]) into = parse_matcher(r_, n[key]);
    };
    opt("data", e.want.data);
    opt("function", e.want.function);
    opt("unique", e.want.unique);
    opt("handle", e.want.handle);
    opt("class", e.want.error_class);
    if (n["numerator"]) e.want.numerator = n["numerator"].as<unsigned>(0);
    if (n["denominator"]) e.want.denominator = n["denominator"].as<unsigned>(0);
    if (n["known"]) e.want.known = n["known"].as<bool>(false);
    if (n["running"]) e.want.running = n["running"].as<bool>(false);
    e.timeout = optional_duration(r_, n, "timeout");
    return e;
  }

  static bool answer_ids(const std::vector<std::string>& events) {
    return std::any_of(events.begin(), events.end(),
                       [](const std::string& e) { return e == "status_answer" || e == "echo"; });
  }

  enum class kind { server, connection };
  const reader& r_;
  client_case& c_;
  std::map<std::string, kind> names_;
  std::set<std::string> submissions_;
};

}  // namespace

client_case load_client_case_string(const std::string& yaml, const std::string& name) {
  const reader r(name);
  const auto root = parse_yaml(yaml, name);
  client_case c;
  c.file = name;
  case_parser(r, c).parse(root);
  return c;
}

client_case load_client_case_file(const std::string& path) {
  return load_client_case_string(read_text(path, "client case"), path);
}

std::vector<std::string> find_client_case_files(const std::string& path) {
  return scenario::find_scenario_files(path);
}

}  // namespace gearspec::clients
