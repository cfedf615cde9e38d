#include "harness/engine/report.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "harness/engine/json.hpp"

namespace gearspec::engine {
namespace {

const char* colour_of(verdict v) {
  switch (v) {
    case verdict::pass:
      return "\033[32m";
    case verdict::expected_fail:
    case verdict::informational:
      return "\033[36m";
    case verdict::unsupported:
    case verdict::blocked:
      return "\033[33m";
    default:
      return "\033[31;1m";
  }
}

/// At most n bytes of s, never cutting a UTF-8 sequence in two.
std::string utf8_prefix(const std::string& s, std::size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

std::string join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : separator) + i;
  return out;
}

std::string mismatch_text(const scenario_result& r) {
  std::ostringstream out;
  if (!r.reason.empty()) out << r.reason << "\n";
  if (r.run.first) {
    const auto& m = *r.run.first;
    out << "at " << m.mark.str() << " (" << m.step << ")\n";
    out << "  expected: " << m.expected << "\n";
    out << "  actual:   " << m.actual << "\n";
    if (!m.note.empty()) out << "  note:     " << m.note << "\n";
  }
  return out.str();
}

/// The cause a result is grouped under (see root_causes).
std::string cause_of(const scenario_result& r) {
  switch (r.result) {
    case verdict::blocked:
      return "the target lacks " + join(r.blocked_by);
    case verdict::unexpected_pass:
      return "the profile expects a failure, but it passed (stale profile)";
    case verdict::flaky:
      return "the verdict changed between rounds (flaky)";
    case verdict::error:
      return "error: " + (r.run.first && !r.run.first->note.empty() ? r.run.first->note : r.reason);
    case verdict::fail:
      // A scenario about a capability the probe found missing fails for that reason, like the
      // scenarios the same gap blocks.
      if (!r.lacking.empty()) return "the target lacks " + join(r.lacking);
      if (!r.variant.empty() || !r.attempts.empty()) return "the variant the profile pins changed";
      if (r.run.first && !r.run.first->cause.empty()) return r.run.first->cause;
      if (r.run.first) return "expected " + r.run.first->expected;
      return r.reason;
    case verdict::informational:
      if (r.run.first && !r.run.first->cause.empty()) return r.run.first->cause;
      return "none of the known variants";
    default:
      return {};
  }
}

void print_requirements(std::ostream& out, const scenario_result& r, const terminal_style& style) {
  out << "   level: " << r.source->level << "   file: " << r.source->file << "\n";
  for (const auto& id : r.source->requirements) {
    out << "   " << id;
    if (style.catalog) {
      if (auto it = style.catalog->find(id); it != style.catalog->end())
        out << " (" << it->second.level << "): " << it->second.text;
    }
    out << "\n";
  }
}

void write_result(json_writer& json, const scenario_result& r);

void write_mismatch(json_writer& json, const std::optional<mismatch>& first) {
  if (!first) {
    json.null();
    return;
  }
  const auto& m = *first;
  json.begin_object().key("at").value(m.mark.str()).key("step").value(m.step);
  json.key("expected").value(m.expected).key("actual").value(m.actual);
  json.key("note").value(m.note).key("cause").value(m.cause).end_object();
}

void write_run(json_writer& json, const scenario_result& r) {
  json.key("elapsed_ms").value(static_cast<std::int64_t>(r.run.elapsed.count()));
  json.key("mismatch");
  write_mismatch(json, r.run.first);
  json.key("transcript").begin_array();
  for (const auto& e : r.run.transcript) {
    json.begin_object().key("ms").value(e.at_ms).key("actor").value(e.actor);
    json.key("dir").value(std::string(1, e.direction)).key("text").value(e.text).end_object();
  }
  json.end_array();
}

void write_result(json_writer& json, const scenario_result& r) {
  const auto& s = *r.source;
  json.begin_object();
  json.key("id").value(s.id).key("title").value(s.title).key("file").value(s.file);
  json.key("level").value(s.level).key("requirements").strings(s.requirements);
  json.key("tags").strings(s.tags).key("rounds").value(r.rounds);
  json.key("verdict").value(verdict_name(r.result)).key("reason").value(r.reason);
  json.key("evidence").value(r.evidence).key("blocked_by").strings(r.blocked_by);
  json.key("variant");
  if (s.variants.empty())
    json.null();
  else
    json.value(r.variant);
  json.key("cause").value(cause_of(r));
  if (!r.attempts.empty()) {
    json.key("attempts").begin_array();
    for (const auto& a : r.attempts) {
      json.begin_object().key("variant").value(a.name);
      json.key("passed").value(a.result == outcome::pass).key("mismatch");
      write_mismatch(json, a.first);
      json.end_object();
    }
    json.end_array();
  }
  write_run(json, r);
  if (!r.other_verdicts.empty()) {
    json.key("other_verdicts").begin_array();
    for (const auto& [round, other] : r.other_verdicts) {
      json.begin_object().key("round").value(round).key("verdict").value(
          verdict_name(other.result));
      json.key("variant").value(other.variant).key("reason").value(other.reason);
      write_run(json, other);
      json.end_object();
    }
    json.end_array();
  }
  json.end_object();
}

}  // namespace

