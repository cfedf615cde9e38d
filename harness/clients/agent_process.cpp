#include "harness/clients/agent_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace gearspec::clients {

namespace asio = net::asio;
using std::chrono::milliseconds;

std::string agent_event::text(const std::string& key) const {
  const auto it = fields.find(key);
  if (it == fields.end() || it->second.is_list) return {};
  return it->second.value.type == json_scalar::kind::boolean
             ? (it->second.value.flag ? "true" : "false")
             : it->second.value.text;
}

agent_process::agent_process(asio::io_context& io, std::string command,
                             std::map<std::string, std::string> environment, line_sink sink)
    : io_(io),
      command_(std::move(command)),
      environment_(std::move(environment)),
      sink_(std::move(sink)),
      in_(io),
      out_(io),
      err_(io),
      signal_(io) {}

agent_process::~agent_process() {
  *alive_ = false;
  kill();
}

void agent_process::start() {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  // Nothing else of ours: a listening socket the adapter inherited would keep a "stopped" server's
  // port taken, and other cases' connections open (cases run side by side on threads).
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group, so kill() reaches its children too
  // The environment: ours, with the case's variables set over it.
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    const std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : environment_) merged[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : merged) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c";
  char* argv[] = {sh.data(), dash_c.data(), command_.data(), nullptr};
  const int rc = posix_spawn(&pid_, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    pid_ = -1;
    throw std::runtime_error("cannot start '" + command_ + "': " + std::strerror(rc));
  }
  in_.assign(in[1]);
  out_.assign(out[0]);
  err_.assign(err[0]);
  auto detached = [](std::exception_ptr) {};
  asio::co_spawn(io_, read_events(), detached);
  asio::co_spawn(io_, read_stderr(), detached);
}

asio::awaitable<bool> agent_process::send(std::string json_line) {
  if (sink_) sink_('>', json_line.size() > 300 ? json_line.substr(0, 300) + "..." : json_line);
  json_line += '\n';
  net::error_code ec;
  co_await asio::async_write(in_, asio::buffer(json_line),
                             asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

asio::awaitable<void> agent_process::read_events() {
  const auto alive = alive_;
  std::string buffer;
  std::string chunk(64 * 1024, '\0');
  while (true) {
    net::error_code ec;
    const auto n = co_await out_.async_read_some(asio::buffer(chunk),
                                                 asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;
    if (ec) break;
    buffer.append(chunk.data(), n);
    std::size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      if (sink_) sink_('<', line.size() > 300 ? line.substr(0, 300) + "..." : line);
      agent_event ev;
      ev.line = line;
      try {
        ev.fields = parse_json_line(line);
      } catch (const std::invalid_argument& e) {
        if (contract_error_.empty())
          contract_error_ = "a line that is not a JSON object (" + std::string(e.what()) +
                            "): " + line.substr(0, 120);
        continue;
      }
      if (ev.name().empty()) {
        if (contract_error_.empty())
          contract_error_ = "an event line without \"event\": " + line.substr(0, 120);
        continue;
      }
      events_.push_back(std::move(ev));
    }
    signal_.cancel();
  }
  eof_ = true;
  signal_.cancel();
}

asio::awaitable<void> agent_process::read_stderr() {
  const auto alive = alive_;
  std::string chunk(8192, '\0');
  while (true) {
    net::error_code ec;
    const auto n = co_await err_.async_read_some(asio::buffer(chunk),
                                                 asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || ec) co_return;
    stderr_partial_.append(chunk.data(), n);
    std::size_t nl;
    while ((nl = stderr_partial_.find('\n')) != std::string::npos) {
      stderr_lines_.push_back(stderr_partial_.substr(0, std::min<std::size_t>(nl, 400)));
      stderr_partial_.erase(0, nl + 1);
      if (stderr_lines_.size() > 20) stderr_lines_.pop_front();
    }
  }
}

asio::awaitable<void> agent_process::wait(std::chrono::steady_clock::time_point deadline) {
  if (eof_) {
    // Nothing more will arrive; a short pause lets the exit status be reaped.
    signal_.expires_after(milliseconds(5));
  } else {
    signal_.expires_at(deadline);
  }
  net::error_code ec;
  co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

void agent_process::reap(bool block) {
  if (pid_ <= 0 || reaped_) return;
  int st = 0;
  const int r = waitpid(pid_, &st, block ? 0 : WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = st;
  }
}

std::optional<std::string> agent_process::ended() {
  reap(false);
  if (!reaped_) return std::nullopt;
  if (WIFSIGNALED(status_)) {
    const int sig = WTERMSIG(status_);
    return "signal " + std::to_string(sig) + " (" +
           (sigabbrev_np(sig) ? std::string("SIG") + sigabbrev_np(sig) : "?") + ")";
  }
  const int code = WEXITSTATUS(status_);
  // The adapter runs under /bin/sh, which reports a child killed by signal N as exit 128 + N.
  if (code > 128 && code < 160 && sigabbrev_np(code - 128))
    return "exit " + std::to_string(code) + " (signal " + std::to_string(code - 128) + ", SIG" +
           sigabbrev_np(code - 128) + ", as the shell reports it)";
  return "exit " + std::to_string(code);
}

bool agent_process::ended_badly() {
  const auto e = ended();
  return e && *e != "exit 0";
}

std::string agent_process::stderr_tail() const {
  std::string out;
  for (const auto& l : stderr_lines_) out += l + "\n";
  if (!stderr_partial_.empty()) out += stderr_partial_.substr(0, 400) + "\n";
  return out;
}

void agent_process::kill() {
  if (pid_ <= 0 || reaped_) return;
  ::kill(-pid_, SIGKILL);
  reap(true);
}

asio::awaitable<void> agent_process::finish(milliseconds limit) {
  net::error_code ec;
  in_.close(ec);  // end of commands: an adapter may also stop on EOF
  const auto deadline = std::chrono::steady_clock::now() + limit;
  asio::steady_timer t(io_);
  while (std::chrono::steady_clock::now() < deadline) {
    reap(false);
    if (reaped_) break;
    t.expires_after(milliseconds(10));
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!reaped_) {
    if (sink_)
      sink_('*', "still running " + std::to_string(limit.count()) + " ms after quit: killed");
    kill();
  }
  // The process group may hold children that outlived the shell.
  if (pid_ > 0) ::kill(-pid_, SIGKILL);
}

}  // namespace gearspec::clients
