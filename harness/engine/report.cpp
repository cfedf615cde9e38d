#include "harness/engine/report.hpp"

#include "harness/engine/json.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace gearspec::engine {
namespace {

const char* colour_of(verdict v) {
  switch (v) {
    case verdict::pass:
      return "\033[32m";
    case verdict::expected_fail:
      return "\033[36m";
    case verdict::unsupported:
      return "\033[33m";
    default:
      return "\033[31;1m";
  }
}

const char* label(verdict v) {
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
    case verdict::error:
      return "ERROR";
  }
  return "?    ";
}

std::string xml_escape(std::string_view s) {
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

std::string mismatch_text(const scenario_result& r) {
  std::ostringstream out;
  if (!r.reason.empty() && r.result != verdict::fail) out << r.reason << "\n";
  if (r.run.first) {
    const auto& m = *r.run.first;
    out << "at " << m.mark.str() << " (" << m.step << ")\n";
    out << "  expected: " << m.expected << "\n";
    out << "  actual:   " << m.actual << "\n";
    if (!m.note.empty()) out << "  note:     " << m.note << "\n";
  }
  return out.str();
}

}  // namespace

void print_progress_line(std::ostream& out, const scenario_result& r, std::size_t done,
                         std::size_t total, const terminal_style& style) {
  const int width = static_cast<int>(std::to_string(total).size());
  char counter[64];
  std::snprintf(counter, sizeof counter, "[%*zu/%zu] ", width, done, total);
  out << counter;
  if (style.colour) out << colour_of(r.result);
  out << label(r.result);
  if (style.colour) out << "\033[0m";
  out << " " << r.source->id;
  if (r.round > 1) out << " (round " << r.round << ")";
  if (r.result != verdict::unsupported) out << "  (" << r.run.elapsed.count() << " ms)";
  if ((r.result == verdict::expected_fail || r.result == verdict::unsupported) && !r.reason.empty())
    out << "  -- " << r.reason;
  out << "\n";
}

void print_details(std::ostream& out, const scenario_result& r, const terminal_style& style) {
  const bool show = is_bad(r.result) || style.verbose;
  if (!show) return;
  out << "\n";
  if (style.colour) out << colour_of(r.result);
  out << "== " << label(r.result) << " " << r.source->id;
  if (style.colour) out << "\033[0m";
  out << "  " << r.source->title << "\n";
  out << "   file: " << r.source->file << "   requirements:";
  for (const auto& req : r.source->requirements) out << " " << req;
  out << "\n";
  const auto text = mismatch_text(r);
  if (!text.empty()) out << text;
  if (!r.run.transcript.empty()) out << "-- transcript --\n" << format_transcript(r.run.transcript);
  if (!r.run.target_logs.empty()) out << r.run.target_logs << "\n";
}

void print_summary(std::ostream& out, const std::vector<scenario_result>& results,
                   const std::string& target, const terminal_style& style) {
  const auto c = count(results);
  out << "\n"
      << c.total() << " scenarios against " << target << ": " << c.pass << " passed, " << c.fail
      << " failed, " << c.expected_fail << " expected failures, " << c.unexpected_pass
      << " unexpected passes, " << c.unsupported << " unsupported, " << c.error << " errors\n";
  if (!c.ok()) {
    out << "needs attention:\n";
    for (const auto& r : results)
      if (is_bad(r.result))
        out << "  " << verdict_name(r.result) << "  " << r.source->id << "  (" << r.source->file
            << ")\n";
  }
  // The plain closing line CI systems read.
  if (style.colour) out << (c.ok() ? "\033[32m" : "\033[31;1m");
  out << (c.pass + c.expected_fail) << " passed, " << (c.fail + c.unexpected_pass + c.error)
      << " failed, " << c.unsupported << " skipped";
  if (style.colour) out << "\033[0m";
  out << "\n";
}

