#include "harness/explore/executor.hpp"

#include <algorithm>
#include <deque>
#include <memory>
#include <set>
#include <sstream>

#include "harness/engine/actor.hpp"
#include "harness/engine/expectation.hpp"
#include "harness/net/asio.hpp"
#include "harness/wire/ascii.hpp"
#include "harness/wire/encoder.hpp"
#include "harness/wire/printer.hpp"

namespace gearspec::explore {
namespace {

namespace asio = net::asio;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using wire::command;

class executor {
 public:
  executor(const program& p, engine::target_instance& servers, const run_settings& s)
      : p_(p), servers_(servers), settings_(s), watchdog_(io_), token_(engine::random_token()) {
    names_[1] = "fn-" + token_;
    names_[2] = "fn2-" + token_;
    uniques_[1] = "uniq-" + token_;
    uniques_[2] = "uniq2-" + token_;
    for (int n = 3; n <= 5; ++n) uniques_[n] = boundary_unique(n);
    sink_ = [this](const std::string& actor, char direction, std::string text,
                   std::optional<wire::packet> packet) {
      const double at = std::chrono::duration<double, std::milli>(clock::now() - start_).count();
      obs_.transcript.push_back({at, actor, direction, std::move(text), std::move(packet)});
    };
    const auto& sink = sink_;
    for (const auto& c : p.clients) add(c, engine::protocol::binary, sink);
    for (const auto& w : p.workers) add(w, engine::protocol::binary, sink);
    if (p.admin) add("adm", engine::protocol::admin, sink);
    // One watching admin connection per server: not one of the program's connections, it takes
    // no part in barriers or windows.
    if (s.settle_with_workers && closes_a_connection(p))
      for (const auto& server : servers_of(p)) watchers_[server] = new_watcher();
  }

  std::unique_ptr<engine::actor> new_watcher() {
    auto silent = [](const std::string&, char, std::string, std::optional<wire::packet>) {};
    return std::make_unique<engine::actor>(io_, "settle", engine::protocol::admin,
                                           std::vector<wire::command>{}, silent);
  }

  std::string server_of(const std::string& actor) const { return explore::server_of(p_, actor); }

  observation run() {
    start_ = clock::now();
    watchdog_.expires_after(scaled(milliseconds(30000)));
    auto on_watchdog = [this](const net::error_code& ec) {
      if (ec) return;
      obs_.error = "the program did not finish within 30 s";
      for (auto& [name, a] : actors_) a->abort();
      for (auto& [server, w] : watchers_) w->abort();
    };
    watchdog_.async_wait(on_watchdog);
    auto on_done = [this](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          obs_.error = std::string("explore engine error: ") + ex.what();
        }
      }
      watchdog_.cancel();
      for (auto& [name, a] : actors_) a->abort();
      for (auto& [server, w] : watchers_) w->abort();
    };
    asio::co_spawn(io_, main(), on_done);
    io_.run();
    return std::move(obs_);
  }

 private:
  void add(const std::string& name, engine::protocol speaks, engine::transcript_sink sink) {
    actors_[name] = std::make_unique<engine::actor>(io_, name, speaks, std::vector<wire::command>{},
                                                    std::move(sink));
    order_.push_back(name);
  }

  /// Connects an actor and, where the program's connections name themselves, sends its
  /// SET_CLIENT_ID. False (and the observation's error set) if it cannot connect.
  asio::awaitable<bool> open(engine::actor& a, const std::string& name) {
    const auto where = servers_.address(server_of(name));
    const engine::step_outcome connected = co_await a.connect(where, scaled(settings_.wait));
    if (!connected) {
      obs_.error = name + " could not connect: " + connected.actual;
      co_return false;
    }
    // "workers" lists connections by client id: each actor names itself "<actor>-<token>".
    if (!names_itself_ || !a.binary()) co_return true;
    wire::packet id{wire::packet_magic::request, command::set_client_id, {client_id(name)}};
    std::string bytes;
    wire::encode(id, bytes);
    std::string shown = wire::to_string(id);
    const scenario::write_pacing pacing{};
    const engine::step_outcome written = co_await a.write(
        std::move(bytes), pacing, std::move(shown), std::optional<wire::packet>(id));
    (void)written;  // a closed connection shows in the barrier that follows
    co_return true;
  }

