#include "harness/clients/case_runner.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "harness/clients/agent_process.hpp"
#include "harness/engine/actor.hpp"
#include "harness/engine/expectation.hpp"
#include "harness/engine/json.hpp"
#include "harness/wire/encoder.hpp"
#include "harness/wire/printer.hpp"

namespace gearspec::clients {

namespace asio = net::asio;
using net::tcp;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

const char* verdict_name(case_verdict v) {
  switch (v) {
    case case_verdict::pass:
      return "pass";
    case case_verdict::fail:
      return "fail";
    case case_verdict::hang:
      return "hang";
    case case_verdict::crash:
      return "crash";
    case case_verdict::error:
      return "error";
    case case_verdict::unsupported:
      return "unsupported";
    case case_verdict::informational:
      return "informational";
    case case_verdict::expected_fail:
      return "expected-fail";
    case case_verdict::unexpected_pass:
      return "unexpected-pass";
  }
  return "?";
}

namespace {

std::string ms_text(milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

/// A step's result: ok, or why the case ends here.
struct outcome {
  case_verdict verdict = case_verdict::pass;
  std::string expected, actual, cause;
  static outcome ok() { return {}; }
  explicit operator bool() const { return verdict == case_verdict::pass; }
};

outcome from_step(const engine::step_outcome& s) {
  using k = engine::step_outcome::kind;
  if (s.result == k::ok) return outcome::ok();
  outcome o;
  o.verdict = s.result == k::fail ? case_verdict::fail : case_verdict::error;
  o.expected = s.expected;
  o.actual = s.actual + (s.note.empty() ? "" : " (" + s.note + ")");
  o.cause = s.cause.empty() ? s.actual : s.cause;
  return o;
}

class case_run {
 public:
  case_run(const client_case& c, const agent_spec& agent, const case_settings& settings)
      : c_(c),
        agent_spec_(agent),
        settings_(settings),
        vars_(engine::random_token()),
        signal_(io_) {
    result_.case_id = c.id;
    result_.title = c.title;
    result_.level = c.level;
    result_.requirements = c.requirements;
    result_.agent = agent.name;
    ignore_ = c.ignore;
    for (auto cmd : {wire::command::option_req, wire::command::echo_req,
                     wire::command::set_client_id, wire::command::reset_abilities})
      if (std::find(ignore_.begin(), ignore_.end(), cmd) == ignore_.end()) ignore_.push_back(cmd);
  }

  case_result run() {
    const auto started = clock_type::now();
    bool done = false;
    // When the case ends, so does the run: readers and accept loops still pending are dropped.
    auto on_end = [this, &done](std::exception_ptr e) {
      done = true;
      io_.stop();
      if (e) std::rethrow_exception(e);
    };
    try {
      asio::co_spawn(io_, main(), on_end);
      io_.run_for(settings_.case_limit + milliseconds(5000));
    } catch (const std::exception& e) {
      set(outcome{case_verdict::error, "the case to run", e.what(), "harness error"}, "");
    }
    if (!done && result_.verdict == case_verdict::pass)
      set(outcome{case_verdict::hang, "the case to end within " + ms_text(settings_.case_limit),
                  "it did not", "case time limit"},
          "");
    if (agent_) {
      agent_->kill();
      result_.adapter_stderr = agent_->stderr_tail();
    }
    result_.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    if (c_.level == "INFO" && (result_.verdict == case_verdict::fail)) {
      result_.note += (result_.note.empty() ? "" : "; then ") + result_.actual;
      result_.verdict = case_verdict::informational;
    } else if (c_.level == "INFO" && result_.verdict == case_verdict::pass) {
      result_.verdict = case_verdict::informational;
    }
    return std::move(result_);
  }

 private:
  struct server_state {
    std::string name;
    std::uint16_t port = 0;
    std::unique_ptr<tcp::acceptor> acceptor;
    std::unique_ptr<tcp::acceptor> reserved;  ///< a down server's port: bound, not listening
    std::deque<tcp::socket> pending;
    std::vector<std::string> connections;
  };

  void note(char direction, const std::string& who, const std::string& text) {
    const auto t = std::chrono::duration_cast<milliseconds>(clock_type::now() - t0_).count();
    std::ostringstream line;
    line << "[" << t << " ms] " << who << " " << direction << " " << text;
    result_.transcript.push_back(line.str());
  }

  void set(const outcome& o, const std::string& where) {
    if (result_.verdict != case_verdict::pass) return;
    result_.verdict = o.verdict;
    result_.expected = o.expected;
    result_.actual = o.actual;
    result_.cause = o.cause;
    result_.where = where;
  }

  asio::awaitable<void> main() {
    t0_ = clock_type::now();
    deadline_ = t0_ + settings_.case_limit;
    for (const auto& s : c_.servers) {
      auto& st = servers_[s.name];
      st.name = s.name;
      if (s.down) {
        // A port nothing listens on, kept bound for the whole case (never listen()ed, so a
        // connection is refused), so that no other case's server can be given it meanwhile.
        st.reserved = std::make_unique<tcp::acceptor>(io_);
        st.reserved->open(tcp::v4());
        st.reserved->bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        st.port = st.reserved->local_endpoint().port();
        note('*', s.name, "down: nothing listens on port " + std::to_string(st.port));
      } else {
        listen(st);
      }
      addresses_ +=
          (addresses_.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(st.port);
    }
    auto sink = [this](char direction, const std::string& line) { note(direction, "agent", line); };
    agent_ = std::make_unique<agent_process>(
        io_, agent_spec_.command,
        std::map<std::string, std::string>{{"GEARSPEC_SERVERS", addresses_},
                                           {"GEARSPEC_CASE", c_.id}},
        sink);
    try {
      agent_->start();
    } catch (const std::exception& e) {
      set(outcome{case_verdict::error, "the adapter to start", e.what(), "adapter did not start"},
          "");
      co_return;
    }
    if (auto o = co_await hello(); !o) {
      set(o, c_.file);
      co_await agent_->finish(milliseconds(500));
      co_return;
    }
    for (const auto& st : c_.steps) {
      auto o = co_await run_step(st);
      if (!o) {
        set(o, st.mark.str());
        break;
      }
    }
    if (result_.verdict == case_verdict::pass) {
      (void)co_await agent_->send(R"({"cmd":"quit"})");
      co_await agent_->finish(milliseconds(3000));
      check_after_quit();
    } else {
      agent_->kill();
    }
    for (auto& [name, a] : conns_) a->abort();
    for (auto& [name, s] : servers_)
      if (s.acceptor) s.acceptor->close();
  }

  // --- servers -------------------------------------------------------------------------------

  void listen(server_state& st) {
    st.acceptor = std::make_unique<tcp::acceptor>(io_);
    const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), st.port);
    st.acceptor->open(at.protocol());
    st.acceptor->set_option(asio::socket_base::reuse_address(true));
    st.acceptor->bind(at);
    st.acceptor->listen();
    st.port = st.acceptor->local_endpoint().port();
    note('*', st.name, "listening on 127.0.0.1:" + std::to_string(st.port));
    auto detached = [](std::exception_ptr) {};
    asio::co_spawn(io_, accept_loop(st.name, st.acceptor.get()), detached);
  }

  asio::awaitable<void> accept_loop(std::string server, tcp::acceptor* acceptor) {
    while (true) {
      net::error_code ec;
      tcp::socket s(io_);
      co_await acceptor->async_accept(s, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;  // closed: the server stopped
      auto it = servers_.find(server);
      if (it == servers_.end() || it->second.acceptor.get() != acceptor) co_return;
      it->second.pending.push_back(std::move(s));
      signal_.cancel();
    }
  }

  asio::awaitable<void> nap(clock_type::time_point until) {
    signal_.expires_at(std::min(until, clock_type::now() + milliseconds(50)));
    net::error_code ec;
    co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  // --- the agent -----------------------------------------------------------------------------

  asio::awaitable<outcome> hello() {
    const auto until = clock_type::now() + std::max(settings_.step_timeout, milliseconds(10000));
    while (true) {
      auto& evs = agent_->events();
      if (!evs.empty()) {
        auto& ev = evs.front();
        ev.consumed = true;
        if (ev.name() != "hello")
          co_return outcome{case_verdict::error, "a hello event first", ev.line,
                            "adapter broke the contract: no hello"};
        result_.library = ev.text("library") + " " + ev.text("version");
        result_.based_on = ev.text("based_on");
        result_.adapter_note = ev.text("note");
        if (const auto it = ev.fields.find("capabilities"); it != ev.fields.end())
          for (const auto& cap : it->second.list) capabilities_.push_back(cap.text);
        for (const auto& need : c_.needs)
          if (std::find(capabilities_.begin(), capabilities_.end(), need) == capabilities_.end())
            co_return outcome{case_verdict::unsupported, "capability " + need,
                              "the adapter does not list it", "lacks " + need};
        co_return outcome::ok();
      }
      if (auto o = adapter_broke(); !o) co_return o;
      if (agent_->finished()) {
        co_await settle();
        co_return outcome{agent_->ended_badly() ? case_verdict::crash : case_verdict::error,
                          "a hello event", ended_text(), "adapter ended before hello"};
      }
      if (clock_type::now() >= until)
        co_return outcome{
            case_verdict::error, "a hello event",
            "nothing within " + ms_text(std::max(settings_.step_timeout, milliseconds(10000))),
            "adapter said no hello"};
      co_await agent_->wait(until);
    }
  }

  /// Once stdout closed, the exit status follows shortly: wait for it (bounded) so that a crash
  /// is told apart from an adapter that stopped writing.
  asio::awaitable<void> settle() {
    for (int i = 0; i < 100 && agent_->finished() && !agent_->ended(); ++i)
      co_await agent_->wait(clock_type::now() + milliseconds(5));
  }

  std::string ended_text() {
    const auto e = agent_->ended();
    return "the adapter ended (" + (e ? *e : std::string("output closed")) + ")";
  }

  outcome adapter_broke() {
    if (agent_->contract_error().empty()) return outcome::ok();
    return {case_verdict::error, "JSON event lines", agent_->contract_error(),
            "adapter broke the contract"};
  }

  std::string command_json(const agent_command& c) {
    std::ostringstream out;
    engine::json_writer w(out);
    w.begin_object().key("cmd").value(c.verb);
    if (!c.id.empty()) w.key("id").value(c.id);
    if (c.function) w.key("function").value(vars_.expand(*c.function));
    if (c.unique) w.key("unique").value(vars_.expand(*c.unique));
    if (c.handle) w.key("handle").value(vars_.expand(*c.handle));
    if (c.data) w.key("data_hex").value(to_hex(vars_.expand(*c.data)));
    if (!c.priority.empty()) w.key("priority").value(c.priority);
    if (c.verb == "submit") w.key("background").value(c.background);
    if (c.timeout) w.key("timeout_ms").value(static_cast<std::int64_t>(c.timeout->count()));
    if (c.jobs) w.key("jobs").value(c.jobs);
    if (c.verb == "register") {
      w.key("script").begin_array();
      for (const auto& a : c.script) {
        w.begin_object();
        w.key("do").value(job_action::name(a.what));
        if (job_action::carries_bytes(a.what))
          w.key("data_hex").value(to_hex(vars_.expand(a.bytes)));
        if (a.what == job_action::kind::status)
          w.key("numerator").value(a.numerator).key("denominator").value(a.denominator);
        if (a.what == job_action::kind::sleep)
          w.key("ms").value(static_cast<std::int64_t>(a.pause.count()));
        w.end_object();
      }
      w.end_array();
    }
    w.end_object();
    return out.str();
  }

  /// The value of an event field as bytes: data comes hex-encoded.
  static std::optional<std::string> event_value(const agent_event& ev, const std::string& key) {
    if (key == "data") {
      if (ev.fields.count("data_hex")) return from_hex(ev.text("data_hex"));
      if (ev.fields.count("data")) return ev.text("data");
      return std::nullopt;
    }
    if (!ev.fields.count(key)) return std::nullopt;
    return ev.text(key);
  }

  std::string describe(const event_expectation& w) {
    std::string out;
    for (const auto& e : w.events) out += (out.empty() ? "" : "|") + e;
    if (!w.id.empty()) out += " for " + w.id;
    auto add = [&](const char* key, const std::optional<matcher>& m) {
      if (m) out += std::string(", ") + key + " " + engine::describe(*m, vars_);
    };
    add("data", w.data);
    add("function", w.function);
    add("unique", w.unique);
    add("handle", w.handle);
    add("class", w.error_class);
    if (w.numerator)
      out += ", " + std::to_string(*w.numerator) + "/" + std::to_string(w.denominator.value_or(0));
    if (w.known) out += std::string(", known ") + (*w.known ? "true" : "false");
    if (w.running) out += std::string(", running ") + (*w.running ? "true" : "false");
    return out;
  }

  static std::string shown(const agent_event& ev) {
    std::string out = ev.name();
    if (!ev.id().empty()) out += " for " + ev.id();
    for (const auto& [k, f] : ev.fields) {
      if (k == "event" || k == "id") continue;
      std::string v = f.is_list ? "[...]" : f.value.text;
      if (k == "data_hex") {
        try {
          out += ", data " + engine::quote(from_hex(v));
        } catch (const std::exception&) {
          out += ", data_hex (not hex) " + v.substr(0, 40);
        }
        continue;
      }
      if (f.value.type == json_scalar::kind::boolean) v = f.value.flag ? "true" : "false";
      out += ", " + k + " " + (f.value.type == json_scalar::kind::string ? engine::quote(v) : v);
    }
    return out;
  }

  /// "" when the event matches; otherwise what differs.
  std::string judge(const event_expectation& w, const agent_event& ev, engine::bindings& pending) {
    if (std::find(w.events.begin(), w.events.end(), ev.name()) == w.events.end()) return "event";
    auto check = [&](const char* key, const std::optional<matcher>& m) -> bool {
      if (!m) return true;
      std::optional<std::string> v;
      try {
        v = event_value(ev, key);
      } catch (const std::exception&) {
        return false;
      }
      return v && engine::matches(*m, *v, vars_, pending);
    };
    if (!check("data", w.data)) return "data";
    if (!check("function", w.function)) return "function";
    if (!check("unique", w.unique)) return "unique";
    if (!check("handle", w.handle)) return "handle";
    if (!check("class", w.error_class)) return "class";
    auto number = [&](const char* key, const std::optional<unsigned>& n) {
      return !n || ev.text(key) == std::to_string(*n);
    };
    if (!number("numerator", w.numerator) || !number("denominator", w.denominator)) return "status";
    auto flag = [&](const char* key, const std::optional<bool>& b) {
      return !b || ev.text(key) == (*b ? "true" : "false");
    };
    if (!flag("known", w.known) || !flag("running", w.running)) return "status";
    return {};
  }

  static bool quiet_kind(const agent_event& ev) { return ev.name() == "created"; }

  agent_event* next_event_for(const event_expectation& w) {
    const bool wants_created =
        std::find(w.events.begin(), w.events.end(), "created") != w.events.end();
    const bool wants_done = std::find(w.events.begin(), w.events.end(), "done") != w.events.end();
    for (auto& ev : agent_->events()) {
      if (ev.consumed) continue;
      if (quiet_kind(ev) && !wants_created) continue;
      if (wants_done) return &ev;  // everything before done must have been expected
      if (ev.id() == w.id) return &ev;
      if (ev.name() == "error" && ev.id().empty()) return &ev;  // a library-wide error
    }
    return nullptr;
  }

  asio::awaitable<outcome> expect_event(const agent_expect_step& st) {
    const auto limit = st.timeout.value_or(settings_.step_timeout);
    const auto until = std::min(deadline_, clock_type::now() + limit);
    while (true) {
      if (auto* ev = next_event_for(st.want)) {
        engine::bindings pending;
        std::string differs;
        try {
          differs = judge(st.want, *ev, pending);
        } catch (const engine::bad_pattern& e) {
          co_return outcome{case_verdict::error, describe(st.want), e.what(), "bad pattern"};
        }
        ev->consumed = true;
        if (differs.empty()) {
          vars_.commit(pending);
          co_return outcome::ok();
        }
        const bool wanted_done =
            std::find(st.want.events.begin(), st.want.events.end(), "done") != st.want.events.end();
        co_return outcome{case_verdict::fail, "event " + describe(st.want), "event " + shown(*ev),
                          wanted_done ? "an event no step expected, before done: " + ev->name()
                          : differs == "event"
                              ? "expected event " + st.want.events.front() + ", got " + ev->name()
                              : "event " + ev->name() + " with another " + differs};
      }
      if (auto o = adapter_broke(); !o) co_return o;
      if (agent_->finished()) co_await settle();
      if (agent_->finished())
        co_return outcome{agent_->ended_badly() ? case_verdict::crash : case_verdict::error,
                          "event " + describe(st.want), ended_text(),
                          agent_->ended_badly() ? "the library crashed" : "adapter ended early"};
      if (clock_type::now() >= until)
        co_return outcome{case_verdict::hang, "event " + describe(st.want),
                          "nothing within " + ms_text(limit) + " (the adapter is still running)",
                          "no " + st.want.events.front() + " event: the library hangs"};
      co_await agent_->wait(until);
    }
  }

  asio::awaitable<outcome> quiet(const agent_quiet_step& st) {
    const auto until = clock_type::now() + st.window;
    while (clock_type::now() < until) {
      for (auto& ev : agent_->events())
        if (!ev.consumed && !quiet_kind(ev)) {
          ev.consumed = true;
          co_return outcome{case_verdict::fail, "no event for " + ms_text(st.window),
                            "event " + shown(ev), "an event no step expected: " + ev.name()};
        }
      if (auto o = adapter_broke(); !o) co_return o;
      if (agent_->finished() && agent_->ended_badly())
        co_return outcome{case_verdict::crash, "no event for " + ms_text(st.window), ended_text(),
                          "the library crashed"};
      co_await agent_->wait(until);
    }
    co_return outcome::ok();
  }

  void check_after_quit() {
    if (auto o = adapter_broke(); !o) return set(o, c_.file);
    for (auto& ev : agent_->events())
      if (!ev.consumed && !quiet_kind(ev) && ev.name() != "done") {
        ev.consumed = true;
        return set(outcome{case_verdict::fail, "no event no step expected", "event " + shown(ev),
                           "an event no step expected: " + ev.name()},
                   c_.file);
      }
    if (agent_->ended_badly())
      set(outcome{case_verdict::crash, "the adapter to exit 0 after quit", ended_text(),
                  "the library crashed at the end"},
          c_.file);
  }

  // --- connections ---------------------------------------------------------------------------

  engine::actor* connection(const std::string& name) {
    const auto it = conns_.find(name);
    return it == conns_.end() ? nullptr : it->second.get();
  }

  void auto_answer(const std::string& name, const wire::packet& p) {
    // OPTION_REQ and ECHO_REQ are answered as a server would, unless the case's ignore list made
    // them its own business; the transcript shows both directions.
    wire::command reply;
    if (p.cmd == wire::command::option_req)
      reply = wire::command::option_res;
    else if (p.cmd == wire::command::echo_req)
      reply = wire::command::echo_res;
    else
      return;
    if (std::find(c_.ignore.begin(), c_.ignore.end(), p.cmd) != c_.ignore.end()) return;
    auto* a = connection(name);
    if (!a) return;
    std::string bytes;
    std::vector<std::string_view> args;
    for (const auto& arg : p.args) args.push_back(arg);
    wire::encode(wire::packet_magic::response, reply, args, bytes);
    wire::packet shown_packet{wire::packet_magic::response, reply, p.args};
    auto write =
        a->write(std::move(bytes), {}, wire::to_string(shown_packet) + " (answered by the harness)",
                 shown_packet);
    auto ignore_result = [](std::exception_ptr, engine::step_outcome) {};
    asio::co_spawn(io_, std::move(write), ignore_result);
  }

  asio::awaitable<outcome> accept(const accept_step& st) {
    auto& server = servers_[st.server];
    const auto limit = st.timeout.value_or(settings_.step_timeout);
    const auto until = std::min(deadline_, clock_type::now() + limit);
    while (server.pending.empty()) {
      if (auto o = adapter_broke(); !o) co_return o;
      if (agent_->finished() && agent_->ended_badly())
        co_return outcome{case_verdict::crash, "a connection to " + st.server, ended_text(),
                          "the library crashed"};
      if (clock_type::now() >= until)
        co_return outcome{case_verdict::fail, "a connection to " + st.server,
                          "none within " + ms_text(limit), "the library did not connect"};
      co_await nap(until);
    }
    auto sink = [this, name = st.connection](const std::string&, char direction, std::string text,
                                             std::optional<wire::packet> p) {
      note(direction, name, text);
      if (direction == '<' && p) auto_answer(name, *p);
    };
    auto a = std::make_unique<engine::actor>(io_, st.connection, ignore_, sink,
                                             engine::actor::accepted_peer{});
    auto* raw = a.get();
    conns_[st.connection] = std::move(a);
    server.connections.push_back(st.connection);
    raw->adopt(std::move(server.pending.front()));
    server.pending.pop_front();
    note('*', st.connection, "is the library's connection to " + st.server);
    co_return outcome::ok();
  }

  asio::awaitable<outcome> server_fault(const server_step& st) {
    auto& server = servers_[st.server];
    // A restart keeps the listening socket: released, its port could be taken by any other
    // socket on the machine before it is bound again (seen under load). Its connections end
    // either way, and connections accepted but never named go with the old server.
    if (!st.listen_again) {
      if (server.acceptor) server.acceptor->close();
      server.acceptor.reset();
    }
    server.pending.clear();
    for (const auto& name : server.connections)
      if (auto* a = connection(name)) a->close(st.abortive);
    note('*', st.server,
         st.listen_again ? "restarted: every connection dropped, the port still listening"
         : st.abortive   ? "crashed"
                         : "stopped");
    co_return outcome::ok();
  }

  asio::awaitable<outcome> answer_grab(const answer_grab_step& st) {
    auto* a = connection(st.connection);
    const auto limit = st.timeout.value_or(settings_.step_timeout);
    const auto until = std::min(deadline_, clock_type::now() + limit);
    engine::alternatives grabs;
    for (auto cmd : {wire::command::grab_job, wire::command::grab_job_uniq,
                     wire::command::grab_job_all, wire::command::pre_sleep})
      grabs.push_back({scenario::packet_expectation{cmd, {}, {}}});
    std::vector<wire::packet> matched;
    for (int sleeps = 0;; ++sleeps) {
      matched.clear();
      auto got = co_await a->expect(grabs, vars_, until, limit, &matched);
      if (!got) co_return from_step(got);
      if (matched.front().cmd != wire::command::pre_sleep) break;
      observe("may sleep before it grabs");
      if (st.no_job || st.error) {  // nothing to offer: the worker asked for nothing, asleep
        asleep_.insert(st.connection);
        co_return outcome::ok();
      }
      // PRE_SLEEP after PRE_SLEEP without a grab between would be a worker that never wakes:
      // bounded, it fails below as the grab that never came.
      if (sleeps >= 3)
        co_return outcome{case_verdict::fail, "a grab request after NOOP",
                          "PRE_SLEEP again (" + std::to_string(sleeps + 1) + " times)",
                          "the worker sleeps again after NOOP"};
      wire::packet noop{wire::packet_magic::response, wire::command::noop, {}};
      std::string bytes;
      wire::encode(noop.magic, noop.cmd, {}, bytes);
      auto woke = co_await a->write(std::move(bytes), {}, "NOOP (a job is queued)", noop);
      if (!woke) co_return from_step(woke);
    }
    const auto grab = matched.front().cmd;
    observe(std::string("grabs with ") + std::string(wire::name(grab)));
    std::string bytes;
    wire::packet reply{wire::packet_magic::response, wire::command::no_job, {}};
    if (st.error) {
      reply = {wire::packet_magic::response,
               wire::command::error,
               {"SERVER_ERROR", "refused by the case (an ERROR answer to a grab)"}};
    } else if (!st.no_job) {
      const auto handle = vars_.expand(st.handle), fn = vars_.expand(st.function),
                 unique = vars_.expand(st.unique), data = vars_.expand(st.data);
      if (grab == wire::command::grab_job)
        reply = {wire::packet_magic::response, wire::command::job_assign, {handle, fn, data}};
      else if (grab == wire::command::grab_job_uniq)
        reply = {wire::packet_magic::response,
                 wire::command::job_assign_uniq,
                 {handle, fn, unique, data}};
      else
        reply = {wire::packet_magic::response,
                 wire::command::job_assign_all,
                 {handle, fn, unique, "", data}};
    }
    std::vector<std::string_view> args(reply.args.begin(), reply.args.end());
    wire::encode(reply.magic, reply.cmd, args, bytes);
    co_return from_step(co_await a->write(std::move(bytes), {}, wire::to_string(reply), reply));
  }

  void observe(const std::string& what) {
    if (result_.note.find(what) == std::string::npos)
      result_.note += (result_.note.empty() ? "" : "; ") + what;
  }

  asio::awaitable<outcome> asleep(const asleep_step& st) {
    if (asleep_.erase(st.connection)) co_return outcome::ok();
    const auto limit = st.timeout.value_or(settings_.step_timeout);
    engine::alternatives sleep{{scenario::packet_expectation{wire::command::pre_sleep, {}, {}}}};
    co_return from_step(
        co_await connection(st.connection)
            ->expect(sleep, vars_, std::min(deadline_, clock_type::now() + limit), limit));
  }

  asio::awaitable<outcome> send_many(const send_many_step& st) {
    auto* a = connection(st.connection);
    std::string bytes, shown;
    std::optional<wire::packet> only;
    for (const auto& [cmd, templates] : st.packets) {
      wire::packet p{wire::packet_magic::response, cmd, {}};
      for (const auto& t : templates) p.args.push_back(vars_.expand(t));
      std::vector<std::string_view> args(p.args.begin(), p.args.end());
      if (auto ec = wire::encode(p.magic, p.cmd, args, bytes))
        co_return outcome{case_verdict::error, "a packet to send", ec.message(), "bad packet"};
      shown += (shown.empty() ? "" : " + ") + wire::to_string(p);
      only = st.packets.size() == 1 ? std::optional<wire::packet>(p) : std::nullopt;
    }
    if (st.pacing.chunk) shown += " in " + std::to_string(st.pacing.chunk) + "-byte pieces";
    if (st.packets.size() > 1) shown += " (one write)";
    co_return from_step(co_await a->write(std::move(bytes), st.pacing, shown, only));
  }

  asio::awaitable<outcome> run_step(const case_step& st) {
    if (clock_type::now() >= deadline_)
      co_return outcome{case_verdict::hang,
                        "the case to end within " + ms_text(settings_.case_limit), "it did not",
                        "case time limit"};
    const auto limit_of = [&](const std::optional<milliseconds>& t) {
      return t.value_or(settings_.step_timeout);
    };
    if (const auto* s = std::get_if<agent_command_step>(&st.what)) {
      if (!co_await agent_->send(command_json(s->command)))
        co_return outcome{agent_->ended_badly() ? case_verdict::crash : case_verdict::error,
                          "the adapter to read command " + s->command.verb, ended_text(),
                          "adapter gone"};
      co_return outcome::ok();
    }
    if (const auto* s = std::get_if<agent_expect_step>(&st.what))
      co_return co_await expect_event(*s);
    if (const auto* s = std::get_if<agent_quiet_step>(&st.what)) co_return co_await quiet(*s);
    if (const auto* s = std::get_if<accept_step>(&st.what)) co_return co_await accept(*s);
    if (const auto* s = std::get_if<server_step>(&st.what)) co_return co_await server_fault(*s);
    if (const auto* s = std::get_if<answer_grab_step>(&st.what)) co_return co_await answer_grab(*s);
    if (const auto* s = std::get_if<send_many_step>(&st.what)) co_return co_await send_many(*s);
    if (const auto* s = std::get_if<asleep_step>(&st.what)) co_return co_await asleep(*s);
    if (const auto* s = std::get_if<scenario::sleep_step>(&st.what)) {
      asio::steady_timer t(io_);
      t.expires_after(s->length);
      net::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      co_return outcome::ok();
    }
    if (const auto* s = std::get_if<scenario::send_raw_step>(&st.what)) {
      auto bytes = vars_.expand(s->bytes);
      co_return from_step(co_await connection(s->actor)->write(
          bytes, s->pacing, std::to_string(bytes.size()) + " raw bytes " + engine::quote(bytes),
          std::nullopt));
    }
    if (const auto* s = std::get_if<scenario::expect_step>(&st.what)) {
      const auto limit = limit_of(s->timeout);
      std::vector<wire::packet> matched;
      auto got = co_await connection(s->actor)->expect(
          s->alternatives, vars_, std::min(deadline_, clock_type::now() + limit), limit, &matched);
      // An INFO case records what the library sent: its note lists the packets it expected.
      if (got && c_.level == "INFO")
        for (const auto& p : matched) observe(wire::to_string(p));
      co_return from_step(got);
    }
    if (const auto* s = std::get_if<scenario::expect_none_step>(&st.what))
      co_return from_step(co_await connection(s->actor)->expect_none(s->window));
    if (const auto* s = std::get_if<scenario::expect_closed_step>(&st.what)) {
      const auto limit = limit_of(s->timeout);
      co_return from_step(co_await connection(s->actor)->expect_closed(
          std::min(deadline_, clock_type::now() + limit), limit));
    }
    if (const auto* s = std::get_if<scenario::disconnect_step>(&st.what)) {
      connection(s->actor)->close(s->abortive);
      co_return outcome::ok();
    }
    co_return outcome{case_verdict::error, "a known step", "an unknown step", "harness error"};
  }

  asio::io_context io_;
  const client_case& c_;
  agent_spec agent_spec_;
  case_settings settings_;
  engine::variables vars_;
  asio::steady_timer signal_;
  case_result result_;
  std::vector<wire::command> ignore_;
  std::map<std::string, server_state> servers_;
  std::map<std::string, std::unique_ptr<engine::actor>> conns_;
  std::unique_ptr<agent_process> agent_;
  std::vector<std::string> capabilities_;
  std::set<std::string> asleep_;  ///< connections whose worker went to sleep during a grab step
  std::string addresses_;
  clock_type::time_point t0_ = clock_type::now(), deadline_ = clock_type::now();
};

}  // namespace

case_result run_case(const client_case& c, const agent_spec& agent, const case_settings& settings) {
  return case_run(c, agent, settings).run();
}

}  // namespace gearspec::clients
