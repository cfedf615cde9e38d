// Malformed and unexpected input: an ERROR where the stream can continue, ERROR and close where it
// cannot, and never an effect on other connections.

#include "tests/support/bytes.hpp"
#include "tests/unit/refcore/core_fixture.hpp"

namespace gearspec::refsrv::test {
namespace {

using gearspec::test::bytes;
using gearspec::test::hex;

constexpr conn_id peer = 1, other = 2;

TEST_F(CoreTest, EchoReturnsIdenticalBytes) {
  connect(peer);
  send(peer, command::echo_req, {bytes("a\0b\0")});
  EXPECT_EQ((std::vector<std::string>{line(command::echo_res, {bytes("a\0b\0")})}), take(peer));
  send(peer, command::echo_req, {""});
  EXPECT_EQ((std::vector<std::string>{line(command::echo_res, {""})}), take(peer));
}

TEST_F(CoreTest, UnknownOptionIsAnError) {
  connect(peer);
  send(peer, command::option_req, {"fast"});
  EXPECT_EQ((std::vector<std::string>{line(command::error, {"UNKNOWN_OPTION", "Server does not recognize given option"})}),
            take(peer));
  send(peer, command::option_req, {"EXCEPTIONS"});
  EXPECT_EQ((std::vector<std::string>{line(command::option_res, {"EXCEPTIONS"})}), take(peer));
}

TEST_F(CoreTest, ResponseOnlyTypesSentAsRequestsAreErrors) {
  connect(peer);
  for (std::uint32_t n = wire::first_command_number; n <= wire::last_command_number; ++n) {
    const auto& shape = *wire::find_command(n);
    if (shape.is_request) continue;
    std::string p;
    wire::encode_raw(wire::magic_bytes(wire::packet_magic::request), n, 0, "", p);
    // Give multi-argument types enough NULs to be well-formed.
    if (shape.arg_count > 1) {
      p.clear();
      wire::encode_raw(wire::magic_bytes(wire::packet_magic::request), n, shape.arg_count - 1,
                       std::string(shape.arg_count - 1, '\0'), p);
    }
    EXPECT_FALSE(raw(peer, p).close) << shape.name;
    EXPECT_EQ((std::vector<std::string>{line(command::error, {"INVALID_COMMAND", "Command not expected"})}), take(peer))
        << shape.name;
  }
}

TEST_F(CoreTest, AllYoursAndSchedAreRefused) {
  connect(peer);
  send(peer, command::all_yours, {});
  EXPECT_EQ((std::vector<std::string>{line(command::error, {"INVALID_COMMAND", "Command not expected"})}), take(peer));
  send(peer, command::submit_job_sched, {"f", "u", "0", "0", "0", "0", "0", "d"});
  EXPECT_EQ((std::vector<std::string>{line(command::error, {"INVALID_COMMAND", "SUBMIT_JOB_SCHED is not supported"})}),
            take(peer));
}

TEST_F(CoreTest, ResponseMagicGetsErrorAndStreamContinues) {
  connect(peer);
  const auto p = wire::make_packet(wire::packet_magic::response, command::echo_req, {"x"}) +
                 wire::make_packet(wire::packet_magic::request, command::echo_req, {"y"});
  const auto r = raw(peer, p);
  EXPECT_FALSE(r.close);
  EXPECT_EQ(p.size(), r.consumed);
  EXPECT_EQ((std::vector<std::string>{line(command::error, {"INVALID_MAGIC", "Request magic expected"}),
                                      line(command::echo_res, {"y"})}),
            take(peer));
}

TEST_F(CoreTest, BadMagicGetsErrorThenClose) {
  connect(peer);
  connect(other);
  const auto r = raw(peer, hex("00585858 00000010 00000000"));
  EXPECT_TRUE(r.close);
  EXPECT_EQ((std::vector<conn_id>{peer}), sink_.closed);
  const auto got = take_packets(peer);
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ(command::error, got[0].cmd);
  EXPECT_EQ("INVALID_MAGIC", got[0].args[0]);
  send(other, command::echo_req, {"fine"});  // other connections unaffected
  EXPECT_EQ((std::vector<std::string>{line(command::echo_res, {"fine"})}), take(other));
}

TEST_F(CoreTest, UnknownTypeGetsErrorAndStreamContinues) {
  connect(peer);
  const auto p = hex("00524551 0000002b 00000002") + "zz" + hex("00524551 00000000 00000000") +
                 wire::make_packet(wire::packet_magic::request, command::echo_req, {"y"});
  const auto r = raw(peer, p);
  EXPECT_FALSE(r.close);
  EXPECT_EQ((std::vector<std::string>{line(command::error, {"INVALID_COMMAND", "Unknown packet type 43"}),
                                      line(command::error, {"INVALID_COMMAND", "Unknown packet type 0"}),
                                      line(command::echo_res, {"y"})}),
            take(peer));
}

TEST_F(CoreTest, ShortPacketGetsErrorAndNeverEatsTheNextOne) {
  connect(peer);
  const auto p = hex("00524551 00000007 00000003") + "abc" +
                 wire::make_packet(wire::packet_magic::request, command::echo_req, {"y"});
  EXPECT_FALSE(raw(peer, p).close);
  EXPECT_EQ((std::vector<std::string>{line(command::error, {"INVALID_PACKET", "Too few arguments for SUBMIT_JOB"}),
                                      line(command::echo_res, {"y"})}),
            take(peer));
  EXPECT_EQ(0u, core_->job_count());
}

TEST_F(CoreTest, OversizedPacketGetsErrorThenClose) {
  connect(peer);
  wire::decoder_limits limits;
  limits.max_payload = 1024;
  core_->set_decoder_limits(limits);
  const auto r = raw(peer, hex("00524551 00000010 00000401"));
  EXPECT_TRUE(r.close);
  EXPECT_EQ((std::vector<std::string>{line(command::error, {"ARGUMENT_TOO_LARGE", "Packet size above the server's limit"})}),
            take(peer));
}

TEST_F(CoreTest, PartialPacketWaitsForTheRest) {
  connect(peer);
  const auto p = wire::make_packet(wire::packet_magic::request, command::echo_req, {"hello"});
  auto r = raw(peer, std::string_view(p).substr(0, 14));
  EXPECT_EQ(0u, r.consumed);
  EXPECT_FALSE(r.close);
  r = raw(peer, p);
  EXPECT_EQ(p.size(), r.consumed);
  EXPECT_EQ((std::vector<std::string>{line(command::echo_res, {"hello"})}), take(peer));
}

TEST_F(CoreTest, GrabJobWithExtraPayloadIsStillAGrab) {
  connect(peer);
  raw(peer, hex("00524551 00000009 00000004") + "junk");
  EXPECT_EQ((std::vector<std::string>{line(command::no_job, {})}), take(peer));
}

}  // namespace
}  // namespace gearspec::refsrv::test
