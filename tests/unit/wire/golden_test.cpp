// Golden bytes for every packet type 1..42, written by hand from PROTOCOL's framing rules (magic,
// big-endian type and size, NUL-separated arguments), not produced by the encoder under test.

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "harness/wire/decoder.hpp"
#include "harness/wire/encoder.hpp"
#include "tests/support/bytes.hpp"

namespace gearspec::wire {
namespace {

using test::bytes;
using test::hex;

struct golden_case {
  command cmd;
  packet_magic magic;
  std::vector<std::string> args;
  std::string header_hex;  // type and size
  std::string payload;
};

std::string magic_hex(packet_magic m) { return m == packet_magic::request ? "00524551" : "00524553"; }

constexpr auto req = packet_magic::request;
constexpr auto res = packet_magic::response;

const std::vector<golden_case>& cases() {
  static const std::vector<golden_case> all = {
      {command::can_do, req, {"reverse"}, "00000001 00000007", "reverse"},
      {command::cant_do, req, {"reverse"}, "00000002 00000007", "reverse"},
      {command::reset_abilities, req, {}, "00000003 00000000", ""},
      {command::pre_sleep, req, {}, "00000004 00000000", ""},
      {command::unused, req, {}, "00000005 00000000", ""},
      {command::noop, res, {}, "00000006 00000000", ""},
      {command::submit_job, req, {"reverse", "", "test"}, "00000007 0000000d", bytes("reverse\0\0test")},
      {command::job_created, res, {"H:lap:1"}, "00000008 00000007", "H:lap:1"},
      {command::grab_job, req, {}, "00000009 00000000", ""},
      {command::no_job, res, {}, "0000000a 00000000", ""},
      {command::job_assign, res, {"H:lap:1", "reverse", "test"}, "0000000b 00000014",
       bytes("H:lap:1\0reverse\0test")},
      {command::work_status, req, {"H:lap:1", "1", "2"}, "0000000c 0000000b", bytes("H:lap:1\0" "1\0" "2")},
      {command::work_complete, req, {"H:lap:1", "tset"}, "0000000d 0000000c", bytes("H:lap:1\0tset")},
      {command::work_fail, req, {"H:lap:1"}, "0000000e 00000007", "H:lap:1"},
      {command::get_status, req, {"H:lap:1"}, "0000000f 00000007", "H:lap:1"},
      {command::echo_req, req, {bytes("a\0b")}, "00000010 00000003", bytes("a\0b")},
      {command::echo_res, res, {bytes("a\0b")}, "00000011 00000003", bytes("a\0b")},
      {command::submit_job_bg, req, {"f", "u", "d"}, "00000012 00000005", bytes("f\0u\0d")},
      {command::error, res, {"JOB_NOT_FOUND", "Job given in work result not found"}, "00000013 00000030",
       bytes("JOB_NOT_FOUND\0Job given in work result not found")},
      {command::status_res, res, {"H:lap:1", "1", "1", "3", "4"}, "00000014 0000000f",
       bytes("H:lap:1\0" "1\0" "1\0" "3\0" "4")},
      {command::submit_job_high, req, {"f", "u", "d"}, "00000015 00000005", bytes("f\0u\0d")},
      {command::set_client_id, req, {"worker-1"}, "00000016 00000008", "worker-1"},
      {command::can_do_timeout, req, {"f", "1000"}, "00000017 00000006", bytes("f\0" "1000")},
      {command::all_yours, req, {}, "00000018 00000000", ""},
      {command::work_exception, req, {"H:lap:1", "oops"}, "00000019 0000000c", bytes("H:lap:1\0oops")},
      {command::option_req, req, {"exceptions"}, "0000001a 0000000a", "exceptions"},
      {command::option_res, res, {"exceptions"}, "0000001b 0000000a", "exceptions"},
      {command::work_data, req, {"H:lap:1", "part"}, "0000001c 0000000c", bytes("H:lap:1\0part")},
      {command::work_warning, req, {"H:lap:1", "warn"}, "0000001d 0000000c", bytes("H:lap:1\0warn")},
      {command::grab_job_uniq, req, {}, "0000001e 00000000", ""},
      {command::job_assign_uniq, res, {"H:lap:1", "reverse", "alpha", "test"}, "0000001f 0000001a",
       bytes("H:lap:1\0reverse\0alpha\0test")},
      {command::submit_job_high_bg, req, {"f", "u", "d"}, "00000020 00000005", bytes("f\0u\0d")},
      {command::submit_job_low, req, {"f", "u", "d"}, "00000021 00000005", bytes("f\0u\0d")},
      {command::submit_job_low_bg, req, {"f", "u", "d"}, "00000022 00000005", bytes("f\0u\0d")},
      {command::submit_job_sched, req, {"f", "u", "0", "12", "1", "6", "3", "d"}, "00000023 00000010",
       bytes("f\0u\0" "0\0" "12\0" "1\0" "6\0" "3\0d")},
      {command::submit_job_epoch, req, {"f", "u", "1700000000", "d"}, "00000024 00000010",
       bytes("f\0u\0" "1700000000\0d")},
      {command::submit_reduce_job, req, {"map", "u", "reduce", "", "d"}, "00000025 0000000f",
       bytes("map\0u\0reduce\0\0d")},
      {command::submit_reduce_job_background, req, {"map", "u", "reduce", "", "d"}, "00000026 0000000f",
       bytes("map\0u\0reduce\0\0d")},
      {command::grab_job_all, req, {}, "00000027 00000000", ""},
      {command::job_assign_all, res, {"H:lap:1", "map", "u", "reduce", "d"}, "00000028 00000016",
       bytes("H:lap:1\0map\0u\0reduce\0d")},
      {command::get_status_unique, req, {"alpha"}, "00000029 00000005", "alpha"},
      {command::status_res_unique, res, {"alpha", "1", "0", "0", "0", "2"}, "0000002a 0000000f",
       bytes("alpha\0" "1\0" "0\0" "0\0" "0\0" "2")},
  };
  return all;
}

// Keeps test output readable: gtest would otherwise hex-dump the struct.
void PrintTo(const golden_case& c, std::ostream* os) { *os << name(c.cmd); }

std::string expected_bytes(const golden_case& c) {
  return hex(magic_hex(c.magic) + c.header_hex) + c.payload;
}

class WireGolden : public ::testing::TestWithParam<golden_case> {};

TEST_P(WireGolden, EncodesToGoldenBytes) {
  const auto& c = GetParam();
  std::string out;
  ASSERT_FALSE(encode(packet{c.magic, c.cmd, c.args}, out));
  EXPECT_EQ(expected_bytes(c), out);
}

TEST_P(WireGolden, DecodesGoldenBytes) {
  const auto& c = GetParam();
  const auto wire_bytes = expected_bytes(c);
  decoder d(c.magic);
  frame f;
  auto r = d.decode(wire_bytes, f);
  ASSERT_EQ(decode_status::complete, r.status) << r.error.message();
  EXPECT_EQ(wire_bytes.size(), r.consumed);
  EXPECT_EQ(frame::kind::binary, f.type);
  EXPECT_EQ((packet{c.magic, c.cmd, c.args}), packet::from(f.packet));
}

INSTANTIATE_TEST_SUITE_P(AllPacketTypes, WireGolden, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return std::string(name(param_info.param.cmd)); });

TEST(WireGoldenTable, CoversEveryPacketNumberOnce) {
  std::vector<int> seen(last_command_number + 1, 0);
  for (const auto& c : cases()) ++seen[number(c.cmd)];
  for (std::uint32_t n = first_command_number; n <= last_command_number; ++n)
    EXPECT_EQ(1, seen[n]) << "packet number " << n;
}

// PROTOCOL "Binary Protocol Example": the whole exchange, byte for byte.
TEST(WireGolden, ProtocolWorkedExample) {
  const std::string worker_to_server = hex("00524551 00000001 00000007") + "reverse" +
                                       hex("00524551 00000009 00000000") +
                                       hex("00524551 00000004 00000000") +
                                       hex("00524551 00000009 00000000") +
                                       hex("00524551 0000000d 0000000c") + bytes("H:lap:1\0tset");
  stream_decoder d(packet_magic::request);
  d.feed(worker_to_server);
  std::vector<command> got;
  frame f;
  while (d.next(f).status == decode_status::complete) got.push_back(f.packet.cmd);
  EXPECT_EQ((std::vector<command>{command::can_do, command::grab_job, command::pre_sleep,
                                  command::grab_job, command::work_complete}),
            got);
  EXPECT_EQ(0u, d.buffered());

  EXPECT_EQ(hex("00524553 0000000b 00000014") + bytes("H:lap:1\0reverse\0test"),
            make_packet(packet_magic::response, command::job_assign, {"H:lap:1", "reverse", "test"}));
  EXPECT_EQ(hex("00524551 00000007 0000000d") + bytes("reverse\0\0test"),
            make_packet(packet_magic::request, command::submit_job, {"reverse", "", "test"}));
}

}  // namespace
}  // namespace gearspec::wire
