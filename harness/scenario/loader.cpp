#include "harness/scenario/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>

#include "harness/wire/ascii.hpp"

namespace gearspec::scenario {
namespace {

// ---------------------------------------------------------------------------------------------
// Small YAML helpers that keep positions.

class reader {
 public:
  explicit reader(std::string file) : file_(std::move(file)) {}

  source_mark mark(const YAML::Node& n) const {
    const auto m = n.Mark();
    return {file_, m.line + 1, m.column + 1};
  }

  [[noreturn]] void fail(const YAML::Node& n, const std::string& what) const {
    throw scenario_error(mark(n), what);
  }

  std::string scalar(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + " must be a single value");
    return n.Scalar();
  }

  void require_map(const YAML::Node& n, const std::string& what) const {
    if (!n.IsMap()) fail(n, what + " must be a mapping (key: value)");
  }

  void require_sequence(const YAML::Node& n, const std::string& what) const {
    if (!n.IsSequence()) fail(n, what + " must be a list");
  }

  /// Fails on keys that are not allowed (users ask not to have unknown keys silently ignored).
  void only_keys(const YAML::Node& map, std::initializer_list<const char*> allowed,
                 const std::string& where) const {
    for (const auto& kv : map) {
      const auto key = kv.first.Scalar();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(kv.first, "unknown key '" + key + "' in " + where + " (allowed: " + list + ")");
      }
    }
  }

  std::vector<std::string> string_list(const YAML::Node& n, const std::string& what) const {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return out;
    }
    require_sequence(n, what);
    for (const auto& item : n) out.push_back(scalar(item, what + " entries"));
    return out;
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

// ---------------------------------------------------------------------------------------------
// Byte values.

std::string decode_hex(const reader& r, const YAML::Node& n) {
  const auto text = r.scalar(n, "hex");
  std::string out;
  int high = -1;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      r.fail(n, std::string("not a hex digit: '") + c + "'");
    const int v =
        std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<char>(high * 16 + v));
      high = -1;
    }
  }
  if (high >= 0) r.fail(n, "odd number of hex digits");
  return out;
}

std::string decode_base64(const reader& r, const YAML::Node& n) {
  const auto text = r.scalar(n, "base64");
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : text) {
    if (c == '=' || c == '\n' || c == ' ') continue;
    const int v = value(c);
    if (v < 0) r.fail(n, std::string("not a base64 character: '") + c + "'");
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

bool valid_variable_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

/// "$h", "${fn}-x", "$$" for a literal dollar.
value_template parse_template(const reader& r, const YAML::Node& n, const std::string& text) {
  value_template t;
  t.mark = r.mark(n);
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      literal.push_back(text[i]);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      literal.push_back('$');
      ++i;
      continue;
    }
    std::string name;
    if (i + 1 < text.size() && text[i + 1] == '{') {
      const auto close = text.find('}', i + 2);
      if (close == std::string::npos) r.fail(n, "unterminated ${ in '" + text + "'");
      name = text.substr(i + 2, close - i - 2);
      i = close;
    } else {
      std::size_t j = i + 1;
      while (j < text.size() && valid_variable_char(text[j], j == i + 1)) ++j;
      name = text.substr(i + 1, j - i - 1);
      i = j - 1;
    }
    if (name.empty() || !valid_variable_char(name[0], true) ||
        !std::all_of(name.begin(), name.end(),
                     [](char c) { return valid_variable_char(c, false); }))
      r.fail(n, "bad variable name in '" + text + "' (use $name or ${name}; $$ for a dollar sign)");
    if (!literal.empty()) t.pieces.push_back({false, std::exchange(literal, {})});
    t.pieces.push_back({true, name});
  }
  if (!literal.empty() || t.pieces.empty()) t.pieces.push_back({false, literal});
  return t;
}

