#pragma once
// A blocking loopback client for integration tests: engine::sync_actor (every wait bounded) with
// results as values, so a test can assert on "nothing arrived" instead of catching exceptions.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/engine/sync_actor.hpp"
#include "harness/wire/command.hpp"

namespace gearspec::test {

class test_client {
 public:
  /// Connects to 127.0.0.1:port; check connected() afterwards.
  explicit test_client(std::uint16_t port) {
    try {
      actor_ = std::make_unique<engine::sync_actor>("127.0.0.1", port, std::chrono::seconds(5));
    } catch (const engine::expect_error&) {
    }
  }

  bool connected() const { return actor_ != nullptr; }

  bool write_raw(std::string_view bytes) {
    return attempt([&] { actor_->send_raw(std::string(bytes)); });
  }

  bool send(wire::command cmd, std::initializer_list<std::string_view> args) {
    return attempt([&] { actor_->send(std::string(wire::name(cmd)), std::vector<std::string>(args.begin(), args.end())); });
  }

  /// The next packet, or nullopt on timeout, EOF or garbage.
  std::optional<wire::packet> read_packet(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::optional<wire::packet> p;
    attempt([&] { p = actor_->receive(timeout); });
    return p;
  }

  /// Sends an admin line and reads the whole answer (list or single line).
  std::optional<wire::admin_response> admin(std::string_view line,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::optional<wire::admin_response> r;
    attempt([&] { r = actor_->admin(std::string(line), timeout); });
    return r;
  }

  /// True if the peer closed the connection before the deadline (after draining any packets).
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    if (!actor_) return false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    try {
      while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !actor_->receive(left)) return false;
      }
    } catch (const engine::expect_error&) {
      return actor_->closed();
    }
  }

  /// Nothing arrives within the window (and the connection stays open).
  bool quiet_for(std::chrono::milliseconds window) {
    return attempt([&] { actor_->expect_none(window); });
  }

 private:
  template <typename F>
  bool attempt(F&& f) {
    if (!actor_) return false;
    try {
      f();
      return true;
    } catch (const engine::expect_error&) {
      return false;
    }
  }

  std::unique_ptr<engine::sync_actor> actor_;
};

}  // namespace gearspec::test
