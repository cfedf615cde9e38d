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

#include "harness/engine/target.hpp"
#include "harness/net/asio.hpp"
#include "harness/targets/embedded_target.hpp"
#include "harness/wire/decoder.hpp"
#include "harness/wire/encoder.hpp"

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
  explicit link(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  std::string in;
  bool killed = false;      ///< closed by the chaos on purpose
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
      auto l = std::make_shared<link>(io_);
      net::error_code ec;
      const auto where = server_.address("main");
      co_await l->socket.async_connect(
          tcp::endpoint(asio::ip::make_address(where.host), where.port),
          asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) {
        l->socket.set_option(tcp::no_delay(true), ec);
        l->generation = acct_.server_stops;
        co_return l;
      }
      co_await pause(std::chrono::milliseconds(20));
    }
    co_return nullptr;
  }

  /// Encodes a request (kept out of the coroutines: g++ 12 cannot pass an initializer_list into
  /// one).
  static std::string request(command cmd, std::initializer_list<std::string_view> args) {
    std::string bytes;
    wire::encode(wire::packet_magic::request, cmd,
                 std::span<const std::string_view>(args.begin(), args.size()), bytes);
    return bytes;
  }

  static asio::awaitable<bool> send(link& l, std::string bytes) {
    net::error_code ec;
    co_await asio::async_write(l.socket, asio::buffer(bytes),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  /// The next packet, or nullopt when the connection ended.
  static asio::awaitable<std::optional<wire::packet>> receive(link& l) {
    wire::decoder d(wire::packet_magic::response, {}, false);
    std::string chunk(4096, '\0');
    while (true) {
      wire::frame f;
      const auto r = d.decode(l.in, f);
      if (r.status == wire::decode_status::complete) {
        auto p = wire::packet::from(f.packet);
        l.in.erase(0, r.consumed);
        co_return p;
      }
      if (r.status == wire::decode_status::error) co_return std::nullopt;
      net::error_code ec;
      const auto n = co_await l.socket.async_read_some(
          asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return std::nullopt;
      l.in.append(chunk.data(), n);
    }
  }

  static void kill(link& l) {
    net::error_code ignored;
    l.killed = true;
    l.socket.set_option(asio::socket_base::linger(true, 0), ignored);  // RST, as a crashed process
    l.socket.close(ignored);
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
      bool alive = true;
      while (alive && !over()) {
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
          auto submit = request(how, {function_, unique, j.data});
          if (!co_await send(*l, std::move(submit))) {
            alive = false;
            break;
          }
          awaiting_created.push_back(id);
          ++in_flight;
        }
        if (!alive) break;
        if (in_flight == 0) {
          if (!submitting()) break;
          continue;
        }
        auto p = co_await receive(*l);
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
            by_handle[p->args.at(0)].push_back(id);
          }
        } else if (p->cmd == command::work_complete) {
          auto it = by_handle.find(p->args.at(0));
          if (it == by_handle.end()) continue;
          for (const auto& id : it->second) {
            auto& j = jobs_[id];
            ++j.answered;
            --j.owed_waiters;
            if (p->args.at(1) != "done:" + j.data) j.corrupted = true;
            --in_flight;
          }
          by_handle.erase(it);
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
      net::error_code ignored;
      l->socket.close(ignored);
      if (!submitting()) break;
    }
    ++clients_done_;
  }

  asio::awaitable<void> worker(unsigned index) {
    while (!over()) {
      auto l = co_await open();
      if (!l) break;
      workers_[index] = l;
      auto hello = request(command::can_do, {function_}) + request(command::grab_job, {});
      bool alive = co_await send(*l, std::move(hello));
      while (alive && !over()) {
        auto p = co_await receive(*l);
        if (!p) break;
        if (p->cmd == command::job_assign) {
          const auto handle = p->args.at(0);
          const auto data = p->args.at(2);
          const auto id = data.substr(0, data.find(':'));
          co_await pause(std::chrono::microseconds(rng_() % 2000));
          if (l->killed) break;
          if (static_cast<double>(rng_() % 10000) < cfg_.worker_kill_fraction * 10000 &&
              submitting()) {
            ++acct_.worker_kills;
            kill(*l);  // dies holding the job
            break;
          }
          // A completion written to a connection whose server has since been stopped reaches
          // nobody (the write may still succeed locally): it is not a completion.
          if (l->generation != acct_.server_stops) break;
          auto& j = jobs_[id];
          if (j.completions++ == 0) j.first_completion = steady::now();
          if (data != j.data) j.corrupted = true;
          const std::string result = "done:" + data;
          auto reply =
              request(command::work_complete, {handle, result}) + request(command::grab_job, {});
          alive = co_await send(*l, std::move(reply));
        } else if (p->cmd == command::no_job) {
          auto sleep = request(command::pre_sleep, {});
          alive = co_await send(*l, std::move(sleep));
        } else if (p->cmd == command::noop) {
          auto grab = request(command::grab_job, {});
          alive = co_await send(*l, std::move(grab));
        }
      }
      workers_[index].reset();
      net::error_code ignored;
      l->socket.close(ignored);
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
          kill(*victim);
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
        if (l) {
          net::error_code ignored;
          l->socket.close(ignored);
        }
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

  /// Jobs the server still has for the soak's function (admin "status": TOTAL column).
  asio::awaitable<long> queued_jobs() {
    auto l = co_await open();
    if (!l) co_return -1;
    const std::string line = "status\n";
    net::error_code ec;
    co_await asio::async_write(l->socket, asio::buffer(line),
                               asio::redirect_error(asio::use_awaitable, ec));
    std::string text(4096, '\0');
    std::string all;
    // Bounded like every wait: a server that never answers gets its connection closed.
    asio::steady_timer limit(io_);
    limit.expires_after(std::chrono::seconds(10));
    auto on_limit = [l](const net::error_code& timer_ec) {
      if (!timer_ec) kill(*l);
    };
    limit.async_wait(on_limit);
    while (all.find("\n.\n") == std::string::npos && all.rfind(".\n", 0) != 0) {
      const auto n = co_await l->socket.async_read_some(
          asio::buffer(text), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return -1;
      all.append(text.data(), n);
    }
    const auto at = all.find(function_ + "\t");
    if (at == std::string::npos) co_return 0;
    co_return std::stol(all.substr(at + function_.size() + 1));
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

std::string json_of(const std::string& name, const accounting& a) {
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "{\"target\": \"%s\", \"ok\": %s, \"drained\": %s, \"submitted\": %u, \"client_kills\": %u, "
      "\"worker_kills\": %u, \"server_stops\": %u, \"foreground\": {\"once\": %u, \"not_owed\": "
      "%u, "
      "\"duplicate_after_stop\": %u, \"duplicate_unexplained\": %u, \"lost\": %u}, \"background\": "
      "{\"once\": %u, \"duplicate_after_stop\": %u, \"duplicate_unexplained\": %u, \"queued\": %u, "
      "\"lost\": %u, \"unconfirmed\": %u}, \"shared\": {\"answered\": %u, \"lost\": %u}, "
      "\"corrupted\": %u}",
      name.c_str(), a.ok() ? "true" : "false", a.drained ? "true" : "false", a.submitted,
      a.client_kills, a.worker_kills, a.server_stops, a.fg_once, a.fg_not_owed, a.fg_dup_allowed,
      a.fg_dup_bad, a.fg_lost, a.bg_once, a.bg_dup_allowed, a.bg_dup_bad, a.bg_queued, a.bg_lost,
      a.bg_unconfirmed, a.shared_answered, a.shared_lost, a.corrupted);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  soak_config cfg;
  std::vector<target_spec> targets;
  std::string json_path;
  std::vector<std::string> args(argv + 1, argv + argc);
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
  std::string json = "[";
  for (const auto& t : targets) {
    std::fprintf(stderr,
                 "gearspec-soak: %s: %.0f s of load with faults, then up to %.0f s to drain\n",
                 t.name.c_str(), cfg.duration_s, cfg.drain_s);
    std::unique_ptr<engine::target> target;
    if (t.spawn.empty())
      target = std::make_unique<targets::embedded_target>();
    else
      target = std::make_unique<engine::spawn_target>(t.spawn, 1.0, true);
    std::unique_ptr<engine::target_instance> instance;
    try {
      instance = target->start({"main"}, engine::server_needs{true, true});
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
    json += (json.size() > 1 ? ", " : "") + json_of(t.name, a);
  }
  json += "]\n";
  print_table(rows);
  if (!json_path.empty()) std::ofstream(json_path) << json;
  for (const auto& [name, a] : rows)
    if (!a.ok()) return 1;
  return 0;
}
