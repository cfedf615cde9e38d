// gearspec-agent: the reference adapter of `gearspec clients` (docs/clients.md). A Gearman client
// and worker written on the project's codec, driven by the adapter contract: JSON commands on
// stdin, JSON events on stdout, servers from GEARSPEC_SERVERS. It does what PROTOCOL asks of a
// client and a worker, so it passes every case; each --defect switch makes it misbehave the way a
// real library did, so each case is shown to catch what it is about.
//
// One thread, blocking sockets watched with poll(); every wait is bounded by the next timer.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness/clients/json_line.hpp"
#include "harness/common/command_line.hpp"
#include "harness/engine/json.hpp"
#include "harness/wire/decoder.hpp"
#include "harness/wire/encoder.hpp"

namespace {

using namespace gearspec;
using clients::from_hex;
using clients::json_object;
using clients::to_hex;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The misbehaviours, each seen in a real library (docs/clients.md, "Self-proof").
const std::set<std::string> known_defects = {
    "one-callback-per-handle",  // node-gearman, gearman-go: a handle maps to one submission
    "no-pre-sleep",             // grabs again at once after NO_JOB (a grab storm)
    "ignores-noop",           // python-gearman #37, node-gearman #3: a sleeping worker stays asleep
    "forgets-to-reregister",  // gearman-coffee, pecl-gearman #13: no CAN_DO after a reconnect
    "exception-not-terminal",   // python-gearman: WORK_EXCEPTION does not end the request
    "stops-at-chunk-boundary",  // gearman-go #26, GearmaNode #6: a reply split over reads is lost
};
std::set<std::string> defects;
bool has(const char* d) {
  return defects.count(d) > 0;
}

// Names travel as JSON strings (the engine's writer); bytes travel as hex.
constexpr auto json_text = [](std::string_view s) { return engine::json_string(s); };

/// One event line: {"event": name, fields...}; values are already JSON.
void emit(const std::string& name, const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string line = "{\"event\":" + json_text(name);
  for (const auto& [k, v] : fields) line += "," + json_text(k) + ":" + v;
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

std::string field(const json_object& o, const std::string& key) {
  const auto it = o.find(key);
  return it == o.end() ? std::string() : it->second.value.text;
}

struct connection {
  int fd = -1;
  std::string address;
  std::string in;  ///< received, not yet decoded
  bool sleeping = false;
  bool grabbing = false;

  bool open() const { return fd >= 0; }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
    in.clear();
    sleeping = grabbing = false;
  }
};

int dial(const std::string& address) {
  const auto colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1) return -1;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool send_packet(connection& c, wire::command cmd, std::vector<std::string> args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::string bytes;
  if (wire::encode(wire::packet_magic::request, cmd, views, bytes)) return false;
  std::size_t at = 0;
  while (at < bytes.size()) {
    const auto n = ::send(c.fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
    if (n <= 0) return false;
    at += static_cast<std::size_t>(n);
  }
  return true;
}

struct submission {
  std::string id;
  std::string function, unique, data, priority;
  bool background = false;
  std::optional<clock_type::time_point> give_up;
  bool ended = false;
};

struct registration {
  std::string function;
  std::optional<long long> timeout_ms;
  std::vector<json_object> script;
};

class agent {
 public:
  explicit agent(std::vector<std::string> servers) : servers_(std::move(servers)) {}

  int run() {
    emit("hello", {{"library", json_text("gearspec-agent")},
                   {"version", json_text(GEARSPEC_VERSION)},
                   {"capabilities",
                    "[\"client\",\"worker\",\"background\",\"unique\",\"priority\",\"status\","
                    "\"status_unique\",\"exceptions\",\"data\",\"warning\",\"work_status\","
                    "\"timeout\",\"can_do_timeout\",\"several_servers\",\"client_id\",\"echo\","
                    "\"reconnect\",\"task_set\"]"}});
    std::string pending_input;
    while (!quit_) {
      std::vector<pollfd> fds{{0, POLLIN, 0}};
      std::vector<connection*> owners{nullptr};
      for (auto* c : all_connections())
        if (c->open()) {
          fds.push_back({c->fd, POLLIN, 0});
          owners.push_back(c);
        }
      const int rc = ::poll(fds.data(), fds.size(), 10);
      if (rc < 0) continue;
      if (fds[0].revents & (POLLIN | POLLHUP)) {
        char buf[65536];
        const auto n = ::read(0, buf, sizeof buf);
        if (n <= 0) break;  // commands ended: as quit
        pending_input.append(buf, static_cast<std::size_t>(n));
        std::size_t nl;
        while ((nl = pending_input.find('\n')) != std::string::npos) {
          const auto line = pending_input.substr(0, nl);
          pending_input.erase(0, nl + 1);
          if (!line.empty()) command(line);
        }
      }
      for (std::size_t i = 1; i < fds.size(); ++i)
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) receive(*owners[i]);
      timers();
    }
    return 0;
  }

 private:
  std::vector<connection*> all_connections() {
    std::vector<connection*> out{&client_};
    for (auto& w : workers_) out.push_back(&w);
    return out;
  }

  // --- commands ------------------------------------------------------------------------------

  void command(const std::string& line) {
    json_object o;
    try {
      o = clients::parse_json_line(line);
    } catch (const std::exception& e) {
      emit("error", {{"class", json_text("contract")}, {"message", json_text(e.what())}});
      return;
    }
    const auto verb = field(o, "cmd");
    if (verb == "quit") {
      quit_ = true;
    } else if (verb == "submit") {
      submission s;
      s.id = field(o, "id");
      s.function = field(o, "function");
      s.unique = field(o, "unique");
      s.data = from_hex(field(o, "data_hex"));
      s.priority = field(o, "priority");
      s.background = field_flag(o, "background");
      if (!field(o, "timeout_ms").empty())
        s.give_up = clock_type::now() + milliseconds(std::stoll(field(o, "timeout_ms")));
      queued_.push_back(std::move(s));
    } else if (verb == "run") {
      run_task_set();
    } else if (verb == "status" || verb == "status_unique" || verb == "echo") {
      if (!ensure_client()) {
        emit("error", {{"id", json_text(field(o, "id"))}, {"class", json_text("connection")}});
        return;
      }
      if (verb == "status") {
        send_packet(client_, wire::command::get_status, {field(o, "handle")});
      } else if (verb == "status_unique") {
        send_packet(client_, wire::command::get_status_unique, {field(o, "unique")});
      } else {
        send_packet(client_, wire::command::echo_req, {from_hex(field(o, "data_hex"))});
      }
      outstanding_.push_back({verb, field(o, "id")});
    } else if (verb == "register") {
      registration r;
      r.function = field(o, "function");
      if (!field(o, "timeout_ms").empty()) r.timeout_ms = std::stoll(field(o, "timeout_ms"));
      r.script = script_of(o);
      registrations_[r.function] = r;
      // Connections open already hear of it now; new ones announce every function as they open.
      for (auto& w : workers_)
        if (w.open()) announce(w, r);
      ensure_workers();
    } else if (verb == "unregister") {
      registrations_.erase(field(o, "function"));
      for (auto& w : workers_)
        if (w.open()) send_packet(w, wire::command::cant_do, {field(o, "function")});
    } else if (verb == "client_id") {
      client_id_ = from_hex(field(o, "data_hex"));
      for (auto* c : all_connections())
        if (c->open()) send_packet(*c, wire::command::set_client_id, {client_id_});
    } else if (verb == "work") {
      jobs_wanted_ = std::stoul(field(o, "jobs"));
      jobs_done_ = 0;
      ensure_workers();
      for (auto& w : workers_)
        if (w.open()) grab(w);
    } else {
      emit("error", {{"class", json_text("unsupported")},
                     {"message", json_text("unknown command " + verb)}});
    }
  }

  static bool field_flag(const json_object& o, const std::string& key) {
    const auto it = o.find(key);
    return it != o.end() && it->second.value.flag;
  }

  /// The objects of the "script" list (kept as text by the line reader).
  static std::vector<json_object> script_of(const json_object& o) {
    std::vector<json_object> out;
    const auto it = o.find("script");
    if (it == o.end()) return out;
    for (const auto& item : it->second.list)
      if (item.type == clients::json_scalar::kind::object)
        out.push_back(clients::parse_json_line(item.text));
    return out;
  }

  // --- the client ----------------------------------------------------------------------------

  bool ensure_client() {
    if (client_.open()) return true;
    for (const auto& s : servers_) {  // the first server that accepts: failover in list order
      client_.fd = dial(s);
      if (client_.open()) {
        client_.address = s;
        send_packet(client_, wire::command::option_req, {"exceptions"});
        outstanding_.push_back({"option", ""});
        if (!client_id_.empty()) send_packet(client_, wire::command::set_client_id, {client_id_});
        return true;
      }
    }
    return false;
  }

  void run_task_set() {
    if (!ensure_client()) {
      for (auto& s : queued_)
        emit("error", {{"id", json_text(s.id)}, {"class", json_text("connection")}});
      queued_.clear();
      emit("done", {});
      return;
    }
    for (auto& s : queued_) {
      wire::command cmd = wire::command::submit_job;
      if (s.priority == "high")
        cmd = s.background ? wire::command::submit_job_high_bg : wire::command::submit_job_high;
      else if (s.priority == "low")
        cmd = s.background ? wire::command::submit_job_low_bg : wire::command::submit_job_low;
      else if (s.background)
        cmd = wire::command::submit_job_bg;
      send_packet(client_, cmd, {s.function, s.unique, s.data});
      outstanding_.push_back({"submit", s.id});
      running_.push_back(std::move(s));
    }
    queued_.clear();
    set_running_ = true;
    maybe_done();
  }

  submission* find(const std::string& id) {
    for (auto& s : running_)
      if (s.id == id) return &s;
    return nullptr;
  }

  void end(submission& s) {
    s.ended = true;
    for (auto& [h, ids] : by_handle_) {
      for (auto it = ids.begin(); it != ids.end(); ++it)
        if (*it == s.id) {
          ids.erase(it);
          break;
        }
    }
    maybe_done();
  }

  void maybe_done() {
    if (!set_running_) return;
    for (const auto& s : running_)
      if (!s.ended) return;
    set_running_ = false;
    running_.clear();
    emit("done", {});
  }

  void client_packet(const wire::packet& p) {
    using wire::command;
    const auto answer_to = [&]() -> std::pair<std::string, std::string> {
      if (outstanding_.empty()) return {};
      auto front = outstanding_.front();
      outstanding_.pop_front();
      return front;
    };
    switch (p.cmd) {
      case command::option_res:
      case command::job_created:
      case command::status_res:
      case command::status_res_unique:
      case command::echo_res:
      case command::error: {
        const auto [kind, id] = answer_to();
        if (p.cmd == command::error) {
          if (!id.empty())
            emit("error", {{"id", json_text(id)},
                           {"class", json_text("server")},
                           {"message", json_text(p.args[0] + ": " + p.args[1])}});
          if (auto* s = kind == "submit" ? find(id) : nullptr) end(*s);
          return;
        }
        if (p.cmd == command::job_created) {
          auto* s = find(id);
          if (!s) return;
          emit("created", {{"id", json_text(id)}, {"handle", json_text(p.args[0])}});
          if (s->background) return end(*s);
          auto& ids = by_handle_[p.args[0]];
          if (has("one-callback-per-handle")) ids.clear();
          ids.push_back(id);
        } else if (p.cmd == command::status_res) {
          emit("status_answer", {{"id", json_text(id)},
                                 {"handle", json_text(p.args[0])},
                                 {"known", p.args[1] == "1" ? "true" : "false"},
                                 {"running", p.args[2] == "1" ? "true" : "false"},
                                 {"numerator", json_text(p.args[3])},
                                 {"denominator", json_text(p.args[4])}});
        } else if (p.cmd == command::status_res_unique) {
          emit("status_answer", {{"id", json_text(id)},
                                 {"unique", json_text(p.args[0])},
                                 {"known", p.args[1] == "1" ? "true" : "false"},
                                 {"running", p.args[2] == "1" ? "true" : "false"},
                                 {"numerator", json_text(p.args[3])},
                                 {"denominator", json_text(p.args[4])},
                                 {"waiting", json_text(p.args[5])}});
        } else if (p.cmd == command::echo_res) {
          emit("echo", {{"id", json_text(id)}, {"data_hex", json_text(to_hex(p.args[0]))}});
        }
        return;
      }
      case command::work_data:
      case command::work_warning:
      case command::work_status:
      case command::work_complete:
      case command::work_fail:
      case command::work_exception: {
        auto it = by_handle_.find(p.args[0]);
        // C gearmand 1.1.20 sends WORK_FAIL with a NUL after the handle (docs/clients.md): the
        // handle is what comes before it.
        if (it == by_handle_.end() && p.args[0].find('\0') != std::string::npos)
          it = by_handle_.find(p.args[0].substr(0, p.args[0].find('\0')));
        if (it == by_handle_.end() || it->second.empty()) {
          std::fprintf(stderr, "a result for a handle no submission waits for: %s\n",
                       p.args[0].c_str());
          return;
        }
        auto* s = find(it->second.front());
        if (!s) return;
        const auto id = json_text(s->id);
        if (p.cmd == command::work_data)
          emit("data", {{"id", id}, {"data_hex", json_text(to_hex(p.args[1]))}});
        else if (p.cmd == command::work_warning)
          emit("warning", {{"id", id}, {"data_hex", json_text(to_hex(p.args[1]))}});
        else if (p.cmd == command::work_status)
          emit("status", {{"id", id},
                          {"numerator", p.args[1].empty() ? "0" : p.args[1]},
                          {"denominator", p.args[2].empty() ? "0" : p.args[2]}});
        else if (p.cmd == command::work_complete) {
          emit("complete", {{"id", id}, {"data_hex", json_text(to_hex(p.args[1]))}});
          end(*s);
        } else if (p.cmd == command::work_fail) {
          emit("fail", {{"id", id}});
          end(*s);
        } else {
          emit("exception", {{"id", id}, {"data_hex", json_text(to_hex(p.args[1]))}});
          if (!has("exception-not-terminal")) end(*s);
        }
        return;
      }
      default:
        std::fprintf(stderr, "client: ignored %s\n", std::string(wire::name(p.cmd)).c_str());
    }
  }

  void client_lost() {
    client_.close();
    outstanding_.clear();
    by_handle_.clear();
    for (auto& s : running_)
      if (!s.ended) {
        emit("error", {{"id", json_text(s.id)}, {"class", json_text("connection")}});
        s.ended = true;
      }
    maybe_done();
  }

  // --- the worker ----------------------------------------------------------------------------

  void announce(connection& w, const registration& r) {
    if (r.timeout_ms)
      send_packet(w, wire::command::can_do_timeout, {r.function, std::to_string(*r.timeout_ms)});
    else
      send_packet(w, wire::command::can_do, {r.function});
  }

  void ensure_workers() {
    if (workers_.empty()) {
      workers_.resize(servers_.size());
      for (std::size_t i = 0; i < servers_.size(); ++i) workers_[i].address = servers_[i];
    }
    for (auto& w : workers_) {
      if (w.open()) continue;
      w.fd = dial(w.address);
      if (!w.open()) continue;
      if (!client_id_.empty()) send_packet(w, wire::command::set_client_id, {client_id_});
      if (!(has("forgets-to-reregister") && ever_connected_.count(w.address)))
        for (const auto& [fn, r] : registrations_) announce(w, r);
      ever_connected_.insert(w.address);
      if (jobs_wanted_ && jobs_done_ < jobs_wanted_) grab(w);
    }
  }

  void grab(connection& w) {
    if (w.grabbing || jobs_done_ >= jobs_wanted_) return;
    w.sleeping = false;
    w.grabbing = true;
    send_packet(w, wire::command::grab_job_uniq, {});
  }

  void worker_packet(connection& w, const wire::packet& p) {
    using wire::command;
    switch (p.cmd) {
      case command::no_job:
        w.grabbing = false;
        if (has("no-pre-sleep")) {
          grab(w);
        } else {
          w.sleeping = true;
          send_packet(w, command::pre_sleep, {});
        }
        return;
      case command::noop:
        if (w.sleeping && !has("ignores-noop")) grab(w);
        return;
      case command::error:
        // The server refused the grab (PROTOCOL ERROR): sleep until it says there is work.
        std::fprintf(stderr, "worker: ERROR %s: %s\n", p.args[0].c_str(), p.args[1].c_str());
        w.grabbing = false;
        w.sleeping = true;
        send_packet(w, command::pre_sleep, {});
        return;
      case command::job_assign:
      case command::job_assign_uniq:
      case command::job_assign_all: {
        w.grabbing = false;
        const auto& handle = p.args[0];
        const auto& fn = p.args[1];
        const std::string unique = p.cmd == command::job_assign ? "" : p.args[2];
        const auto& data = p.args.back();
        emit("job", {{"function", json_text(fn)},
                     {"handle", json_text(handle)},
                     {"unique", json_text(unique)},
                     {"data_hex", json_text(to_hex(data))}});
        const auto it = registrations_.find(fn);
        if (it == registrations_.end()) {
          send_packet(w, command::work_fail, {handle});
        } else {
          for (const auto& a : it->second.script) perform(w, handle, a);
        }
        ++jobs_done_;
        if (jobs_done_ == jobs_wanted_)
          emit("done", {});
        else
          grab(w);
        return;
      }
      default:
        std::fprintf(stderr, "worker: ignored %s\n", std::string(wire::name(p.cmd)).c_str());
    }
  }

  void perform(connection& w, const std::string& handle, const json_object& a) {
    using wire::command;
    const auto what = field(a, "do");
    const auto bytes =
        field(a, "data_hex").empty() ? std::string() : from_hex(field(a, "data_hex"));
    if (what == "data")
      send_packet(w, command::work_data, {handle, bytes});
    else if (what == "warning")
      send_packet(w, command::work_warning, {handle, bytes});
    else if (what == "status")
      send_packet(w, command::work_status,
                  {handle, field(a, "numerator"), field(a, "denominator")});
    else if (what == "complete")
      send_packet(w, command::work_complete, {handle, bytes});
    else if (what == "fail")
      send_packet(w, command::work_fail, {handle});
    else if (what == "exception")
      send_packet(w, command::work_exception, {handle, bytes});
    else if (what == "sleep")
      std::this_thread::sleep_for(milliseconds(std::stoll(field(a, "ms"))));
  }

  // --- reading -------------------------------------------------------------------------------

  void receive(connection& c) {
    char buf[65536];
    const auto n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (&c == &client_) {
        client_lost();
      } else {
        c.close();
        reconnect_at_ = clock_type::now() + milliseconds(100);
      }
      return;
    }
    c.in.append(buf, static_cast<std::size_t>(n));
    const wire::decoder decoder(wire::packet_magic::response, {}, false);
    while (!c.in.empty()) {
      wire::frame f;
      const auto r = decoder.decode(c.in, f);
      if (r.status == wire::decode_status::need_more) {
        if (has("stops-at-chunk-boundary")) c.in.clear();  // the rest of the packet is lost
        break;
      }
      if (r.status == wire::decode_status::error) {
        std::fprintf(stderr, "undecodable reply: %s\n", r.error.message().c_str());
        c.in.erase(0, r.consumed ? r.consumed : c.in.size());
        continue;
      }
      const auto p = wire::packet::from(f.packet);
      c.in.erase(0, r.consumed);
      if (&c == &client_)
        client_packet(p);
      else
        worker_packet(c, p);
    }
  }

