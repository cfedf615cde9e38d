// gearspec-soak: many clients and workers with a mix of foreground, background and shared-key
// jobs, while clients are killed, workers are killed in the middle of jobs and the server is
// crashed (SIGKILL) or restarted at random points. At the end every job is accounted for as
// completed once, completed more than once, lost, or still queued, and judged against
// docs/requirements.md: a background job whose JOB_CREATED arrived is owed (DUR-BG-CRASH,
// DUR-HELD-CRASH: at least once, duplicates only where a server stop could have eaten a
// completion); a foreground job is owed a result while its client lives and the server does not
// stop (CLIENT-DEATH-*, DUR-FG-GONE); every attached client is answered (ATTACH-*).
// Everything runs on one io_context; server restarts block it, as a dead server blocks its users.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "harness/common/command_line.hpp"
#include "harness/engine/actor.hpp"
#include "harness/engine/autonomous.hpp"
#include "harness/engine/json.hpp"
#include "harness/net/asio.hpp"
#include "harness/targets/make_target.hpp"

namespace {

using namespace gearspec;
namespace asio = net::asio;
using net::tcp;
using steady = std::chrono::steady_clock;
using wire::command;

struct soak_config {
  unsigned clients = 6;
  unsigned workers = 4;
  unsigned inflight = 3;
  double duration_s = 30;
  double drain_s = 20;
  double client_kills_per_s = 1.0;     ///< across all clients
  double worker_kill_fraction = 0.02;  ///< of assignments: the worker dies instead of completing
  double stop_every_s = 6;             ///< mean time between server stops; 0 = never
  bool graceful = false;               ///< restart (SIGTERM) instead of crash (SIGKILL)
  unsigned seed = 1;
};

/// What happened to one job (foreground or background) or one shared key's submissions.
struct job_record {
  enum class kind { foreground, background, shared } type = kind::foreground;
  std::string data;
  bool confirmed = false;  ///< a JOB_CREATED came back for (one of) its submissions
  int owed_waiters = 0;    ///< foreground submissions still owed a result
  int answered = 0;        ///< WORK_COMPLETE received by a submitter
  int completions = 0;     ///< WORK_COMPLETE sent by a worker
  steady::time_point first_completion{};
  bool corrupted = false;
};

struct accounting {
  // foreground (distinct keys)
  unsigned fg_once = 0, fg_dup_allowed = 0, fg_dup_bad = 0, fg_lost = 0, fg_not_owed = 0;
  // background
  unsigned bg_once = 0, bg_dup_allowed = 0, bg_dup_bad = 0, bg_missing = 0, bg_queued = 0,
           bg_lost = 0, bg_unconfirmed = 0;
  // shared keys: submissions answered / owed but unanswered
  unsigned shared_answered = 0, shared_lost = 0, shared_not_owed = 0;
  unsigned corrupted = 0;
  // faults injected
  unsigned client_kills = 0, worker_kills = 0, server_stops = 0, submitted = 0;
  bool drained = false;
  bool ok() const {
    return fg_dup_bad == 0 && fg_lost == 0 && bg_dup_bad == 0 && bg_lost == 0 && shared_lost == 0 &&
           corrupted == 0;
  }
};

/// One connection of an actor; replaced on every reconnect.
struct link {
  std::shared_ptr<engine::buffered_connection> conn;
  unsigned generation = 0;  ///< server stops before it was opened: it reaches only that server
};

class soak_run {
 public:
  soak_run(asio::io_context& io, engine::target_instance& server, soak_config cfg)
      : io_(io), server_(server), cfg_(cfg), rng_(cfg.seed) {
    function_ = "soak_" + std::to_string(::getpid()) + "_" +
                std::to_string(steady::now().time_since_epoch().count() % 100000);
  }

  accounting run() {
    start_ = steady::now();
    stop_submitting_ = start_ + seconds(cfg_.duration_s);
    give_up_ = stop_submitting_ + seconds(cfg_.drain_s);
    for (unsigned i = 0; i < cfg_.workers; ++i) spawn(worker(i), "worker");
    for (unsigned i = 0; i < cfg_.clients; ++i) spawn(client(i), "client");
    spawn(chaos(), "chaos");
    spawn(progress(), "progress");
    io_.run();
    return settle();
  }

