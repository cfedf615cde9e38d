#include "harness/wire/decoder.hpp"

#include <algorithm>
#include <cstring>

namespace gearspec::wire {
namespace {

constexpr std::string_view request_magic{"\0REQ", 4};
constexpr std::string_view response_magic{"\0RES", 4};

std::uint32_t read_u32_be(std::string_view bytes, std::size_t at) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

// True while the bytes seen so far could still become one of the two magics.
bool could_be_magic(std::string_view prefix) noexcept {
  const std::size_t n = std::min<std::size_t>(prefix.size(), 4);
  return prefix.substr(0, n) == request_magic.substr(0, n) ||
         prefix.substr(0, n) == response_magic.substr(0, n);
}

decode_result fail(errc e, std::size_t consumed) noexcept {
  return {consumed, decode_status::error, make_error_code(e)};
}

}  // namespace

std::error_code split_arguments(command cmd, std::string_view payload, packet_view& out) noexcept {
  const auto& shape = info(cmd);
  out.cmd = cmd;
  out.arg_count = shape.arg_count;
  if (shape.arg_count == 0) return {};
  std::size_t pos = 0;
  // Every argument but the last is NUL-terminated; never look past the payload (C gearmand does,
  // and desynchronises: docs/protocol.md §1.4).
  for (std::size_t i = 0; i + 1 < shape.arg_count; ++i) {
    const auto nul = payload.find('\0', pos);
    if (nul == std::string_view::npos) {
      out.arg_count = static_cast<std::uint8_t>(i);
      return make_error_code(errc::too_few_arguments);
    }
    out.args[i] = payload.substr(pos, nul - pos);
    pos = nul + 1;
  }
  out.args[shape.arg_count - 1] = payload.substr(pos);
  return {};
}

decode_result decoder::decode(std::string_view input, frame& out) const noexcept {
  if (input.empty()) return {0, decode_status::need_more, {}};
  if (input.front() != '\0' && accept_text_) return decode_text(input, out);
  return decode_binary(input, out);
}

decode_result decoder::decode_binary(std::string_view input, frame& out) const noexcept {
  // Report garbage as soon as it is visible rather than waiting for a full header.
  if (!could_be_magic(input)) return fail(errc::bad_magic, 0);
  if (input.size() < header_size) return {0, decode_status::need_more, {}};

  const auto magic_bytes = input.substr(0, 4);
  const auto magic = magic_bytes == request_magic ? packet_magic::request : packet_magic::response;
  const std::uint32_t type = read_u32_be(input, 4);
  const std::uint32_t size = read_u32_be(input, 8);
  if (size > limits_.max_payload) return fail(errc::packet_too_large, 0);
  const std::size_t total = header_size + std::size_t{size};
  if (input.size() < total) return {0, decode_status::need_more, {}};

  out = frame{};
  out.type = frame::kind::binary;
  out.type_number = type;
  out.raw = input.substr(0, total);
  const auto payload = input.substr(header_size, size);

  const command_info* shape = find_command(type);
  if (shape == nullptr) return fail(errc::unknown_command, total);
  out.packet.magic = magic;
  const auto split_error = split_arguments(shape->cmd, payload, out.packet);
  // A packet with the wrong direction is reported even when its arguments are fine; the packet is
  // still filled so a server can say which packet it refused.
  if (magic != expect_) return fail(errc::unexpected_magic, total);
  if (split_error) return {total, decode_status::error, split_error};
  return {total, decode_status::complete, {}};
}

decode_result decoder::decode_text(std::string_view input, frame& out) const noexcept {
  // A line may take max_line bytes plus "\r\n".
  const std::size_t window = std::min(input.size(), limits_.max_line + 2);
  const auto newline = input.substr(0, window).find('\n');
  if (newline == std::string_view::npos) {
    if (input.size() >= limits_.max_line + 2) return fail(errc::line_too_long, 0);
    return {0, decode_status::need_more, {}};
  }
  auto line = input.substr(0, newline);
  auto ending = line_ending::lf;
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
    ending = line_ending::crlf;
  }
  if (line.size() > limits_.max_line) return fail(errc::line_too_long, 0);
  out = frame{};
  out.type = frame::kind::text;
  out.line = line;
  out.ending = ending;
  out.raw = input.substr(0, newline + 1);
  return {newline + 1, decode_status::complete, {}};
}

void stream_decoder::feed(std::string_view bytes) {
  // Compact lazily: earlier frames' views die here, as documented.
  if (start_ > 0) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes);
}

decode_result stream_decoder::next(frame& out) noexcept {
  std::string_view rest{buffer_};
  rest.remove_prefix(start_);
  auto result = decoder_.decode(rest, out);
  start_ += result.consumed;
  return result;
}

}  // namespace gearspec::wire