std::string markup_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // XML 1.0 forbids most control characters even escaped: show them as \xNN.
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

const char* verdict_label(verdict v) {
  switch (v) {
    case verdict::pass:
      return "PASS ";
    case verdict::fail:
      return "FAIL ";
    case verdict::expected_fail:
      return "XFAIL";
    case verdict::unexpected_pass:
      return "XPASS";
    case verdict::unsupported:
      return "SKIP ";
    case verdict::blocked:
      return "BLOCK";
    case verdict::informational:
      return "INFO ";
    case verdict::flaky:
      return "FLAKY";
    case verdict::error:
      return "ERROR";
  }
  return "?    ";
}

std::vector<root_cause> root_causes(const std::vector<scenario_result>& results) {
  std::vector<root_cause> failing, looks;
  auto add = [](std::vector<root_cause>& into, const std::string& cause, const std::string& id,
                verdict v) {
    auto it = std::find_if(into.begin(), into.end(),
                           [&](const root_cause& c) { return c.cause == cause; });
    if (it == into.end()) {
      into.push_back({cause, {}, 0, 0, false, {}, 0});
      it = std::prev(into.end());
    }
    it->ids.push_back(id);
    if (is_bad(v)) ++it->failed;
    if (v == verdict::blocked) ++it->blocked;
    it->failing = it->failed > 0;
  };
  auto level_rank = [](const std::string& level) {
    return level == "MUST" ? 3 : level == "SHOULD" ? 2 : 1;
  };
  for (const auto& r : results) {
    std::vector<root_cause>* into = nullptr;
    if (is_bad(r.result) || r.result == verdict::blocked)
      into = &failing;
    else if (r.result == verdict::informational && r.variant.empty())
      into = &looks;
    if (!into) continue;
    const auto cause = cause_of(r);
    add(*into, cause, r.source->id, r.result);
    auto& rc = *std::find_if(into->begin(), into->end(),
                             [&](const root_cause& c) { return c.cause == cause; });
    rc.capabilities = r.result == verdict::blocked ? r.blocked_by : r.lacking;
    if (is_bad(r.result)) rc.level = std::max(rc.level, level_rank(r.source->level));
  }
  // Largest first; among equals, failures before the rest and MUST before SHOULD before IMPL.
  auto by_size = [](const root_cause& a, const root_cause& b) {
    if (a.ids.size() != b.ids.size()) return a.ids.size() > b.ids.size();
    if (a.failing != b.failing) return a.failing;
    return a.level > b.level;
  };
  std::stable_sort(failing.begin(), failing.end(), by_size);
  std::stable_sort(looks.begin(), looks.end(), by_size);
  failing.insert(failing.end(), looks.begin(), looks.end());
  return failing;
}

void print_progress_line(std::ostream& out, const scenario_result& r, std::size_t done,
                         std::size_t total, const terminal_style& style) {
  const int width = static_cast<int>(std::to_string(total).size());
  char counter[64];
  std::snprintf(counter, sizeof counter, "[%*zu/%zu] ", width, done, total);
  out << counter;
  if (style.colour) out << colour_of(r.result);
  out << verdict_label(r.result);
  if (style.colour) out << "\033[0m";
  out << " " << r.source->id;
  if (is_bad(r.result)) out << "  [" << r.source->level << "]";
  if (r.result != verdict::unsupported && r.result != verdict::blocked)
    out << "  (" << r.run.elapsed.count() << " ms)";
  if (r.result == verdict::informational)
    out << "  -- " << (r.variant.empty() ? "none of the known variants" : "variant " + r.variant);
  else if ((r.result == verdict::expected_fail || r.result == verdict::unsupported ||
            r.result == verdict::blocked) &&
           !r.reason.empty())
    out << "  -- " << r.reason;
  out << "\n";
}