bool write_junit(const std::string& path, const std::vector<scenario_result>& results,
                 const std::string& target) {
  std::ofstream out(path);
  if (!out) return false;
  const auto c = count(results);
  double seconds = 0;
  for (const auto& r : results) seconds += static_cast<double>(r.run.elapsed.count()) / 1000.0;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites name=\"gearspec\" tests=\"" << c.total() << "\" failures=\""
      << c.fail + c.unexpected_pass << "\" errors=\"" << c.error << "\" skipped=\"" << c.unsupported
      << "\" time=\"" << seconds << "\">\n";
  out << "  <testsuite name=\"gearspec conformance: " << xml_escape(target) << "\" tests=\""
      << c.total() << "\" failures=\"" << c.fail + c.unexpected_pass << "\" errors=\"" << c.error
      << "\" skipped=\"" << c.unsupported << "\" time=\"" << seconds << "\">\n";
  for (const auto& r : results) {
    const auto& s = *r.source;
    const auto slash = s.id.rfind('/');
    const auto classname =
        slash == std::string::npos ? std::string("gearspec") : "gearspec." + s.id.substr(0, slash);
    out << "    <testcase classname=\"" << xml_escape(classname) << "\" name=\"" << xml_escape(s.id)
        << (r.round > 1 ? " (round " + std::to_string(r.round) + ")" : "") << "\" file=\""
        << xml_escape(s.file) << "\" time=\"" << static_cast<double>(r.run.elapsed.count()) / 1000.0
        << "\">\n";
    out << "      <properties><property name=\"verdict\" value=\"" << verdict_name(r.result)
        << "\"/>";
    for (const auto& req : s.requirements)
      out << "<property name=\"requirement\" value=\"" << xml_escape(req) << "\"/>";
    out << "</properties>\n";
    const auto details = mismatch_text(r);
    switch (r.result) {
      case verdict::fail:
      case verdict::unexpected_pass:
        out << "      <failure message=\""
            << xml_escape(r.run.first ? r.run.first->expected.substr(0, 200)
                                      : r.reason.substr(0, 200))
            << "\" type=\"" << verdict_name(r.result) << "\">" << xml_escape(details)
            << "</failure>\n";
        break;
      case verdict::error:
        out << "      <error message=\"" << xml_escape(r.reason.substr(0, 200))
            << "\" type=\"error\">" << xml_escape(details) << "</error>\n";
        break;
      case verdict::unsupported:
        out << "      <skipped message=\"" << xml_escape(r.reason) << "\"/>\n";
        break;
      default:
        break;
    }
    if (r.result == verdict::expected_fail)
      out << "      <system-out>"
          << xml_escape("expected failure: " + r.reason + "\nevidence: " + r.evidence + "\n" +
                        details)
          << "</system-out>\n";
    else if (is_bad(r.result) && !r.run.transcript.empty())
      out << "      <system-out>"
          << xml_escape(format_transcript(r.run.transcript) + r.run.target_logs)
          << "</system-out>\n";
    out << "    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
  return static_cast<bool>(out);
}

bool write_json(const std::string& path, const std::vector<scenario_result>& results,
                const std::string& target) {
  std::ofstream out(path);
  if (!out) return false;
  const auto c = count(results);
  json_writer json(out);
  json.begin_object().key("tool").value("gearspec").key("target").value(target);
  json.key("summary").begin_object();
  json.key("total").value(c.total()).key("pass").value(c.pass).key("fail").value(c.fail);
  json.key("expected_fail").value(c.expected_fail).key("unexpected_pass").value(c.unexpected_pass);
  json.key("unsupported").value(c.unsupported).key("error").value(c.error).key("ok").value(c.ok());
  json.end_object();
  json.key("results").begin_array();
  for (const auto& r : results) {
    const auto& s = *r.source;
    json.newline().begin_object();
    json.key("id").value(s.id).key("title").value(s.title).key("file").value(s.file);
    json.key("level").value(s.level).key("requirements").strings(s.requirements);
    json.key("tags").strings(s.tags).key("round").value(r.round);
    json.key("verdict").value(verdict_name(r.result)).key("reason").value(r.reason);
    json.key("evidence").value(r.evidence);
    json.key("elapsed_ms").value(static_cast<std::int64_t>(r.run.elapsed.count()));
    json.key("mismatch");
    if (r.run.first) {
      const auto& m = *r.run.first;
      json.begin_object().key("at").value(m.mark.str()).key("step").value(m.step);
      json.key("expected").value(m.expected).key("actual").value(m.actual);
      json.key("note").value(m.note).end_object();
    } else {
      json.null();
    }
    json.key("transcript").begin_array();
    for (const auto& e : r.run.transcript) {
      json.begin_object().key("ms").value(e.at_ms).key("actor").value(e.actor);
      json.key("dir").value(std::string(1, e.direction)).key("text").value(e.text).end_object();
    }
    json.end_array().end_object();
  }
  json.newline().end_array().end_object().newline();
  return static_cast<bool>(out);
}

}  // namespace gearspec::engine