 private:
  static steady::duration seconds(double s) {
    return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
  }

  void spawn(asio::awaitable<void> a, const char* who) {
    auto on_done = [this, who](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "gearspec-soak: %s stopped: %s\n", who, ex.what());
        failed_ = true;
        io_.stop();
      }
    };
    asio::co_spawn(io_, std::move(a), on_done);
  }

  bool submitting() const { return steady::now() < stop_submitting_; }
  bool over() const { return done_ || steady::now() >= give_up_; }

  /// Everything owed has arrived: no foreground submission is waiting, and every confirmed
  /// background job has run at least once.
  bool all_settled() const {
    for (const auto& [id, j] : jobs_) {
      if (j.owed_waiters > 0) return false;
      if (j.type == job_record::kind::background && j.confirmed && j.completions == 0) return false;
    }
    return true;
  }

  asio::awaitable<void> pause(steady::duration d) {
    asio::steady_timer t(io_);
    t.expires_after(d);
    net::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  /// Connects, retrying while the server is being restarted. nullptr once the run is over.
  asio::awaitable<std::shared_ptr<link>> open() {
    while (!over()) {
      auto l = std::make_shared<link>();
      l->conn = engine::buffered_connection::create(io_);
      const auto ec = co_await l->conn->connect(server_.address("main"));
      if (!ec) {
        l->generation = acct_.server_stops;
        co_return l;
      }
      co_await pause(std::chrono::milliseconds(20));
    }
    co_return nullptr;
  }

  // ------------------------------------------------------------------------------------------

  asio::awaitable<void> client(unsigned index) {
    while (!over()) {
      auto l = co_await open();
      if (!l) break;
      clients_[index] = l;
      std::deque<std::string> awaiting_created;                             // ids, in submit order
      std::unordered_map<std::string, std::vector<std::string>> by_handle;  // handle -> ids waiting
      unsigned in_flight = 0;
      while (!over()) {
        while (submitting() && in_flight < cfg_.inflight) {
          const auto pick = rng_() % 10;
          std::string id, unique;
          command how = command::submit_job;
          job_record::kind kind;
          if (pick < 4) {
            kind = job_record::kind::foreground;
            id = "f" + std::to_string(++counter_);
            unique = id;
          } else if (pick < 6) {
            kind = job_record::kind::shared;
            id = "s" + std::to_string(shared_counter_++ / 3);  // about three submitters per key
            unique = id;
          } else {
            kind = job_record::kind::background;
            id = "b" + std::to_string(++counter_);
            unique = id;  // as libgearman does (see durability/no-unique-jobs-all-survive)
            how = command::submit_job_bg;
          }
          auto& j = jobs_[id];
          j.type = kind;
          j.data = id + ":" + std::string(rng_() % 24, 'x');
          if (kind == job_record::kind::shared)
            j.data = id;  // every submitter sends the same bytes
          ++acct_.submitted;
          l->conn->queue(how, {function_, unique, j.data});
          awaiting_created.push_back(id);
          ++in_flight;
        }
        l->conn->flush();
        if (in_flight == 0) {
          if (!submitting()) break;
          continue;
        }
        const auto p = co_await l->conn->next();
        if (!p) break;
        if (p->cmd == command::job_created && !awaiting_created.empty()) {
          const auto id = awaiting_created.front();
          awaiting_created.pop_front();
          auto& j = jobs_[id];
          j.confirmed = true;
          if (j.type == job_record::kind::background) {
            --in_flight;  // nothing more comes to a background submitter
          } else {
            ++j.owed_waiters;
            by_handle[std::string(p->arg(0))].push_back(id);
          }
        } else if (p->cmd == command::work_complete) {
          // One result per submission (UNIQ-PER-SUBMISSION): each WORK_COMPLETE answers the
          // oldest submission still waiting on that handle.
          auto it = by_handle.find(std::string(p->arg(0)));
          if (it == by_handle.end()) continue;
          auto& j = jobs_[it->second.front()];
          ++j.answered;
          --j.owed_waiters;
          if (p->arg(1) != "done:" + j.data) j.corrupted = true;
          --in_flight;
          it->second.erase(it->second.begin());
          if (it->second.empty()) by_handle.erase(it);
        } else if (p->cmd == command::work_fail || p->cmd == command::error) {
          std::fprintf(stderr, "gearspec-soak: client got %s\n",
                       std::string(wire::name(p->cmd)).c_str());
          ++unexpected_;
        }
      }
      // The connection ended (killed, server stopped) or the run is over: what it waited for is
      // no longer owed to it.
      for (auto& [handle, ids] : by_handle)
        for (const auto& id : ids) --jobs_[id].owed_waiters;
      clients_[index].reset();
      l->conn->close();
      if (!submitting()) break;
    }
    ++clients_done_;
  }

  /// Completes jobs with "done:" + data after a short random pause, sometimes dying instead.
  class chaos_worker final : public engine::job_handler {
   public:
    chaos_worker(soak_run& run, link& l) : run_(run), link_(l) {}
    asio::awaitable<std::optional<std::string>> on_job(const engine::assigned_job& job) override {
      co_await run_.pause(std::chrono::microseconds(run_.rng_() % 2000));
      if (link_.conn->killed()) co_return std::nullopt;
      if (static_cast<double>(run_.rng_() % 10000) < run_.cfg_.worker_kill_fraction * 10000 &&
          run_.submitting()) {
        ++run_.acct_.worker_kills;
        link_.conn->close(true);  // dies holding the job
        co_return std::nullopt;
      }
      // A completion written to a connection whose server has since been stopped reaches
      // nobody (the write may still succeed locally): it is not a completion.
      if (link_.generation != run_.acct_.server_stops) co_return std::nullopt;
      const auto id = job.data.substr(0, job.data.find(':'));
      auto& j = run_.jobs_[id];
      if (j.completions++ == 0) j.first_completion = steady::now();
      if (job.data != j.data) j.corrupted = true;
      co_return "done:" + job.data;
    }

   private:
    soak_run& run_;
    link& link_;
  };

  asio::awaitable<void> worker(unsigned index) {
    while (!over()) {
      auto l = co_await open();
      if (!l) break;
      workers_[index] = l;
      chaos_worker handler(*this, *l);
      co_await engine::run_worker(*l->conn, function_, handler);
      workers_[index].reset();
      l->conn->close();
    }
  }

  asio::awaitable<void> chaos() {
    std::exponential_distribution<double> next_kill(std::max(cfg_.client_kills_per_s, 1e-9));
    std::uniform_real_distribution<double> next_stop(0.5 * cfg_.stop_every_s,
                                                     1.5 * cfg_.stop_every_s);
    auto kill_at = steady::now() + seconds(next_kill(rng_));
    auto stop_at = cfg_.stop_every_s > 0 ? steady::now() + seconds(next_stop(rng_))
                                         : steady::time_point::max();
    while (submitting()) {
      co_await pause(std::chrono::milliseconds(5));
      const auto now = steady::now();
      if (cfg_.client_kills_per_s > 0 && now >= kill_at) {
        kill_at = now + seconds(next_kill(rng_));
        if (auto& victim = clients_[rng_() % cfg_.clients]) {
          ++acct_.client_kills;
          victim->conn->close(true);
        }
      }
      if (now >= stop_at && submitting()) {
        stop_at = now + seconds(next_stop(rng_));
        ++acct_.server_stops;
        stops_.push_back(steady::now());
        server_.restart("main", !cfg_.graceful);  // blocks: every actor waits, as for a real outage
        stops_.push_back(steady::now());
      }
    }
    // Drain: no more faults; wait until everything owed has arrived, or give up.
    while (!over() && !(clients_done_ == cfg_.clients && all_settled()))
      co_await pause(std::chrono::milliseconds(20));
    acct_.drained = all_settled();
    queued_at_end_ = co_await queued_jobs();
    done_ = true;
    for (auto* group : {&clients_, &workers_})
      for (auto& [i, l] : *group)
        if (l) l->conn->close();
  }

  asio::awaitable<void> progress() {
    while (!done_ && !over()) {
      co_await pause(std::chrono::seconds(5));
      unsigned completed = 0;
      for (const auto& [id, j] : jobs_) completed += j.completions > 0;
      std::fprintf(stderr,
                   "gearspec-soak: %5.1f s  submitted %u  jobs run %u  client kills %u  worker "
                   "kills %u  server stops %u\n",
                   std::chrono::duration<double>(steady::now() - start_).count(), acct_.submitted,
                   completed, acct_.client_kills, acct_.worker_kills, acct_.server_stops);
    }
  }

  /// Jobs the server still has for the soak's function (admin "status": TOTAL column), or -1.
  asio::awaitable<long> queued_jobs() {
    engine::actor admin(io_, "status", engine::protocol::admin, {}, {});
    const auto connected =
        co_await admin.connect(server_.address("main"), std::chrono::seconds(10));
    if (!connected) co_return -1;
    const auto result = co_await admin.admin("status", steady::now() + std::chrono::seconds(10));
    admin.close(false);
    if (!result.status) co_return -1;
    for (const auto& line : result.answer->lines)
      if (line.rfind(function_ + "\t", 0) == 0)
        co_return std::stol(line.substr(function_.size() + 1));
    co_return 0;
  }

  /// A duplicate completion is explained if the server stopped after the first one (the stop may
  /// have lost that completion before it was recorded).
  bool stop_after(steady::time_point t) const {
    return std::any_of(stops_.begin(), stops_.end(), [t](steady::time_point s) { return s >= t; });
  }

  accounting settle() {
    acct_.corrupted = 0;
    for (const auto& [id, j] : jobs_) {
      if (j.corrupted) ++acct_.corrupted;
      switch (j.type) {
        case job_record::kind::foreground:
          if (j.completions > 1)
            (stop_after(j.first_completion) ? acct_.fg_dup_allowed : acct_.fg_dup_bad)++;
          else if (j.owed_waiters > 0)
            ++acct_.fg_lost;
          else if (j.answered == 1 && j.completions == 1)
            ++acct_.fg_once;
          else
            ++acct_.fg_not_owed;
          break;
        case job_record::kind::background:
          if (!j.confirmed)
            ++acct_.bg_unconfirmed;
          else if (j.completions == 0)
            ++acct_.bg_missing;
          else if (j.completions == 1)
            ++acct_.bg_once;
          else
            (stop_after(j.first_completion) ? acct_.bg_dup_allowed : acct_.bg_dup_bad)++;
          break;
        case job_record::kind::shared:
          acct_.shared_answered += static_cast<unsigned>(j.answered);
          acct_.shared_lost += static_cast<unsigned>(std::max(0, j.owed_waiters));
          break;
      }
    }
    // Missing background jobs the server still lists are queued (not lost) as long as it lists
    // them.
    const long queued = std::max(0L, queued_at_end_);
    acct_.bg_queued = std::min<unsigned>(acct_.bg_missing, static_cast<unsigned>(queued));
    acct_.bg_lost = acct_.bg_missing - acct_.bg_queued;
    if (failed_ || unexpected_) acct_.corrupted += unexpected_ + (failed_ ? 1 : 0);
    return acct_;
  }

  asio::io_context& io_;
  engine::target_instance& server_;
  soak_config cfg_;
  std::mt19937_64 rng_;
  std::string function_;
  steady::time_point start_, stop_submitting_, give_up_;
  std::map<std::string, job_record> jobs_;
  std::map<unsigned, std::shared_ptr<link>> clients_, workers_;
  std::vector<steady::time_point> stops_;
  std::uint64_t counter_ = 0, shared_counter_ = 0;
  unsigned clients_done_ = 0;
  unsigned unexpected_ = 0;
  long queued_at_end_ = -1;
  bool done_ = false;
  bool failed_ = false;
  accounting acct_;
};

