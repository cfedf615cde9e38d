#include "harness/wire/encoder.hpp"

#include "harness/wire/error.hpp"

namespace gearspec::wire {
namespace {

void append_u32_be(std::uint32_t v, std::string& out) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(bytes, 4);
}

}  // namespace

std::string_view magic_bytes(packet_magic magic) noexcept {
  return magic == packet_magic::request ? std::string_view{"\0REQ", 4}
                                        : std::string_view{"\0RES", 4};
}

std::error_code encode(packet_magic magic, command cmd, std::span<const std::string_view> args,
                       std::string& out) {
  const auto& shape = info(cmd);
  if (args.size() != shape.arg_count) return make_error_code(errc::wrong_argument_count);
  std::size_t size = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i + 1 < args.size() && args[i].find('\0') != std::string_view::npos)
      return make_error_code(errc::nul_in_argument);
    size += args[i].size() + (i + 1 < args.size() ? 1 : 0);
  }
  out.reserve(out.size() + header_size + size);
  out.append(magic_bytes(magic));
  append_u32_be(number(cmd), out);
  append_u32_be(static_cast<std::uint32_t>(size), out);
  for (std::size_t i = 0; i < args.size(); ++i) {
    out.append(args[i]);
    if (i + 1 < args.size()) out.push_back('\0');
  }
  return {};
}

std::error_code encode(const packet_view& p, std::string& out) {
  return encode(p.magic, p.cmd, p.arguments(), out);
}

std::error_code encode(const packet& p, std::string& out) {
  if (p.args.size() > max_arguments) return make_error_code(errc::wrong_argument_count);
  return encode(p.view(), out);
}

std::string make_packet(packet_magic magic, command cmd,
                        std::initializer_list<std::string_view> args) {
  std::string out;
  if (encode(magic, cmd, std::span<const std::string_view>(args.begin(), args.size()), out))
    return {};
  return out;
}

void encode_raw(std::string_view magic4, std::uint32_t type, std::uint32_t size_field,
                std::string_view payload, std::string& out) {
  out.append(magic4);
  append_u32_be(type, out);
  append_u32_be(size_field, out);
  out.append(payload);
}

}  // namespace gearspec::wire