  milliseconds scaled(milliseconds d) const {
    return milliseconds(
        static_cast<long long>(static_cast<double>(d.count()) * settings_.timeout_scale));
  }

  /// Connects a server's watcher; without one, a closed connection gets fault_settle alone.
  asio::awaitable<void> open_watcher(const std::string& server) {
    auto& w = watchers_.at(server);
    const engine::step_outcome connected =
        co_await w->connect(servers_.address(server), scaled(settings_.wait));
    if (!connected) {
      retired_.push_back(std::move(w));
      watchers_.erase(server);
    }
  }

  asio::awaitable<void> main() {
    names_itself_ = names_connections(p_, settings_);
    for (const auto& name : order_) {
      const bool opened = co_await open(*actors_.at(name), name);
      if (!opened) co_return;
    }
    for (const auto& server : servers_of(p_))
      if (watchers_.count(server)) co_await open_watcher(server);
    obs_.named = names_itself_;
    // Every server's watcher connected (there are none when nothing is closed).
    obs_.settled_by_workers = watchers_.size() == servers_of(p_).size();
    obs_.accounted = settings_.account && restarts_server(p_);
    obs_.windows.emplace_back();
    co_await barrier("");
    for (std::size_t i = 0; i < p_.actions.size() && obs_.error.empty(); ++i) {
      obs_.windows.emplace_back();
      obs_.sent.emplace_back();
      obs_.handle_used.emplace_back();
      co_await perform(p_.actions[i]);
      if (closes_its_connection(p_.actions[i])) co_await settle_after_close(p_.actions[i].actor);
      co_await barrier(p_.actions[i].actor);
    }
  }

  /// A server learns of a closed connection on its own schedule (C gearmand on another thread),
  /// and no round trip on the closed connection can wait for it. Where the connection named
  /// itself, wait (bounded) until "workers" no longer lists it, then fault_settle more; otherwise
  /// only fault_settle. The pause is for C gearmand 1.1.20, which unlists a connection on its I/O
  /// thread and frees its jobs later on its job thread with no sign to admin commands: measured
  /// on client/page-leaving-keeps-the-background-job, one or three more `workers` round trips
  /// after the unlisting still found the job thread behind in 3 and 4 of 200 runs, a 100 ms pause
  /// (the written scenario's) in none.
  asio::awaitable<void> settle_after_close(const std::string& actor) {
    const auto watcher = watchers_.find(server_of(actor));
    if (watcher != watchers_.end() && names_itself_ && actors_.at(actor)->binary()) {
      engine::actor::answer_judge gone = [id = client_id(actor)](const wire::admin_response& a) {
        return engine::workers_lists(a, id) ? std::string("listed") : std::string();
      };
      const auto limit = scaled(settings_.wait);
      const std::string command_line = "workers";
      // Still listed when the wait runs out, or no answer: the windows that follow show it.
      const engine::admin_result result = co_await watcher->second->poll_admin(
          command_line, gone, clock::now() + limit, limit, milliseconds(2));
      (void)result;
    }
    asio::steady_timer settle(io_, scaled(settings_.fault_settle));
    net::error_code ignored;
    co_await settle.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }

  // ------------------------------------------------------------------------------------------
  // Restarts and the account of background jobs.

  /// Which job a submission makes or joins, for the account: its function and unique key, or,
  /// without a unique, its own data (then every submission is a job of its own).
  static std::string job_key(const action& m) {
    return "f" + std::to_string(m.fn) +
           (m.unique ? "/u" + std::to_string(m.unique) : "/#" + m.data);
  }

