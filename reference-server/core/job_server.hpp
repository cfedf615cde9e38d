#pragma once
// The reference job core: a complete Gearman job server with no I/O. It takes connection events
// and received bytes, and writes replies through an output_sink (nghttp2's "bytes in, bytes out").
// Single-threaded by design: the Asio layer runs it on one io_context.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "harness/wire/decoder.hpp"
#include "harness/wire/packet.hpp"
#include "reference-server/core/job_store.hpp"
#include "reference-server/core/options.hpp"

namespace gearspec::refsrv {

/// Identifies a connection; chosen by the I/O layer, never reused while open.
using conn_id = std::uint64_t;
using clock = std::chrono::steady_clock;
using time_point = clock::time_point;

/// Where the core's output goes. The I/O layer implements it; tests record it.
class output_sink {
 public:
  virtual ~output_sink() = default;
  /// Queue bytes (whole packets or admin text) for a connection.
  virtual void write(conn_id conn, std::string_view bytes) = 0;
  /// Close the connection once what is queued has been written.
  virtual void close_after_flush(conn_id conn) = 0;
  /// The admin "shutdown" command was accepted.
  virtual void shutdown_requested(bool graceful) = 0;
};

/// Counters an admin "status" line shows, for tests and the I/O layer.
struct function_counts {
  std::size_t total = 0;    ///< queued + running
  std::size_t running = 0;  ///< assigned to a worker
  std::size_t workers = 0;  ///< connections that can do it
};

class job_server {
 public:
  job_server(core_options options, output_sink& sink);
  ~job_server();
  job_server(const job_server&) = delete;
  job_server& operator=(const job_server&) = delete;

  /// A connection was accepted. peer is shown by the "workers" admin command.
  void on_connect(conn_id conn, std::string peer);
  /// A connection is gone (either side closed it). Its jobs are handled per the semantics.
  void on_disconnect(conn_id conn, time_point now);

  /// Result of feeding received bytes.
  struct receive_result {
    std::size_t consumed = 0;  ///< drop this many bytes from the front of the buffer
    bool close = false;        ///< the stream cannot continue; close after flushing
  };
  /** Decodes and handles every complete frame at the front of bytes: binary packets and admin
      lines. Malformed input gets an ERROR packet; when the framing is lost (bad magic, oversized
      packet, overlong line) the result asks for a close. */
  receive_result receive(conn_id conn, std::string_view bytes, time_point now);

  /// Handles one decoded request packet (receive() calls this; tests may call it directly).
  void on_packet(conn_id conn, const wire::packet_view& p, time_point now);
  /// Handles one admin text line (without its ending).
  void on_admin_line(conn_id conn, std::string_view line, time_point now);

  /// The earliest time at which on_timer has work (epoch jobs due, CAN_DO_TIMEOUT expiry).
  std::optional<time_point> next_deadline() const;
  /// Runs every timer due at or before now.
  void on_timer(time_point now);

  /** Background jobs are recorded in store from now on (null = none). Call restore() for the
      store's jobs first. The store must outlive the core. */
  void set_store(job_store* store) noexcept { store_ = store; }
  /** Recreates a stored background job (server start), keeping its handle and unique key; jobs
      come in their original order. Returns false (and ignores it) if the handle already exists. */
  bool restore(const stored_job& stored, time_point now);

  /// Limits for the decoder used by receive().
  void set_decoder_limits(wire::decoder_limits limits) {
    decoder_ = wire::decoder(wire::packet_magic::request, limits);
  }

  // Introspection (tests, graceful shutdown).
  std::size_t job_count() const noexcept { return jobs_.size(); }
  std::size_t connection_count() const noexcept { return connections_.size(); }
  std::optional<function_counts> counts(std::string_view function) const;

 private:
  struct job;
  struct function;
  struct connection;
  struct timer_entry {
    job* target;
    enum class kind : std::uint8_t { epoch_due, work_timeout } what;
  };
  using timer_map = std::multimap<time_point, timer_entry>;

  /// Intrusive FIFO of queued jobs (O(1) unlink when a client leaves or a job is cancelled).
  struct job_list {
    job* head = nullptr;
    job* tail = nullptr;
    std::size_t size = 0;
    void push_back(job* j);
    void push_front(job* j);
    void unlink(job* j);
  };

  struct function {
    std::string name;
    std::array<job_list, 3> queues;  ///< runnable jobs per priority
    std::size_t total = 0;           ///< jobs that exist (queued, running, pending epoch)
    std::size_t running = 0;
    std::vector<conn_id> workers;             ///< connections that can do it, in registration order
    std::array<std::int64_t, 3> max_queue{};  ///< per priority; <= 0 means no limit
  };

