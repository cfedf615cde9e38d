#include "harness/engine/runner.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <set>

#include "harness/engine/actor.hpp"
#include "harness/net/asio.hpp"
#include "harness/wire/ascii.hpp"
#include "harness/wire/decoder.hpp"
#include "harness/wire/encoder.hpp"
#include "harness/wire/printer.hpp"

namespace gearspec::engine {
namespace {

namespace asio = net::asio;
using scenario::step;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Whether steps send PRE_SLEEP or expect a NOOP (also in parallel branches and timed rounds).
bool uses_wake_ups(const scenario::step_list& steps) {
  for (const auto& st : steps) {
    if (const auto* send = st.as<scenario::send_step>();
        send && send->cmd == wire::command::pre_sleep)
      return true;
    if (const auto* e = st.as<scenario::expect_step>())
      for (const auto& sequence : e->alternatives)
        for (const auto& p : sequence)
          if (p.cmd == wire::command::noop) return true;
    if (const auto* par = st.as<scenario::parallel_step>())
      for (const auto& branch : par->branches)
        if (uses_wake_ups(branch)) return true;
    if (const auto* timed = st.as<scenario::timed_step>(); timed && uses_wake_ups(timed->steps))
      return true;
  }
  return false;
}

/** A scenario about waking workers: a SLEEP-* requirement, or steps with PRE_SLEEP or NOOP. In
    every other scenario a worker never sleeps, so a NOOP it gets is one PROTOCOL makes harmless
    (a worker that gets NOOP just grabs): its worker actors step over NOOPs, and only the
    scenarios about wake-ups (sleep/no-noop-to-an-awake-worker) judge them. */
bool about_wake_ups(const scenario::scenario& s) {
  for (const auto& req : s.requirements)
    if (req.rfind("SLEEP-", 0) == 0) return true;
  if (uses_wake_ups(s.steps)) return true;
  for (const auto& v : s.variants)
    if (uses_wake_ups(v.steps)) return true;
  return false;
}

/// The scenario runner dispatches steps to actors and keeps the run's books: variables, the
/// transcript, the first mismatch, the time limit, and the end-of-run audit.
class scenario_runner {
 public:
  scenario_runner(const scenario::scenario& s, target_instance& servers, const run_options& options,
                  const scenario::variant* v)
      : s_(s),
        variant_(v),
        servers_(servers),
        options_(options),
        watchdog_(io_),
        vars_(options.run_token.empty() ? random_token() : options.run_token) {
    auto sink = [this](const std::string& actor, char direction, std::string text,
                       std::optional<wire::packet> p) {
      record(actor, direction, std::move(text), std::move(p));
    };
    const bool strict_noop = about_wake_ups(s);
    for (const auto& a : s.actors) {
      auto ignore = a.ignore;
      if (a.type == scenario::actor::role::worker && !strict_noop)
        ignore.push_back(wire::command::noop);
      actors_[a.name] = std::make_unique<actor>(
          io_, a.name, a.type == scenario::actor::role::admin ? protocol::admin : protocol::binary,
          std::move(ignore), sink);
      actors_[a.name]->accept_request_magic(options.accept_request_magic);
    }
  }

  run_result run() {
    start_ = clock::now();
    const auto limit = scaled(s_.time_limit.value_or(options_.default_time_limit));
    watchdog_.expires_after(limit);
    auto on_watchdog = [this, limit](const net::error_code& ec) {
      if (ec) return;
      fail(s_.steps.empty() ? scenario::source_mark{} : s_.steps.front().mark, "scenario",
           step_outcome::error(
               "the scenario finishes within " + std::to_string(limit.count()) + " ms",
               "it was still running (a step waited too long)", "whole-scenario time limit"));
    };
    watchdog_.async_wait(on_watchdog);
    auto on_done = [this](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          fail({}, "engine",
               step_outcome::error("no internal error", ex.what(), "gearspec engine error"));
        }
      }
      finish();
    };
    asio::co_spawn(io_, main(), on_done);
    io_.run();
    result_.elapsed = std::chrono::duration_cast<milliseconds>(clock::now() - start_);
    result_.transcript = std::move(transcript_);
    if (!failed_) result_.result = outcome::pass;
    return std::move(result_);
  }

