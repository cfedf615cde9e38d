#include "harness/engine/suite.hpp"

#include <atomic>
#include <mutex>
#include <thread>

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
    case verdict::error:
      return "error";
  }
  return "?";
}

namespace {

scenario_result run_one(const scenario::scenario& s, target& t, const suite_options& options) {
  scenario_result r;
  r.source = &s;
  const scenario::profile_entry* entry = options.profile ? options.profile->find(s.id) : nullptr;
  if (entry && entry->expect == scenario::profile_entry::verdict::unsupported) {
    r.result = verdict::unsupported;
    r.reason = entry->reason;
    r.evidence = entry->evidence;
    return r;
  }
  server_needs needs;
  needs.restart = s.needs_restart();
  needs.persistent_queue = s.needs_persistent_queue();
  if (auto why = t.unsupported(s.servers, needs)) {
    r.result = verdict::unsupported;
    r.reason = *why;
    return r;
  }
  std::unique_ptr<target_instance> servers;
  try {
    servers = t.start(s.servers, needs);
  } catch (const std::exception& e) {
    r.result = verdict::error;
    r.reason = std::string("target: ") + e.what();
    return r;
  }
  r.run = run_scenario(s, *servers, options.run);
  servers.reset();  // stop spawned servers before the next scenario
  switch (r.run.result) {
    case outcome::pass:
      r.result = entry ? verdict::unexpected_pass : verdict::pass;
      if (entry)
        r.reason = "the profile expects a failure (" + entry->reason +
                   ") but it passed: update the profile";
      break;
    case outcome::fail:
      r.result = entry ? verdict::expected_fail : verdict::fail;
      if (entry) {
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

}  // namespace

std::vector<scenario_result> run_suite(const std::vector<scenario::scenario>& scenarios, target& t,
                                       const suite_options& options) {
  const std::size_t rounds = options.repeat ? options.repeat : 1;
  const std::size_t total = scenarios.size() * rounds;
  std::vector<scenario_result> results(total);
  std::atomic<std::size_t> next{0};
  std::size_t done = 0;
  std::mutex report_mutex;
  const auto started = std::chrono::steady_clock::now();
  auto worker = [&] {
    while (true) {
      const std::size_t i = next++;
      if (i >= total) return;
      const auto& s = scenarios[i % scenarios.size()];
      scenario_result r;
      if (options.global_limit.count() > 0 &&
          std::chrono::steady_clock::now() - started > options.global_limit) {
        r.source = &s;
        r.result = verdict::error;
        r.reason = "not run: the global time limit of " +
                   std::to_string(options.global_limit.count()) + " ms was reached";
      } else {
        r = run_one(s, t, options);
      }
      r.round = static_cast<unsigned>(i / scenarios.size() + 1);
      std::lock_guard<std::mutex> lock(report_mutex);
      results[i] = std::move(r);
      ++done;
      if (options.on_result) options.on_result(results[i], done, total);
    }
  };
  const unsigned jobs =
      std::max(1u, std::min<unsigned>(options.jobs, static_cast<unsigned>(total ? total : 1)));
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < jobs; ++j) threads.emplace_back(worker);
  worker();
  for (auto& th : threads) th.join();
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
      case verdict::error:
        ++c.error;
        break;
    }
  }
  return c;
}

}  // namespace gearspec::engine
