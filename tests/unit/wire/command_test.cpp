#include <gtest/gtest.h>

#include <set>
#include <string>

#include "harness/wire/command.hpp"

namespace gearspec::wire {
namespace {

TEST(WireCommand, EveryNumberFrom1To42IsKnownAndNamedUniquely) {
  std::set<std::string_view> names;
  for (std::uint32_t n = first_command_number; n <= last_command_number; ++n) {
    const auto* c = find_command(n);
    ASSERT_NE(nullptr, c) << n;
    EXPECT_EQ(n, number(c->cmd));
    EXPECT_TRUE(names.insert(c->name).second) << c->name;
    EXPECT_EQ(c->cmd, command_from_name(c->name));
  }
}

TEST(WireCommand, ZeroAndAbove42AreUnknown) {
  EXPECT_EQ(nullptr, find_command(0));
  EXPECT_EQ(nullptr, find_command(43));
  EXPECT_EQ(nullptr, find_command(0xffffffffu));
}

TEST(WireCommand, NamesAreCaseInsensitive) {
  EXPECT_EQ(command::submit_job_bg, command_from_name("submit_job_bg"));
  EXPECT_EQ(std::nullopt, command_from_name("SUBMIT_JOBX"));
  EXPECT_EQ(std::nullopt, command_from_name(""));
}

// Shapes from libgearman/command.cc, spot-checked where they are easy to get wrong.
TEST(WireCommand, ArgumentShapes) {
  EXPECT_EQ(5, info(command::submit_reduce_job).arg_count);  // four NUL fields + data, not three
  EXPECT_EQ(5, info(command::submit_reduce_job_background).arg_count);
  EXPECT_EQ(5, info(command::job_assign_all).arg_count);
  EXPECT_EQ(8, info(command::submit_job_sched).arg_count);
  EXPECT_EQ(6, info(command::status_res_unique).arg_count);
  EXPECT_EQ(1, info(command::echo_req).arg_count);
  EXPECT_EQ(0, info(command::grab_job).arg_count);
}

TEST(WireCommand, Directions) {
  EXPECT_TRUE(info(command::work_status).is_request);
  EXPECT_TRUE(info(command::work_status).is_response);
  EXPECT_FALSE(info(command::noop).is_request);
  EXPECT_FALSE(info(command::unused).is_request);
  EXPECT_FALSE(info(command::unused).is_response);
  EXPECT_TRUE(info(command::all_yours).is_request);
  EXPECT_FALSE(info(command::job_assign_uniq).is_request);
}

TEST(WireCommand, SubmitFamily) {
  int submits = 0;
  for (std::uint32_t n = first_command_number; n <= last_command_number; ++n)
    submits += is_submit(find_command(n)->cmd) ? 1 : 0;
  EXPECT_EQ(10, submits);
  EXPECT_FALSE(is_submit(command::job_created));
}

}  // namespace
}  // namespace gearspec::wire