  /// restart / crash: the server stops (gracefully, or killed) and starts again with its
  /// persistent queue. Every connection ends with it; each actor the program has not closed
  /// connects again as a new connection (the written scenario's new actor: connection_name).
  /// Handles are named afresh for each server life (a server may renumber reloaded jobs,
  /// DUR-HANDLE). Then the account: every background job the server acknowledged (JOB_CREATED
  /// for SUBMIT_JOB_BG, _HIGH_BG, _LOW_BG) and that has not ended must be queued again.
  asio::awaitable<void> restart(bool crash) {
    const std::string what = crash ? "the server crashes" : "the server restarts";
    obs_.sent.back() = what;
    std::map<int, int> owed_per_fn;
    for (const auto& [key, fn] : owed_) ++owed_per_fn[fn];
    try {
      servers_.restart("main", crash);  // blocks this thread, bounded by the target
    } catch (const std::exception& e) {
      obs_.error = std::string("the target could not restart the server: ") + e.what();
      co_return;
    }
    ++lives_;
    held_.clear();
    submitted_.clear();
    submit_pending_.clear();
    pending_key_.clear();
    pending_owed_.clear();
    handle_key_.clear();
    handles_.clear();  // the next handle seen is a new symbol, even if its bytes were used before
    timed_workers_.clear();
    timer_due_.reset();
    for (const auto& name : order_) {
      auto& current = actors_.at(name);
      if (ended_.count(name)) continue;  // the program closed it: it stays closed
      (void)current->take_received();    // whatever is left belonged to the old connection
      const auto speaks = current->binary() ? engine::protocol::binary : engine::protocol::admin;
      retired_.push_back(std::move(current));  // its reader may still be finishing
      current = std::make_unique<engine::actor>(io_, connection_name(name, lives_), speaks,
                                                std::vector<wire::command>{}, sink_);
      closed_reported_.erase(name);
      garbage_reported_.erase(name);
      const bool opened = co_await open(*current, name);
      if (!opened) co_return;
    }
    if (watchers_.count("main")) {
      retired_.push_back(std::move(watchers_.at("main")));
      watchers_.at("main") = new_watcher();
      co_await open_watcher("main");
    }
    if (!settings_.account) co_return;
    auto account = std::make_unique<engine::actor>(io_, "acct" + std::to_string(lives_),
                                                   engine::protocol::admin,
                                                   std::vector<wire::command>{}, sink_);
    const engine::step_outcome connected =
        co_await account->connect(servers_.address("main"), scaled(settings_.wait));
    auto& w = obs_.windows.back()["acct"];
    if (!connected) {
      w.events.push_back("account: could not connect: " + connected.actual);
      retired_.push_back(std::move(account));
      co_return;
    }
    std::string command_line = "status";  // named: no temporaries around co_await (g++ 12)
    const std::vector<std::string> lines = co_await admin_query(*account, std::move(command_line));
    obs_.sent.back() = what;  // not the account's query
    w.admin_lines = status_lines(lines);
    for (const auto& [fn, owed] : owed_per_fn) {
      int queued = 0;
      for (const auto& line : w.admin_lines)  // "f1<TAB>total<TAB>running<TAB>workers"
        if (line.rfind("f" + std::to_string(fn) + "\t", 0) == 0)
          queued = std::atoi(line.c_str() + line.find('\t') + 1);
      if (queued < owed) {
        w.events.push_back("account: f" + std::to_string(fn) + " has " + std::to_string(queued) +
                           " jobs queued after the " + (crash ? "crash" : "restart") + ", but " +
                           std::to_string(owed) +
                           " acknowledged background jobs had not ended (lost)");
        if (obs_.lost.empty()) obs_.lost = w.events.back();
      }
    }
    account->close(false);
    retired_.push_back(std::move(account));
  }