void print_details(std::ostream& out, const scenario_result& r, const terminal_style& style) {
  const bool show = is_bad(r.result) || style.verbose;
  if (!show) return;
  out << "\n";
  if (style.colour) out << colour_of(r.result);
  out << "== " << verdict_label(r.result) << " " << r.source->id;
  if (style.colour) out << "\033[0m";
  out << "  " << r.source->title << "\n";
  print_requirements(out, r, style);
  const auto text = mismatch_text(r);
  if (!text.empty()) out << text;
  for (const auto& a : r.attempts)
    if (a.first)
      out << "  variant " << a.name << ": expected " << a.first->expected << "; actual "
          << a.first->actual << "\n";
  if (!r.run.transcript.empty()) out << "-- transcript --\n" << format_transcript(r.run.transcript);
  if (!r.run.target_logs.empty()) out << r.run.target_logs << "\n";
  for (const auto& [round, other] : r.other_verdicts) {
    out << "-- round " << round << ": " << verdict_name(other.result)
        << (other.variant.empty() ? "" : " (variant " + other.variant + ")") << " --\n";
    const auto other_text = mismatch_text(other);
    if (!other_text.empty()) out << other_text;
    if (!other.run.transcript.empty()) out << format_transcript(other.run.transcript);
  }
}

void print_capabilities(std::ostream& out, const capability_report& caps) {
  if (!caps.probed || caps.missing.empty()) return;
  std::vector<std::string> names;
  for (const auto& [name, why] : caps.missing) names.push_back(name);
  out << "capabilities the target lacks (scenarios that need them are blocked): " << join(names)
      << "\n";
  if (caps.request_magic) out << read_past_request_magic_note << "\n";
}

std::string count_text(const suite_counts& c) {
  std::string out;
  const std::pair<std::size_t, const char*> parts[] = {{c.pass, "passed"},
                                                       {c.fail, "failed"},
                                                       {c.expected_fail, "expected failures"},
                                                       {c.unexpected_pass, "unexpected passes"},
                                                       {c.flaky, "flaky"},
                                                       {c.error, "errors"},
                                                       {c.blocked, "blocked"},
                                                       {c.informational, "informational"},
                                                       {c.unsupported, "unsupported"}};
  for (const auto& [n, what] : parts)
    if (n) out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + what;
  return out.empty() ? "nothing ran" : out;
}

void print_summary(std::ostream& out, const run_report& report, const terminal_style& style) {
  const auto& results = *report.results;
  const auto c = count(results);
  const auto causes = root_causes(results);
  if (!causes.empty()) {
    out << "\nroot causes, largest first:\n";
    for (const auto& rc : causes) {
      out << "  " << rc.ids.size() << " x " << rc.cause;
      if (rc.failed && rc.blocked)
        out << "  (" << rc.failed << " failed: they are about it; " << rc.blocked << " blocked)";
      else if (rc.blocked)
        out << "  (blocked, not a failure)";
      else if (!rc.failing)
        out << "  (none of the known variants, not a failure)";
      out << "\n";
      // What the probe saw, so a missing capability is explained where it is counted.
      if (report.capabilities && rc.cause.rfind("the target lacks ", 0) == 0) {
        for (const auto& [name, why] : report.capabilities->missing)
          if (std::find(rc.capabilities.begin(), rc.capabilities.end(), name) !=
              rc.capabilities.end()) {
            out << "    probe " << name << ": " << why << "\n";
            if (const auto users = who_breaks_without(name); !users.empty())
              out << "    who breaks: " << users << "\n";
          }
      }
      for (std::size_t i = 0; i < rc.ids.size() && i < 12; ++i)
        out << "      " << rc.ids[i] << "\n";
      if (rc.ids.size() > 12) out << "      ... and " << rc.ids.size() - 12 << " more\n";
    }
  }
  // One line: the outcome, what ran where, and the non-zero counts.
  out << "\n";
  if (style.colour) out << (c.ok() ? "\033[32m" : "\033[31;1m");
  out << (c.ok() ? "OK" : "FAILED");
  if (style.colour) out << "\033[0m";
  out << ": " << c.total() << (c.total() == 1 ? " scenario" : " scenarios");
  if (report.elapsed_s > 0) {
    char took[32];
    std::snprintf(took, sizeof took, " in %.1f s", report.elapsed_s);
    out << took;
  }
  out << " against " << report.target << ": " << count_text(c) << "\n";
}