 private:
  milliseconds scaled(milliseconds d) const {
    return milliseconds(
        static_cast<long long>(static_cast<double>(d.count()) * options_.timeout_scale));
  }
  milliseconds timeout_of(const std::optional<scenario::duration>& t) const {
    return scaled(t.value_or(options_.default_timeout));
  }

  void record(const std::string& actor, char direction, std::string text,
              std::optional<wire::packet> p = std::nullopt) {
    const double at = std::chrono::duration<double, std::milli>(clock::now() - start_).count();
    transcript_.push_back({at, actor, direction, std::move(text), std::move(p)});
  }

  /// Records the first thing that did not go as the scenario said, and stops the run.
  void fail(const scenario::source_mark& mark, const std::string& what, const step_outcome& o) {
    if (failed_ || o.result == step_outcome::kind::aborted || o) return;
    failed_ = true;
    const bool error = o.result == step_outcome::kind::error;
    result_.result = error ? outcome::error : outcome::fail;
    result_.first = mismatch{mark, what, o.expected, o.actual, o.note, o.cause};
    record("", '*', (error ? "ERROR at " : "MISMATCH at ") + mark.str() + ": " + what);
    abort_all();
  }

  /// Stops every wait and write at once: after the first mismatch nothing else is judged.
  void abort_all() {
    for (auto& [name, a] : actors_) a->abort();
    for (auto* t : timers_) t->cancel();
  }

  void finish() {
    watchdog_.cancel();
    for (auto& [name, a] : actors_) a->abort();
  }

  /// Sleeps for d unless the run is aborted.
  asio::awaitable<void> pause(milliseconds d) {
    asio::steady_timer t(io_);
    timers_.insert(&t);
    t.expires_after(d);
    net::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    timers_.erase(&t);
  }

  // ------------------------------------------------------------------------------------------
  // Steps.

  asio::awaitable<bool> run_steps(const scenario::step_list& steps) {
    for (const auto& st : steps) {
      if (failed_) co_return false;
      co_await run_step(st);
    }
    co_return !failed_;
  }

  asio::awaitable<void> run_branch(const scenario::step_list& steps, std::size_t& remaining,
                                   asio::steady_timer& joined) {
    co_await run_steps(steps);
    if (--remaining == 0) joined.cancel();
  }

  asio::awaitable<void> run_step(const step& st) {
    // Each kind of step has its handler; a step kind without one does not compile.
    auto dispatch = [this, &st](const auto& action) { return perform(st, action); };
    auto op = std::visit(dispatch, st.what);
    const auto result = co_await std::move(op);
    if (result || failed_) co_return;
    auto what = describe(st);
    if (const auto* admin = st.as<scenario::admin_step>())
      what += " " + quote(vars_.expand(admin->line));
    fail(st.mark, what, result);
  }

  asio::awaitable<step_outcome> perform(const step&, const scenario::sleep_step& s) {
    record("", '*', "sleep " + std::to_string(s.length.count()) + " ms");
    co_await pause(s.length);
    co_return step_outcome::ok();
  }

  asio::awaitable<step_outcome> perform(const step&, const scenario::sleep_until_step& s) {
    const long long due_s = std::stoll(vars_.value(s.variable));
    const auto now_ms = std::chrono::duration_cast<milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const auto wait = milliseconds(std::max(0LL, due_s * 1000 + s.plus.count() - now_ms));
    record("", '*',
           "sleep until " + s.variable + " (" + std::to_string(due_s) + ") + " +
               std::to_string(s.plus.count()) + " ms: " + std::to_string(wait.count()) + " ms");
    co_await pause(wait);
    co_return step_outcome::ok();
  }

