#pragma once
// Unscripted peers for load generators (gearspec-bench, gearspec-soak): a buffered connection
// that queues requests and decodes replies, and an autonomous worker (Envoy's "autonomous
// upstream") that grabs, sleeps and wakes by itself and asks a handler what to do with each job.
// Coroutines on the caller's io_context; no judging here: the tools keep their own accounting.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "harness/engine/target.hpp"
#include "harness/net/asio.hpp"
#include "harness/wire/decoder.hpp"

namespace gearspec::engine {

/// One connection of a load generator. Requests are queued and flushed one write at a time;
/// replies are decoded from a stream_decoder that owns the received bytes.
class buffered_connection : public std::enable_shared_from_this<buffered_connection> {
 public:
  static std::shared_ptr<buffered_connection> create(net::asio::io_context& io) {
    return std::shared_ptr<buffered_connection>(new buffered_connection(io));
  }

  /// Connects to a numeric address; the error if it could not.
  net::asio::awaitable<net::error_code> connect(const endpoint& where);
  /// Queues a request packet. Not a coroutine: an initializer_list cannot be passed into one
  /// with g++ 12.
  void queue(wire::command cmd, std::initializer_list<std::string_view> args);
  /// Starts writing what is queued (one write in flight; more queue up behind it).
  void flush();
  /// The next packet, valid until the next call; nullopt once the connection ended or sent bytes
  /// that are not a Gearman response (see problem()).
  net::asio::awaitable<std::optional<wire::packet_view>> next();
  /// Why next() returned nullopt.
  const std::string& problem() const noexcept { return problem_; }
  /// Closes gracefully, or abortively (RST, as a crashed process).
  void close(bool abortive = false);
  /// Closed abortively by close(true).
  bool killed() const noexcept { return killed_; }
  net::tcp::socket& socket() noexcept { return socket_; }

 private:
  explicit buffered_connection(net::asio::io_context& io)
      : socket_(io), decoder_(wire::packet_magic::response, {}, false) {}

  net::tcp::socket socket_;
  wire::stream_decoder decoder_;
  std::string out_;
  std::string chunk_;
  std::string problem_;
  bool writing_ = false;
  bool killed_ = false;
};

/// A job a worker was given (owned copies: the handler may wait before it answers).
struct assigned_job {
  std::string handle;
  std::string function;
  std::string data;
};

/// Decides what an autonomous worker does with each job.
class job_handler {
 public:
  virtual ~job_handler() = default;
  /// The result to complete the job with, or nullopt to stop working (a handler that closed the
  /// connection simulates a worker that died holding the job).
  virtual net::asio::awaitable<std::optional<std::string>> on_job(const assigned_job& job) = 0;
  /// A reply the worker loop has no use for (default: nothing).
  virtual void on_other(const wire::packet_view& p) { (void)p; }
};

/** Runs a worker on a connected connection: CAN_DO function, then GRAB_JOB; NO_JOB is answered
    with PRE_SLEEP and NOOP with GRAB_JOB; each JOB_ASSIGN goes to the handler and its result back
    as WORK_COMPLETE, followed by the next GRAB_JOB. Returns when the connection ends or the
    handler stops. */
net::asio::awaitable<void> run_worker(buffered_connection& c, std::string function,
                                      job_handler& handler);

}  // namespace gearspec::engine
