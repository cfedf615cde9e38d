// gearspec-bench: a load generator for any Gearman server, with exactly-once accounting.
//
// N clients keep K jobs each in flight; M workers grab and complete them (echoing the data). Every
// job carries its own id in its data, so the tool checks that each submission gets exactly one
// result with the right bytes; lost, duplicated or corrupted jobs are reported loudly and make the
// exit code 1. Latency is submit -> WORK_COMPLETE (foreground) or submit -> the worker's completion
// (background). All actors are coroutines on one io_context.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "harness/common/command_line.hpp"
#include "harness/engine/autonomous.hpp"
#include "harness/engine/json.hpp"
#include "harness/net/asio.hpp"
#include "harness/targets/make_target.hpp"

namespace {

using namespace gearspec;
namespace asio = net::asio;
using net::tcp;
using clock_type = std::chrono::steady_clock;
using wire::command;

struct load_config {
  unsigned clients = 4;
  unsigned workers = 4;
  unsigned inflight = 1;
  std::size_t payload = 10;
  bool background = false;
  std::string unique_mode = "distinct";  // distinct | shared | empty
  double duration_s = 5;
  double warmup_s = 1;
  std::uint64_t job_limit = 0;  // 0 = run for duration
};

struct stats {
  std::uint64_t submitted = 0;
  std::uint64_t created = 0;
  std::uint64_t completed = 0;   // results delivered (fg) or completions by workers (bg)
  std::uint64_t duplicates = 0;  // a job completed more than once
  std::uint64_t corrupted = 0;   // result bytes differ from what was sent
  std::uint64_t errors = 0;      // ERROR packets or unexpected packets
  std::uint64_t lost = 0;        // submitted, never completed after the drain
  std::vector<double> latencies_us;
  double seconds = 0;          // measured window
  std::uint64_t measured = 0;  // completions inside the window
};

class load_run {
 public:
  load_run(asio::io_context& io, engine::endpoint target, load_config config)
      : io_(io), target_(std::move(target)), cfg_(std::move(config)) {
    function_ = "bench_" + std::to_string(::getpid()) + "_" +
                std::to_string(clock_type::now().time_since_epoch().count() % 100000);
  }

  stats run() {
    for (unsigned w = 0; w < cfg_.workers; ++w) {
      auto on_done = [this](std::exception_ptr e) { report(e, "worker"); };
      asio::co_spawn(io_, worker(w), on_done);
    }
    for (unsigned c = 0; c < cfg_.clients; ++c) {
      auto on_done = [this](std::exception_ptr e) { report(e, "client"); };
      asio::co_spawn(io_, client(c), on_done);
    }
    start_ = clock_type::now();
    if (cfg_.job_limit) {
      // A fixed number of jobs: the window is the whole run.
      measure_from_ = start_;
      stop_at_ = start_ + std::chrono::hours(1);
    } else {
      measure_from_ = start_ + std::chrono::duration_cast<clock_type::duration>(
                                   std::chrono::duration<double>(cfg_.warmup_s));
      stop_at_ = measure_from_ + std::chrono::duration_cast<clock_type::duration>(
                                     std::chrono::duration<double>(cfg_.duration_s));
    }
    // Hard bound: the run ends at most 30 s after the planned stop, whatever the server does.
    asio::steady_timer hard_stop(io_);
    hard_stop.expires_at(cfg_.job_limit ? start_ + std::chrono::minutes(10)
                                        : stop_at_ + std::chrono::seconds(30));
    auto on_hard_stop = [this](const net::error_code& ec) {
      if (!ec) {
        std::fprintf(stderr, "gearspec-bench: the run did not drain within 30 s; stopping\n");
        io_.stop();
      }
    };
    hard_stop.async_wait(on_hard_stop);
    drain_timer_ = &hard_stop;
    io_.run();
    result_.lost = pending_.size();
    const auto window_end = std::min(last_completion_, stop_at_);
    result_.seconds = std::chrono::duration<double>(window_end - measure_from_).count();
    return result_;
  }