struct target_spec {
  std::string name;
  std::string spawn;  // empty = embedded reference server
};

[[noreturn]] void usage(int code) {
  std::fputs(R"(usage: gearspec-soak [TARGET...] [options]

Mixed load with faults, then an accounting of every job (docs/durability.md).

Targets (run one after the other, the table compares them; default: the embedded reference server
with an SQLite queue):
  --embedded[=NAME]
  --spawn NAME='COMMAND {port} {dir}'   a server with a persistent queue in {dir} (crash = SIGKILL)

Load and faults:
  --clients N (6)  --workers M (4)  --inflight K (3)  --duration S (30)  --drain S (20)
  --client-kills-per-s R (1.0)   --worker-kill-fraction F (0.02; of jobs taken)
  --stop-every S (6; mean seconds between server stops, 0 = never)
  --graceful   restart with SIGTERM / an orderly stop instead of crashing
  --seed N (1)

Output:  --json FILE
Options take their value as --name VALUE or --name=VALUE. --version prints the version.
Exit code: 0 if no target lost a job it owed or ran one twice without a server stop to explain it.
)",
             code ? stderr : stdout);
  std::exit(code);
}

void print_table(const std::vector<std::pair<std::string, accounting>>& rows) {
  int width = 14;
  for (const auto& [name, a] : rows) width = std::max(width, static_cast<int>(name.size()));
  auto line = [&](const char* label, auto field) {
    std::printf("%-44s", label);
    for (const auto& [name, a] : rows) std::printf(" %*u", width, field(a));
    std::printf("\n");
  };
  std::printf("%-44s", "");
  for (const auto& [name, a] : rows) std::printf(" %*s", width, name.c_str());
  std::printf("\n");
  line("jobs submitted", [](const accounting& a) { return a.submitted; });
  line("faults: client kills", [](const accounting& a) { return a.client_kills; });
  line("faults: worker kills mid-job", [](const accounting& a) { return a.worker_kills; });
  line("faults: server stops", [](const accounting& a) { return a.server_stops; });
  line("foreground: completed once, answered", [](const accounting& a) { return a.fg_once; });
  line("foreground: not owed (client or server gone)",
       [](const accounting& a) { return a.fg_not_owed; });
  line("foreground: run twice, after a server stop",
       [](const accounting& a) { return a.fg_dup_allowed; });
  line("foreground: RUN TWICE, unexplained", [](const accounting& a) { return a.fg_dup_bad; });
  line("foreground: LOST (owed, never answered)", [](const accounting& a) { return a.fg_lost; });
  line("background: completed once", [](const accounting& a) { return a.bg_once; });
  line("background: run twice, after a server stop",
       [](const accounting& a) { return a.bg_dup_allowed; });
  line("background: RUN TWICE, unexplained", [](const accounting& a) { return a.bg_dup_bad; });
  line("background: still queued at the end", [](const accounting& a) { return a.bg_queued; });
  line("background: LOST (confirmed, never run)", [](const accounting& a) { return a.bg_lost; });
  line("background: unconfirmed (no JOB_CREATED)",
       [](const accounting& a) { return a.bg_unconfirmed; });
  line("shared key: submissions answered", [](const accounting& a) { return a.shared_answered; });
  line("shared key: LOST (owed, never answered)",
       [](const accounting& a) { return a.shared_lost; });
  line("CORRUPTED results or errors", [](const accounting& a) { return a.corrupted; });
  std::printf("%-44s", "verdict");
  for (const auto& [name, a] : rows) std::printf(" %*s", width, a.ok() ? "ok" : "JOBS LOST/DUP");
  std::printf("\n");
}