  struct job {
    std::string handle;
    function* fn = nullptr;
    std::string unique;  ///< as submitted ("-" is kept)
    /// The job's key in by_unique_ (node keys keep their address), or null if it has none.
    const std::string* unique_key = nullptr;
    std::string data;
    std::string reducer;
    std::string aggregator;
    bool has_reducer = false;
    priority prio = priority::normal;
    bool keep_alive = false;  ///< a background submitter is attached: never abandoned
    /// Attached foreground submissions in submission order, one entry per SUBMIT (a connection
    /// that submitted the same key twice appears twice and hears every WORK_* twice).
    std::vector<conn_id> clients;
    conn_id worker = 0;   ///< 0 while not assigned
    bool queued = false;  ///< linked into fn->queues[prio]
    std::string numerator = "0";
    std::string denominator = "0";
    std::uint32_t attempts = 0;  ///< times assigned and lost (worker loss, timeout)
    std::optional<timer_map::iterator> timer;
    std::uint64_t number = 0;    ///< the handle's counter: creation order
    std::uint64_t sequence = 0;  ///< enqueue order, for FIFO across functions
    std::int64_t epoch = 0;      ///< SUBMIT_JOB_EPOCH run time (Unix seconds), 0 = none
    bool stored = false;         ///< recorded in store_ (removed when the job ends)
    // Intrusive queue links.
    job* prev = nullptr;
    job* next = nullptr;
  };

  struct ability {
    function* fn;
    std::int64_t timeout_ms;  ///< CAN_DO_TIMEOUT; 0 = none
  };

  struct connection {
    conn_id id = 0;
    std::string peer;
    std::string client_id = "-";
    std::vector<ability> abilities;  ///< in registration order
    bool sleeping = false;
    bool noop_sent = false;
    bool exceptions = false;
    std::vector<job*> held;              ///< jobs assigned to this worker
    std::unordered_set<job*> listening;  ///< jobs this client is attached to (once each)
  };

  // Packet handlers (PROTOCOL packet names in the .cpp).
  void handle_submit(connection& c, const wire::packet_view& p, time_point now);
  void handle_grab(connection& c, wire::command how, time_point now);
  void handle_work_update(connection& c, const wire::packet_view& p);
  void handle_work_end(connection& c, const wire::packet_view& p);
  void handle_get_status(connection& c, const wire::packet_view& p);
  void handle_get_status_unique(connection& c, const wire::packet_view& p);
  void handle_can_do(connection& c, std::string_view name, std::int64_t timeout_ms);
  void handle_cant_do(connection& c, std::string_view name, time_point now);
  void handle_reset_abilities(connection& c, time_point now);
  void handle_pre_sleep(connection& c);
  void drop_ability(connection& c, function& fn, time_point now);
  job* held_job(connection& c, std::string_view handle);

  // Admin commands (admin_commands.cpp).
  void admin_workers(connection& c);
  void admin_status(connection& c);
  void admin_prioritystatus(connection& c);
  void admin_maxqueue(connection& c, const std::vector<std::string>& args);
  void admin_show(connection& c, const std::vector<std::string>& args);
  void admin_cancel(connection& c, const std::vector<std::string>& args);
  void admin_create_function(connection& c, const std::vector<std::string>& args);
  void admin_drop_function(connection& c, const std::vector<std::string>& args);

  // Job life cycle.
  function& function_named(std::string_view name);
  function* find_function(std::string_view name);
  job* find_job(std::string_view handle);
  /// Why a worker no longer holds a job.
  enum class release_reason { disconnect, timeout, ability };
  void enqueue(job& j, bool wake);
  job* pick_job(connection& worker);
  /// pick_job, dropping the abandoned jobs it meets first.
  job* pick_live_job(connection& worker);
  void assign(job& j, connection& worker, time_point now);
  void unassign(job& j);
  void finish(job& j);
  void release_job(job& j, release_reason why, time_point now);
  void fail_job(job& j);
  void detach_client(job& j, conn_id client);
  /// A foreground job nobody waits for any more (no client, no background submitter).
  static bool abandoned(const job& j) { return j.clients.empty() && !j.keep_alive; }
  void wake_workers(function& fn);
  bool has_runnable_work(const connection& c) const;
  void cancel_timer(job& j);
  bool store_job(job& j);
  void start_job(job& j, time_point now, bool wake);
  void arm_timer(job& j, time_point when, timer_entry::kind what);
  std::string unique_key(const function& fn, std::string_view unique, std::string_view data) const;

  // Output helpers.
  void send(conn_id conn, wire::command cmd, std::initializer_list<std::string_view> args);
  void send_error(conn_id conn, std::string_view code, std::string_view text);
  void send_text(conn_id conn, std::string_view text);
  void broadcast(const job& j, wire::command cmd, std::initializer_list<std::string_view> args);

  core_options options_;
  output_sink& sink_;
  wire::decoder decoder_{wire::packet_magic::request};
  std::unordered_map<conn_id, std::unique_ptr<connection>> connections_;
  std::unordered_map<std::string, std::unique_ptr<function>> functions_;
  std::unordered_map<std::string, std::unique_ptr<job>> jobs_;  ///< by handle
  std::unordered_map<std::string, job*> by_unique_;             ///< by unique_key()
  timer_map timers_;
  job_store* store_ = nullptr;
  std::uint64_t next_handle_ = 1;
  std::set<std::string> restored_keyless_;  ///< emulated keyless_jobs_collide_on_reload
  std::uint64_t next_sequence_ = 1;
  std::string scratch_;  ///< reused encode buffer
};

}  // namespace gearspec::refsrv
