#include "reference-server/server/tcp_server.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <exception>
#include <future>
#include <system_error>

namespace gearspec::refsrv {

namespace asio = net::asio;
using net::tcp;

/// One TCP connection: a reader feeding the core and a writer draining what the core queued.
class tcp_server::session : public std::enable_shared_from_this<session> {
 public:
  session(tcp_server& server, tcp::socket socket, conn_id id)
      : server_(server), socket_(std::move(socket)), wake_(socket_.get_executor()), id_(id) {
    wake_.expires_at(asio::steady_timer::time_point::max());
  }

  conn_id id() const noexcept { return id_; }

  /// Queues bytes. They are written when the server flushes after the current event (all that
  /// one event produced goes out in one write), or by the writer if the socket is full.
  void deliver(std::string_view bytes) {
    if (closed_) return;
    pending_.append(bytes);
    if (pending_.size() > server_.config_.max_output_bytes) {
      server_.log("connection " + std::to_string(id_) + ": peer is not reading; closing");
      close();
      return;
    }
    if (!dirty_) {
      dirty_ = true;
      server_.dirty_.push_back(shared_from_this());
    }
  }

  /// Writes what is queued without waiting: most replies fit the socket buffer, so this saves a
  /// hop through the writer coroutine. Whatever does not fit is left to the writer.
  void flush_now() {
    dirty_ = false;
    if (closed_ || pending_.empty()) return;
    if (!writer_busy_) {
      net::error_code ec;
      if (server_.config_.wire_defects.nagle) {
        // Emulated defect: the header alone first; with Nagle's algorithm on, the rest waits for
        // the peer to acknowledge it.
        write_in_pieces();
        return;
      }
      const auto n = socket_.write_some(asio::buffer(pending_), ec);
      if (!ec)
        pending_.erase(0, n);
      else if (ec != asio::error::would_block && ec != asio::error::try_again) {
        close();
        return;
      }
      if (pending_.empty()) return;
    }
    wake_.cancel();
  }

  /// The nagle emulation: every packet as two writes, header and rest, through the writer.
  void write_in_pieces() {
    split_writes_ = true;
    wake_.cancel();
  }

  void close_after_flush() {
    closing_ = true;
    wake_.cancel();
  }

  /// True once the core asked for a close after the pending bytes are written.
  bool closing() const noexcept { return closing_; }

  /// Closes with RST and drops unsent bytes (a crashed server's connections).
  void reset() {
    if (closed_) return;
    pending_.clear();
    net::error_code ignored;
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    closed_ = true;
    socket_.close(ignored);
    wake_.cancel();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    net::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    wake_.cancel();
  }

