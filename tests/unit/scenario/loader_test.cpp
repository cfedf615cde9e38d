// The scenario loader: the model it builds, and load errors with file:line:column.

#include <gtest/gtest.h>

#include <set>

#include "harness/scenario/loader.hpp"

namespace gearspec::scenario {
namespace {

const char* minimal = R"(id: demo/minimal
title: t
requirements: [ECHO-IDENTICAL]
level: MUST
description: d
actors:
  c: client
steps:
  - c: {send: ECHO_REQ, args: ["x"]}
  - c: {expect: ECHO_RES, args: ["x"]}
)";

/// The error text of loading yaml, or "OK".
std::string load_error(const std::string& yaml) {
  try {
    load_scenario_string(yaml, "s.yaml");
    return "OK";
  } catch (const scenario_error& e) {
    return e.what();
  }
}

/// minimal with its steps replaced.
std::string with_steps(const std::string& steps) {
  std::string y = minimal;
  y = y.substr(0, y.find("steps:"));
  return y + "steps:\n" + steps;
}

TEST(ScenarioLoader, BuildsTheModel) {
  const auto s = load_scenario_string(minimal, "s.yaml");
  EXPECT_EQ("demo/minimal", s.id);
  EXPECT_EQ("MUST", s.level);
  ASSERT_EQ(1u, s.actors.size());
  EXPECT_EQ(actor::role::client, s.actors[0].type);
  EXPECT_EQ("main", s.actors[0].server);
  ASSERT_EQ(2u, s.steps.size());
  ASSERT_NE(nullptr, s.steps[0].as<send_step>());
  EXPECT_EQ(wire::command::echo_req, s.steps[0].as<send_step>()->cmd);
  EXPECT_EQ("c", *s.steps[0].actor());
  ASSERT_NE(nullptr, s.steps[1].as<expect_step>());
  ASSERT_EQ(1u, s.steps[1].as<expect_step>()->alternatives.size());
  EXPECT_EQ(10, s.steps[1].mark.line);
  EXPECT_EQ(5, s.steps[1].mark.column);
}

TEST(ScenarioLoader, ValuesAndMatchers) {
  const auto s = load_scenario_string(
      with_steps(
          R"(  - c: {send: SUBMIT_JOB, args: ["${fn}-x", {hex: "00ff"}, {repeat: "ab", count: 3}]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - c: {send: ECHO_REQ, args: ["a\0b$$"]}
  - c: {expect: ECHO_RES, args: [{regex: "^a.b\\$$"}]}
  - c: {send: GET_STATUS, args: ["$h"]}
  - c: {expect: STATUS_RES, args: ["$h", {any: true}, {prefix: "0"}]}
)"),
      "s.yaml");
  const auto& submit = *s.steps[0].as<send_step>();
  ASSERT_EQ(3u, submit.args.size());
  ASSERT_EQ(2u, submit.args[0].pieces.size());
  EXPECT_TRUE(submit.args[0].pieces[0].is_variable);
  EXPECT_EQ("fn", submit.args[0].pieces[0].text);
  EXPECT_EQ(std::string("\0\xff", 2), submit.args[1].pieces[0].text);
  EXPECT_EQ("ababab", submit.args[2].pieces[0].text);
  EXPECT_EQ(std::string("a\0b$", 4),
            s.steps[2].as<send_step>()->args[0].pieces[0].text);  // YAML "\0" and $$
  EXPECT_EQ(matcher::kind::capture, s.steps[1].as<expect_step>()->alternatives[0][0].args[0].type);
  EXPECT_EQ(matcher::kind::regex, s.steps[3].as<expect_step>()->alternatives[0][0].args[0].type);
  const auto& status = s.steps[5].as<expect_step>()->alternatives[0][0];
  EXPECT_EQ(matcher::kind::exact, status.args[0].type);
  EXPECT_EQ(matcher::kind::any, status.args[1].type);
  EXPECT_EQ(matcher::kind::prefix, status.args[2].type);
}

TEST(ScenarioLoader, AlternativesParallelAdminAndTiming) {
  std::string y = minimal;
  y = y.substr(0, y.find("actors:"));
  y += R"(actors:
  c: client
  w: {role: worker, ignore: [NOOP]}
  a: admin
steps:
  - w: {send: CAN_DO, args: ["${fn}"]}
  - parallel:
      - c: {send: ECHO_REQ, args: ["1"]}
      - [{w: {send: ECHO_REQ, args: ["2"]}}, {w: {expect: ECHO_RES, args: ["2"]}}]
  - c: {any_of: [{ECHO_RES: ["1"]}, [{NOOP: []}, {ECHO_RES: ["1"]}]], timeout: 500ms}
  - c: {unordered: [{ECHO_RES: []}, {NOOP: []}, {NO_JOB: []}]}
  - a: {admin: status, contains: [{regex: "^${fn}\t"}], excludes: ["x"]}
  - a: {wait_until: workers, lines: ["a", "b"], unordered: true, timeout: 2s}
  - c: {expect_none: 100ms}
  - sleep: 1.5s
  - c: disconnect
)";
  const auto s = load_scenario_string(y, "s.yaml");
  EXPECT_EQ(std::vector<wire::command>{wire::command::noop}, s.find_actor("w")->ignore);
  EXPECT_EQ(2u, s.steps[1].as<parallel_step>()->branches.size());
  EXPECT_EQ(2u, s.steps[1].as<parallel_step>()->branches[1].size());
  EXPECT_EQ(2u, s.steps[2].as<expect_step>()->alternatives.size());
  EXPECT_EQ(std::chrono::milliseconds(500), s.steps[2].as<expect_step>()->timeout);
  EXPECT_EQ(6u, s.steps[3].as<expect_step>()->alternatives.size());  // 3! orders
  EXPECT_EQ(1u, s.steps[4].as<admin_step>()->answer.contains.size());
  EXPECT_FALSE(s.steps[4].as<admin_step>()->poll);
  EXPECT_TRUE(s.steps[5].as<admin_step>()->answer.unordered);
  EXPECT_TRUE(s.steps[5].as<admin_step>()->poll);  // wait_until
  EXPECT_EQ(std::chrono::milliseconds(100), s.steps[6].as<expect_none_step>()->window);
  EXPECT_EQ(std::chrono::milliseconds(1500), s.steps[7].as<sleep_step>()->length);
  ASSERT_NE(nullptr, s.steps[8].as<disconnect_step>());
  EXPECT_FALSE(s.steps[8].as<disconnect_step>()->abortive);
  EXPECT_EQ(nullptr, s.steps[7].actor());
}

