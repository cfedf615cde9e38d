// libFuzzer target for the reference job core (issue #8): the input is a script of connection
// events, raw bytes, well-formed packets from a small vocabulary (so handles, functions and unique
// keys collide often), admin lines and clock steps. Besides ASan/UBSan findings it checks two
// properties: the core never consumes more than it was given, and once every connection is gone
// the jobs left are exactly the background jobs in its store (nothing owed is dropped, nothing
// that ended is kept).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness/wire/command.hpp"
#include "harness/wire/encoder.hpp"
#include "reference-server/core/job_server.hpp"

namespace {

using namespace gearspec;
using namespace gearspec::refsrv;

class null_sink final : public output_sink {
 public:
  void write(conn_id, std::string_view bytes) override { written += bytes.size(); }
  void close_after_flush(conn_id) override {}
  void shutdown_requested(bool) override {}
  std::size_t written = 0;
};

class set_store final : public job_store {
 public:
  bool add(const stored_job& job) override { return handles.insert(job.handle).second; }
  void remove(std::string_view handle) override {
    if (handles.erase(std::string(handle)) != 1) std::abort();  // removing what was never stored
  }
  std::set<std::string> handles;
};

/// Reads the fuzzer's bytes as a script.
struct script {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t at = 0;
  bool done() const { return at >= size; }
  std::uint8_t byte() { return at < size ? data[at++] : 0; }
  std::string bytes(std::size_t n) {
    n = std::min(n, size - at);
    std::string out(reinterpret_cast<const char*>(data + at), n);
    at += n;
    return out;
  }
};

const char* const kFunctions[] = {"f0", "f1", "f2"};
const char* const kUniques[] = {"", "u0", "u1", "-"};
const char* const kAdmin[] = {"status",
                              "workers",
                              "show jobs",
                              "show unique jobs",
                              "prioritystatus",
                              "maxqueue f0 1",
                              "maxqueue f1 0 0 1",
                              "cancel job H:fz:1",
                              "cancel job H:fz:2",
                              "create function f2",
                              "drop function f1",
                              "version",
                              "getpid",
                              "verbose",
                              "shutdown graceful",
                              "bogus"};

std::string handle(script& s) {
  return "H:fz:" + std::to_string(s.byte() % 5 + 1);
}

/// One well-formed request of a random type with arguments from the vocabulary.
std::string packet(script& s) {
  const auto type = static_cast<std::uint32_t>(s.byte() % wire::last_command_number + 1);
  const auto* info = wire::find_command(type);
  std::vector<std::string> args;
  const std::string fn = kFunctions[s.byte() % 3];
  if (info) {
    for (std::size_t i = 0; i < info->arg_count; ++i) {
      const std::string_view arg = info->arg_names[i];
      if (arg == "func" || arg == "function")
        args.push_back(fn);
      else if (arg == "unique")
        args.push_back(kUniques[s.byte() % 4]);
      else if (arg == "handle")
        args.push_back(handle(s));
      else if (arg == "numerator" || arg == "denominator" || arg == "timeout")
        args.push_back(std::to_string(s.byte() % 4));
      else if (arg == "option")
        args.push_back(s.byte() % 2 ? "exceptions" : "other");
      else if (arg == "epoch")
        args.push_back(std::to_string(1'700'000'000 + s.byte() % 4));
      else
        args.push_back(s.bytes(s.byte() % 8));
    }
  }
  std::string payload;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i) payload.push_back('\0');
    payload += args[i];
  }
  std::string out;
  wire::encode_raw(wire::magic_bytes(wire::packet_magic::request), type,
                   static_cast<std::uint32_t>(payload.size()), payload, out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  null_sink sink;
  set_store store;
  core_options options;
  options.handle_prefix = "H:fz:";
  std::int64_t unix_ms = 1'700'000'000'000;
  options.unix_time_ms = [&unix_ms] { return unix_ms; };
  job_server core(options, sink);
  core.set_store(&store);
  time_point now{};
  std::map<conn_id, std::string> open;  // connection -> bytes not yet consumed
  script s{data, size};
  auto feed = [&](conn_id c, const std::string& bytes) {
    auto& buffer = open[c];
    buffer += bytes;
    const auto r = core.receive(c, buffer, now);
    if (r.consumed > buffer.size()) std::abort();
    buffer.erase(0, r.consumed);
    if (r.close) {
      core.on_disconnect(c, now);
      open.erase(c);
    }
  };
  while (!s.done()) {
    const auto op = s.byte();
    const conn_id c = op % 4 + 1;
    switch ((op >> 2) % 8) {
      case 0:
        if (!open.count(c)) {
          open[c];
          core.on_connect(c, "127.0.0.1");
        }
        break;
      case 1:
        if (open.count(c)) {
          core.on_disconnect(c, now);
          open.erase(c);
        }
        break;
      case 2:
      case 3:
        if (open.count(c)) feed(c, s.bytes(s.byte() % 64));
        break;
      case 4:
      case 5:
        if (open.count(c)) feed(c, packet(s));
        break;
      case 6:
        if (open.count(c)) feed(c, std::string(kAdmin[s.byte() % 16]) + "\n");
        break;
      case 7: {
        const auto step = std::chrono::milliseconds(s.byte() * 20);
        now += step;
        unix_ms += step.count();
        core.on_timer(now);
        break;
      }
    }
  }
  for (auto& [c, rest] : open) core.on_disconnect(c, now);
  if (core.connection_count() != 0) std::abort();
  // Only background jobs outlive every connection, and each of them is stored.
  if (core.job_count() != store.handles.size()) std::abort();
  return 0;
}
