#include <gtest/gtest.h>

#include <string>

#include "harness/wire/printer.hpp"
#include "tests/support/bytes.hpp"

namespace gearspec::wire {
namespace {

using test::bytes;

TEST(WirePrinter, IssueExampleFormat) {
  packet p{packet_magic::request, command::submit_job, {"reverse", "alpha", "hello"}};
  EXPECT_EQ(R"(SUBMIT_JOB(func="reverse", unique="alpha", data=5 bytes "hello"))", to_string(p));
}

TEST(WirePrinter, NoArguments) {
  EXPECT_EQ("NOOP()", to_string(packet{packet_magic::response, command::noop, {}}));
}

TEST(WirePrinter, EscapesBinaryBytes) {
  packet p{packet_magic::response, command::work_complete, {"H:x:1", bytes("a\0\n\"\\\xff")}};
  EXPECT_EQ(R"(WORK_COMPLETE(handle="H:x:1", data=6 bytes "a\0\n\"\\\xff"))", to_string(p));
}

TEST(WirePrinter, AbbreviatesLongData) {
  packet p{packet_magic::response, command::echo_res, {std::string(1 << 20, 'a')}};
  print_options o;
  o.max_shown = 4;
  EXPECT_EQ(R"(ECHO_RES(data=1048576 bytes "aaaa..."))", to_string(p, o));
}

TEST(WirePrinter, OneByteIsSingular) {
  EXPECT_EQ(R"(ECHO_REQ(data=1 byte "x"))", to_string(packet{packet_magic::request, command::echo_req, {"x"}}));
}

TEST(WirePrinter, ShowsMagicOnRequest) {
  print_options o;
  o.show_magic = true;
  EXPECT_EQ(R"(RES WORK_FAIL(handle="h"))", to_string(packet{packet_magic::response, command::work_fail, {"h"}}, o));
}

}  // namespace
}  // namespace gearspec::wire
