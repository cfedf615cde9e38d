#include "harness/engine/runner.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
#include <random>
#include <regex>
#include <set>

#include "harness/net/asio.hpp"
#include "harness/wire/admin.hpp"
#include "harness/wire/decoder.hpp"
#include "harness/wire/encoder.hpp"
#include "harness/wire/printer.hpp"

namespace gearspec::engine {
namespace {

namespace asio = net::asio;
using net::tcp;
using scenario::matcher;
using scenario::packet_expectation;
using scenario::step;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string random_token() {
  std::random_device rd;
  std::mt19937_64 rng(rd() ^ static_cast<std::uint64_t>(clock::now().time_since_epoch().count()));
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(digits[rng() % 36]);
  return out;
}

std::string quote(std::string_view bytes) {
  return "\"" + wire::escape_bytes(bytes, 80) + "\"";
}

/// One actor's TCP connection and what it has received.
struct actor_connection {
  actor_connection(asio::io_context& io, const scenario::actor& a)
      : info(a), socket(io), signal(io) {}
  const scenario::actor& info;
  tcp::socket socket;
  asio::steady_timer signal;  ///< cancelled whenever something arrives
  bool connected = false;
  bool closed = false;           ///< the connection is gone (either side)
  bool closed_by_us = false;     ///< disconnect/kill step
  bool close_expected = false;   ///< an expect_closed step saw it
  bool lost_to_restart = false;  ///< its server was restarted or crashed: the close is expected
  bool reading = false;
  std::string close_reason;
  std::deque<wire::packet> inbox;
  std::string text;     ///< admin bytes not yet parsed
  std::string pending;  ///< binary bytes not yet decoded
  std::string garbage;  ///< why the stream could not be decoded, if it could not

  bool binary() const { return info.type != scenario::actor::role::admin; }
  bool ignored(wire::command cmd) const {
    return std::find(info.ignore.begin(), info.ignore.end(), cmd) != info.ignore.end();
  }
};

class scenario_runner {
 public:
  scenario_runner(const scenario::scenario& s, target_instance& servers, const run_options& options)
      : s_(s), servers_(servers), options_(options), watchdog_(io_) {
    token_ = options.run_token.empty() ? random_token() : options.run_token;
    for (const auto& a : s.actors) conns_[a.name] = std::make_unique<actor_connection>(io_, a);
  }

