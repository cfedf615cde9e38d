#include "harness/targets/embedded_target.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "reference-server/server/server_options.hpp"

namespace gearspec::targets {
namespace {

/// A socket bound (not listening) to a port of 127.0.0.1 with SO_REUSEPORT, as the embedded
/// servers' listeners are: it keeps the port from everyone else while a server restarts.
class port_holder {
 public:
  explicit port_holder(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) return;  // then the restart is only as safe as it was without one
    const int on = 1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~port_holder() {
    if (fd_ >= 0) ::close(fd_);
  }
  port_holder(const port_holder&) = delete;
  port_holder& operator=(const port_holder&) = delete;

 private:
  int fd_;
};

class embedded_instance final : public engine::target_instance {
 public:
  explicit embedded_instance(bool persistent) {
    if (!persistent) return;
    char dir_template[] = "/tmp/gearspec-embedded-XXXXXX";
    const char* dir = ::mkdtemp(dir_template);
    if (!dir) throw engine::target_error("cannot create a directory for the persistent queue");
    dir_ = dir;
  }
  ~embedded_instance() override {
    servers_.clear();  // close the databases before their directory goes
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  void add(const std::string& name, refsrv::server_config config) {
    config.listen_address = "127.0.0.1";
    config.port = 0;
    config.reuse_port = true;  // for restart(): see port_holder
    if (!dir_.empty()) config.queue = "sqlite:" + dir_ + "/" + name + ".db";
    configs_[name] = config;
    servers_[name] = std::make_unique<refsrv::embedded_server>(std::move(config));
  }

  engine::endpoint address(const std::string& server) const override {
    return {"127.0.0.1", servers_.at(server)->port()};
  }

  std::optional<cpu_time> server_cpu(const std::string& server) const override {
    const auto found = servers_.find(server);
    if (found == servers_.end() || found->second->thread_id() == 0) return std::nullopt;
    return engine::read_proc_cpu("/proc/self/task/" + std::to_string(found->second->thread_id()) +
                                 "/stat");
  }

  void restart(const std::string& server, bool crash) override {
    auto found = servers_.find(server);
    if (found == servers_.end()) throw engine::target_error("no server named " + server);
    auto config = configs_.at(server);
    config.port = found->second->port();
    // While no server listens, another socket of this process (a connection's ephemeral port, a
    // spawned server's port picked beside it) could take the port: hold it until the new server
    // has bound it.
    const port_holder hold(config.port);
    if (crash)
      found->second->crash();
    else
      found->second->stop();
    found->second.reset();
    try {
      found->second = std::make_unique<refsrv::embedded_server>(std::move(config));
    } catch (const std::exception& e) {
      throw engine::target_error("embedded server '" + server +
                                 "' did not start again: " + e.what());
    }
  }

 private:
  std::string dir_;
  std::map<std::string, refsrv::server_config> configs_;
  std::map<std::string, std::unique_ptr<refsrv::embedded_server>> servers_;
};

}  // namespace

std::string apply_reference_options(
    refsrv::server_config& config,
    const std::vector<std::pair<std::string, std::string>>& options) {
  for (const auto& [name, value] : options) {
    if (!refsrv::server_option_takes_value(name))
      return "unknown reference server option '" + name + "' (see gearspec-server --help)";
    if (auto error = refsrv::apply_server_option(config, name, value); !error.empty()) return error;
  }
  return {};
}

std::unique_ptr<engine::target_instance> embedded_target::start(
    const std::vector<std::string>& servers, const engine::server_needs& needs) {
  try {
    // The scenario's reference_options apply on top of the run's own (--ref).
    auto config = config_;
    if (auto error = apply_reference_options(config, needs.reference_options); !error.empty())
      throw engine::target_error("the scenario's reference_options: " + error);
    auto instance = std::make_unique<embedded_instance>(needs.persistent_queue);
    for (const auto& name : servers) instance->add(name, config);
    return instance;
  } catch (const engine::target_error&) {
    throw;
  } catch (const std::exception& e) {
    throw engine::target_error(std::string("embedded reference server did not start: ") + e.what());
  }
}

}  // namespace gearspec::targets
