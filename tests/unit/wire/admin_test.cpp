#include <gtest/gtest.h>

#include <string>

#include "harness/wire/admin.hpp"

namespace gearspec::wire {
namespace {

TEST(WireAdminRequest, CommandLowerCasedAndWordsSplit) {
  auto r = parse_admin_request("MaxQueue  fn   10 ");
  EXPECT_EQ("maxqueue", r.command);
  EXPECT_EQ((std::vector<std::string>{"fn", "10"}), r.args);
}

TEST(WireAdminRequest, LeadingSpaceGivesEmptyCommand) {
  // C gearmand answers ERR UNKNOWN_COMMAND for "  status" (docs/protocol.md §2.1).
  auto r = parse_admin_request("  status");
  EXPECT_EQ("", r.command);
  EXPECT_EQ((std::vector<std::string>{"status"}), r.args);
}

TEST(WireAdminRequest, TrailingCarriageReturnIsPartOfTheEnding) {
  auto r = parse_admin_request("show jobs\r");
  EXPECT_EQ("show", r.command);
  EXPECT_EQ((std::vector<std::string>{"jobs"}), r.args);
  EXPECT_EQ(admin_shape::list, admin_response_shape("status\r"));
}

TEST(WireAdminRequest, BareCommand) {
  auto r = parse_admin_request("version");
  EXPECT_EQ("version", r.command);
  EXPECT_TRUE(r.args.empty());
}

TEST(WireAdminShape, ListCommands) {
  for (auto line : {"workers", "status", "prioritystatus", "show jobs", "SHOW UNIQUE JOBS", "jobs",
                    "clients", "gladiator"})
    EXPECT_EQ(admin_shape::list, admin_response_shape(line)) << line;
  for (auto line : {"version", "getpid", "verbose", "maxqueue f 1", "cancel job H:x:1", "show",
                    "show unique", "create function f", "drop function f", "shutdown", "bogus"})
    EXPECT_EQ(admin_shape::single_line, admin_response_shape(line)) << line;
}

TEST(WireAdminResponse, COkWithCrlf) {
  admin_response r;
  auto res = parse_admin_response("OK\r\nextra", admin_shape::single_line, r);
  ASSERT_EQ(decode_status::complete, res.status);
  EXPECT_EQ(4u, res.consumed);
  EXPECT_EQ(admin_response::kind::ok, r.type);
  EXPECT_EQ("", r.value);
  EXPECT_EQ(line_ending::crlf, r.ending);
  EXPECT_EQ("OK\r\n", r.raw);
}

TEST(WireAdminResponse, COkWithValue) {
  admin_response r;
  ASSERT_EQ(decode_status::complete,
            parse_admin_response("OK 1.1.20+ds\n", admin_shape::single_line, r).status);
  EXPECT_EQ(admin_response::kind::ok, r.type);
  EXPECT_EQ("1.1.20+ds", r.value);
  EXPECT_EQ(line_ending::lf, r.ending);
}

TEST(WireAdminResponse, PerlVersionIsOtherLine) {
  admin_response r;
  ASSERT_EQ(decode_status::complete,
            parse_admin_response("v1.130.1\n", admin_shape::single_line, r).status);
  EXPECT_EQ(admin_response::kind::other, r.type);
  EXPECT_EQ((std::vector<std::string>{"v1.130.1"}), r.lines);
}

TEST(WireAdminResponse, ErrSplitsCodeAndText) {
  admin_response r;
  ASSERT_EQ(decode_status::complete,
            parse_admin_response("ERR UNKNOWN_COMMAND Unknown+server+commandfoo\r\n",
                                 admin_shape::single_line, r)
                .status);
  EXPECT_EQ(admin_response::kind::err, r.type);
  EXPECT_EQ("UNKNOWN_COMMAND", r.error_code);
  EXPECT_EQ("Unknown+server+commandfoo", r.error_text);
}

TEST(WireAdminResponse, PerlErrWithTrailingSpace) {
  admin_response r;
  ASSERT_EQ(decode_status::complete,
            parse_admin_response("ERR unknown_command \r\n", admin_shape::list, r).status);
  EXPECT_EQ(admin_response::kind::err, r.type);
  EXPECT_EQ("unknown_command", r.error_code);
  EXPECT_EQ("", r.error_text);
}

TEST(WireAdminResponse, ListUntilDot) {
  admin_response r;
  const std::string answer = "f\t1\t0\t1\nERRfn\t0\t0\t0\n.\n";
  for (std::size_t cut = 0; cut < answer.size(); ++cut)
    EXPECT_EQ(decode_status::need_more,
              parse_admin_response(answer.substr(0, cut), admin_shape::list, r).status);
  auto res = parse_admin_response(answer, admin_shape::list, r);
  ASSERT_EQ(decode_status::complete, res.status);
  EXPECT_EQ(answer.size(), res.consumed);
  EXPECT_EQ(admin_response::kind::list, r.type);
  EXPECT_EQ((std::vector<std::string>{"f\t1\t0\t1", "ERRfn\t0\t0\t0"}), r.lines);
}

TEST(WireAdminResponse, EmptyList) {
  admin_response r;
  ASSERT_EQ(decode_status::complete, parse_admin_response(".\n", admin_shape::list, r).status);
  EXPECT_EQ(admin_response::kind::list, r.type);
  EXPECT_TRUE(r.lines.empty());
}

TEST(WireAdminResponse, EmptyLinesInsideAList) {
  // C's "show unique jobs" prints an empty line for a job with an empty unique (docs/protocol.md
  // §2.2).
  admin_response r;
  ASSERT_EQ(decode_status::complete,
            parse_admin_response("\nalpha\n.\n", admin_shape::list, r).status);
  EXPECT_EQ((std::vector<std::string>{"", "alpha"}), r.lines);
}

TEST(WireAdminResponse, LineTooLong) {
  admin_response r;
  auto res = parse_admin_response(std::string(100, 'x'), admin_shape::list, r, 10);
  EXPECT_EQ(decode_status::error, res.status);
  EXPECT_EQ(make_error_code(errc::line_too_long), res.error);
}

TEST(WireAdminResponse, KindNames) {
  EXPECT_EQ("ok", name(admin_response::kind::ok));
  EXPECT_EQ("err", name(admin_response::kind::err));
  EXPECT_EQ("list", name(admin_response::kind::list));
  EXPECT_EQ("other", name(admin_response::kind::other));
}

}  // namespace
}  // namespace gearspec::wire
