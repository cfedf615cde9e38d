#pragma once
// One adapter process (docs/clients.md, "The adapter contract"): started through /bin/sh in a
// process group of its own, commands written to its stdin as JSON lines, events read from its
// stdout into a queue, its stderr kept for the report. Coroutines on the case runner's io_context;
// every wait is bounded by the caller's deadline.

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "harness/clients/json_line.hpp"
#include "harness/net/asio.hpp"

namespace gearspec::clients {

/// One event line: its fields, and the line as written (for transcripts).
struct agent_event {
  json_object fields;
  std::string line;
  bool consumed = false;

  std::string text(const std::string& key) const;
  std::string name() const { return text("event"); }
  std::string id() const { return text("id"); }
};

class agent_process {
 public:
  using line_sink = std::function<void(char direction, const std::string& line)>;

  agent_process(net::asio::io_context& io, std::string command,
                std::map<std::string, std::string> environment, line_sink sink);
  ~agent_process();
  agent_process(const agent_process&) = delete;
  agent_process& operator=(const agent_process&) = delete;

  /// Starts the process; throws std::runtime_error if it cannot be started.
  void start();
  /// Writes one command line (the newline is added).
  net::asio::awaitable<bool> send(std::string json_line);
  /// Waits until an event arrives, the process ends, or deadline.
  net::asio::awaitable<void> wait(std::chrono::steady_clock::time_point deadline);

  std::deque<agent_event>& events() noexcept { return events_; }
  /// A line that is not a JSON object with an "event": the adapter broke the contract.
  const std::string& contract_error() const noexcept { return contract_error_; }
  /// stdout reached its end (the process closed it or ended).
  bool finished() const noexcept { return eof_; }
  /// The exit status once known: "exit 0", "exit 3", "signal 11 (SIGSEGV)".
  std::optional<std::string> ended();
  /// True if it ended by a signal or a non-zero exit.
  bool ended_badly();
  /// The last lines it wrote to stderr (at most 20).
  std::string stderr_tail() const;
  /// Kills the whole process group (SIGKILL) and reaps it.
  void kill();
  /// Waits (bounded) for the process to end by itself after quit; kills it at the deadline.
  net::asio::awaitable<void> finish(std::chrono::milliseconds limit);

 private:
  net::asio::awaitable<void> read_events();
  net::asio::awaitable<void> read_stderr();
  void reap(bool block);

  net::asio::io_context& io_;
  std::string command_;
  std::map<std::string, std::string> environment_;
  line_sink sink_;
  net::asio::posix::stream_descriptor in_, out_, err_;
  net::asio::steady_timer signal_;
  std::deque<agent_event> events_;
  std::string contract_error_;
  std::deque<std::string> stderr_lines_;
  std::string stderr_partial_;
  int pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  bool eof_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace gearspec::clients