 private:
  void report(std::exception_ptr e, const char* who) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "gearspec-bench: %s failed: %s\n", who, ex.what());
      ++result_.errors;
      // A broken connection means the run cannot be accounted any further: end it now; what was
      // not completed is reported as lost.
      io_.stop();
    }
  }

  bool stopping() const {
    if (cfg_.job_limit) return result_.submitted >= cfg_.job_limit;
    return clock_type::now() >= stop_at_;
  }

  /// A connection to the target, kept until the run ends (pending writes hold their own).
  asio::awaitable<std::shared_ptr<engine::buffered_connection>> open() {
    auto c = engine::buffered_connection::create(io_);
    conns_.push_back(c);
    if (const auto ec = co_await c->connect(target_); ec)
      throw std::runtime_error("cannot connect to " + target_.str() + ": " + ec.message());
    co_return c;
  }

  std::string job_data(const std::string& id) const {
    std::string data = id;
    if (data.size() < cfg_.payload) data.append(cfg_.payload - data.size(), '.');
    return data;
  }

  void completed(const std::string& id, clock_type::time_point submitted_at) {
    const auto now = clock_type::now();
    ++result_.completed;
    last_completion_ = now;
    if (submitted_at >= measure_from_ && now <= stop_at_) {
      ++result_.measured;
      result_.latencies_us.push_back(
          std::chrono::duration<double, std::micro>(now - submitted_at).count());
    }
    (void)id;
  }

  void maybe_finish() {
    // Foreground clients finish on their own; background ones may wait for a JOB_CREATED that was
    // already read, so once every submission is accounted for, every connection is closed.
    const bool clients_done = cfg_.background || clients_done_ == cfg_.clients;
    if (finished_ || !stopping() || !pending_.empty() || !clients_done) return;
    finished_ = true;
    for (auto& c : conns_) c->close();
    if (drain_timer_) drain_timer_->cancel();
  }

  asio::awaitable<void> client(unsigned index) {
    const auto connection = co_await open();
    auto& c = *connection;
    std::uint64_t seq = 0;
    std::unordered_map<std::string, std::vector<std::string>>
        by_handle;                             // handle -> job ids waiting on it
    std::deque<std::string> awaiting_created;  // ids in submit order
    unsigned in_flight =
        0;  // foreground: awaiting a result; background: not yet completed by a worker
    auto submit_one = [&] {
      const std::string id = "c" + std::to_string(index) + "-" + std::to_string(++seq);
      // shared: every client submits the same key sequence, so jobs coalesce across clients.
      const std::string unique = cfg_.unique_mode == "distinct" ? id
                                 : cfg_.unique_mode == "shared" ? "shared-" + std::to_string(seq)
                                                                : "";
      const auto data = job_data(id);
      c.queue(cfg_.background ? command::submit_job_bg : command::submit_job,
              {function_, unique, data});
      pending_[id] = {clock_type::now(), data, 0};
      awaiting_created.push_back(id);
      ++result_.submitted;
      ++in_flight;
    };
    while (!stopping() && in_flight < cfg_.inflight) submit_one();
    c.flush();
    // Background jobs are closed-loop too: a worker's completion frees a slot and refills it here.
    auto refill = [&] {
      --in_flight;
      while (!stopping() && in_flight < cfg_.inflight) submit_one();
      c.flush();
    };
    if (cfg_.background) refill_[index] = refill;
    while (cfg_.background ? (!stopping() || !awaiting_created.empty())
                           : (in_flight > 0 || !awaiting_created.empty())) {
      const auto next = co_await c.next();
      if (!next) {
        if (finished_) break;  // closed by maybe_finish()
        throw std::runtime_error(c.problem());
      }
      const auto& p = *next;
      if (p.cmd == command::job_created) {
        ++result_.created;
        const std::string handle(p.arg(0));
        const auto id = awaiting_created.front();
        awaiting_created.pop_front();
        if (cfg_.background) {
          bg_handles_[handle].push_back(id);
        } else {
          by_handle[handle].push_back(id);
        }
      } else if (p.cmd == command::work_complete) {
        const std::string handle(p.arg(0));
        auto it = by_handle.find(handle);
        if (it == by_handle.end()) {
          ++result_.duplicates;  // a result for a handle with no submission waiting
        } else {
          for (const auto& id : it->second) {
            auto job = pending_.find(id);
            if (job == pending_.end()) {
              ++result_.duplicates;
              continue;
            }
            if (cfg_.unique_mode != "shared" && p.arg(1) != job->second.data) ++result_.corrupted;
            completed(id, job->second.submitted);
            pending_.erase(job);
            --in_flight;
          }
          by_handle.erase(it);
        }
      } else if (p.cmd == command::work_status || p.cmd == command::work_data) {
        // not sent by these workers; ignore
      } else {
        ++result_.errors;
        if (p.cmd == command::error)
          std::fprintf(stderr, "gearspec-bench: ERROR %.*s\n", static_cast<int>(p.arg(1).size()),
                       p.arg(1).data());
      }
      while (!stopping() && in_flight < cfg_.inflight) submit_one();
      c.flush();
    }
    refill_.erase(index);
    ++clients_done_;
    maybe_finish();
  }

  /// Echoes every job's data back; for background jobs the completion is the job's result.
  class echo_worker final : public engine::job_handler {
   public:
    explicit echo_worker(load_run& run) : run_(run) {}
    asio::awaitable<std::optional<std::string>> on_job(const engine::assigned_job& job) override {
      if (run_.cfg_.background) run_.background_completed(job.data);
      co_return job.data;
    }
    void on_other(const wire::packet_view&) override { ++run_.result_.errors; }

   private:
    load_run& run_;
  };

  void background_completed(const std::string& data) {
    const auto id = data.substr(0, data.find('.'));
    auto job = pending_.find(id);
    if (job == pending_.end()) {
      ++result_.duplicates;
    } else {
      if (data != job->second.data) ++result_.corrupted;
      completed(id, job->second.submitted);
      pending_.erase(job);
      const auto owner = static_cast<unsigned>(std::stoul(id.substr(1, id.find('-') - 1)));
      if (auto r = refill_.find(owner); r != refill_.end()) r->second();
    }
    maybe_finish();
  }

  asio::awaitable<void> worker(unsigned) {
    const auto connection = co_await open();
    echo_worker handler(*this);
    co_await engine::run_worker(*connection, function_, handler);  // ends when closed at the end
  }

  struct pending_job {
    clock_type::time_point submitted;
    std::string data;
    int completions;
  };

  asio::io_context& io_;
  engine::endpoint target_;
  load_config cfg_;
  std::string function_;
  stats result_;
  std::unordered_map<std::string, pending_job> pending_;
  std::unordered_map<std::string, std::vector<std::string>> bg_handles_;
  std::vector<std::shared_ptr<engine::buffered_connection>> conns_;
  std::unordered_map<unsigned, std::function<void()>> refill_;  ///< background clients' slot refill
  unsigned clients_done_ = 0;
  bool finished_ = false;
  clock_type::time_point start_, measure_from_, stop_at_, last_completion_;
  asio::steady_timer* drain_timer_ = nullptr;
};

double percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(std::min<double>(
      static_cast<double>(v.size()) - 1, std::floor(q * static_cast<double>(v.size()))));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

struct summary {
  std::string name;
  double jobs_per_s = 0, p50 = 0, p99 = 0, p999 = 0;
  /// The server's CPU time per completed job (whole run, warm-up included), where it is visible.
  std::optional<engine::target_instance::cpu_time> cpu_per_job_us;
  stats s;
  bool ok() const { return s.lost == 0 && s.duplicates == 0 && s.corrupted == 0 && s.errors == 0; }
};

summary summarise(const std::string& name, stats s) {
  summary out;
  out.name = name;
  out.jobs_per_s = s.seconds > 0 ? static_cast<double>(s.measured) / s.seconds : 0;
  out.p50 = percentile(s.latencies_us, 0.50);
  out.p99 = percentile(s.latencies_us, 0.99);
  out.p999 = percentile(s.latencies_us, 0.999);
  out.s = std::move(s);
  return out;
}

void write_round(engine::json_writer& json, const summary& r) {
  json.begin_object().key("target").value(r.name).key("jobs_per_s").value(r.jobs_per_s);
  json.key("latency_us").begin_object().key("p50").value(r.p50).key("p99").value(r.p99);
  json.key("p99_9").value(r.p999).end_object();
  if (r.cpu_per_job_us) {
    json.key("server_cpu_per_job_us").begin_object();
    json.key("user")
        .value(r.cpu_per_job_us->user_s)
        .key("system")
        .value(r.cpu_per_job_us->system_s);
    json.key("total").value(r.cpu_per_job_us->user_s + r.cpu_per_job_us->system_s).end_object();
  }
  json.key("submitted").value(r.s.submitted).key("completed").value(r.s.completed);
  json.key("lost").value(r.s.lost).key("duplicates").value(r.s.duplicates);
  json.key("corrupted").value(r.s.corrupted).key("errors").value(r.s.errors);
  json.key("measured").value(r.s.measured).key("window_s").value(r.s.seconds);
  json.key("ok").value(r.ok()).end_object();
}

std::string cpu_text(const summary& r) {
  if (!r.cpu_per_job_us) return "cpu/job       n/a";
  char text[64];
  std::snprintf(text, sizeof text, "cpu/job %5.1f us (%4.1f user + %4.1f sys)",
                r.cpu_per_job_us->user_s + r.cpu_per_job_us->system_s, r.cpu_per_job_us->user_s,
                r.cpu_per_job_us->system_s);
  return text;
}

