#include "harness/scenario/yaml_support.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <regex>

#include "harness/scenario/loader.hpp"

namespace gearspec::scenario::detail {
namespace {

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

}  // namespace

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
    // The unit: literal text, or a literal byte value such as {hex: ...} (binary patterns).
    std::string unit;
    if (n["repeat"].IsScalar()) {
      unit = n["repeat"].Scalar();
    } else {
      const auto inner = parse_value(r, n["repeat"]);
      for (const auto& piece : inner.pieces) {
        if (piece.is_variable) r.fail(n["repeat"], "a repeated unit has no variables");
        unit += piece.text;
      }
    }
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
    r.only_keys(n, {"capture", "differs_from"}, "a capture");
    m.type = matcher::kind::capture;
    if (n["differs_from"]) {
      r.require_sequence(n["differs_from"], "differs_from");
      for (const auto& other : n["differs_from"]) m.differs_from.push_back(parse_value(r, other));
    }
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

write_pacing parse_pacing(const reader& r, const YAML::Node& n) {
  write_pacing pacing;
  if (!n["chunk"]) {
    if (n["chunk_delay"])
      r.fail(n["chunk_delay"], "chunk_delay needs chunk (the size of the pieces to pause between)");
    return pacing;
  }
  long long v = 0;
  try {
    v = std::stoll(r.scalar(n["chunk"], "chunk"));
  } catch (const std::exception&) {
    r.fail(n["chunk"], "chunk must be a positive number of bytes");
  }
  if (v <= 0) r.fail(n["chunk"], "chunk must be a positive number of bytes");
  pacing.chunk = static_cast<std::size_t>(v);
  if (n["chunk_delay"])
    pacing.delay =
        parse_duration(r.scalar(n["chunk_delay"], "chunk_delay"), r.mark(n["chunk_delay"]));
  return pacing;
}

std::optional<duration> optional_duration(const reader& r, const YAML::Node& map, const char* key) {
  if (!map[key]) return std::nullopt;
  return parse_duration(r.scalar(map[key], key), r.mark(map[key]));
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

}  // namespace gearspec::scenario::detail
