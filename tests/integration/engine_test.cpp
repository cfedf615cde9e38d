// The scenario engine against real servers on loopback: verdicts, mismatch reports, timeouts,
// dead targets, profiles. Scenarios that must FAIL are here to prove the engine can say no.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "harness/engine/suite.hpp"
#include "harness/scenario/loader.hpp"
#include "harness/targets/embedded_target.hpp"
#include "harness/targets/fixed_target.hpp"
#include "harness/targets/spawn_target.hpp"

namespace gearspec::engine {
namespace {

using scenario::load_scenario_string;
using targets::fixed_target;
using targets::pick_free_port;
using targets::spawn_target;

const std::string head = R"(title: t
requirements: [TEST]
level: MUST
description: engine test
)";

scenario::scenario make(const std::string& id, const std::string& body) {
  return load_scenario_string("id: " + id + "\n" + head + body, id + ".yaml");
}

/// Needs of a scenario that restarts its server, with or without a persistent queue.
server_needs restartable(bool persistent_queue) {
  server_needs needs;
  needs.restart = true;
  needs.persistent_queue = persistent_queue;
  return needs;
}

/// Runs s on a fresh embedded server with run token "t0" (and the request sync steps send).
run_result run_embedded(const scenario::scenario& s, refsrv::server_config config = {},
                        wire::command sync = wire::command::echo_req) {
  targets::embedded_target t(std::move(config));
  auto servers = t.start(s.servers);
  run_options o;
  o.run_token = "t0";
  o.sync = sync;
  return run_scenario(s, *servers, o);
}

std::string transcript_of(const run_result& r) {
  return format_transcript(r.transcript);
}

const std::string round_trip = R"(actors:
  c: client
  w: worker
steps:
  - w: {send: CAN_DO, args: ["${fn}"]}
  - c: {send: SUBMIT_JOB, args: ["${fn}", "", "hello"]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - w: GRAB_JOB
  - w: {expect: JOB_ASSIGN, args: ["$h", "${fn}", "hello"]}
  - w: {send: WORK_COMPLETE, args: ["$h", "olleh"]}
  - c: {expect: WORK_COMPLETE, args: ["$h", "olleh"]}
)";

TEST(Engine, PassingScenarioRecordsATranscript) {
  const auto r = run_embedded(make("t/pass", round_trip));
  EXPECT_EQ(outcome::pass, r.result)
      << (r.first ? r.first->expected + " / " + r.first->actual : "");
  const auto text = transcript_of(r);
  EXPECT_NE(std::string::npos,
            text.find("c > SUBMIT_JOB(func=\"fn-t0\", unique=\"\", data=5 bytes \"hello\")"))
      << text;
  EXPECT_NE(std::string::npos,
            text.find("c < WORK_COMPLETE(handle=\"H:gearspec:1\", data=5 bytes \"olleh\")"))
      << text;
}

// A sync step is a round trip on the actor's connection, by ECHO or (a target without ECHO) by
// GET_STATUS of a handle that does not exist; either way what the server sent before comes first.
TEST(Engine, SyncIsARoundTripByEchoOrGetStatusThatComesAfterEverythingBefore) {
  const std::string quiet = R"(actors:
  w: worker
steps:
  - w: {send: CAN_DO, args: ["${fn}"]}
  - w: sync
)";
  const std::string noop_first = R"(actors:
  c: client
  w: worker
steps:
  - w: {send: CAN_DO, args: ["${fn}"]}
  - c: {send: SUBMIT_JOB_BG, args: ["${fn}", "", "x"]}
  - c: {expect: JOB_CREATED}
  - w: PRE_SLEEP
  - w: sync
)";
  for (const auto request : {wire::command::echo_req, wire::command::get_status}) {
    SCOPED_TRACE(wire::name(request));
    const auto passed = run_embedded(make("t/sync", quiet), {}, request);
    EXPECT_EQ(outcome::pass, passed.result) << transcript_of(passed);
    const auto text = transcript_of(passed);
    const auto sent = text.find("w > " + std::string(wire::name(request)) + "(");
    ASSERT_NE(std::string::npos, sent) << text;
    EXPECT_NE(std::string::npos, text.find("\"gearspec-sync-t0-1\") (sync)", sent)) << text;
    // The NOOP that PRE_SLEEP earns (a job is queued) arrives before the sync's answer.
    const auto failed = run_embedded(make("t/sync-noop", noop_first), {}, request);
    ASSERT_EQ(outcome::fail, failed.result) << transcript_of(failed);
    EXPECT_NE(std::string::npos, failed.first->actual.find("NOOP")) << failed.first->actual;
  }
}

