#include "harness/targets/spawn_target.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

namespace gearspec::targets {

std::uint16_t pick_free_port() {
  // Scenarios start servers side by side: two picks at the same moment can both be given a port
  // the kernel has just freed, and the second server would then fail to bind while the first one
  // listens there. So a port is handed out once per process.
  static std::mutex lock;
  static std::set<std::uint16_t> handed_out;
  for (int attempt = 0; attempt < 64; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw engine::target_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd);
      throw engine::target_error("cannot find a free port");
    }
    ::close(fd);
    const auto port = ntohs(addr.sin_port);
    const std::lock_guard<std::mutex> guard(lock);
    if (handed_out.insert(port).second) return port;
  }
  throw engine::target_error("cannot find a port not handed out before");
}

namespace {

/// The inode of the socket listening on port, from the listen table; none if nothing listens.
std::optional<unsigned long> listener_inode(std::uint16_t port) {
  // Columns: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...; state 0A is LISTEN,
  // the port is hex after ':'.
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout;
      unsigned long inode = 0;
      fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos || state != "0A") continue;
      if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) return inode;
    }
  }
  return std::nullopt;
}

/// Whether process pid, or one of its descendants, holds the socket with this inode.
bool holds_socket(pid_t pid, unsigned long inode, int depth = 0) {
  namespace fs = std::filesystem;
  const std::string wanted = "socket:[" + std::to_string(inode) + "]";
  const auto proc = fs::path("/proc") / std::to_string(pid);
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator(proc / "fd", ec)) {
    std::error_code link_error;
    if (fs::read_symlink(fd.path(), link_error).string() == wanted) return true;
  }
  if (depth > 4) return false;
  for (const auto& task : fs::directory_iterator(proc / "task", ec)) {
    std::ifstream children(task.path() / "children");
    for (pid_t child; children >> child;)
      if (holds_socket(child, inode, depth + 1)) return true;
  }
  return false;
}

}  // namespace

bool port_is_listening(std::uint16_t port) {
  return listener_inode(port).has_value();
}

namespace {

struct process {
  pid_t pid = -1;
  std::string name;
  std::uint16_t port = 0;
  std::string log_path;
  std::string command_template;
  double scale = 1.0;
  int exit_status = -1;  ///< set once reaped
};

class spawned_instance final : public engine::target_instance {
 public:
  spawned_instance(std::string dir) : dir_(std::move(dir)) {}
  ~spawned_instance() override {
    for (auto& p : processes_) stop(p);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  engine::endpoint address(const std::string& server) const override {
    for (const auto& p : processes_)
      if (p.name == server) return {"127.0.0.1", p.port};
    throw engine::target_error("no server named " + server);
  }

  std::optional<cpu_time> server_cpu(const std::string& server) const override {
    // The command runs as `exec COMMAND`, so the pid is the server's own process.
    for (const auto& p : processes_)
      if (p.name == server && p.exit_status < 0)
        return engine::read_proc_cpu("/proc/" + std::to_string(p.pid) + "/stat");
    return std::nullopt;
  }

  std::optional<std::string> problem() override {
    for (auto& p : processes_) {
      if (reap(p, false)) {
        std::string how = WIFSIGNALED(p.exit_status)
                              ? "was killed by signal " + std::to_string(WTERMSIG(p.exit_status))
                              : "exited with status " + std::to_string(WEXITSTATUS(p.exit_status));
        return "server '" + p.name + "' (pid " + std::to_string(p.pid) + ") " + how +
               " during the scenario";
      }
    }
    return std::nullopt;
  }

  std::string logs() const override {
    std::string out;
    for (const auto& p : processes_) {
      std::ifstream in(p.log_path);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.size() > 4000) text = "..." + text.substr(text.size() - 4000);
      if (!text.empty()) out += "--- server '" + p.name + "' output ---\n" + text;
    }
    return out;
  }

  void launch(const std::string& name, const std::string& command_template, double scale) {
    process p;
    p.name = name;
    p.port = pick_free_port();
    p.command_template = command_template;
    p.scale = scale;
    const auto server_dir = dir_ + "/" + name;
    std::filesystem::create_directories(server_dir);
    p.log_path = server_dir + ".log";
    processes_.push_back(p);
    // A free port can be taken between choosing it and the server binding it: that is a race of
    // the harness, not the server's fault, so it is retried on a fresh port (a few times).
    constexpr int attempts = 4;
    for (int attempt = 1;; ++attempt) {
      auto& proc = processes_.back();
      try {
        run(proc, false);
        return;
      } catch (const engine::target_error&) {
        if (attempt == attempts || !lost_its_port(proc)) throw;
        const auto taken = proc.port;
        proc.port = pick_free_port();
        proc.pid = -1;
        proc.exit_status = -1;
        std::ofstream(proc.log_path, std::ios::app)
            << "gearspec: port " << taken << " was taken before the server bound it; starting it "
            << "again on port " << proc.port << "\n";
      }
    }
  }

  void restart(const std::string& server, bool crash) override {
    auto found = std::find_if(processes_.begin(), processes_.end(),
                              [&](const process& p) { return p.name == server; });
    if (found == processes_.end()) throw engine::target_error("no server named " + server);
    process& p = *found;
    if (reap(p, false))
      throw engine::target_error("server '" + server + "' had already exited before the restart");
    if (!end_process(p, crash ? SIGKILL : SIGTERM,
                     std::chrono::milliseconds(static_cast<long>(10000 * p.scale))))
      throw engine::target_error("server '" + server + "' did not stop within 10 s of SIGTERM");
    // Same port, same {dir}: the server finds its data again. The log keeps both runs.
    p.pid = -1;
    p.exit_status = -1;
    run(p, true);
  }

