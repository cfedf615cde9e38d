// Decoder behaviour: splitting at every byte offset (Beast's "grind"), one test per malformed-input
// error, and text lines on the shared port.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness/wire/decoder.hpp"
#include "harness/wire/encoder.hpp"
#include "tests/support/bytes.hpp"

namespace gearspec::wire {
namespace {

using test::bytes;
using test::hex;

constexpr auto req = packet_magic::request;
constexpr auto res = packet_magic::response;

// A mixed stream: binary packets (with NULs in data), an admin line, an empty-payload packet.
std::string sample_stream() {
  std::string s;
  s += make_packet(req, command::can_do, {"reverse"});
  s += make_packet(req, command::submit_job, {"reverse", "alpha", bytes("da\0ta")});
  s += "status\r\n";
  s += make_packet(req, command::grab_job, {});
  s += make_packet(req, command::echo_req, {""});
  s += "workers\n";
  s += make_packet(req, command::submit_job_sched, {"f", "u", "0", "12", "1", "6", "3", "d"});
  return s;
}

std::vector<std::string> describe_all(stream_decoder& d) {
  std::vector<std::string> out;
  frame f;
  for (int guard = 0; guard < 1000; ++guard) {
    auto r = d.next(f);
    if (r.status != decode_status::complete) {
      if (r.status == decode_status::error) out.push_back("error:" + r.error.message());
      break;
    }
    if (f.type == frame::kind::text) {
      out.push_back("text:" + std::string(f.line));
    } else {
      std::string line(name(f.packet.cmd));
      for (auto a : f.packet.arguments()) line += "|" + std::string(a);
      out.push_back(line);
    }
  }
  return out;
}

std::vector<std::string> decode_in_chunks(const std::string& stream,
                                          std::vector<std::size_t> cuts) {
  stream_decoder d(req);
  std::vector<std::string> out;
  std::size_t pos = 0;
  cuts.push_back(stream.size());
  for (auto cut : cuts) {
    d.feed(std::string_view(stream).substr(pos, cut - pos));
    pos = cut;
    for (auto& s : describe_all(d)) out.push_back(s);
  }
  return out;
}

TEST(WireDecoder, SampleStreamDecodesWhole) {
  const auto got = decode_in_chunks(sample_stream(), {});
  const std::vector<std::string> want = {"CAN_DO|reverse",
                                         "SUBMIT_JOB|reverse|alpha|" + bytes("da\0ta"),
                                         "text:status",
                                         "GRAB_JOB",
                                         "ECHO_REQ|",
                                         "text:workers",
                                         "SUBMIT_JOB_SCHED|f|u|0|12|1|6|3|d"};
  EXPECT_EQ(want, got);
}

// Every split point into two reads gives the same frames as one read.
TEST(WireDecoder, PacketSplitAcrossReadsAtEveryOffset) {
  const auto stream = sample_stream();
  const auto whole = decode_in_chunks(stream, {});
  for (std::size_t i = 1; i < stream.size(); ++i)
    ASSERT_EQ(whole, decode_in_chunks(stream, {i})) << "split at " << i;
}

// Every pair of split points (three reads) too.
TEST(WireDecoder, PacketSplitIntoThreeReadsAtEveryPairOfOffsets) {
  const auto stream = sample_stream();
  const auto whole = decode_in_chunks(stream, {});
  for (std::size_t i = 1; i < stream.size(); ++i)
    for (std::size_t j = i; j < stream.size(); ++j)
      ASSERT_EQ(whole, decode_in_chunks(stream, {i, j})) << "splits at " << i << "," << j;
}

TEST(WireDecoder, OneByteAtATime) {
  const auto stream = sample_stream();
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
  EXPECT_EQ(decode_in_chunks(stream, {}), decode_in_chunks(stream, cuts));
}

TEST(WireDecoder, PartialHeaderNeedsMoreAndConsumesNothing) {
  const auto p = make_packet(req, command::grab_job, {});
  decoder d(req);
  frame f;
  for (std::size_t n = 0; n < p.size(); ++n) {
    auto r = d.decode(std::string_view(p).substr(0, n), f);
    EXPECT_EQ(decode_status::need_more, r.status) << n;
    EXPECT_EQ(0u, r.consumed);
  }
}

// A fixture with LevelDB-style verbs that corrupt a valid packet.
class WireDecoderErrors : public ::testing::Test {
 protected:
  std::string packet_ = make_packet(req, command::submit_job, {"f", "u", "data"});