/// A byte value: a string (with variables), or {hex}, {base64}, {bytes}, {repeat, count}.
value_template parse_value(const reader& r, const YAML::Node& n) {
  if (n.IsScalar()) return parse_template(r, n, n.Scalar());
  if (n.IsNull()) {
    auto t = value_template::literal("");
    t.mark = r.mark(n);
    return t;
  }
  r.require_map(n, "a value");
  value_template t;
  if (n["hex"]) {
    r.only_keys(n, {"hex"}, "a hex value");
    t = value_template::literal(decode_hex(r, n["hex"]));
  } else if (n["base64"]) {
    r.only_keys(n, {"base64"}, "a base64 value");
    t = value_template::literal(decode_base64(r, n["base64"]));
  } else if (n["bytes"]) {
    r.only_keys(n, {"bytes"}, "a bytes value");
    t = value_template::literal(r.scalar(n["bytes"], "bytes"));
  } else if (n["repeat"]) {
    r.only_keys(n, {"repeat", "count"}, "a repeated value");
    const auto unit = r.scalar(n["repeat"], "repeat");
    if (!n["count"]) r.fail(n, "repeat needs a count");
    long long count = 0;
    try {
      count = std::stoll(r.scalar(n["count"], "count"));
    } catch (const std::exception&) {
      r.fail(n["count"], "count must be a number");
    }
    if (count < 0 || count * static_cast<long long>(unit.size()) > (256LL << 20))
      r.fail(n["count"], "repeat count out of range (at most 256 MiB)");
    std::string out;
    out.reserve(unit.size() * static_cast<std::size_t>(count));
    for (long long i = 0; i < count; ++i) out += unit;
    t = value_template::literal(std::move(out));
  } else {
    r.fail(n,
           "a value is a string or one of {hex: ...}, {base64: ...}, {bytes: ...}, {repeat: ..., "
           "count: N}");
  }
  t.mark = r.mark(n);
  return t;
}

