#include "harness/engine/suite.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "harness/engine/capabilities.hpp"

namespace gearspec::engine {

const char* verdict_name(verdict v) {
  switch (v) {
    case verdict::pass:
      return "pass";
    case verdict::fail:
      return "fail";
    case verdict::expected_fail:
      return "expected-fail";
    case verdict::unexpected_pass:
      return "unexpected-pass";
    case verdict::unsupported:
      return "unsupported";
    case verdict::blocked:
      return "blocked";
    case verdict::informational:
      return "informational";
    case verdict::flaky:
      return "flaky";
    case verdict::error:
      return "error";
  }
  return "?";
}

namespace {

using entry_kind = scenario::profile_entry::verdict;

/// Starts fresh servers and runs the scenario (and a variant of it) once.
run_result run_once(const scenario::scenario& s, target& t, const server_needs& needs,
                    const run_options& options, const scenario::variant* v,
                    std::string& start_error) {
  std::unique_ptr<target_instance> servers;
  try {
    servers = t.start(s.servers, needs);
  } catch (const std::exception& e) {
    start_error = std::string("target: ") + e.what();
    return {};
  }
  auto result = run_scenario(s, *servers, options, v);
  servers.reset();  // stop spawned servers before the next run
  return result;
}

/// An IMPL scenario: its variants in order; the first that passes is the one the server shows.
void judge_variants(const scenario::scenario& s, target& t, const server_needs& needs,
                    const suite_options& options, const scenario::profile_entry* entry,
                    scenario_result& r) {
  // The variant a profile pins is tried first: on a server that still shows it, one run is enough.
  std::vector<const scenario::variant*> order;
  for (const auto& v : s.variants) order.push_back(&v);
  if (entry && entry->expect == entry_kind::pinned)
    std::stable_partition(order.begin(), order.end(),
                          [&](const scenario::variant* v) { return v->name == entry->variant; });
  for (const auto* vp : order) {
    const auto& v = *vp;
    std::string start_error;
    auto run = run_once(s, t, needs, options.run, &v, start_error);
    if (!start_error.empty()) {
      r.result = verdict::error;
      r.reason = start_error;
      return;
    }
    r.attempts.push_back({v.name, run.result, run.first});
    const bool shown = run.result == outcome::pass;
    if (run.result == outcome::error) {
      r.run = std::move(run);
      r.result = verdict::error;
      r.reason = r.run.first ? r.run.first->note : "error";
      return;
    }
    if (shown || r.attempts.size() == 1) r.run = std::move(run);
    if (shown) {
      r.variant = v.name;
      break;
    }
  }
  r.result = verdict::informational;
  if (r.variant.empty())
    r.reason = "none of the known variants (" + std::to_string(s.variants.size()) + " tried)";
  if (entry && entry->expect == entry_kind::pinned) {
    r.evidence = entry->evidence;
    if (r.variant == entry->variant) {
      r.result = verdict::pass;
      r.reason = "the variant the profile pins (" + entry->reason + ")";
    } else if (r.variant.empty() && !entry->sometimes_none.empty()) {
      // A known nondeterministic defect of this server, not a change of its choice.
      r.result = verdict::expected_fail;
      r.reason = "none of the known variants this time, which the profile says happens (" +
                 entry->sometimes_none + ")";
    } else {
      r.result = verdict::fail;
      r.reason = "the profile pins variant '" + entry->variant + "' (" + entry->reason +
                 "); the server showed " +
                 (r.variant.empty() ? "none of the known variants" : "'" + r.variant + "'");
    }
  }
}

bool about_framing(const scenario::scenario& s) {
  for (const auto& req : s.requirements)
    for (const auto& c : capabilities_of_requirement(req))
      if (c == "binary-framing") return true;
  return false;
}

scenario_result run_one(const scenario::scenario& s, target& t, const suite_options& given) {
  // Reading past the request magic is for the scenarios that are not about framing.
  const bool read_past = given.read_past_request_magic && !about_framing(s);
  suite_options read_past_options;
  if (read_past) {
    read_past_options = given;
    read_past_options.run.accept_request_magic = true;
    read_past_options.missing_capabilities.erase("binary-framing");
  }
  const suite_options& options = read_past ? read_past_options : given;
  scenario_result r;
  r.source = &s;
  const scenario::profile_entry* entry = options.profile ? options.profile->find(s.id) : nullptr;
  if (entry && entry->expect == entry_kind::unsupported) {
    r.result = verdict::unsupported;
    r.reason = entry->reason;
    r.evidence = entry->evidence;
    return r;
  }
  for (const auto& need : needed_capabilities(s))
    if (options.missing_capabilities.count(need)) r.blocked_by.push_back(need);
  if (!r.blocked_by.empty()) {
    r.result = verdict::blocked;
    std::string list;
    for (const auto& b : r.blocked_by) list += (list.empty() ? "" : ", ") + b;
    r.reason = "the target lacks " + list;
    return r;
  }
  server_needs needs;
  needs.restart = s.needs_restart();
  needs.persistent_queue = s.needs_persistent_queue();
  needs.disposable = s.needs_disposable_server();
  // Without client ids, wait_until_gone counts the connections the server lists: only the
  // scenario's own may be there (a server of its own, not a shared --target).
  if (!options.run.client_ids && !s.awaited_closes.empty()) needs.disposable = true;
  needs.reference_options = s.reference_options;
  if (auto why = t.unsupported(s.servers, needs)) {
    r.result = verdict::unsupported;
    r.reason = *why;
    return r;
  }
  if (!s.variants.empty()) {
    judge_variants(s, t, needs, options, entry, r);
    return r;
  }
  std::string start_error;
  r.run = run_once(s, t, needs, options.run, nullptr, start_error);
  if (!start_error.empty()) {
    r.result = verdict::error;
    r.reason = start_error;
    return r;
  }
  const bool expects_failure = entry && entry->expect == entry_kind::expected_fail;
  switch (r.run.result) {
    case outcome::pass:
      r.result = expects_failure ? verdict::unexpected_pass : verdict::pass;
      if (expects_failure)
        r.reason = "the profile expects a failure (" + entry->reason +
                   ") but it passed: update the profile";
      break;
    case outcome::fail:
      r.result = expects_failure ? verdict::expected_fail : verdict::fail;
      r.lacking = lacking_capabilities(s, options.missing_capabilities);
      if (expects_failure) {
        r.reason = entry->reason;
        r.evidence = entry->evidence;
      }
      break;
    case outcome::error:
      r.result = verdict::error;
      r.reason = r.run.first ? r.run.first->note : "error";
      break;
  }
  return r;
}

/// A verdict as the rounds of --repeat compare them: an IMPL scenario's variant counts too.
std::string verdict_key(const scenario_result& r) {
  return std::string(verdict_name(r.result)) + (r.variant.empty() ? "" : " (" + r.variant + ")");
}

/// One scenario's rounds as one result: the common verdict, or flaky with one of each other.
scenario_result combine_rounds(std::vector<scenario_result> rounds) {
  scenario_result out = std::move(rounds.front());
  out.rounds = static_cast<unsigned>(rounds.size());
  std::map<std::string, std::size_t> tally{{verdict_key(out), 1}};
  for (std::size_t i = 1; i < rounds.size(); ++i) {
    const auto key = verdict_key(rounds[i]);
    if (tally[key]++ == 0)  // the first round with this verdict is kept to show it
      out.other_verdicts.emplace_back(static_cast<unsigned>(i + 1), std::move(rounds[i]));
  }
  if (out.other_verdicts.empty()) return out;
  std::string text;
  for (const auto& [key, n] : tally)
    text += (text.empty() ? "" : ", ") + key + " in " + std::to_string(n) +
            (n == 1 ? " round" : " rounds");
  out.reason = "the verdict changed between rounds: " + text;
  out.result = verdict::flaky;
  return out;
}

/// Roughly how long a scenario takes on a prompt server: its deliberate waits (sleeps, quiet
/// windows, epoch due times, timed rounds, restarts). Used only to start the long ones first.
double estimated_ms(const scenario::step_list& steps) {
  double total = 0;
  for (const auto& st : steps) {
    if (const auto* s = st.as<scenario::sleep_step>())
      total += static_cast<double>(s->length.count());
    else if (st.as<scenario::sleep_until_step>())
      total += 1500;
    else if (const auto* n = st.as<scenario::expect_none_step>())
      total += static_cast<double>(n->window.count());
    else if (const auto* t = st.as<scenario::timed_step>())
      total += t->rounds * (1 + estimated_ms(t->steps));
    else if (const auto* p = st.as<scenario::parallel_step>()) {
      double longest = 0;
      for (const auto& b : p->branches) longest = std::max(longest, estimated_ms(b));
      total += longest;
    } else if (st.as<scenario::server_fault_step>())
      total += 100;
  }
  return total;
}

double estimated_ms(const scenario::scenario& s) {
  double variants = 0;  // the variants are tried one after another until one matches
  for (const auto& v : s.variants) variants += estimated_ms(s.steps) + estimated_ms(v.steps);
  return std::max(estimated_ms(s.steps), variants);
}

}  // namespace

void use_probe_results(const capability_report& caps, suite_options& options) {
  for (const auto& [name, why] : caps.missing) options.missing_capabilities.insert(name);
  options.run.grab = caps.grab;
  options.run.sync = caps.sync;
  options.run.client_ids = !caps.missing.count("set-client-id");
  options.run.end_round_trip = caps.present.count("echo") > 0;
  options.read_past_request_magic = caps.request_magic;
}

std::vector<scenario_result> run_suite(const std::vector<scenario::scenario>& scenarios, target& t,
                                       const suite_options& options) {
  const std::size_t rounds = options.repeat ? options.repeat : 1;
  const std::size_t total = scenarios.size() * rounds;
  std::vector<scenario_result> runs(total);
  // Longest first, so that with -j N the slow scenarios overlap the many quick ones instead of
  // ending the run alone; results keep the given order.
  std::vector<double> estimate(scenarios.size());
  for (std::size_t s = 0; s < scenarios.size(); ++s) estimate[s] = estimated_ms(scenarios[s]);
  std::vector<std::size_t> order(total);
  for (std::size_t i = 0; i < total; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return estimate[a % scenarios.size()] > estimate[b % scenarios.size()];
  });
  std::atomic<std::size_t> next{0};
  std::size_t done = 0;
  std::mutex report_mutex;
  const auto started = std::chrono::steady_clock::now();
  auto worker = [&] {
    while (true) {
      const std::size_t n = next++;
      if (n >= total) return;
      const std::size_t i = order[n];
      const auto& s = scenarios[i % scenarios.size()];
      scenario_result r;
      if (options.global_limit.count() > 0 &&
          std::chrono::steady_clock::now() - started > options.global_limit) {
        r.source = &s;
        r.result = verdict::error;
        r.reason = "not run: the global time limit of " +
                   std::to_string(options.global_limit.count()) + " ms was reached";
      } else {
        if (options.on_start) {
          std::lock_guard<std::mutex> lock(report_mutex);
          options.on_start(s);
        }
        r = run_one(s, t, options);
      }
      std::lock_guard<std::mutex> lock(report_mutex);
      runs[i] = std::move(r);
      ++done;
      if (options.on_result) options.on_result(runs[i], done, total);
    }
  };
  const unsigned jobs =
      std::max(1u, std::min<unsigned>(options.jobs, static_cast<unsigned>(total ? total : 1)));
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < jobs; ++j) threads.emplace_back(worker);
  worker();
  for (auto& th : threads) th.join();

  std::vector<scenario_result> results;
  results.reserve(scenarios.size());
  for (std::size_t s = 0; s < scenarios.size(); ++s) {
    std::vector<scenario_result> mine;
    for (std::size_t round = 0; round < rounds; ++round)
      mine.push_back(std::move(runs[round * scenarios.size() + s]));
    results.push_back(combine_rounds(std::move(mine)));
  }
  return results;
}

suite_counts count(const std::vector<scenario_result>& results) {
  suite_counts c;
  for (const auto& r : results) {
    switch (r.result) {
      case verdict::pass:
        ++c.pass;
        break;
      case verdict::fail:
        ++c.fail;
        break;
      case verdict::expected_fail:
        ++c.expected_fail;
        break;
      case verdict::unexpected_pass:
        ++c.unexpected_pass;
        break;
      case verdict::unsupported:
        ++c.unsupported;
        break;
      case verdict::blocked:
        ++c.blocked;
        break;
      case verdict::informational:
        ++c.informational;
        break;
      case verdict::flaky:
        ++c.flaky;
        break;
      case verdict::error:
        ++c.error;
        break;
    }
  }
  return c;
}

}  // namespace gearspec::engine