  asio::awaitable<void> reader() {
    auto self = shared_from_this();
    // Wait for readability, then read into the server's one scratch buffer (single-threaded, used
    // only within this handler): an idle connection holds no read buffer at all. Only bytes of an
    // incomplete packet are kept per connection.
    std::string leftover;
    while (!closed_) {
      net::error_code ec;
      co_await socket_.async_wait(tcp::socket::wait_read,
                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec || closed_) break;
      auto& scratch = server_.read_buffer_;
      const auto n = socket_.read_some(asio::buffer(scratch), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
      if (ec) break;  // eof, reset or closed by us: all end the connection the same way
      std::string_view input(scratch.data(), n);
      if (!leftover.empty()) {
        leftover.append(input);
        input = leftover;
      }
      const auto result = server_.core_->receive(id_, input, clock::now());
      if (leftover.empty()) {
        if (result.consumed < n)
          leftover.assign(scratch.data() + result.consumed, n - result.consumed);
      } else {
        leftover.erase(0, result.consumed);
        if (leftover.empty() && leftover.capacity() > scratch.size()) std::string().swap(leftover);
      }
      server_.after_event();
      if (result.close) break;
    }
    if (!closing_) close();
  }

  asio::awaitable<void> writer() {
    auto self = shared_from_this();
    std::string sending;
    while (!closed_) {
      if (pending_.empty()) {
        if (closing_) break;
        net::error_code ec;
        co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      // Everything queued since the last write goes out in one write.
      sending.clear();
      sending.swap(pending_);
      net::error_code ec;
      writer_busy_ = true;
      if (split_writes_) {
        // Emulated defect (nagle): 12 bytes, then the rest, as separate writes.
        const std::size_t head = std::min<std::size_t>(12, sending.size());
        co_await asio::async_write(socket_, asio::buffer(sending.data(), head),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (!ec && sending.size() > head)
          co_await asio::async_write(socket_,
                                     asio::buffer(sending.data() + head, sending.size() - head),
                                     asio::redirect_error(asio::use_awaitable, ec));
      } else {
        co_await asio::async_write(socket_, asio::buffer(sending),
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      writer_busy_ = false;
      if (ec) break;
    }
    close();
  }

 private:
  tcp_server& server_;
  tcp::socket socket_;
  asio::steady_timer wake_;
  conn_id id_;
  std::string pending_;
  bool dirty_ = false;         ///< listed in server_.dirty_
  bool writer_busy_ = false;   ///< an async_write is in flight: direct writes would interleave
  bool split_writes_ = false;  ///< nagle emulation
  bool closing_ = false;
  bool closed_ = false;
};

tcp_server::tcp_server(asio::io_context& io, server_config config)
    : io_(io),
      config_(std::move(config)),
      core_(std::make_unique<job_server>(config_.core, static_cast<output_sink&>(*this))),
      acceptor_(io),
      core_timer_(io) {
  core_->set_decoder_limits(config_.limits);
  if (!config_.queue.empty()) {
    store_ =
        std::make_unique<sqlite_store>(sqlite_path_from_spec(config_.queue), config_.queue_sync);
    const auto now = clock::now();
    std::size_t restored = 0;
    for (const auto& job : store_->load())
      if (core_->restore(job, now)) ++restored;
    core_->set_store(store_.get());
    log("queue " + store_->path() + ": " + std::to_string(restored) +
        " background job(s) restored");
  }
}

tcp_server::~tcp_server() = default;

void tcp_server::log(const std::string& line) const {
  if (config_.log) config_.log(line);
}

void tcp_server::start() {
  const tcp::endpoint endpoint(asio::ip::make_address(config_.listen_address), config_.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  if (config_.reuse_port) {
    const int on = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
      throw std::system_error(errno, std::generic_category(), "setsockopt(SO_REUSEPORT)");
  }
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  // Every coroutine reports how it ended; none is silently detached.
  auto report = [this](const char* what) {
    return [this, what](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log(std::string(what) + " ended with an error: " + ex.what());
      }
    };
  };
  asio::co_spawn(io_, accept_loop(), report("accept loop"));
  asio::co_spawn(io_, timer_loop(), report("timer loop"));
  log("listening on " + config_.listen_address + ":" + std::to_string(port_));
}

void tcp_server::abort() {
  if (store_) store_->abandon();
  auto sessions = sessions_;
  for (auto& [id, s] : sessions) s->reset();
  stop();
}

void tcp_server::stop() {
  if (store_ && !stopped_) {
    // Everything up to the last event is committed. The disconnects this stop causes are not the
    // clients' or workers' doing and must not change the queue (with --worker-loss fail they would
    // fail stored jobs), so nothing more is written.
    commit_store();
    store_->abandon();
  }
  stopping_ = true;
  stopped_ = true;
  net::error_code ignored;
  acceptor_.close(ignored);
  core_timer_.cancel();
  for (auto& t : held_) t->cancel();
  held_.clear();
  auto sessions = sessions_;  // close() re-enters through the readers
  for (auto& [id, s] : sessions) s->close();
  if (on_stopped) std::exchange(on_stopped, nullptr)();
}

asio::awaitable<void> tcp_server::accept_loop() {
  while (acceptor_.is_open()) {
    net::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
      log("accept failed: " + ec.message());
      continue;
    }
    if (stopping_) {  // accepted just before stop(): do not start a session nobody will stop
      socket.close(ec);
      break;
    }
    if (sessions_.size() >= config_.max_connections) {
      log("connection limit reached; refusing a connection");
      socket.close(ec);
      continue;
    }
    // TCP_NODELAY: small replies go out at once (docs/protocol.md §1.5); the nagle emulation
    // leaves it off on purpose.
    if (!config_.wire_defects.nagle) socket.set_option(tcp::no_delay(true), ec);
    socket.non_blocking(true, ec);  // flush_now() writes without waiting
    std::string peer = "?";
    if (auto remote = socket.remote_endpoint(ec); !ec) peer = remote.address().to_string();
    const conn_id id = next_conn_++;
    auto s = std::make_shared<session>(*this, std::move(socket), id);
    sessions_[id] = s;
    core_->on_connect(id, peer);
    log("connection " + std::to_string(id) + " from " + peer);
    auto on_reader_done = [this, s](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log("connection " + std::to_string(s->id()) + " reader failed: " + ex.what());
        }
      }
      // A close requested by the core waits for the writer to flush (it holds the session alive).
      if (!s->closing()) s->close();
      core_->on_disconnect(s->id(), clock::now());
      sessions_.erase(s->id());
      log("connection " + std::to_string(s->id()) + " closed");
      after_event();
    };
    auto on_writer_done = [this, s](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log("connection " + std::to_string(s->id()) + " writer failed: " + ex.what());
      }
    };
    asio::co_spawn(io_, s->reader(), std::move(on_reader_done));
    asio::co_spawn(io_, s->writer(), std::move(on_writer_done));
  }
}

asio::awaitable<void> tcp_server::timer_loop() {
  // Sleeps until the core's next deadline (epoch jobs, CAN_DO_TIMEOUT); after_event() wakes it
  // when an earlier deadline appears.
  // Runs through a graceful drain too: epoch jobs and timeouts still fire until the hard stop.
  while (!stopped_) {
    const auto deadline = core_->next_deadline();
    core_timer_.expires_at(deadline ? *deadline : asio::steady_timer::time_point::max());
    net::error_code ec;
    co_await core_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) break;
    core_->on_timer(clock::now());
    after_event();
  }
}

void tcp_server::flush_dirty() {
  // A session may be listed while closing; flush_now() checks.
  auto dirty = std::move(dirty_);
  dirty_.clear();
  for (auto& s : dirty) s->flush_now();
}

bool tcp_server::commit_store() {
  try {
    store_->commit();
    return true;
  } catch (const store_error& e) {
    if (fatal_error_.empty()) fatal_error_ = e.what();
    return false;
  }
}

void tcp_server::after_event() {
  // The event's stored jobs reach the database before any reply announces them.
  if (store_ && !stopped_ && !commit_store()) {
    log("stopping: " + fatal_error_);
    stop();  // unsent replies are dropped: no JOB_CREATED for a job that is not stored
    return;
  }
  flush_dirty();
  if (stopped_) return;
  if (graceful_ && core_->job_count() == 0) {
    stop();
    return;
  }
  const auto deadline = core_->next_deadline();
  if (deadline && *deadline < core_timer_.expiry()) core_timer_.cancel();
}

void tcp_server::write(conn_id conn, std::string_view bytes) {
  const auto& defects = config_.wire_defects;
  if (defects.any() && bytes.size() >= 12 && bytes.substr(0, 4) == std::string_view("\0RES", 4)) {
    std::string changed(bytes);
    if (defects.request_magic) changed[3] = 'Q', changed[2] = 'E', changed[1] = 'R';
    // JOB_CREATED is packet type 8.
    if (defects.hold_job_created && bytes.substr(4, 4) == std::string_view("\0\0\0\x08", 4) &&
        (!defects.hold_rarely || ++jobs_created_ % 20 == 0)) {
      auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
      held_.push_back(timer);
      auto later = [this, conn, timer, changed = std::move(changed)](net::error_code ec) {
        std::erase(held_, timer);
        if (ec || stopped_) return;
        if (auto it = sessions_.find(conn); it != sessions_.end()) it->second->deliver(changed);
        flush_dirty();
      };
      timer->async_wait(std::move(later));
      return;
    }
    if (auto it = sessions_.find(conn); it != sessions_.end()) it->second->deliver(changed);
    return;
  }
  if (auto it = sessions_.find(conn); it != sessions_.end()) it->second->deliver(bytes);
}

void tcp_server::close_after_flush(conn_id conn) {
  if (auto it = sessions_.find(conn); it != sessions_.end()) it->second->close_after_flush();
}

void tcp_server::shutdown_requested(bool graceful) {
  log(graceful ? "graceful shutdown requested" : "shutdown requested");
  // Let the reply to "shutdown" go out first.
  auto finish = [this, graceful] {
    if (graceful) {
      graceful_ = true;
      stopping_ = true;
      net::error_code ignored;
      acceptor_.close(ignored);
      if (core_->job_count() == 0) stop();
    } else {
      stop();
    }
  };
  asio::post(io_, std::move(finish));
}

// -----------------------------------------------------------------------------------------------

embedded_server::embedded_server(server_config config) {
  address_ = config.listen_address;
  server_ = std::make_unique<tcp_server>(io_, std::move(config));
  server_->start();
  port_ = server_->port();
  std::promise<long> started;
  auto tid = started.get_future();
  thread_ = std::thread([this, &started] {
    started.set_value(static_cast<long>(::gettid()));
    io_.run();
  });
  thread_id_ = tid.get();  // the thread sets it first thing
}

embedded_server::~embedded_server() {
  stop();
}

void embedded_server::crash() {
  end(true);
}

void embedded_server::stop() {
  end(false);
}

void embedded_server::end(bool crash) {
  if (stopped_) return;
  stopped_ = true;
  // Runs on the server's thread between two events. A crash lands there as a SIGKILL lands between
  // two system calls: everything committed so far stays, nothing after it is written.
  auto finish = [this, crash] {
    if (crash)
      server_->abort();
    else
      server_->stop();
  };
  asio::post(io_, std::move(finish));
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace gearspec::refsrv
