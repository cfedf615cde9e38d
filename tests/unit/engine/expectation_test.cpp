// The expectation module on its own, with no sockets: variables, matchers, judging an inbox and
// admin answers, and the descriptions reports print.

#include "harness/engine/expectation.hpp"

#include <gtest/gtest.h>

#include "harness/scenario/loader.hpp"

namespace gearspec::engine {
namespace {

using scenario::matcher;
using scenario::packet_expectation;
using wire::command;

wire::packet res(command cmd, std::vector<std::string> args) {
  return wire::packet{wire::packet_magic::response, cmd, std::move(args)};
}

/// The expect step of a one-actor scenario whose only step is `expect_yaml`.
alternatives parse_expect(const std::string& expect_yaml) {
  static std::vector<scenario::scenario> keep;
  keep.push_back(scenario::load_scenario_string(
      "id: t/e\ntitle: t\nrequirements: [T]\nlevel: MUST\ndescription: d\nactors:\n  c: client\n"
      "steps:\n  - c: {send: ECHO_REQ, args: [\"$$\"]}\n  - c: {expect: ECHO_RES, args: [{capture: "
      "h}]}\n  - c: " +
      expect_yaml + "\n"));
  return keep.back().steps.back().as<scenario::expect_step>()->alternatives;
}

TEST(Variables, GeneratedNamesAreUniquePerTokenAndStable) {
  variables vars("tok");
  EXPECT_EQ("fn-tok", vars.value("fn"));
  EXPECT_EQ("uniq2-tok", vars.value("uniq2"));
  EXPECT_EQ("tok", vars.value("run"));
  const auto epoch = std::stoll(vars.value("epoch5"));
  EXPECT_GT(epoch, 1'700'000'000);
  EXPECT_EQ(std::to_string(epoch), vars.value("epoch5"));  // fixed on first use
}

TEST(Variables, CapturesAreVisibleOnlyOnceCommitted) {
  variables vars("t");
  bindings pending{{"h", "H:1"}};
  auto t = scenario::value_template::literal("x-");
  t.pieces.push_back({true, "h"});
  EXPECT_EQ("x-H:1", vars.expand(t, pending));
  vars.commit(pending);
  EXPECT_EQ("x-H:1", vars.expand(t));
}

TEST(Matchers, EveryKind) {
  variables vars("t");
  bindings pending;
  EXPECT_TRUE(matches(matcher::any(), "whatever", vars, pending));
  EXPECT_TRUE(matches(matcher::exact("abc"), "abc", vars, pending));
  EXPECT_FALSE(matches(matcher::exact("abc"), "abcd", vars, pending));
  EXPECT_TRUE(matches(matcher::prefix("H:"), "H:host:1", vars, pending));
  EXPECT_FALSE(matches(matcher::prefix("H:"), "J:1", vars, pending));
  EXPECT_TRUE(matches(matcher::regex("[0-9]+"), "42", vars, pending));
  EXPECT_FALSE(matches(matcher::regex("[0-9]+"), "42a", vars, pending));  // the whole value
  matcher capture;
  capture.type = matcher::kind::capture;
  capture.name = "h";
  EXPECT_TRUE(matches(capture, "H:7", vars, pending));
  EXPECT_EQ("H:7", pending.at("h"));
}

TEST(Matchers, AnInvalidRegexIsTheScenariosFaultNotAMismatch) {
  // Decided once for the runner and for scripts: never a silent "no match".
  variables vars("t");
  bindings pending;
  EXPECT_THROW(matches(matcher::regex("a[b"), "ab", vars, pending), bad_pattern);
  try {
    matches(matcher::regex("(x"), "x", vars, pending);
    FAIL() << "expected bad_pattern";
  } catch (const bad_pattern& e) {
    EXPECT_NE(std::string::npos, std::string(e.what()).find("/(x/ is not a valid pattern"));
  }
}

TEST(JudgeInbox, MatchConsumesThePacketsAndCaptures) {
  variables vars("t");
  const auto wanted = parse_expect("{expect: JOB_CREATED, args: [{capture: handle}]}");
  std::deque<wire::packet> inbox{res(command::job_created, {"H:1"}), res(command::noop, {})};
  const auto j = judge_inbox(wanted, inbox, {}, vars);
  ASSERT_EQ(inbox_judgement::kind::match, j.result);
  EXPECT_EQ(1u, j.consumed);
  EXPECT_EQ("H:1", j.captures.at("handle"));
}

TEST(JudgeInbox, NeedMoreUntilTheSequenceIsComplete) {
  variables vars("t");
  const auto wanted = parse_expect("{expect: [{WORK_STATUS: []}, {WORK_COMPLETE: []}]}");
  std::deque<wire::packet> inbox{res(command::work_status, {"H", "1", "2"})};
  EXPECT_EQ(inbox_judgement::kind::need_more, judge_inbox(wanted, inbox, {}, vars).result);
  inbox.push_back(res(command::work_complete, {"H", "r"}));
  const auto j = judge_inbox(wanted, inbox, {}, vars);
  EXPECT_EQ(inbox_judgement::kind::match, j.result);
  EXPECT_EQ(2u, j.consumed);
}

TEST(JudgeInbox, MismatchWhenNoAlternativeCanMatch) {
  variables vars("t");
  const auto wanted = parse_expect("{any_of: [{NO_JOB: []}, {JOB_ASSIGN: []}]}");
  std::deque<wire::packet> inbox{res(command::noop, {})};
  const auto j = judge_inbox(wanted, inbox, {}, vars);
  EXPECT_EQ(inbox_judgement::kind::mismatch, j.result);
  EXPECT_EQ("NOOP()", show(j.relevant));
}

TEST(JudgeInbox, IgnoredTypesAreSkippedUnlessAnAlternativeNamesThem) {
  variables vars("t");
  std::deque<wire::packet> inbox{res(command::noop, {}), res(command::no_job, {})};
  const auto no_job = parse_expect("{expect: NO_JOB}");
  auto j = judge_inbox(no_job, inbox, {command::noop}, vars);
  ASSERT_EQ(inbox_judgement::kind::match, j.result);
  EXPECT_EQ(2u, j.consumed);  // the ignored NOOP before it goes too
  const auto noop = parse_expect("{expect: NOOP}");
  j = judge_inbox(noop, inbox, {command::noop}, vars);
  ASSERT_EQ(inbox_judgement::kind::match, j.result);
  EXPECT_EQ(1u, j.consumed);
  EXPECT_EQ(nullptr, first_unignored({res(command::noop, {})}, {command::noop}));
  EXPECT_NE(nullptr, first_unignored({res(command::noop, {})}, {}));
}

TEST(JudgeInbox, CapturesOfAFailedAlternativeAreDropped) {
  variables vars("t");
  const auto wanted = parse_expect(
      "{any_of: [[{ECHO_RES: [{capture: x}]}, {NO_JOB: []}], [{ECHO_RES: [{capture: x}]}]]}");
  std::deque<wire::packet> inbox{res(command::echo_res, {"v"}), res(command::noop, {})};
  const auto j = judge_inbox(wanted, inbox, {}, vars);
  ASSERT_EQ(inbox_judgement::kind::match, j.result);
  EXPECT_EQ(1u, j.consumed);  // the second alternative
  EXPECT_EQ("v", j.captures.at("x"));
}

TEST(JudgeAdmin, KindsLinesContainsExcludes) {
  variables vars("t");
  bindings pending;
  wire::admin_response list;
  list.type = wire::admin_response::kind::list;
  list.lines = {"b\t0\t0\t1", "a\t1\t0\t0"};
  scenario::admin_expectation want;
  want.response = scenario::admin_expectation::kind::ok;
  EXPECT_EQ("a response of kind ok, got list", judge_admin(want, list, vars, pending));
  want = {};
  want.lines = std::vector<matcher>{matcher::exact("a\t1\t0\t0"), matcher::exact("b\t0\t0\t1")};
  EXPECT_NE("", judge_admin(want, list, vars, pending));  // order matters
  want.unordered = true;
  EXPECT_EQ("", judge_admin(want, list, vars, pending));
  want = {};
  want.contains = {matcher::regex("a\t.*")};
  EXPECT_EQ("", judge_admin(want, list, vars, pending));
  want = {};
  want.excludes = {matcher::prefix("b")};
  EXPECT_EQ("no line like \"b\"..., got \"b\\t0\\t0\\t1\"", judge_admin(want, list, vars, pending));
}

TEST(JudgeAdmin, ASingleLineCanBeCaptured) {
  variables vars("t");
  bindings pending;
  wire::admin_response ok;
  ok.type = wire::admin_response::kind::ok;
  ok.lines = {"OK 123"};
  scenario::admin_expectation want;
  matcher capture;
  capture.type = matcher::kind::capture;
  capture.name = "pid";
  want.line = capture;
  EXPECT_EQ("", judge_admin(want, ok, vars, pending));
  EXPECT_EQ("OK 123", pending.at("pid"));
}

TEST(Describe, ExpectedAndActualAsReportsPrintThem) {
  variables vars("tok");
  const auto wanted = parse_expect("{expect: WORK_STATUS, args: [\"${fn}\", {regex: \"[0-9]+\"}]}");
  EXPECT_EQ("WORK_STATUS(handle=\"fn-tok\", numerator=/[0-9]+/)", describe(wanted, vars));
  const auto two = parse_expect("{any_of: [{NO_JOB: []}, [{NOOP: []}, {NO_JOB: []}]]}");
  EXPECT_EQ("NO_JOB()  OR  NOOP() then NO_JOB()", describe(two, vars));
  EXPECT_EQ("\"a\\0b\"", quote(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace gearspec::engine

namespace gearspec::engine {
namespace {

TEST(MismatchCause, NamesWhatCameInsteadInStableWords) {
  variables vars("t");
  const auto one = res(command::work_complete, {"H:1", "r"});
  const auto status = res(command::work_status, {"H:1", "1", "2"});
  // A result sent once where a sequence expects it twice (once per submission).
  const auto twice = parse_expect(
      "{expect: [{WORK_STATUS: [\"H:1\"]}, {WORK_COMPLETE: [\"H:1\"]}, "
      "{WORK_COMPLETE: [\"H:1\"]}]}");
  EXPECT_EQ("after SUBMIT_JOB: fewer WORK_COMPLETE than expected (1 of 2)",
            mismatch_cause(twice, {&status, &one}, "SUBMIT_JOB", vars));
  // Another packet type first.
  const auto created = parse_expect("{expect: JOB_CREATED}");
  EXPECT_EQ("after SUBMIT_JOB: expected JOB_CREATED, got WORK_COMPLETE",
            mismatch_cause(created, {&one}, "SUBMIT_JOB", vars));
  // The right type with another argument names the argument, not the values (they differ per run).
  const auto data = parse_expect("{expect: WORK_COMPLETE, args: [\"H:1\", \"other\"]}");
  EXPECT_EQ("WORK_COMPLETE with another data than expected",
            mismatch_cause(data, {&one}, "SUBMIT_JOB", vars));
  EXPECT_EQ("after GRAB_JOB: expected JOB_CREATED, got nothing",
            mismatch_cause(created, {}, "GRAB_JOB", vars));
}

TEST(AnswersTo, OnlyTheRepliesARequestCanHave) {
  const auto grab = answers_to(command::grab_job);
  EXPECT_NE(std::find(grab.begin(), grab.end(), command::no_job), grab.end());
  EXPECT_EQ(std::find(grab.begin(), grab.end(), command::noop), grab.end());
  EXPECT_TRUE(answers_to(command::work_complete).empty());  // no reply to a result
}

}  // namespace
}  // namespace gearspec::engine