void write_row(engine::json_writer& json, const std::string& name, const accounting& a) {
  json.begin_object().key("target").value(name).key("ok").value(a.ok());
  json.key("drained").value(a.drained).key("submitted").value(a.submitted);
  json.key("client_kills").value(a.client_kills).key("worker_kills").value(a.worker_kills);
  json.key("server_stops").value(a.server_stops);
  json.key("foreground").begin_object().key("once").value(a.fg_once);
  json.key("not_owed").value(a.fg_not_owed).key("duplicate_after_stop").value(a.fg_dup_allowed);
  json.key("duplicate_unexplained").value(a.fg_dup_bad).key("lost").value(a.fg_lost).end_object();
  json.key("background").begin_object().key("once").value(a.bg_once);
  json.key("duplicate_after_stop").value(a.bg_dup_allowed);
  json.key("duplicate_unexplained").value(a.bg_dup_bad).key("queued").value(a.bg_queued);
  json.key("lost").value(a.bg_lost).key("unconfirmed").value(a.bg_unconfirmed).end_object();
  json.key("shared").begin_object().key("answered").value(a.shared_answered);
  json.key("lost").value(a.shared_lost).end_object();
  json.key("corrupted").value(a.corrupted).end_object();
}

}  // namespace

int main(int argc, char** argv) {
  soak_config cfg;
  std::vector<target_spec> targets;
  std::string json_path;
  // --embedded=NAME is its own spelling (a name, not a value of --embedded).
  auto args = command_line::arguments(argc, argv, [](std::string_view flag) {
    return flag.starts_with("--") && flag != "--embedded" && flag != "--graceful" &&
           flag != "--help";
  });
  if (command_line::print_version_if_asked(args, "gearspec-soak")) return 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "gearspec-soak: %s needs a value\n", a.c_str());
        usage(2);
      }
      return args[++i];
    };
    auto number = [&]() {
      const auto v = value();
      try {
        std::size_t used = 0;
        const double d = std::stod(v, &used);
        if (used != v.size() || d < 0) throw std::invalid_argument(v);
        return d;
      } catch (const std::exception&) {
        std::fprintf(stderr, "gearspec-soak: %s needs a non-negative number, got '%s'\n", a.c_str(),
                     v.c_str());
        usage(2);
      }
    };
    if (a == "--help" || a == "-h")
      usage(0);
    else if (a == "--embedded")
      targets.push_back({"reference", ""});
    else if (a.rfind("--embedded=", 0) == 0)
      targets.push_back({a.substr(11), ""});
    else if (a == "--spawn") {
      const auto v = value();
      const auto eq = v.find('=');
      if (eq == std::string::npos || v.find("{port}") == std::string::npos) {
        std::fprintf(stderr, "gearspec-soak: --spawn needs NAME='COMMAND {port}'\n");
        usage(2);
      }
      targets.push_back({v.substr(0, eq), v.substr(eq + 1)});
    } else if (a == "--clients")
      cfg.clients = static_cast<unsigned>(std::max(1.0, number()));
    else if (a == "--workers")
      cfg.workers = static_cast<unsigned>(std::max(1.0, number()));
    else if (a == "--inflight")
      cfg.inflight = static_cast<unsigned>(std::max(1.0, number()));
    else if (a == "--duration")
      cfg.duration_s = number();
    else if (a == "--drain")
      cfg.drain_s = number();
    else if (a == "--client-kills-per-s")
      cfg.client_kills_per_s = number();
    else if (a == "--worker-kill-fraction")
      cfg.worker_kill_fraction = number();
    else if (a == "--stop-every")
      cfg.stop_every_s = number();
    else if (a == "--graceful")
      cfg.graceful = true;
    else if (a == "--seed")
      cfg.seed = static_cast<unsigned>(number());
    else if (a == "--json")
      json_path = value();
    else {
      std::fprintf(stderr, "gearspec-soak: unknown argument '%s'\n", a.c_str());
      usage(2);
    }
  }
  if (targets.empty()) targets.push_back({"reference", ""});

  std::vector<std::pair<std::string, accounting>> rows;
  for (const auto& t : targets) {
    std::fprintf(stderr,
                 "gearspec-soak: %s: %.0f s of load with faults, then up to %.0f s to drain\n",
                 t.name.c_str(), cfg.duration_s, cfg.drain_s);
    targets::target_spec spec;
    if (!t.spawn.empty()) {
      spec.spawn = t.spawn;
      spec.persistent = true;
    }
    const auto target = targets::make_target(spec);
    std::unique_ptr<engine::target_instance> instance;
    try {
      engine::server_needs needs;
      needs.restart = needs.persistent_queue = true;
      instance = target->start({"main"}, needs);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gearspec-soak: %s did not start: %s\n", t.name.c_str(), e.what());
      return 2;
    }
    asio::io_context io(1);
    soak_run run(io, *instance, cfg);
    accounting a;
    try {
      a = run.run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gearspec-soak: %s: %s\n", t.name.c_str(), e.what());
      return 2;
    }
    if (!a.drained)
      std::fprintf(stderr, "gearspec-soak: %s: did not drain within the time given\n",
                   t.name.c_str());
    rows.emplace_back(t.name, a);
  }
  print_table(rows);
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    engine::json_writer json(out);
    json.begin_array();
    for (const auto& [name, a] : rows) write_row(json, name, a);
    json.end_array().newline();
  }
  for (const auto& [name, a] : rows)
    if (!a.ok()) return 1;
  return 0;
}
