// gearspec-server: the reference Gearman server as a standalone program.

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reference-server/server/tcp_server.hpp"

namespace {

using namespace gearspec;
using namespace gearspec::refsrv;

constexpr const char* usage = R"(usage: gearspec-server [options]

The gearspec reference Gearman job server.

  --listen ADDR            address to listen on (default 127.0.0.1)
  --port N                 port (default 4730; 0 picks a free one)
  --port-file FILE         write the bound port to FILE once listening
  --handle-prefix P        job handle prefix (default "H:<hostname>:")
  --worker-loss P          requeue | fail       job of a worker that disconnects (default requeue)
  --ability-loss P         requeue | keep       held job on CANT_DO/RESET_ABILITIES (default requeue)
  --timeout-policy P       requeue | fail       CAN_DO_TIMEOUT expiry (default requeue)
  --maxqueue-policy P      reject | evict       submit over maxqueue (default reject)
  --priority P             global | per-function  priority across a worker's functions (default global)
  --high-order P           fifo | lifo          order of HIGH jobs (default fifo)
  --job-retries N          attempts before a lost job fails; 0 = unlimited (default 0)
  --wakeup N               sleeping workers woken per job; 0 = all (default 0)
  --max-unique N           longest unique key accepted (default 64)
  --max-packet BYTES       largest packet payload accepted (default 67108864)
  --max-connections N      connections accepted at once (default 100000)
  --exceptions             forward WORK_EXCEPTION to every client (as OPTION_REQ "exceptions")
  --quiet                  do not log connections and errors to stderr
  --help                   this text

Stops cleanly on SIGINT or SIGTERM, or on the admin command "shutdown [graceful]".
)";

[[noreturn]] void fail_usage(const std::string& message) {
  std::fprintf(stderr, "gearspec-server: %s\n(see --help)\n", message.c_str());
  std::exit(2);
}

std::uint64_t parse_unsigned(std::string_view flag, std::string_view value) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc{} || end != value.data() + value.size())
    fail_usage(std::string(flag) + " needs a number, got '" + std::string(value) + "'");
  return v;
}

template <typename Enum>
Enum parse_choice(std::string_view flag, std::string_view value, std::initializer_list<std::pair<std::string_view, Enum>> choices) {
  for (const auto& [name, e] : choices)
    if (value == name) return e;
  std::string names;
  for (const auto& [name, e] : choices) names += (names.empty() ? "" : " | ") + std::string(name);
  fail_usage(std::string(flag) + " must be " + names + ", got '" + std::string(value) + "'");
}

}  // namespace

int main(int argc, char** argv) {
  server_config config;
  config.port = 4730;
  std::optional<std::string> port_file;
  bool quiet = false;
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  config.core.handle_prefix = std::string("H:") + host + ":";
  config.core.pid = static_cast<long>(getpid());

  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto flag = args[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= args.size()) fail_usage(std::string(flag) + " needs a value");
      return args[++i];
    };
    if (flag == "--help" || flag == "-h") {
      std::fputs(usage, stdout);
      return 0;
    } else if (flag == "--listen") {
      config.listen_address = std::string(value());
    } else if (flag == "--port") {
      const auto port = parse_unsigned(flag, value());
      if (port > 65535) fail_usage("--port must be at most 65535");
      config.port = static_cast<std::uint16_t>(port);
    } else if (flag == "--port-file") {
      port_file = std::string(value());
    } else if (flag == "--handle-prefix") {
      config.core.handle_prefix = std::string(value());
    } else if (flag == "--worker-loss") {
      config.core.worker_loss = parse_choice<worker_loss_policy>(flag, value(), {{"requeue", worker_loss_policy::requeue},
                                                             {"fail", worker_loss_policy::fail}});
    } else if (flag == "--ability-loss") {
      config.core.ability_loss = parse_choice<ability_loss_policy>(flag, value(), {{"requeue", ability_loss_policy::requeue},
                                                              {"keep", ability_loss_policy::keep}});
    } else if (flag == "--timeout-policy") {
      config.core.can_do_timeout = parse_choice<timeout_policy>(flag, value(), {{"requeue", timeout_policy::requeue},
                                                                {"fail", timeout_policy::fail}});
    } else if (flag == "--maxqueue-policy") {
      config.core.maxqueue = parse_choice<maxqueue_policy>(flag, value(), {{"reject", maxqueue_policy::reject},
                                                          {"evict", maxqueue_policy::evict}});
    } else if (flag == "--priority") {
      config.core.scope = parse_choice<priority_scope>(flag, value(), {{"global", priority_scope::global},
                                                       {"per-function", priority_scope::per_function}});
    } else if (flag == "--high-order") {
      config.core.high = parse_choice<high_order>(flag, value(), {{"fifo", high_order::fifo}, {"lifo", high_order::lifo}});
    } else if (flag == "--job-retries") {
      config.core.job_retries = static_cast<std::uint32_t>(parse_unsigned(flag, value()));
    } else if (flag == "--wakeup") {
      config.core.wakeup_limit = static_cast<std::uint32_t>(parse_unsigned(flag, value()));
    } else if (flag == "--max-unique") {
      config.core.max_unique = parse_unsigned(flag, value());
    } else if (flag == "--max-packet") {
      const auto n = parse_unsigned(flag, value());
      if (n > 0xffffffffu) fail_usage("--max-packet must fit in 32 bits");
      config.limits.max_payload = static_cast<std::uint32_t>(n);
    } else if (flag == "--max-connections") {
      config.max_connections = parse_unsigned(flag, value());
    } else if (flag == "--exceptions") {
      config.core.exceptions_default = true;
    } else if (flag == "--quiet") {
      quiet = true;
    } else {
      fail_usage("unknown option '" + std::string(flag) + "'");
    }
  }
  if (!quiet) config.log = [](const std::string& line) { std::fprintf(stderr, "gearspec-server: %s\n", line.c_str()); };

  net::asio::io_context io(1);
  tcp_server server(io, config);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gearspec-server: cannot listen on %s:%u: %s\n", config.listen_address.c_str(),
                 static_cast<unsigned>(config.port), e.what());
    return 1;
  }
  if (port_file) {
    // Written after listen(), so a supervisor that waits for this file knows the port is ready.
    const std::string tmp = *port_file + ".tmp";
    std::ofstream(tmp) << server.port() << "\n";
    std::rename(tmp.c_str(), port_file->c_str());
  }
  net::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const net::error_code& ec, int signo) {
    if (ec) return;
    if (!quiet) std::fprintf(stderr, "gearspec-server: signal %d, stopping\n", signo);
    server.stop();
  });
  server.on_stopped = [&] { signals.cancel(); };
  io.run();
  return 0;
}
