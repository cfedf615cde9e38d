#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "harness/wire/decoder.hpp"
#include "harness/wire/encoder.hpp"
#include "harness/wire/error.hpp"
#include "tests/support/bytes.hpp"

namespace gearspec::wire {
namespace {

using test::bytes;
using test::hex;

TEST(WireEncoder, RejectsWrongArgumentCount) {
  std::string out = "keep";
  std::vector<std::string_view> args{"only-func"};
  EXPECT_EQ(make_error_code(errc::wrong_argument_count), encode(packet_magic::request, command::submit_job, args, out));
  EXPECT_EQ("keep", out);
}

TEST(WireEncoder, RejectsNulInAnArgumentThatIsNotLast) {
  std::string out;
  const std::string func = bytes("f\0g");
  std::vector<std::string_view> args{func, "u", "d"};
  EXPECT_EQ(make_error_code(errc::nul_in_argument), encode(packet_magic::request, command::submit_job, args, out));
  EXPECT_TRUE(out.empty());
}

TEST(WireEncoder, MakePacketReturnsEmptyOnBadShape) {
  EXPECT_EQ("", make_packet(packet_magic::request, command::can_do, {}));
}

TEST(WireEncoder, AppendsRatherThanReplaces) {
  std::string out = make_packet(packet_magic::request, command::grab_job, {});
  ASSERT_FALSE(encode(packet{packet_magic::request, command::pre_sleep, {}}, out));
  EXPECT_EQ(hex("00524551 00000009 00000000 00524551 00000004 00000000"), out);
}

TEST(WireEncoder, RawWritesAnythingForMalformedInput) {
  std::string out;
  encode_raw(bytes("\0XYZ"), 99, 1000, "ab", out);
  EXPECT_EQ(hex("0058595a 00000063 000003e8") + "ab", out);
}

// Encode then decode random packets of every type: the packet survives unchanged.
TEST(WireEncoder, RoundTripRandomPacketsOfEveryType) {
  std::mt19937 rng(12345);
  for (std::uint32_t n = first_command_number; n <= last_command_number; ++n) {
    const auto& shape = *find_command(n);
    for (int round = 0; round < 50; ++round) {
      packet p{round % 2 ? packet_magic::response : packet_magic::request, shape.cmd, {}};
      for (std::size_t i = 0; i < shape.arg_count; ++i) {
        std::string arg(rng() % 40, 'x');
        for (auto& c : arg) {
          c = static_cast<char>(rng() % 256);
          if (c == '\0' && i + 1 < shape.arg_count) c = 'z';  // only the last may hold NULs
        }
        p.args.push_back(arg);
      }
      std::string bytes_out;
      ASSERT_FALSE(encode(p, bytes_out));
      decoder d(p.magic);
      frame f;
      auto r = d.decode(bytes_out, f);
      ASSERT_EQ(decode_status::complete, r.status) << shape.name;
      EXPECT_EQ(bytes_out.size(), r.consumed);
      EXPECT_EQ(p, packet::from(f.packet)) << shape.name;
    }
  }
}

}  // namespace
}  // namespace gearspec::wire