  run_result run() {
    start_ = clock::now();
    const auto limit = scaled(s_.time_limit.value_or(options_.default_time_limit));
    watchdog_.expires_after(limit);
    auto on_watchdog = [this, limit](const net::error_code& ec) {
      if (ec) return;
      fail_error(s_.steps.empty() ? scenario::source_mark{} : s_.steps.front().mark, "scenario",
                 "the scenario finishes within " + std::to_string(limit.count()) + " ms",
                 "it was still running (a step waited too long)", "whole-scenario time limit");
    };
    watchdog_.async_wait(on_watchdog);
    auto on_done = [this](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          fail_error({}, "engine", "no internal error", ex.what(), "gearspec engine error");
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
  // ------------------------------------------------------------------------------------------
  // Bookkeeping.

  milliseconds scaled(milliseconds d) const {
    return milliseconds(
        static_cast<long long>(static_cast<double>(d.count()) * options_.timeout_scale));
  }

  void record(const std::string& actor, char direction, std::string text,
              std::optional<wire::packet> p = std::nullopt) {
    const double at = std::chrono::duration<double, std::milli>(clock::now() - start_).count();
    transcript_.push_back({at, actor, direction, std::move(text), std::move(p)});
  }

  void fail(const scenario::source_mark& mark, const std::string& step, std::string expected,
            std::string actual, std::string note = {}, outcome kind = outcome::fail) {
    if (failed_) return;
    failed_ = true;
    result_.result = kind;
    result_.first = mismatch{mark, step, std::move(expected), std::move(actual), std::move(note)};
    record("", '*',
           (kind == outcome::error ? "ERROR at " : "MISMATCH at ") + mark.str() + ": " + step);
    abort_all();
  }
  void fail_error(const scenario::source_mark& mark, const std::string& step, std::string expected,
                  std::string actual, std::string note) {
    fail(mark, step, std::move(expected), std::move(actual), std::move(note), outcome::error);
  }

  /// Stops every wait and write at once: after the first mismatch nothing else is judged.
  void abort_all() {
    for (auto& [name, c] : conns_) {
      c->signal.cancel();
      if (c->connected && !c->closed) {
        c->closed_by_us = true;
        net::error_code ignored;
        c->socket.close(ignored);
      }
    }
    for (auto* t : timers_) t->cancel();
  }

  void finish() {
    watchdog_.cancel();
    for (auto& [name, c] : conns_) {
      net::error_code ignored;
      c->closed_by_us = true;
      c->socket.close(ignored);
      c->signal.cancel();
    }
  }

  /// Waits until deadline or until something wakes the timer.
  asio::awaitable<void> nap(asio::steady_timer& t, clock::time_point deadline) {
    t.expires_at(deadline);
    net::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  /// Sleeps for d unless the run is aborted.
  asio::awaitable<void> pause(milliseconds d) {
    asio::steady_timer t(io_);
    timers_.insert(&t);
    co_await nap(t, clock::now() + d);
    timers_.erase(&t);
  }

  // ------------------------------------------------------------------------------------------
  // Variables.

  std::string variable(const std::string& name, const std::map<std::string, std::string>& local) {
    if (auto it = local.find(name); it != local.end()) return it->second;
    if (auto it = vars_.find(name); it != vars_.end()) return it->second;
    // Generated placeholders: fn/uniq/key are unique per run, so runs can share a server; epochN
    // is the Unix time N seconds after its first use.
    std::string value = name == "run" ? token_ : name + "-" + token_;
    if (name.rfind("epoch", 0) == 0) {
      const long long ahead = name.size() > 5 ? std::stoll(name.substr(5)) : 0;
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch());
      value = std::to_string(now.count() + ahead);
    }
    vars_[name] = value;
    return value;
  }

  std::string expand(const scenario::value_template& t,
                     const std::map<std::string, std::string>& local = {}) {
    std::string out;
    for (const auto& p : t.pieces) out += p.is_variable ? variable(p.text, local) : p.text;
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // Connections.

  asio::awaitable<void> reader(actor_connection& c) {
    std::string chunk(64 * 1024, '\0');
    wire::decoder decoder(wire::packet_magic::response, {}, false);
    while (true) {
      net::error_code ec;
      const auto n = co_await c.socket.async_read_some(
          asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        c.closed = true;
        c.close_reason = ec == asio::error::eof ? "closed by the server" : ec.message();
        if (!c.closed_by_us) record(c.info.name, '*', "connection " + c.close_reason);
        c.signal.cancel();
        break;
      }
      if (c.binary()) {
        c.pending.append(chunk.data(), n);
        std::size_t used = 0;
        while (c.garbage.empty()) {
          wire::frame f;
          const auto r = decoder.decode(std::string_view(c.pending).substr(used), f);
          if (r.status == wire::decode_status::need_more) break;
          used += r.consumed;
          if (r.status == wire::decode_status::error) {
            c.garbage = r.error.message() + " (bytes " +
                        quote(std::string_view(c.pending).substr(used, 32)) + ")";
            record(c.info.name, '<', "undecodable: " + c.garbage);
            break;
          }
          auto p = wire::packet::from(f.packet);
          record(c.info.name, '<', wire::to_string(p), p);
          c.inbox.push_back(std::move(p));
        }
        c.pending.erase(0, used);
      } else {
        c.text.append(chunk.data(), n);
      }
      c.signal.cancel();
    }
  }

  /// Connects the actor if it is not yet connected. False (and an error verdict) if it cannot.
  asio::awaitable<bool> ensure_connected(actor_connection& c, const step& st) {
    if (c.connected) co_return true;
    endpoint where;
    try {
      where = servers_.address(c.info.server);
    } catch (const std::exception& e) {
      fail_error(st.mark, c.info.name + ": connect",
                 "an address for server '" + c.info.server + "'", e.what(), "target");
      co_return false;
    }
    net::error_code ec;
    const auto address = asio::ip::make_address(where.host, ec);
    if (ec) {
      fail_error(st.mark, c.info.name + ": connect", "a numeric address", where.host, "target");
      co_return false;
    }
    // Bounded connect: a timer closes the socket if the server does not answer.
    asio::steady_timer limit(io_);
    limit.expires_after(scaled(options_.default_timeout));
    auto on_limit = [&c](const net::error_code& e) {
      if (!e) {
        net::error_code ignored;
        c.socket.close(ignored);
      }
    };
    limit.async_wait(on_limit);
    co_await c.socket.async_connect(tcp::endpoint(address, where.port),
                                    asio::redirect_error(asio::use_awaitable, ec));
    limit.cancel();
    if (ec) {
      fail_error(st.mark, c.info.name + ": connect", "a connection to " + where.str(), ec.message(),
                 "could not reach the target");
      co_return false;
    }
    c.socket.set_option(tcp::no_delay(true), ec);
    c.connected = true;
    record(c.info.name, '*', "connected to " + where.str());
    auto on_reader_end = [](std::exception_ptr) {};
    asio::co_spawn(io_, reader(c), on_reader_end);
    co_return true;
  }

  asio::awaitable<bool> write(actor_connection& c, const step& st, const std::string& bytes,
                              std::size_t chunk) {
    if (c.closed) {
      fail(st.mark, describe(st), "an open connection to write to",
           "the connection was " + c.close_reason);
      co_return false;
    }
    const std::size_t piece = chunk ? chunk : bytes.size();
    for (std::size_t at = 0; at < bytes.size() || (at == 0 && bytes.empty()); at += piece) {
      net::error_code ec;
      const auto part = std::string_view(bytes).substr(at, piece);
      co_await asio::async_write(c.socket, asio::buffer(part.data(), part.size()),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        fail(st.mark, describe(st), "to write " + std::to_string(bytes.size()) + " bytes",
             "write failed: " + ec.message());
        co_return false;
      }
      if (bytes.empty()) break;
      if (st.chunk_delay.count() > 0 && at + piece < bytes.size()) co_await pause(st.chunk_delay);
    }
    co_return true;
  }

  // ------------------------------------------------------------------------------------------
  // Describing steps and expectations.

  static std::string describe(const step& st) {
    switch (st.type) {
      case step::kind::connect:
        return st.actor + ": connect";
      case step::kind::send:
        return st.actor + ": send " + std::string(wire::name(st.cmd));
      case step::kind::send_raw:
        return st.actor + ": send_raw";
      case step::kind::expect:
        return st.actor + ": expect " +
               (st.alternatives.size() == 1 && st.alternatives[0].size() == 1
                    ? std::string(wire::name(st.alternatives[0][0].cmd))
                    : std::to_string(st.alternatives.size()) + " alternative(s)");
      case step::kind::expect_none:
        return st.actor + ": expect_none";
      case step::kind::expect_closed:
        return st.actor + ": expect_closed";
      case step::kind::disconnect:
        return st.actor + ": disconnect";
      case step::kind::kill:
        return st.actor + ": kill";
      case step::kind::admin:
        return st.actor + ": admin";
      case step::kind::wait_until:
        return st.actor + ": wait_until";
      case step::kind::sleep:
        return "sleep";
      case step::kind::parallel:
        return "parallel";
      case step::kind::restart:
        return "restart " + st.server;
      case step::kind::crash:
        return "crash " + st.server;
    }
    return "step";
  }

  std::string describe(const matcher& m, const std::map<std::string, std::string>& local) {
    switch (m.type) {
      case matcher::kind::any:
        return "*";
      case matcher::kind::capture:
        return "<capture " + m.name + ">";
      case matcher::kind::regex:
        return "/" + expand(m.value, local) + "/";
      case matcher::kind::prefix:
        return quote(expand(m.value, local)) + "...";
      case matcher::kind::exact:
        return quote(expand(m.value, local));
    }
    return "?";
  }

  std::string describe(const packet_expectation& e,
                       const std::map<std::string, std::string>& local) {
    const auto& shape = wire::info(e.cmd);
    std::string out(shape.name);
    out += "(";
    for (std::size_t i = 0; i < e.args.size(); ++i) {
      if (i) out += ", ";
      out += std::string(shape.arg_names[i]) + "=" + describe(e.args[i], local);
    }
    return out + ")";
  }

  std::string describe(const std::vector<packet_expectation>& alt) {
    std::string out;
    for (const auto& p : alt) out += (out.empty() ? "" : " then ") + describe(p, {});
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // Matching.

  bool matches(const matcher& m, std::string_view value,
               std::map<std::string, std::string>& local) {
    switch (m.type) {
      case matcher::kind::any:
        return true;
      case matcher::kind::capture:
        local[m.name] = std::string(value);
        return true;
      case matcher::kind::exact:
        return value == expand(m.value, local);
      case matcher::kind::prefix:
        return value.substr(0, expand(m.value, local).size()) == expand(m.value, local);
      case matcher::kind::regex: {
        try {
          const std::regex re(expand(m.value, local), std::regex::ECMAScript);
          return std::regex_match(value.begin(), value.end(), re);
        } catch (const std::regex_error&) {
          return false;
        }
      }
    }
    return false;
  }

  enum class verdict { match, mismatch, need_more };

  /// Tries one alternative against the relevant received packets.
  verdict try_alternative(const std::vector<packet_expectation>& alt,
                          const std::vector<const wire::packet*>& got,
                          std::map<std::string, std::string>& local) {
    for (std::size_t i = 0; i < alt.size(); ++i) {
      if (i >= got.size()) return verdict::need_more;
      const auto& e = alt[i];
      const auto& p = *got[i];
      if (p.cmd != e.cmd) return verdict::mismatch;
      for (std::size_t a = 0; a < e.args.size(); ++a)
        if (a >= p.args.size() || !matches(e.args[a], p.args[a], local)) return verdict::mismatch;
    }
    return verdict::match;
  }

  asio::awaitable<bool> do_expect(actor_connection& c, const step& st) {
    const auto deadline = clock::now() + scaled(st.timeout.value_or(options_.default_timeout));
    // Packet types an alternative names are never skipped as "ignored".
    std::set<wire::command> named;
    for (const auto& alt : st.alternatives)
      for (const auto& p : alt) named.insert(p.cmd);
    while (!failed_) {
      std::vector<const wire::packet*> relevant;
      std::vector<std::size_t> positions;
      for (std::size_t i = 0; i < c.inbox.size(); ++i) {
        if (c.ignored(c.inbox[i].cmd) && !named.count(c.inbox[i].cmd)) continue;
        relevant.push_back(&c.inbox[i]);
        positions.push_back(i);
      }
      bool waiting = false;
      for (const auto& alt : st.alternatives) {
        std::map<std::string, std::string> local;
        const auto v = try_alternative(alt, relevant, local);
        if (v == verdict::match) {
          for (auto& [k, val] : local) vars_[k] = val;
          // Drop the matched packets and any ignored ones before them.
          c.inbox.erase(c.inbox.begin(),
                        c.inbox.begin() + static_cast<long>(positions[alt.size() - 1] + 1));
          co_return true;
        }
        if (v == verdict::need_more) waiting = true;
      }
      if (!waiting) {
        std::string actual;
        for (std::size_t i = 0; i < relevant.size() && i < 4; ++i)
          actual += (i ? ", " : "") + wire::to_string(*relevant[i]);
        std::string expected;
        for (const auto& alt : st.alternatives)
          expected += (expected.empty() ? "" : "  OR  ") + describe(alt);
        fail(st.mark, describe(st), expected, actual);
        co_return false;
      }
      if (!c.garbage.empty()) {
        fail(st.mark, describe(st), describe(st.alternatives[0]),
             "undecodable bytes: " + c.garbage);
        co_return false;
      }
      if (c.closed) {
        std::string expected;
        for (const auto& alt : st.alternatives)
          expected += (expected.empty() ? "" : "  OR  ") + describe(alt);
        fail(st.mark, describe(st), expected,
             "connection " + c.close_reason + (relevant.empty() ? "" : " after a partial match"));
        co_return false;
      }
      if (clock::now() >= deadline) {
        std::string expected;
        for (const auto& alt : st.alternatives)
          expected += (expected.empty() ? "" : "  OR  ") + describe(alt);
        std::string actual =
            "nothing within " +
            std::to_string(scaled(st.timeout.value_or(options_.default_timeout)).count()) + " ms";
        if (!relevant.empty())
          actual = "only " + wire::to_string(*relevant[0]) + (relevant.size() > 1 ? " ..." : "") +
                   " (timed out)";
        fail(st.mark, describe(st), expected, actual, "timeout");
        co_return false;
      }
      co_await nap(c.signal, deadline);
    }
    co_return false;
  }

  asio::awaitable<bool> do_expect_none(actor_connection& c, const step& st) {
    const auto deadline =
        clock::now() + st.length;  // the window itself is the behaviour: not scaled
    while (!failed_) {
      for (const auto& p : c.inbox) {
        if (c.ignored(p.cmd)) continue;
        fail(st.mark, describe(st), "nothing for " + std::to_string(st.length.count()) + " ms",
             wire::to_string(p));
        co_return false;
      }
      if (c.closed) {
        fail(st.mark, describe(st), "an open, quiet connection", "connection " + c.close_reason);
        co_return false;
      }
      if (clock::now() >= deadline) co_return true;
      co_await nap(c.signal, deadline);
    }
    co_return false;
  }

  asio::awaitable<bool> do_expect_closed(actor_connection& c, const step& st) {
    const auto deadline = clock::now() + scaled(st.timeout.value_or(options_.default_timeout));
    while (!failed_) {
      for (const auto& p : c.inbox) {
        if (c.ignored(p.cmd)) continue;
        fail(st.mark, describe(st), "the server closes the connection",
             wire::to_string(p) + " arrived first");
        co_return false;
      }
      if (c.closed) {
        c.close_expected = true;
        co_return true;
      }
      if (clock::now() >= deadline) {
        fail(st.mark, describe(st), "the server closes the connection",
             "still open after " +
                 std::to_string(scaled(st.timeout.value_or(options_.default_timeout)).count()) +
                 " ms",
             "timeout");
        co_return false;
      }
      co_await nap(c.signal, deadline);
    }
    co_return false;
  }

  // ------------------------------------------------------------------------------------------
  // Admin.

  /// Sends the admin line and reads one whole answer.
  asio::awaitable<std::optional<wire::admin_response>> admin_round_trip(
      actor_connection& c, const step& st, const std::string& line, clock::time_point deadline,
      std::string* previous = nullptr) {
    // wait_until polls: a repeated identical answer is counted, not recorded again.
    const bool quiet = previous && !previous->empty();
    if (!quiet) record(c.info.name, '>', quote(line));
    if (!co_await write(c, st, line + "\n", 0)) co_return std::nullopt;
    const auto shape = wire::admin_response_shape(line);
    while (!failed_) {
      wire::admin_response answer;
      const auto r = wire::parse_admin_response(c.text, shape, answer);
      if (r.status == wire::decode_status::complete) {
        c.text.erase(0, r.consumed);
        std::string shown;
        for (const auto& l : answer.lines)
          shown += (shown.empty() ? "" : " | ") + wire::escape_bytes(l, 200);
        shown =
            answer.type == wire::admin_response::kind::list ? "[" + shown + "] ." : quote(shown);
        if (!previous || *previous != shown) {
          if (quiet) record(c.info.name, '>', quote(line) + " (polling)");
          record(c.info.name, '<', shown);
          if (previous) *previous = shown;
        }
        co_return answer;
      }
      if (r.status == wire::decode_status::error) {
        fail(st.mark, describe(st), "an admin answer", r.error.message());
        co_return std::nullopt;
      }
      if (c.closed) {
        fail(st.mark, describe(st), "an answer to " + quote(line),
             "connection " + c.close_reason + (c.text.empty() ? "" : " after " + quote(c.text)));
        co_return std::nullopt;
      }
      if (clock::now() >= deadline) {
        fail(st.mark, describe(st), "an answer to " + quote(line),
             c.text.empty() ? "nothing (timed out)"
                            : "incomplete answer " + quote(c.text) + " (timed out)",
             "timeout");
        co_return std::nullopt;
      }
      co_await nap(c.signal, deadline);
    }
    co_return std::nullopt;
  }

  /// Assigns matchers to distinct lines (small n: backtracking).
  bool assign_lines(const std::vector<matcher>& ms, std::size_t i,
                    const std::vector<std::string>& lines, std::vector<bool>& used,
                    std::map<std::string, std::string>& local) {
    if (i == ms.size()) return true;
    for (std::size_t l = 0; l < lines.size(); ++l) {
      if (used[l]) continue;
      auto trial = local;
      if (!matches(ms[i], lines[l], trial)) continue;
      used[l] = true;
      if (assign_lines(ms, i + 1, lines, used, trial)) {
        local = trial;
        return true;
      }
      used[l] = false;
    }
    return false;
  }

  /// Judges an answer; returns "" if it matches, otherwise what is wrong.
  std::string judge(const scenario::admin_expectation& want, const wire::admin_response& got,
                    std::map<std::string, std::string>& local) {
    using k = scenario::admin_expectation::kind;
    const auto got_kind = got.type;
    if (want.response != k::any) {
      const bool ok = (want.response == k::ok && got_kind == wire::admin_response::kind::ok) ||
                      (want.response == k::err && got_kind == wire::admin_response::kind::err) ||
                      (want.response == k::list && got_kind == wire::admin_response::kind::list) ||
                      (want.response == k::other && got_kind == wire::admin_response::kind::other);
      if (!ok)
        return std::string("a response of kind ") +
               (want.response == k::ok     ? "ok"
                : want.response == k::err  ? "err"
                : want.response == k::list ? "list"
                                           : "other") +
               ", got " + std::string(wire::name(got_kind));
    }
    if (want.line) {
      const std::string whole = got.lines.empty() ? std::string{} : got.lines[0];
      if (got.lines.size() != 1 || !matches(*want.line, whole, local))
        return "the line " + describe(*want.line, local) + ", got " + quote(whole);
    }
    if (want.lines) {
      const auto& ms = *want.lines;
      bool ok = ms.size() == got.lines.size();
      if (ok && !want.unordered) {
        for (std::size_t i = 0; i < ms.size() && ok; ++i) ok = matches(ms[i], got.lines[i], local);
      } else if (ok) {
        std::vector<bool> used(got.lines.size(), false);
        ok = assign_lines(ms, 0, got.lines, used, local);
      }
      if (!ok) {
        std::string w;
        for (const auto& m : ms) w += (w.empty() ? "" : ", ") + describe(m, local);
        return std::string("exactly the lines [") + w + "]" +
               (want.unordered ? " in any order" : "");
      }
    }
    if (!want.contains.empty()) {
      std::vector<bool> used(got.lines.size(), false);
      if (!assign_lines(want.contains, 0, got.lines, used, local)) {
        std::string w;
        for (const auto& m : want.contains) w += (w.empty() ? "" : ", ") + describe(m, local);
        return "lines including [" + w + "]";
      }
    }
    for (const auto& m : want.excludes) {
      for (const auto& l : got.lines) {
        auto trial = local;
        if (matches(m, l, trial)) return "no line like " + describe(m, local) + ", got " + quote(l);
      }
    }
    return {};
  }

  std::string show(const wire::admin_response& got) {
    std::string out;
    for (const auto& l : got.lines) out += (out.empty() ? "" : " | ") + quote(l);
    return std::string(wire::name(got.type)) + ": " + (out.empty() ? "(no lines)" : out);
  }

  asio::awaitable<bool> do_admin(actor_connection& c, const step& st) {
    const auto line = expand(st.admin_line);
    const auto deadline = clock::now() + scaled(st.timeout.value_or(options_.default_timeout));
    if (st.type == step::kind::admin) {
      const auto answer = co_await admin_round_trip(c, st, line, deadline);
      if (!answer) co_return false;
      std::map<std::string, std::string> local;
      const auto wrong = judge(st.answer, *answer, local);
      if (!wrong.empty()) {
        fail(st.mark, describe(st) + " " + quote(line), wrong, show(*answer));
        co_return false;
      }
      for (auto& [k2, v] : local) vars_[k2] = v;
      co_return true;
    }
    // wait_until: poll, bounded by the timeout (never a bare sleep). Each poll may take the usual
    // admin timeout, so the last answer is judged rather than cut off.
    std::optional<wire::admin_response> last;
    std::string wrong;
    std::string previous;
    int polls = 0;
    while (!failed_) {
      const auto poll_deadline =
          std::max(deadline, clock::now() + scaled(options_.default_timeout));
      auto answer = co_await admin_round_trip(c, st, line, poll_deadline, &previous);
      if (!answer) co_return false;
      last = std::move(answer);
      ++polls;
      std::map<std::string, std::string> local;
      wrong = judge(st.answer, *last, local);
      if (wrong.empty()) {
        for (auto& [k2, v] : local) vars_[k2] = v;
        co_return true;
      }
      if (clock::now() + milliseconds(20) >= deadline) break;
      co_await pause(milliseconds(20));
    }
    if (!failed_)
      fail(st.mark, describe(st) + " " + quote(line), wrong, last ? show(*last) : "no answer",
           "timeout after " + std::to_string(polls) + " polls");
    co_return false;
  }

  // ------------------------------------------------------------------------------------------
  // Steps.

  asio::awaitable<bool> run_steps(const scenario::step_list& steps) {
    for (const auto& st : steps) {
      if (failed_) co_return false;
      if (!co_await run_step(st)) co_return false;
    }
    co_return !failed_;
  }

  asio::awaitable<void> run_branch(const scenario::step_list& steps, std::size_t& remaining,
                                   asio::steady_timer& joined) {
    co_await run_steps(steps);
    if (--remaining == 0) joined.cancel();
  }

  asio::awaitable<bool> run_step(const step& st) {
    if (st.type == step::kind::sleep) {
      record("", '*', "sleep " + std::to_string(st.length.count()) + " ms");
      co_await pause(st.length);
      co_return !failed_;
    }
    if (st.type == step::kind::parallel) {
      std::size_t remaining = st.branches.size();
      asio::steady_timer joined(io_);
      joined.expires_at(asio::steady_timer::time_point::max());
      for (const auto& branch : st.branches) {
        auto on_branch_end = [](std::exception_ptr) {};
        asio::co_spawn(io_, run_branch(branch, remaining, joined), on_branch_end);
      }
      while (remaining > 0) {
        net::error_code ec;
        co_await joined.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      co_return !failed_;
    }
    if (st.type == step::kind::restart || st.type == step::kind::crash)
      co_return restart_server(st);
    auto& c = *conns_.at(st.actor);
    if (c.lost_to_restart && st.type != step::kind::disconnect && st.type != step::kind::kill) {
      fail(st.mark, describe(st), "an actor whose connection is usable",
           "its connection ended when server '" + c.info.server + "' was restarted",
           "use a new actor after a restart or crash (the scenario's fault)", outcome::error);
      co_return false;
    }
    if (st.type == step::kind::disconnect || st.type == step::kind::kill) {
      if (!c.connected) {
        fail(st.mark, describe(st), "an open connection", "never connected");
        co_return false;
      }
      if (c.closed) {
        // The scenario ends this connection anyway; the server got there first.
        c.closed_by_us = true;
        record(c.info.name, '*', "already " + c.close_reason);
        co_return true;
      }
      net::error_code ec;
      c.closed_by_us = true;
      if (st.type == step::kind::kill) {
        c.socket.set_option(asio::socket_base::linger(true, 0), ec);  // close sends RST
      } else {
        c.socket.shutdown(tcp::socket::shutdown_both, ec);
      }
      c.socket.close(ec);
      record(c.info.name, '*', st.type == step::kind::kill ? "killed (RST)" : "disconnected");
      co_return true;
    }
    if (!co_await ensure_connected(c, st)) co_return false;
    switch (st.type) {
      case step::kind::connect:
        co_return true;
      case step::kind::send: {
        std::string payload;
        for (std::size_t i = 0; i < st.args.size(); ++i) {
          if (i) payload.push_back('\0');
          payload += expand(st.args[i]);
        }
        std::string bytes;
        // Arguments are joined as given, so a scenario can also put NULs where the shape does not
        // expect them; the codec prints what was actually sent.
        wire::encode_raw(wire::magic_bytes(st.request_magic ? wire::packet_magic::request
                                                            : wire::packet_magic::response),
                         wire::number(st.cmd), static_cast<std::uint32_t>(payload.size()), payload,
                         bytes);
        wire::decoder d(
            st.request_magic ? wire::packet_magic::request : wire::packet_magic::response, {},
            false);
        wire::frame f;
        const auto r = d.decode(bytes, f);
        if (r.status == wire::decode_status::complete)
          record(c.info.name, '>', wire::to_string(f.packet, {64, !st.request_magic}),
                 wire::packet::from(f.packet));
        else
          record(c.info.name, '>', std::string(wire::name(st.cmd)) + " (malformed)");
        co_return co_await write(c, st, bytes, st.chunk);
      }
      case step::kind::send_raw: {
        const auto bytes = expand(st.raw);
        record(c.info.name, '>',
               "raw " + std::to_string(bytes.size()) + " bytes " + quote(bytes) +
                   (st.chunk ? " in chunks of " + std::to_string(st.chunk) : ""));
        co_return co_await write(c, st, bytes, st.chunk);
      }
      case step::kind::expect:
        co_return co_await do_expect(c, st);
      case step::kind::expect_none:
        co_return co_await do_expect_none(c, st);
      case step::kind::expect_closed:
        co_return co_await do_expect_closed(c, st);
      case step::kind::admin:
      case step::kind::wait_until:
        co_return co_await do_admin(c, st);
      default:
        co_return false;
    }
  }

  /// restart / crash: blocks this thread while the target stops and starts the server (bounded by
  /// the target). Connections to that server end; that is expected, not a failure.
  bool restart_server(const step& st) {
    const bool crash = st.type == step::kind::crash;
    for (auto& [name, c] : conns_)
      if (c->info.server == st.server && c->connected) c->lost_to_restart = true;
    record("", '*',
           crash ? "crash server " + st.server + " (killed, then started again)"
                 : "restart server " + st.server);
    try {
      servers_.restart(st.server, crash);
    } catch (const target_error& e) {
      fail(st.mark, describe(st), "the server to start again", e.what(),
           "target could not restart the server", outcome::error);
      return false;
    }
    record("", '*',
           "server " + st.server + " listening again on " + servers_.address(st.server).str());
    return true;
  }

  asio::awaitable<void> main() {
    const bool ok = co_await run_steps(s_.steps);
    if (ok && !failed_) {
      // Let stray packets arrive, then nothing may be left unexplained.
      co_await pause(options_.settle);
      for (const auto& a : s_.actors) {
        auto& c = *conns_.at(a.name);
        if (failed_) break;
        const scenario::source_mark end_mark{s_.file, 0, 0};
        if (!c.garbage.empty()) {
          fail(end_mark, a.name + ": end of scenario", "only Gearman packets",
               "undecodable bytes: " + c.garbage);
          break;
        }
        for (const auto& p : c.inbox) {
          if (c.ignored(p.cmd)) continue;
          fail(end_mark, a.name + ": end of scenario", "no packet that no step expects",
               wire::to_string(p),
               "unexpected packet (expect it, or add its type to the actor's ignore list)");
          break;
        }
        if (!failed_ && c.binary() && c.closed && !c.closed_by_us && !c.close_expected &&
            !c.lost_to_restart)
          fail(end_mark, a.name + ": end of scenario", "the connection to stay open",
               "connection " + c.close_reason,
               "unexpected disconnect (add an expect_closed step if the server should close it)");
        if (!failed_ && !c.binary() && !c.text.empty())
          fail(end_mark, a.name + ": end of scenario", "no unread admin output", quote(c.text));
      }
    }
    finish();
  }

  const scenario::scenario& s_;
  target_instance& servers_;
  run_options options_;
  asio::io_context io_{1};
  asio::steady_timer watchdog_;
  std::map<std::string, std::unique_ptr<actor_connection>> conns_;
  std::map<std::string, std::string> vars_;
  std::set<asio::steady_timer*> timers_;
  std::vector<transcript_entry> transcript_;
  clock::time_point start_;
  std::string token_;
  bool failed_ = false;
  run_result result_;
};

}  // namespace

run_result run_scenario(const scenario::scenario& s, target_instance& servers,
                        const run_options& options) {
  scenario_runner runner(s, servers, options);
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
