// gearspec: the command-line entry point. Subcommands grow with the project; each says clearly what
// it did, and exit codes are 0 = success, 1 = failures found, 2 = usage or input error.

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "harness/cli/clients_command.hpp"
#include "harness/cli/explore_command.hpp"
#include "harness/cli/run_command.hpp"
#include "harness/common/command_line.hpp"
#include "harness/wire/decoder.hpp"
#include "harness/wire/printer.hpp"

namespace {

using namespace gearspec;

constexpr int exit_ok = 0;
constexpr int exit_failures = 1;
constexpr int exit_usage = 2;

void print_usage(std::FILE* to) {
  std::fputs(
      "usage: gearspec <command> [options]\n"
      "\n"
      "commands:\n"
      "  run [PATH...] [options]  run YAML scenarios against a server (see gearspec run --help)\n"
      "  explore [options]       random programs against a server and the reference server side "
      "by\n"
      "                          side; divergences shrunk to scenarios (gearspec explore --help)\n"
      "  clients [options]       client and worker libraries under test, the harness playing the\n"
      "                          server (see gearspec clients --help)\n"
      "  packets                 list the 42 binary packet types with their argument shapes\n"
      "  decode [--responses] FILE\n"
      "                          decode a captured Gearman byte stream (FILE or - for stdin) and\n"
      "                          print one line per packet or admin line; --responses expects\n"
      "                          server-to-client (\\0RES) bytes\n"
      "  help [COMMAND]          this text, or the help of a command\n"
      "\n"
      "Options take their value as --name VALUE or --name=VALUE. gearspec --version prints the\n"
      "version.\n",
      to);
}

int cmd_packets() {
  std::printf("%-4s %-29s %-9s %s\n", "#", "name", "direction", "arguments");
  for (std::uint32_t n = wire::first_command_number; n <= wire::last_command_number; ++n) {
    const auto& c = *wire::find_command(n);
    const char* dir = c.is_request && c.is_response ? "REQ/RES"
                      : c.is_request                ? "REQ"
                      : c.is_response               ? "RES"
                                                    : "-";
    std::string args;
    for (std::size_t i = 0; i < c.arg_count; ++i) {
      if (i) args += ", ";
      args += c.arg_names[i];
    }
    std::printf("%-4u %-29.*s %-9s %s\n", n, static_cast<int>(c.name.size()), c.name.data(), dir,
                args.c_str());
  }
  return exit_ok;
}

int cmd_decode(const std::vector<std::string_view>& args) {
  bool responses = false;
  std::string_view path;
  for (auto a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(
          "usage: gearspec decode [--responses] FILE\n\n"
          "Decodes a captured Gearman byte stream (FILE, or - for standard input) and prints one\n"
          "line per packet or admin line. --responses expects server-to-client (\\0RES) bytes.\n"
          "Exit code: 0 if everything decoded, 1 if not, 2 on a usage error.\n",
          stdout);
      return exit_ok;
    } else if (a == "--responses") {
      responses = true;
    } else if (path.empty()) {
      path = a;
    } else {
      std::fprintf(stderr, "gearspec decode: unexpected argument '%.*s'\n",
                   static_cast<int>(a.size()), a.data());
      return exit_usage;
    }
  }
  if (path.empty()) {
    std::fputs("gearspec decode: missing FILE (use - for standard input)\n", stderr);
    return exit_usage;
  }
  std::string bytes;
  if (path == "-") {
    bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in{std::string(path), std::ios::binary};
    if (!in) {
      std::fprintf(stderr, "gearspec decode: cannot open '%.*s'\n", static_cast<int>(path.size()),
                   path.data());
      return exit_usage;
    }
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  wire::decoder decoder(responses ? wire::packet_magic::response : wire::packet_magic::request);
  std::size_t offset = 0;
  int problems = 0;
  while (offset < bytes.size()) {
    wire::frame f;
    const auto r = decoder.decode(std::string_view(bytes).substr(offset), f);
    if (r.status == wire::decode_status::need_more) {
      std::printf("@%zu: incomplete frame: %zu bytes left over\n", offset, bytes.size() - offset);
      ++problems;
      break;
    }
    if (r.status == wire::decode_status::error) {
      std::printf("@%zu: error: %s\n", offset, r.error.message().c_str());
      ++problems;
      if (!wire::is_recoverable(static_cast<wire::errc>(r.error.value()))) break;
    } else if (f.type == wire::frame::kind::text) {
      std::printf("@%zu: text \"%s\"\n", offset, wire::escape_bytes(f.line, 200).c_str());
    } else {
      std::printf("@%zu: %s\n", offset, wire::to_string(f.packet).c_str());
    }
    offset += r.consumed;
  }
  return problems ? exit_failures : exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  // A write to a peer or an adapter's stdin after it died must be an error to report, not the end
  // of gearspec (SIGPIPE killed `gearspec clients` when an adapter died before reading).
  std::signal(SIGPIPE, SIG_IGN);
  const std::string_view first = argc > 1 ? argv[1] : "";
  const auto arg_strings =
      command_line::arguments(argc, argv,
                              first == "explore"   ? cli::explore_option_takes_value
                              : first == "clients" ? cli::clients_option_takes_value
                                                   : cli::run_option_takes_value);
  std::vector<std::string_view> args(arg_strings.begin(), arg_strings.end());
  if (args.empty()) {
    print_usage(stderr);
    return exit_usage;
  }
  const auto command = args.front();
  args.erase(args.begin());
  if (command == "--version" || command == "version") {
    std::printf("gearspec %s\n", GEARSPEC_VERSION);
    return exit_ok;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    // gearspec help COMMAND: that command's own help.
    if (!args.empty() && args.front() == "run") {
      std::fputs(cli::run_help(), stdout);
      return exit_ok;
    }
    if (!args.empty() && args.front() == "decode") return cmd_decode({"--help"});
    if (!args.empty() && args.front() == "explore") return cli::explore_command({"--help"});
    if (!args.empty() && args.front() == "clients") return cli::clients_command({"--help"});
    if (!args.empty() && args.front() != "packets") {
      std::fprintf(stderr, "gearspec help: unknown command '%.*s'\n\n",
                   static_cast<int>(args.front().size()), args.front().data());
      print_usage(stderr);
      return exit_usage;
    }
    print_usage(stdout);
    return exit_ok;
  }
  if (command == "run") return gearspec::cli::run_command(args);
  if (command == "explore") return gearspec::cli::explore_command(args);
  if (command == "clients") return gearspec::cli::clients_command(args);
  if (command == "packets") return cmd_packets();
  if (command == "decode") return cmd_decode(args);
  std::fprintf(stderr, "gearspec: unknown command '%.*s'\n\n", static_cast<int>(command.size()),
               command.data());
  print_usage(stderr);
  return exit_usage;
}
