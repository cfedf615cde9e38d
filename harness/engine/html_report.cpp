// The HTML report of a run (gearspec run --html FILE): one self-contained page, in the manner of
// Autobahn's reports: totals by verdict and level, the root causes, then one section per scenario
// with everything needed to act on it, failures first.

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <map>

#include "harness/engine/report.hpp"

#ifndef GEARSPEC_VERSION
#define GEARSPEC_VERSION "unknown"
#endif

namespace gearspec::engine {
namespace {

/// The order sections appear in: what needs attention first.
int rank(const scenario_result& r) {
  switch (r.result) {
    case verdict::fail:
    case verdict::error:
    case verdict::flaky:
    case verdict::unexpected_pass:
      return 0;
    case verdict::blocked:
      return 1;
    case verdict::informational:
      return r.variant.empty() ? 2 : 4;
    case verdict::expected_fail:
      return 3;
    case verdict::unsupported:
      return 5;
    case verdict::pass:
      return 6;
  }
  return 7;
}

constexpr verdict all_verdicts[] = {
    verdict::fail,    verdict::error,         verdict::flaky,         verdict::unexpected_pass,
    verdict::blocked, verdict::expected_fail, verdict::informational, verdict::unsupported,
    verdict::pass};

const char* style_sheet = R"(
body{font-family:system-ui,sans-serif;margin:0;color:#222}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:8px 16px;z-index:1}
main{padding:0 16px 32px}
h1{font-size:20px;margin:4px 0}
h2{font-size:17px;margin:24px 0 8px}
.badge{display:inline-block;padding:1px 7px;border-radius:4px;font-weight:600;font-size:12px;color:#fff}
.v-pass{background:#2e7d32}.v-fail,.v-error,.v-flaky,.v-unexpected-pass{background:#c62828}
.v-expected-fail{background:#8d6e00}.v-blocked{background:#6d4c41}.v-informational{background:#1565c0}
.v-unsupported{background:#757575}
.totals label{margin-right:12px;cursor:pointer;white-space:nowrap}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 8px;font-size:13px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
section.scenario{border:1px solid #ddd;border-left:6px solid #999;margin:10px 0;padding:6px 10px}
section.s-pass{border-left-color:#2e7d32}section.s-bad{border-left-color:#c62828}
section.s-informational{border-left-color:#1565c0}section.s-blocked{border-left-color:#6d4c41}
section.s-expected-fail{border-left-color:#8d6e00}
section h3{font-size:15px;margin:2px 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0;font-size:13px}
dt{color:#555}dd{margin:0}
pre{background:#f7f7f7;border:1px solid #e0e0e0;padding:6px;font-size:12px;overflow-x:auto;white-space:pre-wrap}
.mismatch dd{font-family:ui-monospace,monospace}
.causes li{margin:3px 0}.causes a{font-family:ui-monospace,monospace;font-size:12px}
.hidden{display:none}
)";

// Filters by verdict, and a line the browser test reads to know the page's script ran.
const char* script = R"(
(function(){
  var boxes=document.querySelectorAll('input[data-verdict]');
  function apply(){
    var on={};boxes.forEach(function(b){on[b.dataset.verdict]=b.checked;});
    document.querySelectorAll('section.scenario').forEach(function(s){
      s.classList.toggle('hidden',!on[s.dataset.verdict]);});
  }
  boxes.forEach(function(b){b.addEventListener('change',apply);});
  apply();
  var counts={};document.querySelectorAll('section.scenario').forEach(function(s){
    counts[s.dataset.verdict]=(counts[s.dataset.verdict]||0)+1;});
  var parts=Object.keys(counts).sort().map(function(k){return k+'='+counts[k];});
  document.getElementById('rendered').textContent='rendered '+
    document.querySelectorAll('section.scenario').length+' scenarios: '+parts.join(' ');
})();
)";

void write_section(std::ostream& out, const scenario_result& r, const run_report& report) {
  const auto& s = *r.source;
  const std::string name = verdict_name(r.result);
  const bool bad = rank(r) == 0;
  out << "<section class=\"scenario " << (bad ? "s-bad" : "s-" + name) << "\" id=\""
      << markup_escape(s.id) << "\" data-verdict=\"" << name << "\" data-level=\""
      << markup_escape(s.level) << "\">\n<h3><span "
      << "class=\"badge v-" << name << "\">" << name << "</span> " << markup_escape(s.id)
      << " <small>[" << markup_escape(s.level) << "]</small></h3>\n<div>" << markup_escape(s.title)
      << "</div>\n<dl>\n";
  for (const auto& id : s.requirements) {
    out << "<dt>" << markup_escape(id) << "</dt><dd>";
    if (report.catalog)
      if (auto it = report.catalog->find(id); it != report.catalog->end())
        out << "(" << markup_escape(it->second.level) << ") " << markup_escape(it->second.text);
    out << "</dd>\n";
  }
  out << "<dt>file</dt><dd>" << markup_escape(s.file) << "</dd>\n";
  if (!r.variant.empty()) out << "<dt>variant</dt><dd>" << markup_escape(r.variant) << "</dd>\n";
  if (!r.blocked_by.empty()) {
    out << "<dt>blocked by</dt><dd>";
    for (std::size_t i = 0; i < r.blocked_by.size(); ++i)
      out << (i ? ", " : "") << markup_escape(r.blocked_by[i]);
    out << "</dd>\n";
  }
  if (!r.reason.empty()) out << "<dt>why</dt><dd>" << markup_escape(r.reason) << "</dd>\n";
  if (!r.evidence.empty()) out << "<dt>evidence</dt><dd>" << markup_escape(r.evidence) << "</dd>\n";
  out << "<dt>description</dt><dd>" << markup_escape(s.description) << "</dd>\n</dl>\n";
  if (r.run.first && r.result != verdict::pass) {
    const auto& m = *r.run.first;
    out << "<dl class=\"mismatch\">\n<dt>at</dt><dd>" << markup_escape(m.mark.str()) << " ("
        << markup_escape(m.step) << ")</dd>\n<dt>expected</dt><dd>" << markup_escape(m.expected)
        << "</dd>\n<dt>actual</dt><dd>" << markup_escape(m.actual) << "</dd>\n";
    if (!m.note.empty()) out << "<dt>note</dt><dd>" << markup_escape(m.note) << "</dd>\n";
    if (!m.cause.empty()) out << "<dt>cause</dt><dd>" << markup_escape(m.cause) << "</dd>\n";
    out << "</dl>\n";
  }
  for (const auto& a : r.attempts)
    if (a.first)
      out << "<div><small>variant " << markup_escape(a.name) << ": expected "
          << markup_escape(a.first->expected) << "; actual " << markup_escape(a.first->actual)
          << "</small></div>\n";
  if (!r.run.transcript.empty())
    out << "<details" << (bad ? " open" : "") << "><summary>transcript (" << r.run.transcript.size()
        << " lines, " << r.run.elapsed.count() << " ms)</summary>\n<pre>"
        << markup_escape(format_transcript(r.run.transcript)) << "</pre></details>\n";
  if (!r.run.target_logs.empty())
    out << "<details><summary>server log</summary><pre>" << markup_escape(r.run.target_logs)
        << "</pre></details>\n";
  out << "</section>\n";
}

}  // namespace

bool write_html(const std::string& path, const run_report& report) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return false;
  const auto& results = *report.results;
  const auto c = count(results);
  std::map<std::string, std::map<std::string, std::size_t>> by_level;  // level -> verdict -> n
  for (const auto& r : results) ++by_level[r.source->level][verdict_name(r.result)];
  const std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  char took[32];
  std::snprintf(took, sizeof took, "%.1f s", report.elapsed_s);

  out << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>gearspec: "
      << (c.ok() ? "OK" : "FAILED") << " against " << markup_escape(report.target)
      << "</title>\n<style>" << style_sheet << "</style></head><body>\n<header>\n<h1>gearspec "
      << (c.ok() ? "<span class=\"badge v-pass\">OK</span>"
                 : "<span class=\"badge v-fail\">FAILED</span>")
      << " " << c.total() << " scenarios against " << markup_escape(report.target) << "</h1>\n<div>"
      << (report.profile.empty() ? "no profile" : "profile " + markup_escape(report.profile))
      << " &middot; " << when << " &middot; " << took << " &middot; gearspec " << GEARSPEC_VERSION
      << "</div>\n<div class=\"totals\" id=\"totals\">";
  for (const auto v : all_verdicts) {
    const std::string name = verdict_name(v);
    std::size_t n = 0;
    for (const auto& r : results) n += r.result == v;
    if (!n) continue;
    out << "<label><input type=\"checkbox\" checked data-verdict=\"" << name << "\"> <span "
        << "class=\"badge v-" << name << "\">" << name << "</span> <b data-total=\"" << name
        << "\">" << n << "</b></label>";
  }
  out << "</div>\n<div id=\"rendered\"></div>\n</header>\n<main>\n";

  out << "<h2>By level</h2>\n<table id=\"levels\"><tr><th>level</th>";
  for (const auto v : all_verdicts) out << "<th>" << verdict_name(v) << "</th>";
  out << "</tr>\n";
  for (const char* level : {"MUST", "SHOULD", "IMPL"}) {
    out << "<tr><td>" << level << "</td>";
    for (const auto v : all_verdicts) {
      const auto& row = by_level[level];
      const auto it = row.find(verdict_name(v));
      out << "<td>" << (it == row.end() ? 0 : it->second) << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</table>\n";

  if (report.capabilities && report.capabilities->probed && !report.capabilities->missing.empty()) {
    out << "<h2>Capabilities the target lacks</h2>\n<dl>\n";
    for (const auto& [name, why] : report.capabilities->missing)
      out << "<dt>" << markup_escape(name) << "</dt><dd>" << markup_escape(why) << "</dd>\n";
    out << "</dl>\n";
    if (report.capabilities->request_magic)
      out << "<p>" << markup_escape(read_past_request_magic_note) << "</p>\n";
  }

  const auto causes = root_causes(results);
  if (!causes.empty()) {
    out << "<h2>Root causes, largest first</h2>\n<ol class=\"causes\" id=\"causes\">\n";
    for (const auto& rc : causes) {
      out << "<li><b>" << rc.ids.size() << " &times; " << markup_escape(rc.cause) << "</b>";
      if (rc.failed && rc.blocked)
        out << " (" << rc.failed << " failed: they are about it; " << rc.blocked << " blocked)";
      else if (rc.blocked)
        out << " (blocked, not a failure)";
      else if (!rc.failing)
        out << " (none of the known variants, not a failure)";
      out << "<br>";
      for (std::size_t i = 0; i < rc.ids.size(); ++i)
        out << (i ? ", " : "") << "<a href=\"#" << markup_escape(rc.ids[i]) << "\">"
            << markup_escape(rc.ids[i]) << "</a>";
      out << "</li>\n";
    }
    out << "</ol>\n";
  }

  std::vector<const scenario_result*> order;
  for (const auto& r : results) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto* a, const auto* b) { return rank(*a) < rank(*b); });
  out << "<h2>Scenarios</h2>\n";
  for (const auto* r : order) write_section(out, *r, report);
  out << "</main>\n<script>" << script << "</script>\n</body></html>\n";
  return static_cast<bool>(out);
}

}  // namespace gearspec::engine