  /// An admin "status" answer reduced to this program's functions with work, renamed f1, f2.
  std::vector<std::string> status_lines(const std::vector<std::string>& lines) const {
    std::vector<std::string> out;
    for (const auto& entry : lines) {
      const auto tab = entry.find('\t');
      const auto fn = entry.substr(0, tab);
      for (const auto& [n, name] : names_)
        if (fn == name && entry.substr(tab) != "\t0\t0\t0")
          out.push_back(std::string("f") + std::to_string(n) + entry.substr(tab));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // Moves.

  std::string client_id(const std::string& actor) const { return actor + "-" + token_; }

  /// An answer that is one line, OK or ERR: only that word is compared (the texts differ).
  void answer_word(const std::string& actor, const std::vector<std::string>& lines) {
    if (lines.empty()) return;
    const auto& line = lines.front();
    obs_.windows.back()[actor].admin_lines.push_back(line.substr(0, line.find(' ')));
  }

  /// The handle a client's job-th submission got ("" if it got none: not answered, or ERROR).
  std::string submission_handle(const std::string& client, int job) {
    const auto& theirs = submitted_[client];
    return static_cast<std::size_t>(job) < theirs.size() ? theirs[job] : std::string();
  }

  std::string handle_of_held(const std::string& worker) {
    auto& held = held_[worker];
    return held.empty() ? std::string() : held.front();
  }

  asio::awaitable<void> send(engine::actor& a, command cmd, std::vector<std::string> args,
                             std::size_t cut = 0) {
    wire::packet p{wire::packet_magic::request, cmd, std::move(args)};
    std::string bytes;
    wire::encode(p, bytes);
    std::string shown = wire::to_string(p);
    obs_.sent.back() = a.name() + " > " + wire::to_string(normalise(acting_server_, p, false));
    if (cut) {
      bytes.resize(cut);
      shown = "half of " + shown;
      obs_.sent.back() = a.name() + " > half of a packet";
    }
    const scenario::write_pacing pacing{};
    std::optional<wire::packet> recorded;
    if (!cut) recorded = p;
    const engine::step_outcome written =
        co_await a.write(std::move(bytes), pacing, std::move(shown), std::move(recorded));
    (void)written;  // a closed connection shows in the barrier that follows
  }

  /// Sends an admin command and returns its answer's lines; no answer is an event of the window.
  asio::awaitable<std::vector<std::string>> admin_query(engine::actor& a, std::string line) {
    obs_.sent.back() = a.name() + " > " + line;
    const auto deadline = clock::now() + scaled(settings_.wait);
    const engine::admin_result result = co_await a.admin(line, deadline);
    if (!result.answer) {
      obs_.windows.back()[a.name()].events.push_back("no answer to '" + line + "'");
      co_return std::vector<std::string>{};
    }
    co_return result.answer->lines;
  }

  asio::awaitable<void> perform(const action& m) {
    if (m.what == action::kind::wait) {
      // The behaviour under test is time itself (CAN_DO_TIMEOUT, epoch jobs): not scaled. Long
      // enough for every timer this program started to have fired, with a margin: a 1000 ms
      // CAN_DO_TIMEOUT armed at an assignment, an epoch job due soon; at least wait_floor when
      // none is pending (the written scenario sleeps the longest of these, wait_ceiling).
      obs_.sent.back() = "time passes";
      const auto now = clock::now();
      auto until = now + wait_floor;
      if (timer_due_) until = std::max(until, *timer_due_ + timer_margin);
      if (epoch_due_)  // a wall-clock second, as a point on the steady clock
        until =
            std::max(until, now + (*epoch_due_ - std::chrono::system_clock::now()) + timer_margin);
      until = std::min(until, now + wait_ceiling);
      asio::steady_timer pause(io_, until);
      net::error_code ignored;
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      co_return;
    }
    if (restarts_the_server(m)) {
      co_await restart(m.what == action::kind::crash);
      co_return;
    }
    auto& a = *actors_.at(m.actor);
    acting_server_ = server_of(m.actor);
    if (!a.connected() || a.closed()) {
      obs_.sent.back() = m.actor + ": connection already closed";
      co_return;
    }
    switch (m.what) {
      case action::kind::submit:
        submit_pending_[m.actor] = true;
        pending_key_[m.actor] = job_key(m);
        data_key_[m.data] = job_key(m);
        pending_owed_[m.actor] = m.cmd == command::submit_job_bg ||
                                 m.cmd == command::submit_job_high_bg ||
                                 m.cmd == command::submit_job_low_bg;
        {
          std::vector<std::string> args{names_.at(m.fn), m.unique ? uniques_.at(m.unique) : "",
                                        m.data};
          if (m.cmd == command::submit_job_epoch) {
            // In an hour: queued, never runnable during the program. Soon: as a scenario's
            // ${epochsoon}, due after the `wait` that follows.
            const long long due = m.soon ? engine::epoch_soon() : engine::epoch_after(3600);
            if (m.soon)
              epoch_due_ = std::chrono::system_clock::time_point(std::chrono::seconds(due));
            args.insert(args.begin() + 2, std::to_string(due));
          } else if (m.cmd == command::submit_reduce_job ||
                     m.cmd == command::submit_reduce_job_background) {
            args.insert(args.begin() + 2, {names_.at(2), ""});  // reducer f2, no aggregator
          } else if (m.cmd == command::submit_job_sched) {
            args.insert(args.begin() + 2, {"0", "*", "*", "*", "*"});  // every hour on the hour
          }
          co_await send(a, m.cmd, std::move(args));
        }
        break;
      case action::kind::option: {
        std::vector<std::string> args{"exceptions"};
        co_await send(a, command::option_req, std::move(args));
      } break;
      case action::kind::get_status: {
        const auto handle = submission_handle(m.actor, m.job);
        if (handle.empty()) {
          obs_.sent.back() = m.actor + ": no handle for that submission (nothing sent)";
          break;
        }
        obs_.handle_used.back() = symbol(acting_server_, handle);
        {
          std::vector<std::string> args{handle};
          co_await send(a, command::get_status, std::move(args));
        }
        break;
      }
      case action::kind::can_do: {
        std::vector<std::string> args{names_.at(m.fn)};
        if (m.cmd == command::can_do_timeout) {
          args.push_back("1000");
          timed_workers_.insert(m.actor);
        }
        co_await send(a, m.cmd == command::can_do_timeout ? m.cmd : command::can_do,
                      std::move(args));
      } break;
      case action::kind::cant_do: {
        std::vector<std::string> args{names_.at(m.fn)};
        co_await send(a, command::cant_do, std::move(args));
      } break;
      case action::kind::reset: {
        std::vector<std::string> args{};
        co_await send(a, command::reset_abilities, std::move(args));
      } break;
      case action::kind::grab: {
        std::vector<std::string> args{};
        co_await send(a, m.cmd, std::move(args));
      } break;
      case action::kind::pre_sleep: {
        std::vector<std::string> args{};
        co_await send(a, command::pre_sleep, std::move(args));
      } break;
      case action::kind::work: {
        const auto handle = handle_of_held(m.actor);
        if (handle.empty()) {
          obs_.sent.back() = m.actor + ": holds no job (nothing sent)";
          break;
        }
        obs_.handle_used.back() = symbol(acting_server_, handle);
        std::vector<std::string> args{handle};
        if (m.cmd == command::work_status) {
          args.push_back("1");
          args.push_back("2");
        } else if (m.cmd != command::work_fail) {
          args.push_back(m.data);
        }
        co_await send(a, m.cmd, std::move(args));
        if (m.cmd == command::work_complete || m.cmd == command::work_fail ||
            m.cmd == command::work_exception) {
          owed_.erase(handle_key_[handle]);  // the job has ended: nothing is owed any more
          held_[m.actor].pop_front();
        }
        break;
      }
      case action::kind::admin_status: {
        std::string command_line = "status";  // named: no temporaries around co_await (g++ 12)
        const std::vector<std::string> lines = co_await admin_query(a, std::move(command_line));
        obs_.windows.back()[m.actor].admin_lines = status_lines(lines);
        break;
      }
      case action::kind::admin_workers: {
        std::string command_line = "workers";  // named: no temporaries around co_await (g++ 12)
        const std::vector<std::string> lines = co_await admin_query(a, std::move(command_line));
        auto& w = obs_.windows.back()[m.actor];
        // "FD IP CLIENT-ID : FUNCTION ..." -> "w1 : f1 f2" for this program's connections; the fd
        // and address columns are the server's own (servers print "-" or "NA" there).
        for (const auto& entry : lines) {
          const auto colon = entry.find(" :");
          if (colon == std::string::npos) continue;
          const auto head = entry.substr(0, colon);
          const auto id = head.substr(head.find_last_of(' ') + 1);
          std::string actor;
          for (const auto& n : order_)
            if (id == client_id(n)) actor = n;
          if (actor.empty()) continue;
          std::set<std::string> functions;
          std::istringstream rest(entry.substr(colon + 2));
          for (std::string fn; rest >> fn;)
            for (const auto& [n, name] : names_)
              if (fn == name) functions.insert(std::string("f") + std::to_string(n));
          std::string shown = actor + " :";
          for (const auto& fn : functions) shown += " " + fn;
          w.admin_lines.push_back(shown);
        }
        std::sort(w.admin_lines.begin(), w.admin_lines.end());
        break;
      }
      case action::kind::admin_cancel: {
        const auto handle = submission_handle(m.target, m.job);
        if (handle.empty()) {
          obs_.sent.back() = "adm: no handle for that submission (nothing sent)";
          break;
        }
        // (The admin connection is on main; the submission may have been made on s2.)
        obs_.handle_used.back() = symbol(server_of(m.target), handle);
        std::string command_line = "cancel job " + handle;
        const std::vector<std::string> lines = co_await admin_query(a, std::move(command_line));
        obs_.sent.back() = "adm > cancel job " + obs_.handle_used.back();  // comparable
        answer_word(m.actor, lines);
        if (!lines.empty() && lines.front().rfind("OK", 0) == 0) owed_.erase(handle_key_[handle]);
        break;
      }
      case action::kind::admin_maxqueue: {
        std::string command_line = "maxqueue " + names_.at(m.fn) + (m.job ? " 1" : "");
        const std::vector<std::string> lines = co_await admin_query(a, std::move(command_line));
        answer_word(m.actor, lines);
        break;
      }
      case action::kind::wait:
        break;  // handled above
      case action::kind::disconnect:
        ended_.insert(m.actor);
        obs_.sent.back() = m.actor + " disconnects";
        a.close(false);
        break;
      case action::kind::kill:
        ended_.insert(m.actor);
        obs_.sent.back() = m.actor + " is killed";
        a.close(true);
        break;
      case action::kind::restart:
      case action::kind::crash:
        break;  // handled above
      case action::kind::cut_packet: {
        ended_.insert(m.actor);
        const bool worker = m.actor[0] == 'w';
        if (worker) {
          std::vector<std::string> args{names_.at(1)};
          co_await send(a, command::can_do, std::move(args), 8);
        } else {
          std::vector<std::string> args{names_.at(1), "", "cut"};
          co_await send(a, command::submit_job, std::move(args), 16);
        }
        a.close(true);
        break;
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Observing.

  /// Two rounds of ECHO on every open connection (the acting one first): everything a move made
  /// the server send on any connection arrives before the round that follows it.
  asio::awaitable<void> barrier(const std::string& first) {
    std::vector<std::string> names;
    if (!first.empty()) names.push_back(first);
    for (const auto& n : order_)
      if (n != first) names.push_back(n);
    for (int round = 0; round < 2; ++round)
      for (const auto& n : names) {
        auto& a = *actors_.at(n);
        if (!a.binary()) continue;
        const auto limit = scaled(settings_.wait);
        const std::string token = std::string("barrier-") + std::to_string(obs_.windows.size()) +
                                  std::string("-") + std::to_string(round);
        const auto deadline = clock::now() + limit;
        // (named first: g++ 12 mishandles temporaries in a full-expression with co_await)
        const engine::step_outcome outcome =
            co_await a.end_round_trip(token, deadline, limit, "barrier", settings_.sync);
        if (!outcome)
          obs_.windows.back()[n].events.push_back("no answer to " +
                                                  std::string(wire::name(settings_.sync)));
      }
    for (const auto& n : names) collect(n);
  }

  void collect(const std::string& name) {
    auto& a = *actors_.at(name);
    const auto server = server_of(name);
    auto& w = obs_.windows.back()[name];
    bool noop_seen = false;
    for (auto& raw : a.take_received()) {
      // What this connection's moves depend on, from the raw packets.
      if (raw.cmd == command::job_created && submit_pending_[name]) {
        submitted_[name].push_back(raw.args.at(0));
        submit_pending_[name] = false;
        (void)symbol(server, raw.args.at(0));  // handles are named in the order they are created
        acknowledged(name, raw.args.at(0));
      } else if (raw.cmd == command::error && submit_pending_[name]) {
        submitted_[name].push_back("");
        submit_pending_[name] = false;
      } else if (raw.cmd == command::job_assign || raw.cmd == command::job_assign_uniq ||
                 raw.cmd == command::job_assign_all) {
        held_[name].push_back(raw.args.at(0));
        // After a restart, a reloaded job is first seen here.
        if (lives_ > 0) (void)symbol(server, raw.args.at(0));
        if (const auto key = data_key_.find(raw.args.back()); key != data_key_.end())
          handle_key_[raw.args.at(0)] = key->second;
        // The server armed a CAN_DO_TIMEOUT timer when it sent this (at the latest now).
        if (timed_workers_.count(name)) timer_due_ = clock::now() + milliseconds(1000);
      }
      if (raw.cmd == command::noop) {
        if (noop_seen) continue;  // how many NOOPs a sleeper gets is not compared
        noop_seen = true;
      }
      w.packets.push_back(normalise(server, raw, true));
    }
    std::sort(w.packets.begin(), w.packets.end(),
              [](const auto& x, const auto& y) { return wire::to_string(x) < wire::to_string(y); });
    if (!a.undecodable_bytes().empty() && !garbage_reported_.count(name)) {
      w.events.push_back("undecodable bytes: " + a.undecodable_bytes());
      garbage_reported_.insert(name);
    }
    if (a.closed() && !closed_reported_.count(name)) {
      closed_reported_.insert(name);
      // A worker lost with a background job: whether the server runs it again or fails it is
      // implementation-defined (the reference's --worker-loss), so the account leaves it out.
      for (const auto& h : held_[name]) doubtful(handle_key_[h]);
      w.events.push_back(a.close_reason() == "closed by the server" || a.close_reason().empty()
                             ? "connection ended"
                             : "connection ended: " + a.close_reason());
    }
  }

  /// JOB_CREATED for a client's pending submission: a job the account may owe.
  void acknowledged(const std::string& client, const std::string& handle) {
    const auto key = pending_key_[client];
    handle_key_.try_emplace(handle, key);  // an attach joins the job its key names
    if (!pending_owed_[client]) {
      // A foreground, epoch, scheduled or reduce job: whether it outlives a restart is not the
      // account's to say (the comparison with the reference still sees it).
      doubtful(key);
    } else if (!doubtful_.count(key)) {
      owed_[key] = key[1] - '0';
    }
  }

  void doubtful(const std::string& key) {
    if (key.empty()) return;
    doubtful_.insert(key);
    owed_.erase(key);
  }

  /// The symbol of a job handle of a server: the same bytes from two servers are two jobs.
  std::string symbol(const std::string& server, const std::string& raw_handle) {
    const auto key = server + "\n" + raw_handle;
    if (auto it = handles_.find(key); it != handles_.end()) return it->second;
    const auto s = std::string("H") + std::to_string(++symbols_);
    handles_[key] = s;
    return s;
  }

  /// The comparable form of a packet (see executor.hpp).
  wire::packet normalise(const std::string& server, const wire::packet& raw, bool received) {
    wire::packet out = raw;
    const auto& shape = wire::info(raw.cmd);
    if (raw.cmd == command::error) {
      out.args.assign(raw.args.size(), "*");  // the code words are implementation-defined
      return out;
    }
    for (std::size_t i = 0; i < out.args.size() && i < shape.arg_count; ++i) {
      auto& arg = out.args[i];
      const auto name = shape.arg_names[i];
      if (name == "epoch") arg = "due";
      if (name == "handle") {
        const auto it = handles_.find(server + "\n" + arg);
        arg = it != handles_.end()
                  ? it->second
                  : (received ? std::string("H?") + wire::escape_bytes(arg, 40) : arg);
      }
      for (const auto& [n, fn] : names_)
        if (arg == fn) arg = std::string("f") + std::to_string(n);
      for (const auto& [n, u] : uniques_)
        if (arg == u) arg = std::string("u") + std::to_string(n);
    }
    if (raw.cmd == command::status_res) {  // an unset numerator or denominator reads as 0
      for (std::size_t i = 3; i < out.args.size(); ++i)
        if (out.args[i].empty()) out.args[i] = "0";
    }
    return out;
  }

  const program& p_;
  engine::target_instance& servers_;
  run_settings settings_;
  asio::io_context io_{1};
  asio::steady_timer watchdog_;
  std::string token_;
  clock::time_point start_;
  std::map<int, std::string> names_, uniques_;
  std::map<std::string, std::unique_ptr<engine::actor>> actors_;
  std::vector<std::string> order_;
  bool names_itself_ = false;
  // Timers the program started, for the `wait` move: the last CAN_DO_TIMEOUT armed, the epoch
  // job due soon, and the workers that registered with CAN_DO_TIMEOUT.
  static constexpr milliseconds wait_floor{250}, wait_ceiling{1800}, timer_margin{250};
  std::optional<clock::time_point> timer_due_;
  std::optional<std::chrono::system_clock::time_point> epoch_due_;
  std::set<std::string> timed_workers_;
  /// server -> its admin connection for settle_after_close
  std::map<std::string, std::unique_ptr<engine::actor>> watchers_;
  std::map<std::string, std::deque<std::string>> held_;        ///< worker -> raw handles held
  std::map<std::string, std::vector<std::string>> submitted_;  ///< client -> raw handle per submit
  std::map<std::string, bool> submit_pending_;
  std::map<std::string, std::string> handles_;  ///< server, raw -> H<n>, in this server life
  std::string acting_server_;                   ///< the server of the move being performed
  int symbols_ = 0;                             ///< H<n> given so far, over all lives
  int lives_ = 0;                               ///< restarts and crashes so far
  engine::transcript_sink sink_;
  std::set<std::string> ended_;  ///< actors the program closed: not reconnected after a restart
  std::vector<std::unique_ptr<engine::actor>> retired_;  ///< connections of earlier lives
  // The account (restart): job key -> function of each acknowledged background job not ended;
  // keys whose fate the account does not judge; what each pending submission and handle is.
  std::map<std::string, int> owed_;
  std::set<std::string> doubtful_;
  std::map<std::string, std::string> pending_key_, data_key_, handle_key_;
  std::map<std::string, bool> pending_owed_;
  std::set<std::string> closed_reported_, garbage_reported_;
  observation obs_;
};

}  // namespace

std::string connection_name(const std::string& actor, int lives) {
  return lives == 0 ? actor : actor + "r" + std::to_string(lives);
}

int lives_before(const program& p, std::size_t move) {
  int lives = 0;
  for (std::size_t i = 0; i < move && i < p.actions.size(); ++i)
    lives += restarts_the_server(p.actions[i]);
  return lives;
}

bool closes_its_connection(const action& m) {
  return m.what == action::kind::disconnect || m.what == action::kind::kill ||
         m.what == action::kind::cut_packet;
}

bool closes_a_connection(const program& p) {
  return std::any_of(p.actions.begin(), p.actions.end(),
                     [](const action& m) { return m.actor != "adm" && closes_its_connection(m); });
}

bool asks_workers(const program& p) {
  return std::any_of(p.actions.begin(), p.actions.end(),
                     [](const action& m) { return m.what == action::kind::admin_workers; });
}

bool names_connections(const program& p, const run_settings& s) {
  return asks_workers(p) || (s.settle_with_workers && closes_a_connection(p));
}

observation execute(const program& p, engine::target_instance& servers, const run_settings& s) {
  executor e(p, servers, s);
  return e.run();
}

}  // namespace gearspec::explore