  asio::awaitable<step_outcome> perform(const step&, const scenario::parallel_step& s) {
    std::size_t remaining = s.branches.size();
    asio::steady_timer joined(io_);
    joined.expires_at(asio::steady_timer::time_point::max());
    for (const auto& branch : s.branches) {
      auto on_branch_end = [](std::exception_ptr) {};
      asio::co_spawn(io_, run_branch(branch, remaining, joined), on_branch_end);
    }
    while (remaining > 0) {
      net::error_code ec;
      co_await joined.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return step_outcome::ok();  // a branch's failure was recorded by the branch
  }

  /// timed: the rounds one after another; a functional mismatch inside fails as usual, then the
  /// median round must stay under the limit.
  asio::awaitable<step_outcome> perform(const step&, const scenario::timed_step& s) {
    std::vector<double> rounds_ms;
    for (unsigned i = 0; i < s.rounds; ++i) {
      const auto start = clock::now();
      if (!s.judge_time) {
        record("", '*',
               "repeat: round " + std::to_string(i + 1) + " of " + std::to_string(s.rounds));
        vars_.commit({{"round", std::to_string(i + 1)}});
      }
      if (!co_await run_steps(s.steps)) co_return step_outcome::ok();  // the failure is recorded
      rounds_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - start).count());
    }
    if (!s.judge_time) co_return step_outcome::ok();
    std::vector<double> sorted = rounds_ms;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];
    const auto limit = scaled(s.median_under);
    const auto ms = [](double v) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f ms", v);
      return std::string(buf);
    };
    const std::string measured = "median " + ms(median) + " (fastest " + ms(sorted.front()) +
                                 ", slowest " + ms(sorted.back()) + ", " +
                                 std::to_string(s.rounds) + " rounds)";
    record("", '*', "timed: " + measured);
    if (median <= static_cast<double>(limit.count())) co_return step_outcome::ok();
    co_return step_outcome::fail(
        "a median round under " + std::to_string(limit.count()) + " ms", measured,
        "each round is a few small request/reply exchanges on loopback; a median this slow "
        "usually means replies are held back (Nagle's algorithm without TCP_NODELAY, or "
        "replies written in pieces)",
        "slow replies (median round over " + std::to_string(limit.count()) + " ms)");
  }

  /// restart / crash: blocks this thread while the target stops and starts the server (bounded by
  /// the target). Connections to that server end; that is expected, not a failure.
  asio::awaitable<step_outcome> perform(const step&, const scenario::server_fault_step& s) {
    for (const auto& a : s_.actors)
      if (a.server == s.server && actors_.at(a.name)->connected())
        actors_.at(a.name)->lost_to_restart = true;
    record("", '*',
           s.crash ? "crash server " + s.server + " (killed, then started again)"
                   : "restart server " + s.server);
    try {
      servers_.restart(s.server, s.crash);
    } catch (const target_error& e) {
      co_return step_outcome::error("the server to start again", e.what(),
                                    "target could not restart the server");
    }
    record("", '*',
           "server " + s.server + " listening again on " + servers_.address(s.server).str());
    co_return step_outcome::ok();
  }

  asio::awaitable<step_outcome> perform(const step&, const scenario::disconnect_step& s) {
    auto& a = *actors_.at(s.actor);
    if (!a.connected()) co_return step_outcome::fail("an open connection", "never connected");
    a.close(s.abortive);
    co_return step_outcome::ok();
  }

  /// Every other step acts on a connected actor: connect it first if needed.
  template <typename Action>
  asio::awaitable<step_outcome> perform(const step& st, const Action& action) {
    auto& a = *actors_.at(action.actor);
    if (a.lost_to_restart)
      co_return step_outcome::error(
          "an actor whose connection is usable",
          "its connection ended when server '" + server_of(a.name()) + "' was restarted",
          "use a new actor after a restart or crash (the scenario's fault)");
    if (!a.connected()) {
      endpoint where;
      try {
        where = servers_.address(server_of(a.name()));
      } catch (const std::exception& e) {
        co_return step_outcome::error("an address for server '" + server_of(a.name()) + "'",
                                      e.what(), "target");
      }
      const auto connected = co_await a.connect(where, scaled(options_.default_timeout));
      if (!connected) co_return connected;
      if (s_.awaited_closes.count(a.name()) && options_.client_ids) {
        // For wait_until_gone: the engine names the connection, so "workers" can show it.
        const wire::packet id{
            wire::packet_magic::request, wire::command::set_client_id, {client_id(a.name())}};
        std::string bytes;
        wire::encode(id, bytes);
        const auto written = co_await a.write(std::move(bytes), {},
                                              wire::to_string(id) + " (for wait_until_gone)", id);
        if (!written) co_return written;
      }
    }
    co_return co_await act(st, a, action);
  }

  std::string client_id(const std::string& actor_name) const {
    return actor_name + "-" + vars_.token();
  }

  /** wait_until_gone: "" once "workers" no longer lists the actor's connection. Without
      SET_CLIENT_ID a connection cannot be told apart, so then the server must list no more
      connections than the scenario has open (every server seen lists all, admin ones too). */
  std::string judge_gone(const std::string& whose, const wire::admin_response& answer) {
    if (answer.type != wire::admin_response::kind::list) return "a list of connections";
    if (options_.client_ids)
      return workers_lists(answer, client_id(whose))
                 ? "no line for " + whose + "'s connection (client id " + client_id(whose) + ")"
                 : std::string();
    std::size_t open = 0;
    for (const auto& [name, a] : actors_)
      open += a->connected() && !a->closed() && !a->closed_by_us() && !a->lost_to_restart;
    if (answer.lines.size() <= open) return {};
    return "at most " + std::to_string(open) +
           " connection(s) listed (those the scenario has open; " + whose +
           "'s closed), the target lacking SET_CLIENT_ID";
  }

  std::string server_of(const std::string& actor_name) const {
    return s_.find_actor(actor_name)->server;
  }

  asio::awaitable<step_outcome> act(const step&, actor&, const scenario::connect_step&) {
    co_return step_outcome::ok();
  }

  asio::awaitable<step_outcome> act(const step&, actor& a, const scenario::send_step& s) {
    std::string payload;
    for (std::size_t i = 0; i < s.args.size(); ++i) {
      if (i) payload.push_back('\0');
      payload += vars_.expand(s.args[i]);
    }
    // Arguments are joined as given, so a scenario can also put NULs where the shape does not
    // expect them; the transcript shows the packet as a server will split it.
    const auto magic = s.request_magic ? wire::packet_magic::request : wire::packet_magic::response;
    std::string bytes;
    wire::encode_raw(wire::magic_bytes(magic), wire::number(s.cmd),
                     static_cast<std::uint32_t>(payload.size()), payload, bytes);
    wire::packet_view view;
    view.magic = magic;
    std::string shown;
    std::optional<wire::packet> sent;
    if (!wire::split_arguments(s.cmd, payload, view)) {
      shown = wire::to_string(view, {64, !s.request_magic});
      sent = wire::packet::from(view);
    } else {
      shown = std::string(wire::name(s.cmd)) + " (malformed)";
    }
    co_return co_await a.write(std::move(bytes), s.pacing, std::move(shown), std::move(sent));
  }

  asio::awaitable<step_outcome> act(const step&, actor& a, const scenario::send_raw_step& s) {
    auto bytes = vars_.expand(s.bytes);
    auto shown = "raw " + std::to_string(bytes.size()) + " bytes " + quote(bytes) +
                 (s.pacing.chunk ? " in chunks of " + std::to_string(s.pacing.chunk) : "");
    co_return co_await a.write(std::move(bytes), s.pacing, std::move(shown), {});
  }

  asio::awaitable<step_outcome> act(const step&, actor& a, const scenario::expect_step& s) {
    const auto limit = timeout_of(s.timeout);
    co_return co_await a.expect(s.alternatives, vars_, clock::now() + limit, limit);
  }

  asio::awaitable<step_outcome> act(const step&, actor& a, const scenario::grab_step& s) {
    const auto request = options_.grab;
    const wire::packet sent{wire::packet_magic::request, request, {}};
    std::string bytes;
    wire::encode(sent, bytes);
    const auto written =
        co_await a.write(std::move(bytes), {}, wire::to_string(sent) + " (grab)", sent);
    if (!written) co_return written;
    const auto limit = timeout_of(s.timeout);
    co_return co_await a.expect(grab_alternatives(s, request), vars_, clock::now() + limit, limit);
  }

  asio::awaitable<step_outcome> act(const step&, actor& a, const scenario::sync_step&) {
    // A token no job handle or echo of the scenario can equal.
    const auto token = "gearspec-sync-" + vars_.token() + "-" + std::to_string(++syncs_);
    const bool echo = options_.sync == wire::command::echo_req;
    const wire::packet sent{wire::packet_magic::request,
                            echo ? wire::command::echo_req : wire::command::get_status,
                            {token}};
    std::string bytes;
    wire::encode(sent, bytes);
    const auto written =
        co_await a.write(std::move(bytes), {}, wire::to_string(sent) + " (sync)", sent);
    if (!written) co_return written;
    const auto exact = scenario::matcher::exact(token);
    const auto any = scenario::matcher::any();
    const alternatives answer{
        {echo ? scenario::packet_expectation{wire::command::echo_res, {exact}, {}}
              : scenario::packet_expectation{
                    wire::command::status_res, {exact, any, any, any, any}, {}}}};
    const auto limit = timeout_of(std::nullopt);
    co_return co_await a.expect(answer, vars_, clock::now() + limit, limit);
  }

  /// What answers a grab request: the assignment packet of that request, with the step's
  /// handle, function and data matchers in their places (or NO_JOB).
  static alternatives grab_alternatives(const scenario::grab_step& s, wire::command request) {
    using wire::command;
    if (s.no_job) return {{scenario::packet_expectation{command::no_job, {}, {}}}};
    auto part = [&s](std::size_t i) {
      return i < s.assignment.size() ? s.assignment[i] : scenario::matcher::any();
    };
    const auto any = scenario::matcher::any();
    const scenario::packet_expectation uniq{
        command::job_assign_uniq, {part(0), part(1), any, part(2)}, {}};
    if (request == command::grab_job_uniq) return {{uniq}};
    if (request ==
        command::grab_job_all)  // PROTOCOL: JOB_ASSIGN_ALL; C: JOB_ASSIGN_UNIQ without a reducer
      return {{uniq},
              {scenario::packet_expectation{
                  command::job_assign_all, {part(0), part(1), any, any, part(2)}, {}}}};
    return {{scenario::packet_expectation{command::job_assign, {part(0), part(1), part(2)}, {}}}};
  }

  asio::awaitable<step_outcome> act(const step&, actor& a, const scenario::expect_none_step& s) {
    co_return co_await a.expect_none(s.window);
  }

  asio::awaitable<step_outcome> act(const step&, actor& a, const scenario::expect_closed_step& s) {
    const auto limit = timeout_of(s.timeout);
    co_return co_await a.expect_closed(clock::now() + limit, limit);
  }

  asio::awaitable<step_outcome> act(const step&, actor& a, const scenario::admin_step& s) {
    const auto line = vars_.expand(s.line);
    const auto deadline = clock::now() + timeout_of(s.timeout);
    bindings captures;
    const actor::answer_judge judge = [this, &s, &captures](const wire::admin_response& answer) {
      captures.clear();
      if (!s.gone.empty()) return judge_gone(s.gone, answer);
      return judge_admin(s.answer, answer, vars_, captures);
    };
    admin_result result;
    if (s.poll) {
      // wait_until: poll every 20 ms, bounded by the timeout (never a bare sleep).
      result = co_await a.poll_admin(line, judge, deadline, scaled(options_.default_timeout),
                                     milliseconds(20));
    } else {
      result = co_await a.admin(line, deadline);
      if (result.status) {
        std::string wrong;
        try {
          wrong = judge(*result.answer);
        } catch (const bad_pattern& e) {
          co_return step_outcome::error("an answer to " + quote(line), e.what(),
                                        "the scenario's fault");
        }
        if (!wrong.empty())
          result.status = step_outcome::fail(wrong, show(*result.answer), {},
                                             admin_cause(line, s.answer, *result.answer));
      }
    }
    if (!result.status) co_return result.status;
    vars_.commit(captures);
    co_return step_outcome::ok();
  }

  /// Why an admin answer was not the expected one, in words that group.
  static std::string admin_cause(const std::string& line, const scenario::admin_expectation& want,
                                 const wire::admin_response& got) {
    using k = scenario::admin_expectation::kind;
    const auto command = wire::to_lower(line.substr(0, line.find(' ')));
    if (want.response != k::any && got.type == wire::admin_response::kind::err)
      return "admin " + command + ": an error answer (" + got.error_code + ")";
    return "admin " + command + ": other lines than expected";
  }

  /// Hand-made bytes (send_raw, a response magic) may leave a connection mid-packet or out of
  /// step with the server, so an ECHO at the end would not mean what it says: such scenarios
  /// end with the quiet time instead.
  static bool writes_raw(const scenario::step_list& steps) {
    for (const auto& st : steps) {
      if (st.as<scenario::send_raw_step>()) return true;
      if (const auto* s = st.as<scenario::send_step>(); s && (!s->request_magic || s->pacing.chunk))
        return true;
      if (const auto* p = st.as<scenario::parallel_step>())
        for (const auto& b : p->branches)
          if (writes_raw(b)) return true;
      if (const auto* t = st.as<scenario::timed_step>(); t && writes_raw(t->steps)) return true;
    }
    return false;
  }

  /// Where an end-of-scenario mismatch of an actor is reported: its last step (where the missing
  /// expectation belongs), in the variant if it has one there, else its declaration.
  scenario::source_mark end_mark_of(const scenario::actor& a) const {
    const scenario::source_mark* mark = &a.mark;
    const auto scan = [&](const auto& self, const scenario::step_list& steps) -> void {
      for (const auto& st : steps) {
        if (const auto* who = st.actor(); who && *who == a.name) mark = &st.mark;
        if (const auto* p = st.as<scenario::parallel_step>())
          for (const auto& b : p->branches) self(self, b);
        if (const auto* t = st.as<scenario::timed_step>()) self(self, t->steps);
      }
    };
    scan(scan, s_.steps);
    if (variant_) scan(scan, variant_->steps);
    return *mark;
  }

  asio::awaitable<void> main() {
    bool ok = co_await run_steps(s_.steps);
    if (ok && variant_) {
      record("", '*', "variant " + variant_->name + ": " + variant_->description);
      ok = co_await run_steps(variant_->steps);
    }
    if (ok && !failed_ && options_.end_audit) {
      // Stray packets must have arrived before the end is judged: either an ECHO round trip on
      // every open connection, twice (the second round also covers output that one connection's
      // last packets caused on another), or a quiet time.
      if (options_.end_round_trip && !writes_raw(s_.steps) &&
          !(variant_ && writes_raw(variant_->steps))) {
        for (int round = 0; round < 2 && !failed_; ++round)
          for (const auto& a : s_.actors) {
            if (failed_) break;
            const auto limit = scaled(options_.default_timeout);
            const std::string token = "gearspec-end-" + std::to_string(round);
            // (the outcome is named first: g++ 12 mishandles temporaries in a full-expression
            // that also contains co_await)
            const step_outcome outcome =
                co_await actors_.at(a.name)->end_round_trip(token, clock::now() + limit, limit);
            fail(end_mark_of(a), a.name + ": end of scenario", outcome);
          }
      } else {
        co_await pause(options_.settle);
      }
      for (const auto& a : s_.actors) {
        if (failed_) break;
        fail(end_mark_of(a), a.name + ": end of scenario", actors_.at(a.name)->audit());
      }
    }
    finish();
  }

  const scenario::scenario& s_;
  const scenario::variant* variant_;
  target_instance& servers_;
  run_options options_;
  asio::io_context io_{1};
  asio::steady_timer watchdog_;
  variables vars_;
  unsigned syncs_ = 0;  ///< sync steps so far, for unique tokens
  std::map<std::string, std::unique_ptr<actor>> actors_;
  std::set<asio::steady_timer*> timers_;
  std::vector<transcript_entry> transcript_;
  clock::time_point start_;
  bool failed_ = false;
  run_result result_;
};

}  // namespace

run_result run_scenario(const scenario::scenario& s, target_instance& servers,
                        const run_options& options, const scenario::variant* v) {
  scenario_runner runner(s, servers, options, v);
  auto result = runner.run();
  if (result.result != outcome::pass) {
    // A failure because the server process died is an infrastructure error, not a verdict.
    if (auto problem = servers.problem()) {
      result.result = outcome::error;
      if (result.first)
        result.first->note =
            *problem + (result.first->note.empty() ? "" : "; " + result.first->note);
    }
    result.target_logs = servers.logs();
  }
  return result;
}

std::string format_transcript(const std::vector<transcript_entry>& transcript) {
  std::string out;
  char when[32];
  for (const auto& e : transcript) {
    std::snprintf(when, sizeof when, "%9.3f ms ", e.at_ms);
    out += when;
    if (!e.actor.empty()) out += e.actor + " ";
    out += e.direction;
    out += " ";
    out += e.text;
    out += "\n";
  }
  return out;
}

}  // namespace gearspec::engine