// A NOOP to a worker that never slept is harmless by PROTOCOL: stepped over in scenarios that do
// not use wake-ups, judged in those that do (and in the SLEEP-* scenarios).
TEST(Engine, AStrayNoopIsSteppedOverUnlessTheScenarioIsAboutWakeUps) {
  refsrv::server_config noisy;
  noisy.core.defects.noop_before_assign = true;
  const auto plain = run_embedded(make("t/plain", round_trip), noisy);
  EXPECT_EQ(outcome::pass, plain.result) << transcript_of(plain);
  EXPECT_NE(std::string::npos, transcript_of(plain).find("w < NOOP()")) << transcript_of(plain);
  auto with_sleep = round_trip;
  with_sleep.replace(with_sleep.find("  - w: GRAB_JOB\n"), 16,
                     "  - w: PRE_SLEEP\n  - w: {expect: NOOP}\n  - w: GRAB_JOB\n");
  const auto strict = run_embedded(make("t/strict", with_sleep), noisy);
  ASSERT_EQ(outcome::fail, strict.result) << transcript_of(strict);
  EXPECT_NE(std::string::npos, strict.first->actual.find("NOOP")) << strict.first->actual;
  EXPECT_EQ(outcome::pass, run_embedded(make("t/strict-ok", with_sleep)).result);
}

TEST(Engine, WrongExpectationFailsWithADiff) {
  auto body = round_trip;
  body.replace(body.rfind("\"olleh\"]}"), 9, "\"hello\"]}");
  const auto r = run_embedded(make("t/wrong", body));
  ASSERT_EQ(outcome::fail, r.result);
  ASSERT_TRUE(r.first);
  EXPECT_EQ("t/wrong.yaml:16:5", r.first->mark.str());
  EXPECT_EQ("c: expect WORK_COMPLETE", r.first->step);
  EXPECT_EQ("WORK_COMPLETE(handle=\"H:gearspec:1\", data=\"hello\")", r.first->expected);
  EXPECT_EQ("WORK_COMPLETE(handle=\"H:gearspec:1\", data=5 bytes \"olleh\")", r.first->actual);
}

TEST(Engine, UnexpectedExtraPacketFails) {
  auto body = round_trip;
  body.replace(body.find("  - w: GRAB_JOB\n"), 16,
               "  - w: GRAB_JOB\n  - w: {send: ECHO_REQ, args: [x]}\n");
  const auto r = run_embedded(make("t/extra", body));
  ASSERT_EQ(outcome::fail, r.result);
  EXPECT_NE(std::string::npos, r.first->actual.find("ECHO_RES")) << r.first->actual;
}