  void set_byte(std::size_t at, char value) { packet_[at] = value; }
  void set_u32(std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
      packet_[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
  }
  decode_result decode(packet_magic expect = req, decoder_limits limits = {}) {
    decoder d(expect, limits);
    return d.decode(packet_, frame_);
  }
  std::string match_error(const decode_result& r, errc want) {
    if (r.status != decode_status::error)
      return "no error (status " + std::to_string(static_cast<int>(r.status)) + ")";
    if (r.error != make_error_code(want)) return r.error.message();
    return "OK";
  }
  frame frame_;
};

TEST_F(WireDecoderErrors, BadMagicIsFatal) {
  set_byte(1, 'X');  // "\0XEQ"
  auto r = decode();
  EXPECT_EQ("OK", match_error(r, errc::bad_magic));
  EXPECT_EQ(0u, r.consumed);
  EXPECT_FALSE(is_recoverable(errc::bad_magic));
}

TEST_F(WireDecoderErrors, BadMagicSeenBeforeFullHeader) {
  decoder d(req);
  auto r = d.decode(bytes("\0RX"), frame_);
  EXPECT_EQ("OK", match_error(r, errc::bad_magic));
}

TEST_F(WireDecoderErrors, ResponseMagicWhereRequestExpected) {
  set_byte(3, 'S');  // "\0RES"
  auto r = decode(req);
  EXPECT_EQ("OK", match_error(r, errc::unexpected_magic));
  EXPECT_EQ(packet_.size(), r.consumed);  // the stream can go on
  EXPECT_EQ(command::submit_job, frame_.packet.cmd);
  EXPECT_TRUE(is_recoverable(errc::unexpected_magic));
}

TEST_F(WireDecoderErrors, RequestMagicWhereResponseExpected) {
  auto r = decode(res);
  EXPECT_EQ("OK", match_error(r, errc::unexpected_magic));
  EXPECT_EQ(packet_.size(), r.consumed);
}

TEST_F(WireDecoderErrors, TypeZeroIsUnknown) {
  set_u32(4, 0);
  auto r = decode();
  EXPECT_EQ("OK", match_error(r, errc::unknown_command));
  EXPECT_EQ(packet_.size(), r.consumed);
  EXPECT_EQ(0u, frame_.type_number);
}

TEST_F(WireDecoderErrors, TypeAbove42IsUnknown) {
  set_u32(4, 43);
  auto r = decode();
  EXPECT_EQ("OK", match_error(r, errc::unknown_command));
  EXPECT_EQ(43u, frame_.type_number);
  set_u32(4, 0xffffffffu);
  EXPECT_EQ("OK", match_error(decode(), errc::unknown_command));
}

TEST_F(WireDecoderErrors, TooFewArgumentsNeverReadsPastThePacket) {
  // SUBMIT_JOB "abc" has no NUL; the next packet's bytes contain NULs that must not be used
  // (C gearmand's parser does use them and desynchronises: docs/protocol.md §1.4).
  std::string stream =
      hex("00524551 00000007 00000003") + "abc" + make_packet(req, command::can_do, {"x"});
  stream_decoder d(req);
  d.feed(stream);
  frame f;
  auto r = d.next(f);
  EXPECT_EQ(make_error_code(errc::too_few_arguments), r.error);
  EXPECT_EQ(15u, r.consumed);
  r = d.next(f);
  ASSERT_EQ(decode_status::complete, r.status);
  EXPECT_EQ(command::can_do, f.packet.cmd);
  EXPECT_EQ("x", f.packet.arg(0));
}

TEST_F(WireDecoderErrors, OneNulShortOfTheShape) {
  packet_ = hex("00524551 00000007 00000003") + bytes("f\0u");  // FUNC\0UNIQ, no second NUL
  EXPECT_EQ("OK", match_error(decode(), errc::too_few_arguments));
}

TEST_F(WireDecoderErrors, ReduceJobInThePROTOCOLsThreeFieldFormIsTooShort) {
  // PROTOCOL shows FUNC\0UNIQ\0REDUCER\0DATA; gearmand needs four NUL-terminated fields (note A).
  packet_ = hex("00524551 00000025 00000009") + bytes("f\0u\0red\0d");
  EXPECT_EQ("OK", match_error(decode(), errc::too_few_arguments));
}

TEST_F(WireDecoderErrors, SizeAboveLimitIsFatalBeforeThePayloadArrives) {
  decoder_limits limits;
  limits.max_payload = 3;
  packet_ = hex("00524551 00000007 00000004");  // header only
  auto r = decode(req, limits);
  EXPECT_EQ("OK", match_error(r, errc::packet_too_large));
  EXPECT_FALSE(is_recoverable(errc::packet_too_large));
}

TEST_F(WireDecoderErrors, SizeAtLimitIsAccepted) {
  decoder_limits limits;
  limits.max_payload = 8;  // "f\0u\0data"
  EXPECT_EQ(decode_status::complete, decode(req, limits).status);
}

TEST_F(WireDecoderErrors, MaximumSizeFieldDoesNotOverflow) {
  set_u32(8, 0xffffffffu);
  EXPECT_EQ("OK", match_error(decode(), errc::packet_too_large));
}

TEST(WireDecoderText, LineEndingsLfAndCrlf) {
  stream_decoder d(req);
  d.feed("status\nworkers\r\n");
  frame f;
  ASSERT_EQ(decode_status::complete, d.next(f).status);
  EXPECT_EQ("status", f.line);
  EXPECT_EQ(line_ending::lf, f.ending);
  ASSERT_EQ(decode_status::complete, d.next(f).status);
  EXPECT_EQ("workers", f.line);
  EXPECT_EQ(line_ending::crlf, f.ending);
  EXPECT_EQ("workers\r\n", f.raw);
}

TEST(WireDecoderText, LineOverLimitIsFatal) {
  decoder_limits limits;
  limits.max_line = 8;
  decoder d(req, limits);
  frame f;
  EXPECT_EQ(decode_status::complete, d.decode("12345678\r\n", f).status);
  EXPECT_EQ(make_error_code(errc::line_too_long), d.decode("123456789\n", f).error);
  // Without a newline the decoder gives up once the limit is passed, not at end of stream.
  EXPECT_EQ(decode_status::need_more, d.decode("123456789", f).status);
  EXPECT_EQ(make_error_code(errc::line_too_long), d.decode("1234567890", f).error);
}

TEST(WireDecoderText, TextRejectedWhenNotAccepted) {
  decoder d(res, {}, /*accept_text=*/false);
  frame f;
  EXPECT_EQ(make_error_code(errc::bad_magic), d.decode("OK\r\n", f).error);
}

TEST(WireDecoderText, EmptyLineIsALine) {
  decoder d(req);
  frame f;
  auto r = d.decode("\r\n", f);
  ASSERT_EQ(decode_status::complete, r.status);
  EXPECT_EQ("", f.line);
  EXPECT_EQ(2u, r.consumed);
}

TEST(WireDecoderArguments, ExtraPayloadOnZeroArgumentCommandIsIgnored) {
  // GRAB_JOB with 4 payload bytes: both real servers ignore them (docs/protocol.md §1.4).
  decoder d(req);
  frame f;
  const auto p = hex("00524551 00000009 00000004") + "junk";
  auto r = d.decode(p, f);
  ASSERT_EQ(decode_status::complete, r.status);
  EXPECT_EQ(p.size(), r.consumed);
  EXPECT_EQ(0u, f.packet.arg_count);
}

TEST(WireDecoderArguments, LastArgumentKeepsNulBytes) {
  decoder d(req);
  frame f;
  const auto p = make_packet(req, command::work_complete, {"H:1", bytes("\0\0x\0")});
  ASSERT_EQ(decode_status::complete, d.decode(p, f).status);
  EXPECT_EQ(bytes("\0\0x\0"), f.packet.arg(1));
}

TEST(WireDecoderArguments, EmptyArguments) {
  decoder d(req);
  frame f;
  const auto p = hex("00524551 00000007 00000002") + bytes("\0\0");
  ASSERT_EQ(decode_status::complete, d.decode(p, f).status);
  EXPECT_EQ(3u, f.packet.arg_count);
  EXPECT_EQ("", f.packet.arg(0));
  EXPECT_EQ("", f.packet.arg(2));
}

}  // namespace
}  // namespace gearspec::wire