 private:
  void run(process& p, bool again) {
    const auto server_dir = dir_ + "/" + p.name;
    std::string command = p.command_template;
    for (std::string::size_type at; (at = command.find("{port}")) != std::string::npos;)
      command.replace(at, 6, std::to_string(p.port));
    for (std::string::size_type at; (at = command.find("{dir}")) != std::string::npos;)
      command.replace(at, 5, server_dir);
    const std::string shell = "exec " + command;
    const pid_t parent = ::getpid();
    p.pid = ::fork();
    if (p.pid < 0) throw engine::target_error("fork failed");
    if (p.pid == 0) {
      // The server ends with the thread that started it, also when gearspec itself is killed
      // (SIGKILL gives it no chance to stop its servers). Every caller stops its servers on the
      // thread that started them (a scenario's run, an explore thread's pool), so that thread
      // outlives them. The death signal survives the exec; a parent already gone is checked.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      const int log =
          ::open(p.log_path.c_str(), O_WRONLY | O_CREAT | (again ? O_APPEND : O_TRUNC), 0644);
      const int null = ::open("/dev/null", O_RDONLY);
      if (log >= 0) {
        ::dup2(log, 1);
        ::dup2(log, 2);
      }
      if (null >= 0) ::dup2(null, 0);
      // Nothing else of ours: a listening socket the server inherited would keep an embedded
      // server's port taken when that one restarts (explore runs the reference beside spawned
      // servers), and other threads' connections open.
      ::close_range(3, ~0U, 0);
      ::execl("/bin/sh", "sh", "-c", shell.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<long>(10000 * p.scale));
    while (!port_is_listening(p.port)) {
      if (reap(p, false))
        throw engine::target_error("spawned server '" + p.name +
                                   "' exited before listening on port " + std::to_string(p.port) +
                                   (again ? " after a restart" : "") + " (command: " + command +
                                   ")\n" + logs());
      if (std::chrono::steady_clock::now() > deadline)
        throw engine::target_error("spawned server '" + p.name + "' did not listen on port " +
                                   std::to_string(p.port) + " within 10 s" +
                                   (again ? " after a restart" : "") + " (command: " + command +
                                   ")\n" + logs());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // Listening on the port is not enough: another program (another gearspec run, say) may have
    // taken it first, while this server retries its bind. Then its scenario would talk to that
    // program. The listener must be this process's (or a child's).
    if (const auto inode = listener_inode(p.port); inode && !holds_socket(p.pid, *inode)) {
      end_process(p, SIGKILL, std::chrono::milliseconds(2000));
      throw engine::target_error("spawned server '" + p.name + "': port " + std::to_string(p.port) +
                                 " is held by another process");
    }
  }

  /// The process ended before listening because its port was in use: someone else listens on
  /// it now, or the server said so.
  static bool lost_its_port(const process& p) {
    if (p.exit_status < 0) return false;
    if (port_is_listening(p.port)) return true;
    std::ifstream in(p.log_path);
    const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return log.find("in use") != std::string::npos || log.find("EADDRINUSE") != std::string::npos;
  }

  static bool reap(process& p, bool block) {
    if (p.exit_status >= 0) return true;
    if (p.pid <= 0) return false;
    int status = 0;
    const pid_t r = ::waitpid(p.pid, &status, block ? 0 : WNOHANG);
    if (r == p.pid) {
      p.exit_status = status;
      return true;
    }
    return false;
  }

  /// Sends signal to the process (only one we started, by PID) and waits up to grace for it to
  /// exit; past that it is killed and reaped, and the result is false.
  static bool end_process(process& p, int signal, std::chrono::milliseconds grace) {
    ::kill(p.pid, signal);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (!reap(p, false)) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(p.pid, SIGKILL);
        reap(p, true);
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  static void stop(process& p) {
    if (p.pid <= 0 || reap(p, false)) return;
    end_process(p, SIGTERM, std::chrono::seconds(5));
  }

  std::string dir_;
  std::vector<process> processes_;
};

}  // namespace

spawn_target::spawn_target(std::string command_template, double timeout_scale, bool persistent)
    : command_(std::move(command_template)), scale_(timeout_scale), persistent_(persistent) {
  if (command_.find("{port}") == std::string::npos)
    throw std::invalid_argument(
        "--spawn command must contain {port}, e.g. '/usr/sbin/gearmand --port {port}'");
}

std::optional<std::string> spawn_target::unsupported(const std::vector<std::string>&,
                                                     const engine::server_needs& needs) const {
  if (needs.persistent_queue && !persistent_)
    return "needs a persistent queue: give --persistent if the spawn command configures one "
           "(e.g. gearmand -q libsqlite3 --libsqlite3-db {dir}/queue.db)";
  return std::nullopt;
}

std::unique_ptr<engine::target_instance> spawn_target::start(
    const std::vector<std::string>& servers, const engine::server_needs& needs) {
  if (auto why = unsupported(servers, needs)) throw engine::target_error(*why);
  char dir_template[] = "/tmp/gearspec-spawn-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (!dir) throw engine::target_error("cannot create a temporary directory");
  auto instance = std::make_unique<spawned_instance>(dir);
  for (const auto& name : servers) instance->launch(name, command_, scale_);
  return instance;
}

std::string spawn_target::describe() const {
  return "spawned per scenario: " + command_ + (persistent_ ? " (persistent queue)" : "");
}

}  // namespace gearspec::targets
