#include "harness/clients/clients_suite.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "harness/engine/json.hpp"

namespace gearspec::clients {

namespace {

bool failed(case_verdict v) {
  return v == case_verdict::fail || v == case_verdict::hang || v == case_verdict::crash;
}

case_result apply_expectations(case_result r, const scenario::profile* expectations) {
  if (!expectations) return r;
  using kind = scenario::profile_entry::verdict;
  const auto* entry = expectations->find(r.case_id);
  if (!entry || (entry->expect != kind::expected_fail && entry->expect != kind::fails_sometimes))
    return r;
  r.reason = entry->reason;
  if (failed(r.verdict)) {
    r.note = std::string(verdict_name(r.verdict)) + ": " + r.cause;
    r.verdict = case_verdict::expected_fail;
  } else if (r.verdict == case_verdict::pass) {
    if (entry->expect == kind::expected_fail)
      r.verdict = case_verdict::unexpected_pass;
    else
      r.note = "passed this time; the expectations say it fails in some runs: " + entry->reason;
  }
  return r;
}

}  // namespace

std::vector<case_result> run_cases(const std::vector<client_case>& cases,
                                   const std::vector<agent_under_test>& agents,
                                   const case_settings& settings, unsigned jobs,
                                   const std::function<void(const case_result&)>& progress) {
  struct task {
    const client_case* c;
    const agent_under_test* agent;
  };
  std::vector<task> tasks;
  for (const auto& a : agents)
    for (const auto& c : cases) tasks.push_back({&c, &a});
  std::vector<case_result> results(tasks.size());
  std::atomic<std::size_t> next{0};
  std::mutex report_lock;
  auto worker = [&] {
    for (std::size_t i = next++; i < tasks.size(); i = next++) {
      const auto& t = tasks[i];
      const auto* expectations = t.agent->expectations ? &*t.agent->expectations : nullptr;
      const auto* entry = expectations ? expectations->find(t.c->id) : nullptr;
      case_result r;
      if (entry && entry->expect == scenario::profile_entry::verdict::unsupported) {
        r.case_id = t.c->id;
        r.title = t.c->title;
        r.level = t.c->level;
        r.requirements = t.c->requirements;
        r.agent = t.agent->spec.name;
        r.verdict = case_verdict::unsupported;
        r.cause = "the agent's expectations: " + entry->reason;
      } else {
        r = apply_expectations(run_case(*t.c, t.agent->spec, settings), expectations);
      }
      std::lock_guard lock(report_lock);
      results[i] = std::move(r);
      if (progress) progress(results[i]);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 0; j < std::max(1u, jobs); ++j) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  mark_shared_defects(results);
  return results;
}

void mark_shared_defects(std::vector<case_result>& results) {
  auto fails = [](const case_result& r) {
    return failed(r.verdict) || r.verdict == case_verdict::expected_fail;
  };
  for (auto& r : results) {
    if (r.based_on.empty() || !fails(r)) continue;
    for (const auto& base : results)
      if (&base != &r && base.case_id == r.case_id && fails(base) &&
          base.library.rfind(r.based_on, 0) == 0) {
        r.shared_with = base.agent;
        break;
      }
  }
}

void clients_summary::add(const case_result& r) {
  switch (r.verdict) {
    case case_verdict::pass:
      ++pass;
      break;
    case case_verdict::fail:
      ++fail;
      break;
    case case_verdict::hang:
      ++hang;
      break;
    case case_verdict::crash:
      ++crash;
      break;
    case case_verdict::error:
      ++error;
      break;
    case case_verdict::unsupported:
      ++unsupported;
      break;
    case case_verdict::informational:
      ++informational;
      break;
    case case_verdict::expected_fail:
      ++expected_fail;
      break;
    case case_verdict::unexpected_pass:
      ++unexpected_pass;
      break;
  }
}

clients_summary summarize(const std::vector<case_result>& results) {
  clients_summary s;
  for (const auto& r : results) s.add(r);
  return s;
}

int clients_summary::exit_code() const {
  if (error) return 2;
  return fail || hang || crash || unexpected_pass ? 1 : 0;
}

void write_text_report(std::ostream& out, const std::vector<case_result>& results, bool verbose) {
  std::map<std::string, std::string> library_of, note_of;
  for (const auto& r : results) {
    if (!r.library.empty() && r.library != " ") library_of[r.agent] = r.library;
    if (!r.adapter_note.empty()) note_of[r.agent] = r.adapter_note;
  }
  for (const auto& r : results) {
    const bool bad = failed(r.verdict) || r.verdict == case_verdict::error ||
                     r.verdict == case_verdict::unexpected_pass;
    out << (bad ? "  " : "  ") << verdict_name(r.verdict);
    for (std::size_t n = std::string(verdict_name(r.verdict)).size(); n < 16; ++n) out << ' ';
    out << r.agent << "  " << r.case_id << " (" << r.level << ")";
    if (r.verdict == case_verdict::unsupported || r.verdict == case_verdict::expected_fail ||
        r.verdict == case_verdict::informational)
      if (!r.cause.empty() || !r.note.empty())
        out << ": " << (r.verdict == case_verdict::unsupported ? r.cause : r.note);
    if (!r.shared_with.empty())
      out << " [the same defect as " << r.shared_with << ", its base library]";
    out << "\n";
    if (bad || (verbose && r.verdict != case_verdict::unsupported)) {
      if (!r.where.empty()) out << "      at " << r.where << "\n";
      if (!r.expected.empty()) out << "      expected: " << r.expected << "\n";
      if (!r.actual.empty()) out << "      actual:   " << r.actual << "\n";
      if (!r.cause.empty()) out << "      cause:    " << r.cause << "\n";
      if (r.verdict == case_verdict::unexpected_pass)
        out << "      the agent's expectations say it fails (" << r.reason
            << "): it passed, update them\n";
      if (!r.transcript.empty()) {
        out << "      transcript:\n";
        const std::size_t from = r.transcript.size() > 60 ? r.transcript.size() - 60 : 0;
        if (from) out << "        ... " << from << " earlier lines\n";
        for (std::size_t i = from; i < r.transcript.size(); ++i)
          out << "        " << r.transcript[i] << "\n";
      }
      if (!r.adapter_stderr.empty() && bad) {
        out << "      adapter stderr:\n";
        std::size_t at = 0;
        while (at < r.adapter_stderr.size()) {
          const auto nl = r.adapter_stderr.find('\n', at);
          out << "        " << r.adapter_stderr.substr(at, nl - at) << "\n";
          if (nl == std::string::npos) break;
          at = nl + 1;
        }
      }
    }
  }
  // Per agent: the library it drove and its counts; then the causes, so one defect reads as one.
  std::map<std::string, clients_summary> per_agent;
  std::map<std::string, std::map<std::string, std::vector<std::string>>> causes;
  for (const auto& r : results) {
    per_agent[r.agent].add(r);
    if (failed(r.verdict) || r.verdict == case_verdict::error)
      causes[r.agent][r.cause].push_back(r.case_id);
  }
  out << "\nagents:\n";
  for (const auto& [agent, s] : per_agent) {
    out << "  " << agent;
    if (library_of.count(agent)) out << " (" << library_of[agent] << ")";
    out << ": " << s.pass << " passed, " << s.fail << " failed, " << s.hang << " hung, " << s.crash
        << " crashed, " << s.expected_fail << " expected failures, " << s.unexpected_pass
        << " unexpected passes, " << s.unsupported << " unsupported, " << s.informational
        << " informational, " << s.error << " adapter errors\n";
    if (note_of.count(agent)) out << "      adapter: " << note_of[agent] << "\n";
    for (const auto& [cause, ids] : causes[agent]) {
      out << "      root cause: " << cause << " (" << ids.size() << " case"
          << (ids.size() == 1 ? "" : "s") << ": ";
      for (std::size_t i = 0; i < ids.size() && i < 4; ++i) out << (i ? ", " : "") << ids[i];
      if (ids.size() > 4) out << ", ...";
      out << ")\n";
    }
  }
  // Library defects: each failing (or expected-to-fail) case of an agent, a defect shared with the
  // agent of its base library counted once.
  std::size_t defects = 0, shared = 0;
  for (const auto& r : results)
    if (failed(r.verdict) || r.verdict == case_verdict::expected_fail)
      (r.shared_with.empty() ? defects : shared) += 1;
  if (defects + shared)
    out << "\nlibrary defects found: " << defects << " (" << shared
        << " more failures are a base library's defect seen again through a library built on it)\n";
  const auto total = summarize(results);
  out << "\n"
      << (total.exit_code() == 0   ? "OK"
          : total.exit_code() == 2 ? "ERROR (an adapter broke the contract or could not run)"
                                   : "FAILED")
      << ": " << results.size() << " runs, " << total.pass << " passed, "
      << total.fail + total.hang + total.crash << " failed (" << total.hang << " hung, "
      << total.crash << " crashed), " << total.expected_fail << " expected failures, "
      << total.unexpected_pass << " unexpected passes, " << total.unsupported << " unsupported, "
      << total.informational << " informational, " << total.error << " errors\n";
}

void write_json_report(std::ostream& out, const std::vector<case_result>& results) {
  engine::json_writer w(out);
  const auto total = summarize(results);
  w.begin_object().key("tool").value("gearspec clients");
  w.key("exit_code").value(total.exit_code());
  w.key("results").begin_array();
  for (const auto& r : results) {
    w.newline().begin_object();
    w.key("case").value(r.case_id).key("agent").value(r.agent).key("library").value(r.library);
    w.key("level").value(r.level).key("requirements").strings(r.requirements);
    w.key("verdict").value(verdict_name(r.verdict));
    w.key("where").value(r.where).key("expected").value(r.expected).key("actual").value(r.actual);
    w.key("cause").value(r.cause).key("note").value(r.note).key("reason").value(r.reason);
    w.key("based_on").value(r.based_on).key("shared_with").value(r.shared_with);
    w.key("adapter_note").value(r.adapter_note);
    w.key("seconds").value(r.seconds);
    w.key("transcript").strings(r.transcript);
    w.key("adapter_stderr").value(r.adapter_stderr);
    w.end_object();
  }
  w.end_array().end_object();
  out << "\n";
}

}  // namespace gearspec::clients
