#pragma once
// Decoded Gearman packets: a zero-copy view and an owning value.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "harness/wire/command.hpp"

namespace gearspec::wire {

/// Size of the fixed binary header: magic, type, size (PROTOCOL "Binary Packet").
inline constexpr std::size_t header_size = 12;

/// A packet whose arguments point into someone else's buffer (the decoder's input). Valid only as
/// long as that buffer is.
struct packet_view {
  /// REQ or RES.
  packet_magic magic = packet_magic::request;
  /// The packet type.
  command cmd = command::noop;
  /// How many entries of args are set; equals info(cmd).arg_count for decoded packets.
  std::uint8_t arg_count = 0;
  /// The arguments, NUL separators removed.
  std::array<std::string_view, max_arguments> args{};

  /// The arguments that are set.
  std::span<const std::string_view> arguments() const noexcept { return {args.data(), arg_count}; }
  /// Argument i, or an empty view if there is no such argument.
  std::string_view arg(std::size_t i) const noexcept { return i < arg_count ? args[i] : std::string_view{}; }
};

/// A packet that owns its bytes; what the harness keeps in transcripts and queues.
struct packet {
  packet_magic magic = packet_magic::request;
  command cmd = command::noop;
  std::vector<std::string> args;

  /// A view over this packet's own strings.
  packet_view view() const noexcept {
    packet_view v;
    v.magic = magic;
    v.cmd = cmd;
    v.arg_count = static_cast<std::uint8_t>(args.size() < max_arguments ? args.size() : max_arguments);
    for (std::size_t i = 0; i < v.arg_count; ++i) v.args[i] = args[i];
    return v;
  }

  /// Copies a view into an owning packet.
  static packet from(const packet_view& v) {
    packet p{v.magic, v.cmd, {}};
    p.args.reserve(v.arg_count);
    for (auto a : v.arguments()) p.args.emplace_back(a);
    return p;
  }

  friend bool operator==(const packet&, const packet&) = default;
};

}  // namespace gearspec::wire