TEST(Engine, AnEndOfScenarioMismatchPointsAtTheActorsLastStep) {
  // The worker's NOOP is never expected: the mismatch is found after the last step, and is
  // reported where that worker's steps end (line 11, its PRE_SLEEP), not at no line at all.
  const auto r = run_embedded(make("t/end", R"(actors:
  c: client
  w: worker
steps:
  - w: {send: CAN_DO, args: ["${fn}"]}
  - w: PRE_SLEEP
  - c: {send: SUBMIT_JOB, args: ["${fn}", "", "x"]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
)"));
  ASSERT_EQ(outcome::fail, r.result);
  ASSERT_TRUE(r.first);
  EXPECT_EQ("t/end.yaml:11:5", r.first->mark.str());
  EXPECT_EQ("w: end of scenario", r.first->step);
  EXPECT_NE(std::string::npos, r.first->actual.find("NOOP")) << r.first->actual;
}

TEST(Engine, IgnoredPacketTypesMayArriveAnyTime) {
  const auto r = run_embedded(make("t/ignore", R"(actors:
  c: client
  w: {role: worker, ignore: [NOOP]}
steps:
  - w: {send: CAN_DO, args: ["${fn}"]}
  - w: PRE_SLEEP
  - c: {send: SUBMIT_JOB_BG, args: ["${fn}", "", "x"]}
  - c: {expect: JOB_CREATED}
  - w: {send: ECHO_REQ, args: [sync]}
  - w: {expect: ECHO_RES, args: [sync]}
)"));
  EXPECT_EQ(outcome::pass, r.result) << transcript_of(r);
}

TEST(Engine, AnyOfAcceptsEitherOrder) {
  const auto r = run_embedded(make("t/anyof", R"(actors:
  c: client
steps:
  - c: {send: ECHO_REQ, args: ["1"]}
  - c: {send: ECHO_REQ, args: ["2"]}
  - c: {any_of: [[{ECHO_RES: ["2"]}, {ECHO_RES: ["1"]}], [{ECHO_RES: ["1"]}, {ECHO_RES: ["2"]}]]}
  - c: {unordered: [{ECHO_RES: ["4"]}, {ECHO_RES: ["3"]}]}
)"));
  // The second step's packets were never sent: it must time out (fail), after the any_of passed.
  ASSERT_EQ(outcome::fail, r.result);
  EXPECT_EQ(12, r.first->mark.line);
  EXPECT_EQ("timeout", r.first->note);
}

TEST(Engine, ConnectionRefusedIsAnError) {
  const auto s =
      make("t/refused", "actors:\n  c: client\nsteps:\n  - c: {send: ECHO_REQ, args: [x]}\n");
  fixed_target t({"127.0.0.1:" + std::to_string(pick_free_port())});
  auto servers = t.start(s.servers);
  const auto r = run_scenario(s, *servers);
  EXPECT_EQ(outcome::error, r.result);
  EXPECT_EQ("could not reach the target", r.first->note);
}

TEST(Engine, HungTargetTimesOutWithinTheStepTimeout) {
  // A socket that listens but never accepts or answers: connect succeeds, nothing ever comes back.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(0, ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
  ASSERT_EQ(0, ::listen(fd, 4));
  ASSERT_EQ(0, ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len));
  const auto s = make("t/hung", R"(actors:
  c: client
steps:
  - c: {send: ECHO_REQ, args: [x]}
  - c: {expect: ECHO_RES, args: [x], timeout: 300ms}
)");
  fixed_target t({"127.0.0.1:" + std::to_string(ntohs(addr.sin_port))});
  auto servers = t.start(s.servers);
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_scenario(s, *servers);
  const auto took = std::chrono::steady_clock::now() - started;
  ::close(fd);
  EXPECT_EQ(outcome::fail, r.result);
  EXPECT_EQ("timeout", r.first->note);
  EXPECT_EQ("no answer to ECHO_REQ within 300 ms", r.first->actual);
  EXPECT_EQ("no answer to ECHO_REQ", r.first->cause);
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(Engine, ScenarioTimeLimitIsAnError) {
  const auto r = run_embedded(make("t/limit", R"(time_limit: 200ms
actors:
  w: worker
steps:
  - w: {send: CAN_DO, args: ["${fn}"]}
  - w: {expect: NOOP, timeout: 5s}
)"));
  EXPECT_EQ(outcome::error, r.result);
  EXPECT_EQ("whole-scenario time limit", r.first->note);
}

TEST(Engine, TargetThatDiesMidScenarioIsAnError) {
  const auto s = make("t/dies", R"(actors:
  c: client
steps:
  - c: {send: ECHO_REQ, args: [x]}
  - c: {expect: ECHO_RES, args: [x]}
  - sleep: 700ms
  - c: {send: ECHO_REQ, args: [y]}
  - c: {expect: ECHO_RES, args: [y]}
)");
  // The spawned shell runs the server, kills it after 300 ms and exits 3.
  const std::string server = GEARSPEC_SERVER_BINARY;
  spawn_target t("sh -c '" + server +
                 " --quiet --port {port} & pid=$!; sleep 0.3; kill -9 $pid; exit 3'");
  auto servers = t.start(s.servers);
  const auto r = run_scenario(s, *servers);
  EXPECT_EQ(outcome::error, r.result) << transcript_of(r);
  ASSERT_TRUE(r.first);
  EXPECT_NE(std::string::npos, r.first->note.find("exited with status 3 during the scenario"))
      << r.first->note;
}

TEST(Engine, SpawnedServerThatNeverListensIsATargetError) {
  spawn_target t("sh -c 'echo cannot start >&2; exit 1' {port}");
  try {
    t.start({"main"});
    FAIL() << "no error";
  } catch (const target_error& e) {
    EXPECT_NE(std::string::npos, std::string(e.what()).find("exited before listening")) << e.what();
    EXPECT_NE(std::string::npos, std::string(e.what()).find("cannot start")) << e.what();
  }
}

TEST(Engine, UnexpectedDisconnectFails) {
  const auto r = run_embedded(make("t/closed", R"(actors:
  c: client
steps:
  - c: {send_raw: {hex: "00585858 00000010 00000000"}}
  - c: {expect: ERROR, args: [INVALID_MAGIC]}
)"));
  ASSERT_EQ(outcome::fail, r.result);
  EXPECT_NE(std::string::npos, r.first->note.find("unexpected disconnect")) << r.first->note;
}

TEST(Engine, ExpectClosedSkipsOnlyIgnoredPacketTypes) {
  // The reference answers bad magic with ERROR, then closes. An actor that ignores ERROR sees
  // just the close; one that does not is told what arrived first (the same rule as sync_actor).
  const std::string body = R"(  c: {role: client, ignore: [ERROR]}
steps:
  - c: {send_raw: {hex: "00585858 00000010 00000000"}}
  - c: expect_closed
)";
  auto r = run_embedded(make("t/closed-ignored", "actors:\n" + body));
  EXPECT_EQ(outcome::pass, r.result) << (r.first ? r.first->actual : "");
  auto strict = body;
  strict.replace(strict.find("{role: client, ignore: [ERROR]}"), 31, "client");
  r = run_embedded(make("t/closed-strict", "actors:\n" + strict));
  ASSERT_EQ(outcome::fail, r.result);
  EXPECT_EQ(
      "ERROR(code=\"INVALID_MAGIC\", text=\"Packet does not start with \\\\0REQ\") arrived first",
      r.first->actual);
}

TEST(Engine, ARegexThatIsInvalidOnceExpandedIsAnErrorNotAFailure) {
  const auto r = run_embedded(make("t/bad-regex", R"(actors:
  c: client
steps:
  - c: {send: ECHO_REQ, args: ["("]}
  - c: {expect: ECHO_RES, args: [{capture: open}]}
  - c: {send: ECHO_REQ, args: ["x"]}
  - c: {expect: ECHO_RES, args: [{regex: "$open"}]}
)"));
  ASSERT_EQ(outcome::error, r.result);
  EXPECT_EQ("the scenario's fault", r.first->note);
  EXPECT_NE(std::string::npos, r.first->actual.find("/(/ is not a valid pattern"));
}

TEST(Engine, AdminStepsAndWaitUntil) {
  const auto r = run_embedded(make("t/admin", R"(actors:
  c: client
  a: admin
steps:
  - c: {send: SUBMIT_JOB, args: ["${fn}", "", x]}
  - c: {expect: JOB_CREATED}
  - a: {admin: status, response: list, lines: ["${fn}\t1\t0\t0"]}
  - a: {admin: version, response: ok, line: {regex: "OK .+"}}
  - a: {admin: bogus, response: err}
  - c: disconnect
  - a: {wait_until: status, contains: ["${fn}\t0\t0\t0"], timeout: 2s}
)"));
  EXPECT_EQ(outcome::pass, r.result)
      << (r.first ? r.first->expected + " / " + r.first->actual : "") << transcript_of(r);
}

TEST(Engine, ParallelBranchesAndMultipleServers) {
  const auto r = run_embedded(make("t/multi", R"(servers: [one, two]
actors:
  a: {role: client, server: one}
  b: {role: client, server: two}
steps:
  - parallel:
      - [{a: {send: SUBMIT_JOB_BG, args: ["${fn}", "${uniq}", x]}}, {a: {expect: JOB_CREATED, args: [{capture: h1}]}}]
      - [{b: {send: SUBMIT_JOB_BG, args: ["${fn}", "${uniq}", x]}}, {b: {expect: JOB_CREATED, args: [{capture: h2}]}}]
  - a: {send: GET_STATUS, args: ["$h1"]}
  - a: {expect: STATUS_RES, args: ["$h1", "1"]}
)"));
  EXPECT_EQ(outcome::pass, r.result) << transcript_of(r);
}

TEST(Engine, ServerOptionMakesAScenarioFail) {
  // The same worker-loss scenario passes with the default (requeue) and fails with fail.
  const auto s = make("t/loss", R"(actors:
  c: client
  w1: worker
  w2: worker
steps:
  - c: {send: SUBMIT_JOB, args: ["${fn}", "", x]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - w1: {send: CAN_DO, args: ["${fn}"]}
  - w1: GRAB_JOB
  - w1: {expect: JOB_ASSIGN, args: ["$h"]}
  - w1: kill
  - c: {expect_none: 200ms}
  - w2: {send: CAN_DO, args: ["${fn}"]}
  - w2: GRAB_JOB
  - w2: {expect: JOB_ASSIGN, args: ["$h"]}
)");
  EXPECT_EQ(outcome::pass, run_embedded(s).result);
  refsrv::server_config fail_config;
  fail_config.core.worker_loss = refsrv::worker_loss_policy::fail;
  const auto r = run_embedded(s, fail_config);
  ASSERT_EQ(outcome::fail, r.result);
  EXPECT_EQ("WORK_FAIL(handle=\"H:gearspec:1\")", r.first->actual);
}

TEST(Suite, ProfileVerdicts) {
  const auto pass = make("p/pass", round_trip);
  auto wrong_body = round_trip;
  wrong_body.replace(wrong_body.rfind("\"olleh\"]}"), 9, "\"hello\"]}");
  const auto fails = make("p/fails", wrong_body);
  const auto unsupported = make("p/unsupported", wrong_body);
  const auto plain_fail = make("p/plain-fail", wrong_body);
  const auto profile = scenario::load_profile_string(R"(implementation: demo
expectations:
  - {id: p/pass, reason: said to fail, evidence: none}
  - {id: p/fails, reason: known, evidence: seen}
  - {id: p/unsupported, verdict: unsupported, reason: not there, evidence: docs}
)");
  targets::embedded_target t;
  suite_options o;
  o.profile = &profile;
  o.jobs = 2;
  std::vector<std::string> seen;
  o.on_result = [&](const scenario_result& r, std::size_t, std::size_t) {
    seen.push_back(r.source->id);
  };
  const auto results = run_suite({pass, fails, unsupported, plain_fail}, t, o);
  ASSERT_EQ(4u, results.size());
  EXPECT_EQ(verdict::unexpected_pass, results[0].result);
  EXPECT_EQ(verdict::expected_fail, results[1].result);
  EXPECT_EQ("known", results[1].reason);
  EXPECT_EQ(verdict::unsupported, results[2].result);
  EXPECT_EQ(verdict::fail, results[3].result);
  EXPECT_EQ(4u, seen.size());
  const auto c = count(results);
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(1u, c.unexpected_pass);
}

TEST(Suite, FixedTargetCannotRunMultiServerScenarios) {
  fixed_target t({"127.0.0.1:4730"});
  EXPECT_TRUE(t.unsupported({"one", "two"}).has_value());
  EXPECT_FALSE(t.unsupported({"main"}).has_value());
}

// ---------------------------------------------------------------------------------------------
// Server faults: restart and crash steps.

const std::string survives = R"(needs: [persistent-queue]
actors:
  c: client
  w: worker
steps:
  - c: {send: SUBMIT_JOB_BG, args: ["${fn}", "${uniq}", "kept"]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - STEP: main
  - w: {send: CAN_DO, args: ["${fn}"]}
  - w: GRAB_JOB
  - w: {expect: JOB_ASSIGN, args: ["$h", "${fn}", "kept"]}
)";

std::string with_fault(const std::string& fault) {
  auto body = survives;
  body.replace(body.find("STEP"), 4, fault);
  return body;
}

TEST(Faults, EmbeddedRestartAndCrashKeepPortAndQueue) {
  for (const char* fault : {"restart", "crash"}) {
    const auto s = make(std::string("f/") + fault, with_fault(fault));
    targets::embedded_target t;
    server_needs needs = restartable(true);
    auto servers = t.start(s.servers, needs);
    const auto port = servers->address("main").port;
    run_options o;
    o.run_token = "t0";
    const auto r = run_scenario(s, *servers, o);
    EXPECT_EQ(outcome::pass, r.result) << fault << "\n" << transcript_of(r);
    EXPECT_EQ(port, servers->address("main").port);
    // The client's connection ended with the server; that is expected, not a failure.
    EXPECT_NE(std::string::npos, transcript_of(r).find(std::string(fault) + " server main"))
        << transcript_of(r);
  }
}

TEST(Faults, AStoppingServerDoesNotTreatItsOwnDisconnectsAsWorkerLoss) {
  // With --worker-loss fail a lost worker fails its job; a server that stops must not do that to
  // the stored job its worker held when the stop came.
  const auto s = make("f/held", R"(needs: [persistent-queue]
actors:
  c: client
  w1: worker
  w2: worker
steps:
  - c: {send: SUBMIT_JOB_BG, args: ["${fn}", "${uniq}", "held"]}
  - c: {expect: JOB_CREATED, args: [{capture: h}]}
  - w1: {send: CAN_DO, args: ["${fn}"]}
  - w1: GRAB_JOB
  - w1: {expect: JOB_ASSIGN, args: ["$h", "${fn}", "held"]}
  - restart: main
  - w2: {send: CAN_DO, args: ["${fn}"]}
  - w2: GRAB_JOB
  - w2: {expect: JOB_ASSIGN, args: ["$h", "${fn}", "held"]}
)");
  refsrv::server_config config;
  config.core.worker_loss = refsrv::worker_loss_policy::fail;
  targets::embedded_target t(config);
  auto servers = t.start(s.servers, restartable(true));
  const auto r = run_scenario(s, *servers);
  EXPECT_EQ(outcome::pass, r.result) << transcript_of(r);
}

TEST(Faults, WithoutAPersistentQueueTheJobIsGoneAfterARestart) {
  // The same scenario against an embedded server started without the need: the restart works but
  // the queue does not survive, and the scenario fails. Proves the scenario can say no.
  const auto s = make("f/no-queue", with_fault("crash"));
  targets::embedded_target t;
  auto servers = t.start(s.servers, restartable(false));
  const auto r = run_scenario(s, *servers);
  ASSERT_EQ(outcome::fail, r.result) << transcript_of(r);
  EXPECT_EQ("NO_JOB()", r.first->actual);
}

TEST(Faults, AnActorUsedAfterItsServerRestartedIsAScenarioError) {
  const auto s = make("f/reuse", R"(actors:
  c: client
steps:
  - c: {send: ECHO_REQ, args: ["x"]}
  - c: {expect: ECHO_RES, args: ["x"]}
  - restart: main
  - c: {send: ECHO_REQ, args: ["y"]}
)");
  const auto r = run_embedded(s);
  ASSERT_EQ(outcome::error, r.result);
  EXPECT_NE(std::string::npos, r.first->actual.find("ended when server 'main' was restarted"))
      << r.first->actual;
}

TEST(Faults, TargetsThatCannotMeetTheNeedsMakeScenariosUnsupported) {
  const auto s = make("f/needs", with_fault("restart"));
  EXPECT_TRUE(s.needs_restart());
  EXPECT_TRUE(s.needs_persistent_queue());
  fixed_target fixed({"127.0.0.1:4730"});
  spawn_target plain("/bin/true {port}");
  spawn_target persistent("/bin/true {port}", 1.0, true);
  targets::embedded_target embedded;
  const server_needs needs = restartable(true);
  EXPECT_NE(std::string::npos, fixed.unsupported(s.servers, needs).value_or("").find("cannot"));
  EXPECT_NE(std::string::npos,
            plain.unsupported(s.servers, needs).value_or("").find("--persistent"));
  EXPECT_FALSE(persistent.unsupported(s.servers, needs).has_value());
  EXPECT_FALSE(embedded.unsupported(s.servers, needs).has_value());
  const auto results = run_suite({s}, fixed, {});
  ASSERT_EQ(1u, results.size());
  EXPECT_EQ(verdict::unsupported, results[0].result);
}

TEST(Faults, SpawnedServerIsRestartedOnTheSamePortWithItsDirectory) {
  // The reference server binary, spawned with its queue in {dir}: a crash (SIGKILL) keeps the job.
  const std::string server = GEARSPEC_SERVER_BINARY;
  const auto s = make("f/spawn", with_fault("crash"));
  spawn_target t(
      server + " --quiet --port {port} --queue sqlite:{dir}/queue.db --queue-sync normal", 1.0,
      true);
  auto servers = t.start(s.servers, restartable(true));
  const auto r = run_scenario(s, *servers);
  EXPECT_EQ(outcome::pass, r.result) << transcript_of(r) << servers->logs();
  EXPECT_FALSE(servers->problem().has_value());
}

}  // namespace
}  // namespace gearspec::engine
