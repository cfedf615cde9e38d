// gearspec-server: the reference Gearman server as a standalone program.

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/common/command_line.hpp"
#include "reference-server/server/server_options.hpp"
#include "reference-server/server/tcp_server.hpp"

namespace {

using namespace gearspec;
using namespace gearspec::refsrv;

constexpr const char* usage_head = R"(usage: gearspec-server [options]

The gearspec reference Gearman job server.

  --listen ADDR            address to listen on (default 127.0.0.1)
  --port N                 port (default 4730; 0 picks a free one)
  --port-file FILE         write the bound port to FILE once listening
)";
constexpr const char* usage_tail =
    R"(  --quiet                  do not log connections and errors to stderr
  --version                the version
  --help                   this text

Stops cleanly on SIGINT or SIGTERM, or on the admin command "shutdown [graceful]".
)";

[[noreturn]] void fail_usage(const std::string& message) {
  std::fprintf(stderr, "gearspec-server: %s\n(see --help)\n", message.c_str());
  std::exit(2);
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

  const auto arg_strings = command_line::arguments(argc, argv, [](std::string_view flag) {
    const auto name = flag.substr(2);
    if (name == "listen" || name == "port" || name == "port-file") return true;
    const auto takes = server_option_takes_value(name);
    return takes && *takes;
  });
  if (command_line::print_version_if_asked(arg_strings, "gearspec-server")) return 0;
  const std::vector<std::string_view> args(arg_strings.begin(), arg_strings.end());
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto flag = args[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= args.size()) fail_usage(std::string(flag) + " needs a value");
      return args[++i];
    };
    if (flag == "--help" || flag == "-h") {
      std::fputs(usage_head, stdout);
      std::fputs(server_options_help(), stdout);
      std::fputs(usage_tail, stdout);
      return 0;
    } else if (flag == "--listen") {
      config.listen_address = std::string(value());
    } else if (flag == "--port") {
      const auto text = value();
      unsigned port = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
      if (ec != std::errc{} || end != text.data() + text.size() || port > 65535)
        fail_usage("--port needs a number up to 65535, got '" + std::string(text) + "'");
      config.port = static_cast<std::uint16_t>(port);
    } else if (flag == "--port-file") {
      port_file = std::string(value());
    } else if (flag == "--quiet") {
      quiet = true;
    } else if (flag.starts_with("--")) {
      const auto name = flag.substr(2);
      const auto takes_value = server_option_takes_value(name);
      if (!takes_value) fail_usage("unknown option '" + std::string(flag) + "'");
      const auto v = *takes_value ? value() : std::string_view{};
      if (auto error = apply_server_option(config, name, v); !error.empty()) fail_usage(error);
    } else {
      fail_usage("unexpected argument '" + std::string(flag) + "'");
    }
  }
  if (!quiet)
    config.log = [](const std::string& line) {
      std::fprintf(stderr, "gearspec-server: %s\n", line.c_str());
    };

  net::asio::io_context io(1);
  std::unique_ptr<tcp_server> owned;
  try {
    owned = std::make_unique<tcp_server>(io, config);
  } catch (const std::exception& e) {  // the queue database cannot be used: never start without it
    std::fprintf(stderr, "gearspec-server: %s\n", e.what());
    return 1;
  }
  tcp_server& server = *owned;
  try {
    server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gearspec-server: cannot listen on %s:%u: %s\n",
                 config.listen_address.c_str(), static_cast<unsigned>(config.port), e.what());
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
  if (!server.fatal_error().empty()) {
    std::fprintf(stderr, "gearspec-server: %s\n", server.fatal_error().c_str());
    return 1;
  }
  return 0;
}
