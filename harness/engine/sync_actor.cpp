#include "harness/engine/sync_actor.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>

#include "harness/wire/decoder.hpp"
#include "harness/wire/encoder.hpp"
#include "harness/wire/printer.hpp"

namespace gearspec::engine {

using clock = std::chrono::steady_clock;

bool arg_matcher::matches(const std::string& actual) const {
  switch (type) {
    case kind::any:
      return true;
    case kind::exact:
      return actual == value;
    case kind::prefix:
      return actual.compare(0, value.size(), value) == 0;
    case kind::regex:
      try {
        return std::regex_match(actual, std::regex(value, std::regex::ECMAScript));
      } catch (const std::regex_error& e) {
        throw std::invalid_argument("bad regex '" + value + "': " + e.what());
      }
  }
  return false;
}

std::string arg_matcher::describe() const {
  switch (type) {
    case kind::any:
      return "*";
    case kind::exact:
      return "\"" + wire::escape_bytes(value, 80) + "\"";
    case kind::prefix:
      return "\"" + wire::escape_bytes(value, 80) + "\"...";
    case kind::regex:
      return "/" + value + "/";
  }
  return "?";
}

sync_actor::sync_actor(const std::string& host, std::uint16_t port,
                       std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const auto service = std::to_string(port);
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0 || !found)
    throw expect_error("cannot resolve " + host);
  std::string last_error = "no address";
  for (addrinfo* a = found; a && fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      // Bounded connect: wait for writability, then read the result.
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(timeout.count())) == 1 ? 0 : -1;
      int err = rc == 0 ? 0 : ETIMEDOUT;
      socklen_t len = sizeof err;
      if (rc == 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last_error = std::strerror(err);
        rc = -1;
      }
    } else if (rc != 0) {
      last_error = std::strerror(errno);
    }
    if (rc == 0) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
    } else {
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (fd_ < 0) throw expect_error("cannot connect to " + host + ":" + service + ": " + last_error);
}

sync_actor::~sync_actor() {
  if (fd_ >= 0) ::close(fd_);
}

void sync_actor::send_raw(const std::string& bytes) {
  if (fd_ < 0) throw expect_error("send on a closed connection");
  std::string_view rest(bytes);
  while (!rest.empty()) {
    const auto n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n <= 0) throw expect_error(std::string("send failed: ") + std::strerror(errno));
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

void sync_actor::send(const std::string& name, const std::vector<std::string>& args) {
  const auto cmd = wire::command_from_name(name);
  if (!cmd) throw std::invalid_argument("unknown packet name '" + name + "'");
  const auto& shape = wire::info(*cmd);
  if (args.size() != shape.arg_count) {
    std::string names;
    for (std::size_t i = 0; i < shape.arg_count; ++i)
      names += (i ? ", " : "") + std::string(shape.arg_names[i]);
    throw std::invalid_argument(
        std::string(shape.name) + " takes " + std::to_string(shape.arg_count) + " argument(s)" +
        (names.empty() ? "" : " (" + names + ")") + ", got " + std::to_string(args.size()));
  }
  // Arguments are joined as given, like YAML send steps, so scripts can also craft odd packets.
  std::string payload;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i) payload.push_back('\0');
    payload += args[i];
  }
  std::string bytes;
  wire::encode_raw(wire::magic_bytes(wire::packet_magic::request), wire::number(*cmd),
                   static_cast<std::uint32_t>(payload.size()), payload, bytes);
  send_raw(bytes);
}

bool sync_actor::fill(clock::time_point deadline) {
  if (fd_ < 0 || eof_) return false;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, left > 0 ? static_cast<int>(left) : 0) <= 0) return false;
  char chunk[65536];
  const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<wire::packet> sync_actor::receive(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  wire::decoder d(wire::packet_magic::response, {}, false);
  while (true) {
    wire::frame f;
    const auto r = d.decode(buffer_, f);
    if (r.status == wire::decode_status::complete) {
      auto p = wire::packet::from(f.packet);
      buffer_.erase(0, r.consumed);
      return p;
    }
    if (r.status == wire::decode_status::error)
      throw expect_error("undecodable bytes from the server: " + r.error.message());
    if (eof_) throw expect_error("the server closed the connection");
    if (clock::now() >= deadline) return std::nullopt;
    fill(deadline);
  }
}

wire::packet sync_actor::expect(const std::string& name, const std::vector<arg_matcher>& args,
                                std::chrono::milliseconds timeout) {
  const auto cmd = wire::command_from_name(name);
  if (!cmd) throw std::invalid_argument("unknown packet name '" + name + "'");
  const auto& shape = wire::info(*cmd);
  if (args.size() > shape.arg_count)
    throw std::invalid_argument(std::string(shape.name) + " has " +
                                std::to_string(shape.arg_count) + " argument(s), got " +
                                std::to_string(args.size()) + " matchers");
  std::string wanted(shape.name);
  wanted += "(";
  for (std::size_t i = 0; i < args.size(); ++i)
    wanted += (i ? ", " : "") + std::string(shape.arg_names[i]) + "=" + args[i].describe();
  wanted += ")";
  std::optional<wire::packet> got;
  try {
    got = receive(timeout);
  } catch (const expect_error& e) {
    throw expect_error("expected " + wanted + ", but " + e.what());
  }
  if (!got)
    throw expect_error("expected " + wanted + ", but nothing arrived within " +
                       std::to_string(timeout.count()) + " ms");
  bool ok = got->cmd == *cmd;
  for (std::size_t i = 0; ok && i < args.size(); ++i)
    ok = i < got->args.size() && args[i].matches(got->args[i]);
  if (!ok) throw expect_error("expected " + wanted + ", got " + wire::to_string(*got));
  return *got;
}

void sync_actor::expect_none(std::chrono::milliseconds window) {
  const auto got = receive(window);
  if (got)
    throw expect_error("expected nothing for " + std::to_string(window.count()) + " ms, got " +
                       wire::to_string(*got));
}

void sync_actor::expect_closed(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  while (!eof_) {
    if (!buffer_.empty())
      throw expect_error("expected the server to close the connection, got more bytes first");
    if (clock::now() >= deadline)
      throw expect_error("expected the server to close the connection within " +
                         std::to_string(timeout.count()) + " ms; it is still open");
    fill(deadline);
  }
}

wire::admin_response sync_actor::admin(const std::string& line, std::chrono::milliseconds timeout) {
  send_raw(line + "\n");
  const auto deadline = clock::now() + timeout;
  const auto shape = wire::admin_response_shape(line);
  while (true) {
    wire::admin_response out;
    const auto r = wire::parse_admin_response(buffer_, shape, out);
    if (r.status == wire::decode_status::complete) {
      buffer_.erase(0, r.consumed);
      return out;
    }
    if (r.status == wire::decode_status::error)
      throw expect_error("bad admin answer: " + r.error.message());
    if (eof_)
      throw expect_error("the server closed the connection before answering '" + line + "'");
    if (clock::now() >= deadline)
      throw expect_error("no complete answer to '" + line + "' within " +
                         std::to_string(timeout.count()) + " ms");
    fill(deadline);
  }
}

void sync_actor::close() {
  if (fd_ < 0) return;
  ::shutdown(fd_, SHUT_RDWR);
  ::close(fd_);
  fd_ = -1;
}

void sync_actor::kill() {
  if (fd_ < 0) return;
  linger l{1, 0};  // close() then sends RST
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd_);
  fd_ = -1;
}

}  // namespace gearspec::engine