TEST(ScenarioLoader, YamlSyntaxErrorHasPosition) {
  EXPECT_EQ("s.yaml:3:1: YAML syntax error: end of map flow not found",
            load_error("id: x\ntitle: {a: 1\n"));
}

TEST(ScenarioLoader, UnknownPacketName) {
  EXPECT_EQ("s.yaml:9:15: unknown packet name 'SUBMIT_JOBZ' (see `gearspec packets`)",
            load_error(with_steps("  - c: {send: SUBMIT_JOBZ, args: []}\n")));
}

TEST(ScenarioLoader, WrongArgumentCount) {
  EXPECT_EQ("s.yaml:9:33: SUBMIT_JOB takes 3 arguments (func, unique, data), got 2",
            load_error(with_steps("  - c: {send: SUBMIT_JOB, args: [\"f\", \"u\"]}\n")));
}

TEST(ScenarioLoader, UndefinedVariable) {
  EXPECT_EQ(
      "s.yaml:9:34: undefined variable $h (capture it earlier with {capture: h}, or use a "
      "generated name such as "
      "${fn} or ${uniq})",
      load_error(with_steps("  - c: {send: GET_STATUS, args: [\"$h\"]}\n")));
}

TEST(ScenarioLoader, VariableUsedBeforeItsCapture) {
  const auto err = load_error(with_steps(R"(  - c: {send: GET_STATUS, args: ["$h"]}
  - c: {expect: STATUS_RES, args: [{capture: h}]}
)"));
  EXPECT_NE(std::string::npos, err.find("s.yaml:9:")) << err;
  EXPECT_NE(std::string::npos, err.find("undefined variable $h")) << err;
}

TEST(ScenarioLoader, CaptureInOneParallelBranchIsNotVisibleInTheOther) {
  const auto err = load_error(with_steps(R"(  - parallel:
      - c: {expect: JOB_CREATED, args: [{capture: h}]}
      - c: {send: GET_STATUS, args: ["$h"]}
)"));
  EXPECT_NE(std::string::npos, err.find("undefined variable $h")) << err;
}

TEST(ScenarioLoader, UnknownActorAndUnknownKey) {
  EXPECT_EQ("s.yaml:9:5: unknown actor 'd' (declare it under actors:)",
            load_error(with_steps("  - d: GRAB_JOB\n")));
  const auto err = load_error(with_steps("  - c: {send: ECHO_REQ, args: [\"x\"], tiemout: 1s}\n"));
  EXPECT_NE(std::string::npos, err.find("s.yaml:9:38: unknown key 'tiemout' in a send step"))
      << err;
}

TEST(ScenarioLoader, BadRegexAndBadDuration) {
  EXPECT_NE(std::string::npos,
            load_error(with_steps("  - c: {expect: ECHO_RES, args: [{regex: \"(\"}]}\n"))
                .find("s.yaml:9:42: bad regex"));
  EXPECT_EQ("s.yaml:9:22: bad duration unit in '5 minutes' (use ms or s)",
            load_error(with_steps("  - c: {expect_none: 5 minutes}\n")));
}

TEST(ScenarioLoader, MetadataIsRequired) {
  std::string y = minimal;
  y.replace(y.find("requirements: [ECHO-IDENTICAL]\n"), 31, "");
  EXPECT_NE(std::string::npos, load_error(y).find("must cite at least one requirement ID"))
      << load_error(y);
  y = minimal;
  y.replace(y.find("level: MUST"), 11, "level: MAY");
  EXPECT_EQ("s.yaml:4:8: level must be MUST, SHOULD or IMPL", load_error(y));
  y = minimal;
  y.replace(y.find("id: demo/minimal"), 16, "id: Demo Minimal");
  EXPECT_NE(std::string::npos,
            load_error(y).find("s.yaml:1:5: id 'Demo Minimal' must be lower-case"))
      << load_error(y);
}

TEST(ScenarioLoader, ActorOnUndeclaredServer) {
  std::string y = minimal;
  y.replace(y.find("  c: client"), 11, "  c: {role: client, server: other}");
  EXPECT_NE(std::string::npos,
            load_error(y).find("uses server 'other', which is not listed under servers:"));
}

TEST(ScenarioLoader, AdminActorCannotSendPackets) {
  std::string y = minimal;
  y.replace(y.find("  c: client"), 11, "  c: admin");
  EXPECT_NE(std::string::npos, load_error(y).find("admin connection")) << load_error(y);
}

TEST(ScenarioProfile, LoadsAndMatchesGlobs) {
  const auto p = load_profile_string(R"(implementation: demo
version: "1.0"
expectations:
  - id: attach/*
    verdict: expected-fail
    reason: r
    evidence: e
  - id: admin/shutdown
    verdict: unsupported
    reason: r2
    evidence: e2
)");
  ASSERT_EQ(2u, p.entries.size());
  ASSERT_NE(nullptr, p.find("attach/late"));
  EXPECT_EQ(profile_entry::verdict::unsupported, p.find("admin/shutdown")->expect);
  EXPECT_EQ(nullptr, p.find("admin/status"));
}

TEST(ScenarioProfile, EveryDeviationNeedsReasonAndEvidence) {
  try {
    load_profile_string("implementation: demo\nexpectations:\n  - id: x\n    reason: r\n",
                        "p.yaml");
    FAIL() << "no error";
  } catch (const scenario_error& e) {
    EXPECT_EQ(std::string(
                  "p.yaml:3:5: every expected deviation needs evidence (what was observed, where)"),
              e.what());
  }
}

// sometimes_none: a pinned variant's server sometimes shows none (a flaky defect of its own).
TEST(ScenarioProfile, SometimesNoneGoesWithAPinnedVariant) {
  const auto p = load_profile_string(
      "implementation: demo\nexpectations:\n  - id: x\n    variant: v\n"
      "    sometimes_none: 2 of 6 runs\n    reason: r\n    evidence: e\n",
      "p.yaml");
  ASSERT_EQ(1u, p.entries.size());
  EXPECT_EQ("2 of 6 runs", p.entries[0].sometimes_none);
  try {
    load_profile_string(
        "implementation: demo\nexpectations:\n  - id: x\n    sometimes_none: often\n"
        "    reason: r\n    evidence: e\n",
        "p.yaml");
    FAIL() << "no error";
  } catch (const scenario_error& e) {
    EXPECT_EQ(std::string("p.yaml:4:21: sometimes_none goes with a pinned variant"), e.what());
  }
}

TEST(ScenarioProfile, KnownExploreDivergencesMatchByKind) {
  const auto p = load_profile_string(R"(implementation: demo
explore:
  - kind: "after grab *, a worker gets NO_JOB where the reference sends JOB_ASSIGN*"
    reason: r
    evidence: e
    scenario: submit/x
)");
  ASSERT_EQ(1u, p.explore.size());
  const auto* e = p.known_divergence(
      "after grab GRAB_JOB, a worker gets NO_JOB where the reference sends JOB_ASSIGN");
  ASSERT_NE(nullptr, e);
  EXPECT_EQ("submit/x", e->scenario);
  EXPECT_EQ(nullptr, p.known_divergence("after grab GRAB_JOB, a worker gets NOOP where the "
                                        "reference sends JOB_ASSIGN"));
  try {
    load_profile_string("implementation: demo\nexplore:\n  - kind: k\n    reason: r\n", "p.yaml");
    FAIL() << "no error";
  } catch (const scenario_error& e2) {
    EXPECT_EQ(std::string("p.yaml:3:5: every known divergence needs evidence (what was observed, "
                          "where)"),
              e2.what());
  }
}

TEST(ScenarioLoader, ReferenceOptionsAreNamesWithOptionalValues) {
  std::string y = minimal;
  y.insert(y.find("description:"), "reference_options: [can-do-wake=no, exceptions]\n");
  const auto s = load_scenario_string(y, "s.yaml");
  ASSERT_EQ(2u, s.reference_options.size());
  EXPECT_EQ((std::pair<std::string, std::string>{"can-do-wake", "no"}), s.reference_options[0]);
  EXPECT_EQ((std::pair<std::string, std::string>{"exceptions", ""}), s.reference_options[1]);
  std::string bad = minimal;
  bad.insert(bad.find("description:"), "reference_options: [\"--can-do-wake no\"]\n");
  EXPECT_NE(std::string::npos, load_error(bad).find("must be NAME or NAME=VALUE"))
      << load_error(bad);
}

TEST(ScenarioGlob, Patterns) {
  EXPECT_TRUE(glob_match("attach/*", "attach/late"));
  EXPECT_TRUE(glob_match("*late*", "attach/late-attach"));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_FALSE(glob_match("attach/*", "admin/status"));
  EXPECT_TRUE(glob_match("*", ""));
}

}  // namespace
}  // namespace gearspec::scenario

namespace gearspec::scenario {
namespace {

TEST(ScenarioLoaderFaults, RestartAndCrashStepsImplyTheRestartNeed) {
  const auto s = load_scenario_string(with_steps("  - restart: main\n  - crash: main\n"), "s.yaml");
  ASSERT_EQ(2u, s.steps.size());
  EXPECT_FALSE(s.steps[0].as<server_fault_step>()->crash);  // restart
  EXPECT_TRUE(s.steps[1].as<server_fault_step>()->crash);
  EXPECT_EQ("main", s.steps[1].as<server_fault_step>()->server);
  EXPECT_TRUE(s.needs_restart());
  EXPECT_FALSE(s.needs_persistent_queue());
}

TEST(ScenarioLoaderFaults, Errors) {
  EXPECT_EQ("s.yaml:9:14: restart names server 'other', which is not listed under servers:",
            load_error(with_steps("  - restart: other\n")));
  auto unknown_need = with_steps("  - c: connect\n");
  unknown_need.replace(unknown_need.find("steps:"), 0, "needs: [time-travel]\n");
  EXPECT_NE(std::string::npos, load_error(unknown_need)
                                   .find("unknown need 'time-travel' (a target need: restart, "
                                         "persistent-queue, disposable-server"))
      << load_error(unknown_need);
  EXPECT_NE(std::string::npos,
            load_error(with_steps("  - c: {send: ECHO_REQ, args: [x], chunk_delay: 5ms}\n"))
                .find("chunk_delay needs chunk"));
}

// repeat: runs its steps N times with ${round} defined inside only; sync is a barrier step.
TEST(ScenarioLoader, RepeatAndSync) {
  const auto s = load_scenario_string(
      with_steps("  - repeat:\n      times: 5\n      steps:\n"
                 "        - c: {send: ECHO_REQ, args: [\"r${round}\"]}\n"
                 "        - c: {expect: ECHO_RES, args: [\"r${round}\"]}\n  - c: sync\n"),
      "s.yaml");
  ASSERT_EQ(2u, s.steps.size());
  const auto* repeat = s.steps[0].as<timed_step>();
  ASSERT_NE(nullptr, repeat);
  EXPECT_FALSE(repeat->judge_time);
  EXPECT_EQ(5u, repeat->rounds);
  EXPECT_EQ(2u, repeat->steps.size());
  EXPECT_NE(nullptr, s.steps[1].as<sync_step>());
  EXPECT_EQ("s.yaml:9:21: times must be a whole number from 2 to 1000",
            load_error(with_steps("  - repeat: {times: 1, steps: [{c: sync}]}\n")));
  EXPECT_NE(std::string::npos,
            load_error(with_steps("  - repeat: {times: 2, steps: [{c: sync}]}\n"
                                  "  - c: {send: ECHO_REQ, args: [\"${round}\"]}\n"))
                .find("round"));
}

// wait_until_gone: an admin step that polls "workers" for a client or worker's closed connection;
// the loader records whose connections the engine must name.
TEST(ScenarioLoader, WaitUntilGone) {
  std::string y = minimal;
  y.replace(y.find("  c: client"), 11, "  c: client\n  w: worker\n  a: admin");
  const auto base = y.substr(0, y.find("steps:")) + "steps:\n";
  const auto s = load_scenario_string(
      base + "  - c: disconnect\n  - a: {wait_until_gone: c, timeout: 3s}\n", "s.yaml");
  ASSERT_EQ(2u, s.steps.size());
  const auto* gone = s.steps[1].as<admin_step>();
  ASSERT_NE(nullptr, gone);
  EXPECT_EQ("c", gone->gone);
  EXPECT_TRUE(gone->poll);
  EXPECT_EQ(std::set<std::string>{"c"}, s.awaited_closes);
  auto error = [&](const std::string& step) {
    try {
      load_scenario_string(base + step, "s.yaml");
      return std::string("OK");
    } catch (const scenario_error& e) {
      return std::string(e.what());
    }
  };
  EXPECT_EQ("s.yaml:11:26: unknown actor 'x' (declare it under actors:)",
            error("  - a: {wait_until_gone: x}\n"));
  EXPECT_EQ("s.yaml:11:26: wait_until_gone takes a client or worker, not admin actor 'a'",
            error("  - a: {wait_until_gone: a}\n"));
  EXPECT_NE(std::string::npos,
            error("  - w: {wait_until_gone: c}\n").find("'w' is not an admin actor"));
  EXPECT_NE(std::string::npos,
            error("  - a: {wait_until_gone: c, contains: [x]}\n").find("unknown key"));
}

TEST(ScenarioLoaderFaults, ChunkDelay) {
  const auto s = load_scenario_string(
      with_steps("  - c: {send: ECHO_REQ, args: [x], chunk: 1, chunk_delay: 15ms}\n"), "s.yaml");
  EXPECT_EQ(1u, s.steps[0].as<send_step>()->pacing.chunk);
  EXPECT_EQ(duration(15), s.steps[0].as<send_step>()->pacing.delay);
}

}  // namespace
}  // namespace gearspec::scenario
