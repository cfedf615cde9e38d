#pragma once
// A blocking loopback client for integration tests: POSIX sockets, and every read bounded by a
// deadline so a silent server fails the test instead of hanging it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "harness/wire/admin.hpp"
#include "harness/wire/decoder.hpp"
#include "harness/wire/encoder.hpp"

namespace gearspec::test {

class test_client {
 public:
  /// Connects to 127.0.0.1:port; check connected() afterwards.
  explicit test_client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~test_client() {
    if (fd_ >= 0) ::close(fd_);
  }
  test_client(const test_client&) = delete;
  test_client& operator=(const test_client&) = delete;

  bool connected() const { return fd_ >= 0; }

  bool write_raw(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  bool send(wire::command cmd, std::initializer_list<std::string_view> args) {
    return write_raw(wire::make_packet(wire::packet_magic::request, cmd, args));
  }

  /// The next packet, or nullopt on timeout, EOF or garbage.
  std::optional<wire::packet> read_packet(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    wire::decoder d(wire::packet_magic::response, {}, false);
    while (true) {
      wire::frame f;
      const auto r = d.decode(buffer_, f);
      if (r.status == wire::decode_status::complete) {
        auto p = wire::packet::from(f.packet);
        buffer_.erase(0, r.consumed);
        return p;
      }
      if (r.status == wire::decode_status::error) return std::nullopt;
      if (!fill(deadline)) return std::nullopt;
    }
  }

  /// Sends an admin line and reads the whole answer (list or single line).
  std::optional<wire::admin_response> admin(std::string_view line,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    if (!write_raw(std::string(line) + "\n")) return std::nullopt;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const auto shape = wire::admin_response_shape(line);
    while (true) {
      wire::admin_response out;
      const auto r = wire::parse_admin_response(buffer_, shape, out);
      if (r.status == wire::decode_status::complete) {
        buffer_.erase(0, r.consumed);
        return out;
      }
      if (r.status == wire::decode_status::error) return std::nullopt;
      if (!fill(deadline)) return std::nullopt;
    }
  }

  /// True if the peer closed the connection before the deadline (after draining any bytes).
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fill(deadline)) {
    }
    return eof_;
  }

  /// Nothing arrives within the window.
  bool quiet_for(std::chrono::milliseconds window) {
    const auto before = buffer_.size();
    fill(std::chrono::steady_clock::now() + window);
    return buffer_.size() == before && !eof_;
  }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    if (eof_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[65536];
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace gearspec::test