  void timers() {
    const auto now = clock_type::now();
    for (auto& s : running_)
      if (!s.ended && s.give_up && now >= *s.give_up) {
        emit("error", {{"id", json_text(s.id)}, {"class", json_text("timeout")}});
        end(s);
      }
    if (reconnect_at_ && now >= *reconnect_at_) {
      reconnect_at_.reset();
      ensure_workers();
      for (auto& w : workers_)
        if (!w.open()) reconnect_at_ = now + milliseconds(100);
    }
  }

  std::vector<std::string> servers_;
  connection client_;
  std::vector<connection> workers_;
  std::vector<submission> queued_, running_;
  std::map<std::string, std::deque<std::string>> by_handle_;
  std::deque<std::pair<std::string, std::string>> outstanding_;  ///< (kind, id) awaiting a reply
  std::map<std::string, registration> registrations_;
  std::set<std::string> ever_connected_;
  std::string client_id_;
  unsigned long jobs_wanted_ = 0, jobs_done_ = 0;
  std::optional<clock_type::time_point> reconnect_at_;
  bool set_running_ = false;
  bool quit_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  const auto args =
      command_line::arguments(argc, argv, [](std::string_view f) { return f == "--defect"; });
  if (command_line::print_version_if_asked(args, "gearspec-agent")) return 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--defect" && i + 1 < args.size()) {
      if (!known_defects.count(args[i + 1])) {
        std::fprintf(stderr, "gearspec-agent: unknown defect '%s'\n", args[i + 1].c_str());
        return 2;
      }
      defects.insert(args[++i]);
    } else if (args[i] == "--help") {
      std::printf(
          "usage: gearspec-agent [--defect NAME]...\n"
          "The reference adapter of `gearspec clients` (docs/clients.md). Defects:\n");
      for (const auto& d : known_defects) std::printf("  %s\n", d.c_str());
      return 0;
    } else {
      std::fprintf(stderr, "gearspec-agent: unknown argument '%s' (see --help)\n", args[i].c_str());
      return 2;
    }
  }
  std::vector<std::string> servers;
  const char* env = std::getenv("GEARSPEC_SERVERS");
  std::string list = env ? env : "";
  for (std::size_t at = 0; at < list.size();) {
    const auto comma = list.find(',', at);
    servers.push_back(list.substr(at, comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return agent(std::move(servers)).run();
}
