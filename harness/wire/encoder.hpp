#pragma once
// Encoder for Gearman binary packets (PROTOCOL "Binary Packet").

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "harness/wire/packet.hpp"

namespace gearspec::wire {

/// Appends one packet to out. Fails with wrong_argument_count when args does not match the
/// command's shape, and with nul_in_argument when any argument but the last holds a NUL (it would
/// shift every later argument). On error out is unchanged.
std::error_code encode(packet_magic magic, command cmd, std::span<const std::string_view> args,
                       std::string& out);

/// Appends a packet given as a view.
std::error_code encode(const packet_view& p, std::string& out);

/// Appends a packet given as an owning value.
std::error_code encode(const packet& p, std::string& out);

/// Builds a request or response packet, for callers that know the shape is right (tests and the
/// server's own replies). Returns an empty string if it is not.
std::string make_packet(packet_magic magic, command cmd, std::initializer_list<std::string_view> args);

/// Appends arbitrary header fields and payload, with no checks at all: for crafting malformed
/// input. magic4 is written as given (normally 4 bytes).
void encode_raw(std::string_view magic4, std::uint32_t type, std::uint32_t size_field,
                std::string_view payload, std::string& out);

/// The 4 magic bytes for a direction.
std::string_view magic_bytes(packet_magic magic) noexcept;

}  // namespace gearspec::wire