bool write_junit(const std::string& path, const run_report& report,
                 const ci_annotations* step_locations) {
  std::ofstream out(path);
  if (!out) return false;
  const auto& results = *report.results;
  const auto c = count(results);
  double seconds = 0;
  for (const auto& r : results) seconds += static_cast<double>(r.run.elapsed.count()) / 1000.0;
  const auto failures = c.fail + c.unexpected_pass + c.flaky;
  const auto skipped = c.unsupported + c.blocked;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites name=\"gearspec\" tests=\"" << c.total() << "\" failures=\"" << failures
      << "\" errors=\"" << c.error << "\" skipped=\"" << skipped << "\" time=\"" << seconds
      << "\">\n";
  out << "  <testsuite name=\"gearspec conformance: " << markup_escape(report.target)
      << "\" tests=\"" << c.total() << "\" failures=\"" << failures << "\" errors=\"" << c.error
      << "\" skipped=\"" << skipped << "\" time=\"" << seconds << "\">\n";
  for (const auto& r : results) {
    const auto& s = *r.source;
    const auto slash = s.id.rfind('/');
    const auto classname =
        slash == std::string::npos ? std::string("gearspec") : "gearspec." + s.id.substr(0, slash);
    const bool located = step_locations && is_bad(r.result);
    auto at = located ? failure_location(r) : scenario::source_mark{s.file, 0, 0};
    if (located) at.file = step_locations->path(at.file);
    out << "    <testcase classname=\"" << markup_escape(classname) << "\" name=\""
        << markup_escape(s.id) << "\" file=\"" << markup_escape(at.file) << "\"";
    if (located) out << " line=\"" << at.line << "\"";
    out << " time=\"" << static_cast<double>(r.run.elapsed.count()) / 1000.0 << "\">\n";
    out << "      <properties><property name=\"verdict\" value=\"" << verdict_name(r.result)
        << "\"/><property name=\"level\" value=\"" << markup_escape(s.level)
        << "\"/><property name=\"title\" value=\"" << markup_escape(s.title) << "\"/>";
    if (!s.variants.empty())
      out << "<property name=\"variant\" value=\"" << markup_escape(r.variant) << "\"/>";
    for (const auto& req : s.requirements)
      out << "<property name=\"requirement\" value=\"" << markup_escape(req) << "\"/>";
    out << "</properties>\n";
    const auto details = mismatch_text(r);
    const auto where = located ? at.file + ":" + std::to_string(at.line) + ": " : std::string();
    switch (r.result) {
      case verdict::fail:
      case verdict::unexpected_pass:
      case verdict::flaky:
        out << "      <failure message=\"" << markup_escape(where + utf8_prefix(cause_of(r), 200))
            << "\" type=\"" << verdict_name(r.result) << "\">" << markup_escape(details)
            << "</failure>\n";
        break;
      case verdict::error:
        out << "      <error message=\"" << markup_escape(where + utf8_prefix(r.reason, 200))
            << "\" type=\"error\">" << markup_escape(details) << "</error>\n";
        break;
      case verdict::unsupported:
      case verdict::blocked:
        out << "      <skipped message=\"" << markup_escape(r.reason) << "\"/>\n";
        break;
      default:
        break;
    }
    if (r.result == verdict::expected_fail)
      out << "      <system-out>"
          << markup_escape("expected failure: " + r.reason + "\nevidence: " + r.evidence + "\n" +
                           details)
          << "</system-out>\n";
    else if ((is_bad(r.result) || r.result == verdict::informational) && !r.run.transcript.empty())
      out << "      <system-out>"
          << markup_escape(details + format_transcript(r.run.transcript) + r.run.target_logs)
          << "</system-out>\n";
    out << "    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
  return static_cast<bool>(out);
}

bool write_json(const std::string& path, const run_report& report) {
  std::ofstream out(path);
  if (!out) return false;
  const auto& results = *report.results;
  const auto c = count(results);
  json_writer json(out);
  json.begin_object().key("tool").value("gearspec").key("target").value(report.target);
  json.key("profile").value(report.profile);
  json.key("capabilities").begin_object();
  if (report.capabilities && report.capabilities->probed) {
    json.key("probed").value(true).key("present");
    json.strings({report.capabilities->present.begin(), report.capabilities->present.end()});
    json.key("missing").begin_object();
    for (const auto& [name, why] : report.capabilities->missing) json.key(name).value(why);
    json.end_object();
    json.key("read_past_request_magic").value(report.capabilities->request_magic);
  } else {
    json.key("probed").value(false);
  }
  json.end_object();
  json.key("summary").begin_object();
  json.key("total").value(c.total()).key("pass").value(c.pass).key("fail").value(c.fail);
  json.key("expected_fail").value(c.expected_fail).key("unexpected_pass").value(c.unexpected_pass);
  json.key("unsupported").value(c.unsupported).key("blocked").value(c.blocked);
  json.key("informational").value(c.informational).key("flaky").value(c.flaky);
  json.key("error").value(c.error).key("ok").value(c.ok());
  json.key("root_causes").begin_array();
  for (const auto& rc : root_causes(results)) {
    json.begin_object().key("cause").value(rc.cause).key("count").value(rc.ids.size());
    json.key("failing").value(rc.failing).key("failed").value(rc.failed);
    json.key("blocked").value(rc.blocked).key("ids").strings(rc.ids).end_object();
  }
  json.end_array().end_object();
  json.key("results").begin_array();
  for (const auto& r : results) {
    json.newline();
    write_result(json, r);
  }
  json.newline().end_array().end_object().newline();
  return static_cast<bool>(out);
}

ci_annotations ci_annotations::from_environment() {
  const auto is_true = [](const char* name) {
    const char* v = std::getenv(name);
    return v && std::string_view(v) == "true";
  };
  ci_annotations ci;
  ci.github = is_true("GITHUB_ACTIONS");
  ci.gitlab = is_true("GITLAB_CI");
  const char* root = std::getenv(ci.github ? "GITHUB_WORKSPACE" : "CI_PROJECT_DIR");
  if (root && *root) ci.workspace = root;
  return ci;
}

std::string ci_annotations::path(const std::string& file) const {
  if (workspace.empty()) return file;
  const std::string prefix = workspace.back() == '/' ? workspace : workspace + "/";
  return file.rfind(prefix, 0) == 0 ? file.substr(prefix.size()) : file;
}

scenario::source_mark failure_location(const scenario_result& r) {
  if (r.run.first && !r.run.first->mark.file.empty()) return r.run.first->mark;
  for (const auto& [round, other] : r.other_verdicts)
    if (other.run.first && !other.run.first->mark.file.empty()) return other.run.first->mark;
  return {r.source ? r.source->file : std::string(), 1, 1};
}

std::string github_error(const ci_annotations& ci, const scenario::source_mark& at,
                         std::string_view title, std::string_view message) {
  // Workflow command escaping: '%', CR and LF in the message; ':' and ',' too in properties.
  const auto escape = [](std::string_view text, bool property) {
    std::string out;
    for (const char ch : text) {
      if (ch == '%')
        out += "%25";
      else if (ch == '\r')
        out += "%0D";
      else if (ch == '\n')
        out += "%0A";
      else if (property && ch == ':')
        out += "%3A";
      else if (property && ch == ',')
        out += "%2C";
      else
        out += ch;
    }
    return out;
  };
  std::string line = "::error file=" + escape(ci.path(at.file), true);
  if (at.line > 0) line += ",line=" + std::to_string(at.line);
  if (at.column > 0) line += ",col=" + std::to_string(at.column);
  line += ",title=" + escape(title, true) + "::";
  std::string text(message);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return line + escape(text, false) + "\n";
}

void print_github_annotations(std::ostream& out, const ci_annotations& ci,
                              const std::vector<scenario_result>& results) {
  for (const auto& r : results) {
    if (!is_bad(r.result) || !r.source) continue;
    const auto& s = *r.source;
    const std::string title =
        "gearspec " + std::string(verdict_name(r.result)) + ": " + s.id + " (" + s.level + ")";
    out << github_error(ci, failure_location(r), title, cause_of(r) + "\n" + mismatch_text(r));
  }
}

}  // namespace gearspec::engine