matcher parse_matcher(const reader& r, const YAML::Node& n) {
  matcher m;
  m.mark = r.mark(n);
  if (n.IsMap() && n["regex"]) {
    r.only_keys(n, {"regex"}, "a regex matcher");
    m.type = matcher::kind::regex;
    m.value = parse_template(r, n["regex"], r.scalar(n["regex"], "regex"));
    // Check the pattern now when it has no variables, so a typo is a load error.
    if (m.value.pieces.size() == 1 && !m.value.pieces[0].is_variable) {
      try {
        std::regex check(m.value.pieces[0].text, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        r.fail(n["regex"], std::string("bad regex: ") + e.what());
      }
    }
  } else if (n.IsMap() && n["any"]) {
    r.only_keys(n, {"any"}, "an any matcher");
    m.type = matcher::kind::any;
  } else if (n.IsMap() && n["capture"]) {
    r.only_keys(n, {"capture"}, "a capture");
    m.type = matcher::kind::capture;
    m.name = r.scalar(n["capture"], "capture");
    if (m.name.empty() ||
        !std::all_of(m.name.begin(), m.name.end(),
                     [](char c) { return valid_variable_char(c, false); }) ||
        !valid_variable_char(m.name[0], true))
      r.fail(n["capture"], "bad variable name '" + m.name + "'");
    if (is_generated_variable(m.name))
      r.fail(n["capture"],
             "'" + m.name + "' is a generated placeholder name; capture into another name");
  } else if (n.IsMap() && n["prefix"]) {
    r.only_keys(n, {"prefix"}, "a prefix matcher");
    m.type = matcher::kind::prefix;
    m.value = parse_value(r, n["prefix"]);
  } else {
    m.type = matcher::kind::exact;
    m.value = parse_value(r, n);
  }
  return m;
}

wire::command parse_command(const reader& r, const YAML::Node& n) {
  const auto name = r.scalar(n, "a packet name");
  if (auto cmd = wire::command_from_name(name)) return *cmd;
  r.fail(n, "unknown packet name '" + name + "' (see `gearspec packets`)");
}

std::string shape_text(wire::command cmd) {
  const auto& info = wire::info(cmd);
  std::string names;
  for (std::size_t i = 0; i < info.arg_count; ++i)
    names += (i ? ", " : "") + std::string(info.arg_names[i]);
  return std::string(info.name) + " takes " + std::to_string(info.arg_count) + " argument" +
         (info.arg_count == 1 ? "" : "s") + (names.empty() ? "" : " (" + names + ")");
}

packet_expectation parse_packet_expectation(const reader& r, const YAML::Node& name_node,
                                            const YAML::Node& args) {
  packet_expectation e;
  e.mark = r.mark(name_node);
  e.cmd = parse_command(r, name_node);
  if (args && !args.IsNull()) {
    r.require_sequence(args, "args");
    if (args.size() > wire::info(e.cmd).arg_count)
      r.fail(args, shape_text(e.cmd) + ", got " + std::to_string(args.size()));
    for (const auto& a : args) e.args.push_back(parse_matcher(r, a));
  }
  return e;
}

/// {NAME: [args]} or a bare NAME.
packet_expectation parse_packet_shorthand(const reader& r, const YAML::Node& n) {
  if (n.IsScalar()) return parse_packet_expectation(r, n, YAML::Node());
  r.require_map(n, "an expected packet");
  if (n.size() != 1) r.fail(n, "an expected packet is written {NAME: [args]}");
  const auto kv = *n.begin();
  return parse_packet_expectation(r, kv.first, kv.second);
}

/// A sequence alternative: a list of packets, or one packet.
std::vector<packet_expectation> parse_alternative(const reader& r, const YAML::Node& n) {
  std::vector<packet_expectation> seq;
  if (n.IsSequence()) {
    for (const auto& p : n) seq.push_back(parse_packet_shorthand(r, p));
    if (seq.empty()) r.fail(n, "an alternative needs at least one packet");
  } else {
    seq.push_back(parse_packet_shorthand(r, n));
  }
  return seq;
}

admin_expectation::kind parse_response_kind(const reader& r, const YAML::Node& n) {
  const auto s = r.scalar(n, "response");
  if (s == "ok") return admin_expectation::kind::ok;
  if (s == "err") return admin_expectation::kind::err;
  if (s == "list") return admin_expectation::kind::list;
  if (s == "other") return admin_expectation::kind::other;
  if (s == "any") return admin_expectation::kind::any;
  r.fail(n, "response must be ok, err, list, other or any");
}

std::optional<duration> optional_duration(const reader& r, const YAML::Node& map, const char* key) {
  if (!map[key]) return std::nullopt;
  return parse_duration(r.scalar(map[key], key), r.mark(map[key]));
}

/// Step keys that are not actors (scenario_parser::parse_step handles each).
bool is_step_keyword(std::string_view key) {
  return key == "sleep" || key == "parallel" || key == "restart" || key == "crash";
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
              "a step has exactly one key: an actor name, 'sleep', 'parallel', 'restart' or "
              "'crash' (is a '-' missing?)");
    const auto kv = *n.begin();
    const auto key = kv.first.Scalar();
    step st;
    st.mark = r_.mark(kv.first);
    if (key == "sleep") {
      st.type = step::kind::sleep;
      st.length = parse_duration(r_.scalar(kv.second, "sleep"), r_.mark(kv.second));
      return st;
    }
    if (key == "restart" || key == "crash") {
      st.type = key == "restart" ? step::kind::restart : step::kind::crash;
      st.server = r_.scalar(kv.second, key.c_str());
      if (std::find(s_.servers.begin(), s_.servers.end(), st.server) == s_.servers.end())
        r_.fail(kv.second,
                key + " names server '" + st.server + "', which is not listed under servers:");
      if (!s_.needs_restart()) s_.needs.push_back("restart");
      return st;
    }
    if (key == "parallel") {
      st.type = step::kind::parallel;
      r_.require_sequence(kv.second, "parallel");
      for (const auto& branch : kv.second) {
        if (branch.IsSequence())
          st.branches.push_back(parse_steps(branch, "a parallel branch"));
        else
          st.branches.push_back(step_list{parse_step(branch)});
      }
      if (st.branches.size() < 2) r_.fail(kv.second, "parallel needs at least two branches");
      return st;
    }
    const actor* a = s_.find_actor(key);
    if (!a) r_.fail(kv.first, "unknown actor '" + key + "' (declare it under actors:)");
    st.actor = key;
    parse_action(st, *a, kv.second);
    return st;
  }

  void parse_action(step& st, const actor& a, const YAML::Node& n) {
    if (n.IsScalar()) {
      const auto word = n.Scalar();
      if (word == "connect") {
        st.type = step::kind::connect;
      } else if (word == "disconnect") {
        st.type = step::kind::disconnect;
      } else if (word == "kill") {
        st.type = step::kind::kill;
      } else if (word == "expect_closed") {
        st.type = step::kind::expect_closed;
      } else if (auto cmd = wire::command_from_name(word)) {
        // Shorthand for sending a packet without arguments: "w: GRAB_JOB".
        st.type = step::kind::send;
        st.cmd = *cmd;
        if (wire::info(*cmd).arg_count != 0)
          r_.fail(n, shape_text(*cmd) + "; write {send: " + word + ", args: [...]}");
      } else {
        r_.fail(n, "unknown action '" + word +
                       "' (connect, disconnect, kill, expect_closed, or a packet name)");
      }
      return;
    }
    r_.require_map(n, "an action");
    const bool binary = a.type != actor::role::admin;
    if (n["send"]) {
      r_.only_keys(n, {"send", "args", "magic", "chunk", "chunk_delay"}, "a send step");
      st.type = step::kind::send;
      st.cmd = parse_command(r_, n["send"]);
      const auto& shape = wire::info(st.cmd);
      const auto args = n["args"];
      const std::size_t given = args ? (r_.require_sequence(args, "args"), args.size()) : 0;
      if (given != shape.arg_count)
        r_.fail(args ? args : n["send"], shape_text(st.cmd) + ", got " + std::to_string(given));
      for (std::size_t i = 0; i < given; ++i) st.args.push_back(parse_value(r_, args[i]));
      if (n["magic"]) {
        const auto m = r_.scalar(n["magic"], "magic");
        if (m != "REQ" && m != "RES") r_.fail(n["magic"], "magic must be REQ or RES");
        st.request_magic = m == "REQ";
      }
      parse_chunk(st, n);
    } else if (n["send_raw"]) {
      r_.only_keys(n, {"send_raw", "chunk", "chunk_delay"}, "a send_raw step");
      st.type = step::kind::send_raw;
      st.raw = parse_value(r_, n["send_raw"]);
      parse_chunk(st, n);
    } else if (n["admin"] || n["wait_until"]) {
      r_.only_keys(n,
                   {"admin", "wait_until", "response", "lines", "unordered", "contains", "excludes",
                    "line", "timeout"},
                   "an admin step");
      if (n["admin"] && n["wait_until"]) r_.fail(n, "use admin or wait_until, not both");
      st.type = n["admin"] ? step::kind::admin : step::kind::wait_until;
      const auto line_node = n["admin"] ? n["admin"] : n["wait_until"];
      st.admin_line = parse_value(r_, line_node);
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
      if (st.type == step::kind::wait_until && !ans.lines && ans.contains.empty() &&
          ans.excludes.empty() && !ans.line && ans.response == admin_expectation::kind::any)
        r_.fail(
            n,
            "wait_until needs something to wait for (lines, contains, excludes, line or response)");
    } else if (n["expect"] || n["any_of"] || n["unordered"]) {
      r_.only_keys(n, {"expect", "args", "any_of", "unordered", "timeout"}, "an expect step");
      if (!binary) r_.fail(n, "admin actors use admin/wait_until steps, not expect");
      st.type = step::kind::expect;
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
    } else if (n["expect_none"]) {
      r_.only_keys(n, {"expect_none"}, "an expect_none step");
      st.type = step::kind::expect_none;
      st.length =
          parse_duration(r_.scalar(n["expect_none"], "expect_none"), r_.mark(n["expect_none"]));
    } else if (n["expect_closed"]) {
      r_.only_keys(n, {"expect_closed", "timeout"}, "an expect_closed step");
      st.type = step::kind::expect_closed;
      st.timeout = optional_duration(r_, n, "timeout");
    } else {
      r_.fail(
          n,
          "unknown action: expected one of send, send_raw, expect, any_of, unordered, expect_none, "
          "expect_closed, admin, wait_until");
    }
    if (!binary && (st.type == step::kind::send || st.type == step::kind::expect))
      r_.fail(n, "actor '" + a.name +
                     "' is an admin connection; give it a client or worker role to use packets");
  }

  void parse_chunk(step& st, const YAML::Node& n) {
    if (!n["chunk"]) {
      if (n["chunk_delay"])
        r_.fail(n["chunk_delay"],
                "chunk_delay needs chunk (the size of the pieces to pause between)");
      return;
    }
    const auto v = std::stoll(r_.scalar(n["chunk"], "chunk"));
    if (v <= 0) r_.fail(n["chunk"], "chunk must be a positive number of bytes");
    st.chunk = static_cast<std::size_t>(v);
    if (n["chunk_delay"])
      st.chunk_delay =
          parse_duration(r_.scalar(n["chunk_delay"], "chunk_delay"), r_.mark(n["chunk_delay"]));
  }

  const reader& r_;
  scenario& s_;
};