void print_row(const summary& r) {
  std::printf("%-28s %10.0f jobs/s   p50 %7.0f us   p99 %7.0f us   p99.9 %7.0f us   %s   %s\n",
              r.name.c_str(), r.jobs_per_s, r.p50, r.p99, r.p999, cpu_text(r).c_str(),
              r.ok() ? "all jobs completed exactly once"
                     : ("LOST " + std::to_string(r.s.lost) + ", DUPLICATED " +
                        std::to_string(r.s.duplicates) + ", CORRUPTED " +
                        std::to_string(r.s.corrupted) + ", ERRORS " + std::to_string(r.s.errors))
                           .c_str());
}

/// One named target: an address, a command to spawn, or the embedded reference server.
struct named_target {
  std::string name;
  targets::target_spec spec;
};

summary run_once(const named_target& t, const load_config& cfg) {
  const auto target = targets::make_target(t.spec);
  const auto instance = target->start({"main"});  // a fresh server per round where it can
  asio::io_context io(1);
  load_run run(io, instance->address("main"), cfg);
  const auto cpu_before = instance->server_cpu("main");
  auto result = summarise(t.name, run.run());
  const auto cpu_after = instance->server_cpu("main");
  // Jobs/s says little when the load generator shares the cores with the server; CPU per job
  // says how much work the server does for each.
  if (cpu_before && cpu_after && result.s.completed > 0) {
    const double jobs = static_cast<double>(result.s.completed);
    result.cpu_per_job_us = engine::target_instance::cpu_time{
        (cpu_after->user_s - cpu_before->user_s) * 1e6 / jobs,
        (cpu_after->system_s - cpu_before->system_s) * 1e6 / jobs};
  }
  return result;
}

