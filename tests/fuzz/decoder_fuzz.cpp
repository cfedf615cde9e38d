// libFuzzer target for the wire codec. Besides "no crash, no leak, no UB", it checks properties
// that must hold for any input:
//  - a decoder never consumes more than it was given, and need_more consumes nothing;
//  - decoding the stream in one piece or split at a point chosen by the input gives the same frames;
//  - a complete binary packet re-encodes to exactly its raw bytes (when it has arguments);
//  - the admin response parser never consumes more than it was given.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "harness/wire/admin.hpp"
#include "harness/wire/decoder.hpp"
#include "harness/wire/encoder.hpp"

namespace {

using namespace gearspec::wire;

void check(bool ok) {
  if (!ok) std::abort();
}

std::vector<std::string> decode_all(std::string_view input, std::size_t split, packet_magic expect) {
  decoder_limits limits;
  limits.max_payload = 1 << 16;
  limits.max_line = 256;
  stream_decoder d(expect, limits);
  std::vector<std::string> out;
  const std::size_t chunks[2] = {split, input.size() - split};
  std::size_t pos = 0;
  bool dead = false;
  for (std::size_t chunk : chunks) {
    d.feed(input.substr(pos, chunk));
    pos += chunk;
    while (!dead) {
      frame f;
      const std::size_t before = d.buffered();
      const auto r = d.next(f);
      check(r.consumed <= before);
      if (r.status == decode_status::need_more) {
        check(r.consumed == 0);
        break;
      }
      if (r.status == decode_status::error) {
        out.push_back("E" + std::to_string(r.error.value()));
        if (!is_recoverable(static_cast<errc>(r.error.value()))) dead = true;
        continue;
      }
      out.emplace_back(f.raw);
      if (f.type == frame::kind::binary && f.packet.arg_count > 0) {
        std::string again;
        check(!encode(f.packet, again));
        check(again == f.raw);
      }
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t split = input.empty() ? 0 : data[0] % (input.size() + 1);
  const auto expect = (data[0] & 0x80) ? packet_magic::response : packet_magic::request;
  check(decode_all(input, 0, expect) == decode_all(input, split, expect));

  admin_response response;
  const auto shape = (data[0] & 1) ? admin_shape::list : admin_shape::single_line;
  const auto r = parse_admin_response(input, shape, response, 256);
  check(r.consumed <= input.size());
  return 0;
}
