#include "harness/engine/autonomous.hpp"

#include "harness/wire/encoder.hpp"

namespace gearspec::engine {

namespace asio = net::asio;
using net::tcp;
using wire::command;

asio::awaitable<net::error_code> buffered_connection::connect(const endpoint& where) {
  net::error_code ec;
  const auto address = asio::ip::make_address(where.host, ec);
  if (ec) co_return ec;
  co_await socket_.async_connect(tcp::endpoint(address, where.port),
                                 asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) socket_.set_option(tcp::no_delay(true), ec);
  co_return ec;
}

void buffered_connection::queue(command cmd, std::initializer_list<std::string_view> args) {
  wire::encode(wire::packet_magic::request, cmd,
               std::span<const std::string_view>(args.begin(), args.size()), out_);
}

void buffered_connection::flush() {
  if (writing_ || out_.empty() || !socket_.is_open()) return;
  writing_ = true;
  auto sending = std::make_shared<std::string>();
  sending->swap(out_);
  // The connection stays alive until its write completes, whoever drops it meanwhile.
  auto done = [self = shared_from_this(), sending](const net::error_code&, std::size_t) {
    self->writing_ = false;
    self->flush();
  };
  asio::async_write(socket_, asio::buffer(*sending), done);
}

asio::awaitable<std::optional<wire::packet_view>> buffered_connection::next() {
  while (true) {
    wire::frame f;
    const auto r = decoder_.next(f);
    if (r.status == wire::decode_status::complete) co_return f.packet;
    if (r.status == wire::decode_status::error) {
      problem_ = "undecodable reply: " + r.error.message();
      co_return std::nullopt;
    }
    chunk_.resize(64 * 1024);
    net::error_code ec;
    const auto n = co_await socket_.async_read_some(asio::buffer(chunk_),
                                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      problem_ = ec == asio::error::eof ? "closed by the server" : ec.message();
      co_return std::nullopt;
    }
    decoder_.feed(std::string_view(chunk_.data(), n));
  }
}

void buffered_connection::close(bool abortive) {
  net::error_code ignored;
  if (abortive) {
    killed_ = true;
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);  // RST
  }
  socket_.close(ignored);
}

asio::awaitable<void> run_worker(buffered_connection& c, std::string function,
                                 job_handler& handler) {
  c.queue(command::can_do, {function});
  c.queue(command::grab_job, {});
  c.flush();
  while (true) {
    const auto p = co_await c.next();
    if (!p) co_return;
    if (p->cmd == command::job_assign) {
      const assigned_job job{std::string(p->arg(0)), std::string(p->arg(1)),
                             std::string(p->arg(2))};
      const auto result = co_await handler.on_job(job);
      if (!result) co_return;
      c.queue(command::work_complete, {job.handle, *result});
      c.queue(command::grab_job, {});
    } else if (p->cmd == command::no_job) {
      c.queue(command::pre_sleep, {});
    } else if (p->cmd == command::noop) {
      c.queue(command::grab_job, {});
    } else {
      handler.on_other(*p);
    }
    c.flush();
  }
}

}  // namespace gearspec::engine
