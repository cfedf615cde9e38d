#pragma once
// The reference server's Asio layer: accepts TCP connections and runs the job core for them on one
// io_context (no locks). Each connection is a reader coroutine and a writer coroutine (Asio's
// chat_server pattern); the writer sends everything queued since its last write in one go.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "harness/net/asio.hpp"
#include "harness/wire/decoder.hpp"
#include "reference-server/core/job_server.hpp"
#include "reference-server/persistence/sqlite_store.hpp"

namespace gearspec::refsrv {

/// Defects of the network layer the server can emulate (see emulated_defects in core/options.hpp);
/// all off by default.
struct emulated_wire_defects {
  bool request_magic = false;     ///< replies start \0REQ instead of \0RES
  bool hold_job_created = false;  ///< JOB_CREATED goes out 100 ms late; later replies overtake it
  /// Only every 20th JOB_CREATED of the server is held back: a race that a scenario trying its
  /// window once almost never sees.
  bool hold_rarely = false;
  /// No TCP_NODELAY, and each packet written in two pieces (header, then the rest): every reply
  /// waits for the peer's delayed ACK (Nagle's algorithm).
  bool nagle = false;
  bool any() const noexcept { return request_magic || hold_job_created || nagle; }
};

/// Everything needed to run a server.
struct server_config {
  /// Address to listen on; loopback by default.
  std::string listen_address = "127.0.0.1";
  /// Port; 0 picks a free one (see tcp_server::port()).
  std::uint16_t port = 0;
  /// SO_REUSEPORT on the listener, so that whoever restarts this server can hold its port with a
  /// socket of its own while no server listens (the embedded target's restart).
  bool reuse_port = false;
  core_options core;
  wire::decoder_limits limits;
  /// Connections beyond this are accepted and closed at once.
  std::size_t max_connections = 100000;
  /// A peer that does not read its replies is disconnected once this many bytes are waiting.
  std::size_t max_output_bytes = 64u << 20;
  /// Persistent queue for background jobs: "sqlite:PATH", or empty for none.
  std::string queue;
  store_sync queue_sync = store_sync::full;
  emulated_wire_defects wire_defects;
  /// Receives one line per connection event and error; empty = quiet.
  std::function<void(const std::string&)> log;
};

/// A Gearman server on an io_context the caller runs.
class tcp_server final : private output_sink {
 public:
  /// Opens and reloads the persistent queue if one is configured: throws store_error if the
  /// database cannot be used.
  tcp_server(net::asio::io_context& io, server_config config);
  ~tcp_server() override;
  tcp_server(const tcp_server&) = delete;
  tcp_server& operator=(const tcp_server&) = delete;

  /// Binds, listens and starts accepting. Throws std::system_error when the address is unusable.
  void start();
  /// The bound port (after start).
  std::uint16_t port() const noexcept { return port_; }
  /// Stops accepting and closes every connection; run() returns once they have wound down.
  void stop();
  /// Stops as a crash would: connections are reset without flushing, and the queue database keeps
  /// only what was committed before (nothing after this is written to it).
  void abort();
  /// Called once, when the server stops (stop(), or admin "shutdown" once it takes effect).
  std::function<void()> on_stopped;

  /// Set when the server stopped because its queue database failed (the server exits non-zero).
  const std::string& fatal_error() const noexcept { return fatal_error_; }

  /// The core, for introspection on the io_context's thread.
  const job_server& core() const noexcept { return *core_; }

 private:
  class session;

  void write(conn_id conn, std::string_view bytes) override;
  void close_after_flush(conn_id conn) override;
  void shutdown_requested(bool graceful) override;

  net::asio::awaitable<void> accept_loop();
  net::asio::awaitable<void> timer_loop();
  void after_event();
  /// Commits the queue; false (and fatal_error_ set) if the database failed.
  bool commit_store();
  void flush_dirty();
  void log(const std::string& line) const;

  net::asio::io_context& io_;
  server_config config_;
  std::unique_ptr<sqlite_store>
      store_;  ///< declared before core_: the core calls it until destroyed
  std::unique_ptr<job_server> core_;
  net::tcp::acceptor acceptor_;
  net::asio::steady_timer core_timer_;
  std::unordered_map<conn_id, std::shared_ptr<session>> sessions_;
  std::vector<std::shared_ptr<session>>
      dirty_;  ///< sessions with output queued by the current event
  /// Replies held back by the hold-job-created emulation (cancelled by stop()).
  std::vector<std::shared_ptr<net::asio::steady_timer>> held_;
  std::uint64_t jobs_created_ = 0;  ///< JOB_CREATEDs written (hold-job-created-rarely)
  std::string read_buffer_ = std::string(64 * 1024, '\0');  ///< shared by all readers (one thread)
  std::string fatal_error_;
  conn_id next_conn_ = 1;
  std::uint16_t port_ = 0;
  bool stopping_ = false;  ///< no longer accepting
  bool stopped_ = false;   ///< every connection closed
  bool graceful_ = false;  ///< stop once no job is left
};

/// A server running on its own thread: the harness's embedded default target.
class embedded_server {
 public:
  /// Starts at once; throws if it cannot listen.
  explicit embedded_server(server_config config = {});
  ~embedded_server();
  embedded_server(const embedded_server&) = delete;
  embedded_server& operator=(const embedded_server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  const std::string& address() const noexcept { return address_; }
  /// The Linux thread id of the server's thread (for its CPU time in /proc/self/task/ID/stat).
  long thread_id() const noexcept { return thread_id_.load(); }
  /// Stops the server and joins its thread (idempotent).
  void stop();
  /** Ends the server as a crash would, between two events: connections are reset without
      flushing and nothing more is committed to the queue (tcp_server::abort). What a SIGKILL would
      keep (the last committed queue state) is all that remains. */
  void crash();

 private:
  net::asio::io_context io_{1};
  std::unique_ptr<tcp_server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::string address_;
  std::atomic<long> thread_id_{0};
  bool stopped_ = false;

  void end(bool crash);
};

}  // namespace gearspec::refsrv