// ---------------------------------------------------------------------------------------------
// Variables: every $name must be generated (fn, uniq, ...) or captured earlier in step order.

class variable_checker {
 public:
  explicit variable_checker(const reader& r) : r_(r) {}

  void check(const step_list& steps, std::set<std::string>& defined) {
    for (const auto& st : steps) check(st, defined);
  }

 private:
  void use(const value_template& t, const std::set<std::string>& defined) {
    for (const auto& p : t.pieces) {
      if (!p.is_variable || is_generated_variable(p.text) || defined.count(p.text)) continue;
      throw scenario_error(t.mark, "undefined variable $" + p.text +
                                       " (capture it earlier with {capture: " + p.text +
                                       "}, or use a generated name such as ${fn} or ${uniq})");
    }
  }
  void use(const matcher& m, const std::set<std::string>& defined) {
    if (m.type != matcher::kind::capture && m.type != matcher::kind::any) use(m.value, defined);
  }

  void check(const step& st, std::set<std::string>& defined) {
    for (const auto& a : st.args) use(a, defined);
    use(st.raw, defined);
    use(st.admin_line, defined);
    for (const auto& alt : st.alternatives) {
      // Captures in one alternative are available afterwards only if every alternative makes them.
      for (const auto& p : alt)
        for (const auto& m : p.args) use(m, defined);
    }
    if (!st.alternatives.empty()) {
      std::set<std::string> common;
      bool first = true;
      for (const auto& alt : st.alternatives) {
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
    const auto& ans = st.answer;
    if (ans.lines)
      for (const auto& m : *ans.lines) use(m, defined);
    for (const auto& m : ans.contains) use(m, defined);
    for (const auto& m : ans.excludes) use(m, defined);
    if (ans.line) use(*ans.line, defined);
    if (ans.line && ans.line->type == matcher::kind::capture) defined.insert(ans.line->name);
    if (!st.branches.empty()) {
      std::set<std::string> after = defined;
      for (const auto& branch : st.branches) {
        std::set<std::string> mine = defined;  // a branch cannot see another branch's captures
        check(branch, mine);
        after.insert(mine.begin(), mine.end());
      }
      defined = after;
    }
  }

  const reader& r_;
};

scenario parse_scenario(const YAML::Node& root, const reader& r) {
  if (!root || root.IsNull()) throw scenario_error({r.file(), 1, 1}, "empty scenario file");
  r.require_map(root, "a scenario");
  r.only_keys(root,
              {"id", "title", "requirements", "level", "tags", "description", "servers", "actors",
               "steps", "time_limit", "needs"},
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
      if (need != "restart" && need != "persistent-queue")
        r.fail(root["needs"], "unknown need '" + need + "' (restart, persistent-queue)");
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
  if (!root["steps"]) r.fail(root, "a scenario needs steps");
  scenario_parser parser(r, s);
  s.steps = parser.parse_steps(root["steps"], "steps");
  if (s.steps.empty()) r.fail(root["steps"], "a scenario needs at least one step");
  std::set<std::string> defined;
  variable_checker(r).check(s.steps, defined);
  return s;
}

/// Parses YAML text, turning syntax errors into positioned scenario errors.
YAML::Node parse_yaml(const std::string& yaml, const std::string& name) {
  try {
    return YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw scenario_error({name, e.mark.line + 1, e.mark.column + 1}, "YAML syntax error: " + e.msg);
  }
}

/// The whole content of a file, or a scenario error naming it.
std::string read_text(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw scenario_error({path, 0, 0}, what);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

bool is_generated_variable(const std::string& name) {
  static const std::regex generated("(fn|uniq|key)[0-9]*|run|epoch[0-9]*");
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
  const YAML::Node root = parse_yaml(yaml, name);
  try {
    return parse_scenario(root, r);
  } catch (const YAML::Exception& e) {
    throw scenario_error({name, e.mark.line + 1, e.mark.column + 1}, e.msg);
  }
}

scenario load_scenario_file(const std::string& path) {
  return load_scenario_string(read_text(path, "cannot read file"), path);
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

bool glob_match(const std::string& pattern, const std::string& text) {
  // Iterative * and ? matching with backtracking to the last star.
  std::size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

const profile_entry* profile::find(const std::string& id) const {
  for (const auto& e : entries)
    if (glob_match(e.pattern, id)) return &e;
  return nullptr;
}

profile load_profile_string(const std::string& yaml, const std::string& name) {
  reader r(name);
  const YAML::Node root = parse_yaml(yaml, name);
  if (!root || !root.IsMap()) throw scenario_error({name, 1, 1}, "a profile must be a mapping");
  r.only_keys(root, {"implementation", "version", "description", "expectations"}, "a profile");
  profile p;
  p.file = name;
  if (!root["implementation"]) r.fail(root, "a profile needs an implementation name");
  p.implementation = r.scalar(root["implementation"], "implementation");
  if (root["version"]) p.version = r.scalar(root["version"], "version");
  if (root["description"]) p.description = r.scalar(root["description"], "description");
  if (root["expectations"]) {
    r.require_sequence(root["expectations"], "expectations");
    for (const auto& e : root["expectations"]) {
      r.require_map(e, "an expectation");
      r.only_keys(e, {"id", "verdict", "reason", "evidence"}, "an expectation");
      profile_entry entry;
      entry.mark = r.mark(e);
      if (!e["id"]) r.fail(e, "an expectation needs an id (a scenario id or glob)");
      entry.pattern = r.scalar(e["id"], "id");
      const auto verdict =
          e["verdict"] ? r.scalar(e["verdict"], "verdict") : std::string("expected-fail");
      if (verdict == "expected-fail")
        entry.expect = profile_entry::verdict::expected_fail;
      else if (verdict == "unsupported")
        entry.expect = profile_entry::verdict::unsupported;
      else
        r.fail(e["verdict"], "verdict must be expected-fail or unsupported");
      if (!e["reason"]) r.fail(e, "every expected deviation needs a reason");
      entry.reason = r.scalar(e["reason"], "reason");
      if (!e["evidence"])
        r.fail(e, "every expected deviation needs evidence (what was observed, where)");
      entry.evidence = r.scalar(e["evidence"], "evidence");
      p.entries.push_back(std::move(entry));
    }
  }
  return p;
}

profile load_profile_file(const std::string& path) {
  return load_profile_string(read_text(path, "cannot read profile"), path);
}

}  // namespace gearspec::scenario