[[noreturn]] void usage(int code) {
  std::fputs(R"(usage: gearspec-bench [TARGET...] [options]

Targets (one or more; several run interleaved, A B A B ..., and are compared):
  --embedded[=NAME]              the reference server in-process (default if no target)
  --target NAME=HOST:PORT        an existing server
  --spawn NAME='COMMAND {port}'  a server started for each round (ready when the port listens)

Load:
  --clients N (4)  --workers M (4)  --inflight K (1; jobs in flight per client)
  --payload BYTES (10)  --background  --unique distinct|shared|empty (distinct)
  --duration S (5)  --warmup S (1)  --jobs N (stop after N submissions instead of a duration)
  --rounds R (1; rounds per target, interleaved)

Output:
  --json FILE   every round's figures
Options take their value as --name VALUE or --name=VALUE. --version prints the version.
Exit code: 0 if every job of every round completed exactly once with the right data, else 1.
)",
             code ? stderr : stdout);
  std::exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  load_config cfg;
  std::vector<named_target> targets;
  unsigned rounds = 1;
  std::string json_path;
  // --embedded=NAME is its own spelling (a name, not a value of --embedded).
  auto args = command_line::arguments(argc, argv, [](std::string_view flag) {
    for (const char* with_value :
         {"--target", "--spawn", "--clients", "--workers", "--inflight", "--payload", "--unique",
          "--duration", "--warmup", "--jobs", "--rounds", "--json"})
      if (flag == with_value) return true;
    return false;
  });
  if (command_line::print_version_if_asked(args, "gearspec-bench")) return 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "gearspec-bench: %s needs a value\n", a.c_str());
        usage(2);
      }
      return args[++i];
    };
    auto number = [&](const std::string& v) {
      try {
        return std::stod(v);
      } catch (...) {
        std::fprintf(stderr, "gearspec-bench: %s needs a number, got '%s'\n", a.c_str(), v.c_str());
        usage(2);
      }
    };
    auto named = [&](const std::string& v) {
      const auto eq = v.find('=');
      return eq == std::string::npos ? std::make_pair(v, v)
                                     : std::make_pair(v.substr(0, eq), v.substr(eq + 1));
    };
    if (a == "--help" || a == "-h")
      usage(0);
    else if (a == "--embedded")
      targets.push_back({"reference", {}});
    else if (a.rfind("--embedded=", 0) == 0)
      targets.push_back({a.substr(11), {}});
    else if (a == "--target") {
      const auto [name, address] = named(value());
      targets.push_back({name, {}});
      targets.back().spec.addresses = {address};
    } else if (a == "--spawn") {
      const auto [name, command] = named(value());
      targets.push_back({name, {}});
      targets.back().spec.spawn = command;
    } else if (a == "--clients")
      cfg.clients = static_cast<unsigned>(number(value()));
    else if (a == "--workers")
      cfg.workers = static_cast<unsigned>(number(value()));
    else if (a == "--inflight")
      cfg.inflight = static_cast<unsigned>(number(value()));
    else if (a == "--payload")
      cfg.payload = static_cast<std::size_t>(number(value()));
    else if (a == "--background")
      cfg.background = true;
    else if (a == "--unique")
      cfg.unique_mode = value();
    else if (a == "--duration")
      cfg.duration_s = number(value());
    else if (a == "--warmup")
      cfg.warmup_s = number(value());
    else if (a == "--jobs")
      cfg.job_limit = static_cast<std::uint64_t>(number(value()));
    else if (a == "--rounds")
      rounds = static_cast<unsigned>(number(value()));
    else if (a == "--json")
      json_path = value();
    else {
      std::fprintf(stderr, "gearspec-bench: unknown option '%s'\n", a.c_str());
      usage(2);
    }
  }
  if (cfg.unique_mode != "distinct" && cfg.unique_mode != "shared" && cfg.unique_mode != "empty")
    usage(2);
  if (cfg.background && cfg.unique_mode == "shared") {
    std::fprintf(
        stderr,
        "gearspec-bench: --unique shared with --background cannot be accounted per submission\n");
    return 2;
  }
  if (cfg.clients == 0 || cfg.workers == 0 || cfg.inflight == 0 || rounds == 0) usage(2);
  if (targets.empty()) targets.push_back({"reference", {}});

  std::printf("load: %u clients x %u in flight, %u workers, %zu-byte payload, %s, unique %s, %s\n",
              cfg.clients, cfg.inflight, cfg.workers, cfg.payload,
              cfg.background ? "background" : "foreground", cfg.unique_mode.c_str(),
              cfg.job_limit ? (std::to_string(cfg.job_limit) + " jobs").c_str()
                            : (std::to_string(cfg.duration_s) + " s after " +
                               std::to_string(cfg.warmup_s) + " s warm-up")
                                  .c_str());
  std::map<std::string, std::vector<summary>> all;
  bool ok = true;
  for (unsigned r = 0; r < rounds; ++r) {
    for (const auto& t : targets) {
      summary s;
      try {
        s = run_once(t, cfg);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "gearspec-bench: %s: %s\n", t.name.c_str(), e.what());
        return 2;
      }
      std::printf("round %u  ", r + 1);
      print_row(s);
      ok = ok && s.ok();
      all[t.name].push_back(std::move(s));
    }
  }
  // Best round per target (the usual way to report throughput on a shared machine), and ratios.
  std::printf("\nbest of %u round(s):\n", rounds);
  std::vector<summary> best;
  for (const auto& t : targets) {
    auto& v = all[t.name];
    best.push_back(*std::max_element(v.begin(), v.end(),
                                     [](auto& a, auto& b) { return a.jobs_per_s < b.jobs_per_s; }));
    print_row(best.back());
  }
  if (best.size() > 1) {
    std::printf(
        "\nratios against %s (its throughput / theirs; their p99 and CPU per job / its; above 1 = "
        "%s "
        "ahead):\n",
        best[0].name.c_str(), best[0].name.c_str());
    for (std::size_t i = 1; i < best.size(); ++i) {
      std::printf("  %-26s throughput x%.2f   p99 x%.2f", best[i].name.c_str(),
                  best[i].jobs_per_s > 0 ? best[0].jobs_per_s / best[i].jobs_per_s : 0,
                  best[0].p99 > 0 ? best[i].p99 / best[0].p99 : 0);
      const auto total = [](const summary& s) {
        return s.cpu_per_job_us->user_s + s.cpu_per_job_us->system_s;
      };
      if (best[0].cpu_per_job_us && best[i].cpu_per_job_us && total(best[0]) > 0)
        std::printf("   cpu/job x%.2f", total(best[i]) / total(best[0]));
      std::printf("\n");
    }
  }
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    engine::json_writer json(out);
    json.begin_object().key("load").begin_object();
    json.key("clients").value(cfg.clients).key("workers").value(cfg.workers);
    json.key("inflight")
        .value(cfg.inflight)
        .key("payload")
        .value(static_cast<std::uint64_t>(cfg.payload));
    json.key("background").value(cfg.background).key("unique").value(cfg.unique_mode).end_object();
    json.key("rounds").begin_array();
    for (const auto& t : targets)
      for (const auto& s : all[t.name]) write_round(json, s);
    json.end_array().key("ok").value(ok).end_object().newline();
  }
  if (!ok) std::printf("\nJOBS WERE LOST, DUPLICATED OR CORRUPTED: see the rows above\n");
  return ok ? 0 : 1;
}
