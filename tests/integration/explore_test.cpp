// gearspec explore on itself: the generator writes only legal programs, every program is a scenario
// the loader accepts and the reference passes, shrinking keeps a divergence, an emulated defect is
// caught, and the reference explored against itself shows nothing.

#include <gtest/gtest.h>

#include <set>

#include "harness/engine/runner.hpp"
#include "harness/engine/suite.hpp"
#include "harness/explore/explore.hpp"
#include "harness/scenario/loader.hpp"
#include "harness/targets/make_target.hpp"
#include "reference-server/server/server_options.hpp"

namespace gearspec::explore {
namespace {

using options_list = std::vector<std::pair<std::string, std::string>>;

std::unique_ptr<engine::target> reference(const options_list& options = {}) {
  targets::target_spec spec;
  spec.reference_options = options;
  return targets::make_target(spec);
}

auto reference_with = [](const options_list& extra) { return reference(extra); };

bool is_client(const std::string& a) {
  return a[0] == 'c';
}
bool is_worker(const std::string& a) {
  return a[0] == 'w';
}

TEST(ExploreGenerator, EveryMoveIsLegalForItsActorAtThatPoint) {
  const weights w;
  for (std::uint64_t seed = 1; seed <= 3000; ++seed) {
    const auto p = generate(seed, w, 20);
    SCOPED_TRACE("seed " + std::to_string(seed));
    ASSERT_FALSE(p.actions.empty());
    if (!p.on_second.empty()) {  // two servers: both in use, the admin connection on main
      ASSERT_LT(p.on_second.size(), p.clients.size() + p.workers.size());
      ASSERT_EQ("main", server_of(p, "adm"));
    }
    std::set<std::string> alive(p.clients.begin(), p.clients.end());
    alive.insert(p.workers.begin(), p.workers.end());
    std::map<std::string, std::set<int>> abilities;
    std::map<std::string, bool> grabbed;
    std::map<std::string, int> submitted;
    for (const auto& a : p.actions) {
      SCOPED_TRACE(describe(a));
      switch (a.what) {
        case action::kind::submit:
        case action::kind::option:
          ASSERT_TRUE(is_client(a.actor));
          ASSERT_TRUE(alive.count(a.actor));
          if (a.what == action::kind::submit) ++submitted[a.actor];
          break;
        case action::kind::get_status:
          ASSERT_TRUE(is_client(a.actor) && alive.count(a.actor));
          ASSERT_LT(a.job, submitted[a.actor]);  // a submission it made
          break;
        case action::kind::can_do:
          ASSERT_TRUE(is_worker(a.actor) && alive.count(a.actor));
          abilities[a.actor].insert(a.fn);
          break;
        case action::kind::cant_do:
          ASSERT_TRUE(is_worker(a.actor) && alive.count(a.actor));
          ASSERT_TRUE(abilities[a.actor].erase(a.fn)) << "CANT_DO of a function it never had";
          break;
        case action::kind::reset:
        case action::kind::pre_sleep:
          ASSERT_TRUE(is_worker(a.actor) && alive.count(a.actor));
          ASSERT_FALSE(abilities[a.actor].empty());
          if (a.what == action::kind::reset) abilities[a.actor].clear();
          break;
        case action::kind::grab:
          ASSERT_TRUE(is_worker(a.actor) && alive.count(a.actor));
          grabbed[a.actor] = true;
          break;
        case action::kind::work:
          ASSERT_TRUE(is_worker(a.actor) && alive.count(a.actor));
          ASSERT_TRUE(grabbed[a.actor]) << "WORK_* before any grab";
          break;
        case action::kind::admin_status:
        case action::kind::admin_workers:
        case action::kind::admin_maxqueue:
          ASSERT_TRUE(p.admin);
          ASSERT_EQ("adm", a.actor);
          break;
        case action::kind::admin_cancel:
          ASSERT_TRUE(p.admin);
          ASSERT_EQ("adm", a.actor);
          ASSERT_LT(a.job, submitted[a.target]);  // a submission that client made
          ASSERT_EQ("main", server_of(p, a.target));  // on the admin connection's server
          break;
        case action::kind::wait:
          ASSERT_TRUE(a.actor.empty());  // nobody acts; every connection is asked afterwards
          break;
        case action::kind::restart:
        case action::kind::crash:
          // Everyone still in the program connects again, as a new connection: no abilities,
          // held jobs or submissions carry over. One server at a time: not with two.
          ASSERT_TRUE(a.actor.empty());
          ASSERT_TRUE(p.on_second.empty());
          abilities.clear();
          grabbed.clear();
          submitted.clear();
          break;
        case action::kind::disconnect:
        case action::kind::kill:
        case action::kind::cut_packet:
          ASSERT_TRUE(alive.erase(a.actor)) << "ends an actor that is already gone";
          ASSERT_FALSE(alive.empty()) << "nobody left to act";
          break;
      }
    }
  }
}

// The whole protocol is reached: time passing, timers, reduce and scheduled submits, keys at the
// size limits, and the admin commands with side effects all occur in a few hundred programs.
TEST(ExploreGenerator, TheWiderProtocolIsGenerated) {
  const weights w;
  std::set<std::string> seen;
  for (std::uint64_t seed = 1; seed <= 600; ++seed)
    for (const auto& a : generate(seed, w, 14).actions) {
      seen.insert(kind_name(a.what));
      if (a.what == action::kind::submit || a.what == action::kind::can_do)
        seen.insert(std::string(wire::name(a.cmd)));
      if (a.what == action::kind::submit && a.unique >= 3) seen.insert(unique_kind(a.unique));
      if (a.soon) seen.insert("epoch soon");
    }
  for (std::uint64_t seed = 1; seed <= 600; ++seed) {
    const auto p = generate(seed, w, 14);
    for (std::size_t i = 0; i + 1 < p.actions.size(); ++i)
      if (p.actions[i].soon) {
        EXPECT_EQ(action::kind::wait, p.actions[i + 1].what) << "seed " << seed;
      }
  }
  for (const char* expected :
       {"wait", "restart", "crash", "admin_cancel", "admin_maxqueue", "CAN_DO_TIMEOUT",
        "SUBMIT_REDUCE_JOB", "SUBMIT_REDUCE_JOB_BACKGROUND", "SUBMIT_JOB_SCHED", "64-byte key",
        "63-byte key", "key with spaces", "epoch soon"})
    EXPECT_TRUE(seen.count(expected)) << expected;
  EXPECT_EQ(64u, boundary_unique(3).size());
  EXPECT_EQ(63u, boundary_unique(4).size());
}

TEST(ExploreGenerator, WeightsSteerAndZeroExcludes) {
  weights w;
  w.apply("kill=0,disconnect=0,cut_packet=0");
  for (std::uint64_t seed = 1; seed <= 300; ++seed)
    for (const auto& a : generate(seed, w, 20).actions)
      EXPECT_TRUE(a.what != action::kind::kill && a.what != action::kind::disconnect &&
                  a.what != action::kind::cut_packet);
  EXPECT_THROW(w.apply("teleport=1"), std::invalid_argument);
  EXPECT_THROW(w.apply("kill=-1"), std::invalid_argument);
  EXPECT_THROW(w.apply("kill"), std::invalid_argument);
}

// What the target lacks (its capability probe) is never generated, and the report says why.
TEST(ExploreGenerator, WhatTheTargetLacksIsLeftOut) {
  weights w;
  const auto left_out = w.exclude_missing({"submit-high", "grab-job-uniq", "admin-status", "echo"});
  EXPECT_EQ(
      (std::vector<std::string>{"SUBMIT_JOB_HIGH (submit-high)", "GRAB_JOB_UNIQ (grab-job-uniq)",
                                "admin_status (admin-status)"}),
      left_out);
  for (std::uint64_t seed = 1; seed <= 500; ++seed)
    for (const auto& a : generate(seed, w, 20).actions) {
      EXPECT_NE(wire::command::submit_job_high, a.cmd);
      EXPECT_NE(wire::command::grab_job_uniq, a.cmd);
      EXPECT_NE(action::kind::admin_status, a.what);
    }
  weights c_only;  // what Perl 1.130 lacks of the moves that reach beyond the basics
  const auto perl = c_only.exclude_missing(
      {"submit-reduce", "can-do-timeout", "admin-cancel-job", "admin-maxqueue"});
  EXPECT_EQ((std::vector<std::string>{
                "SUBMIT_REDUCE_JOB (submit-reduce)", "SUBMIT_REDUCE_JOB_BACKGROUND (submit-reduce)",
                "CAN_DO_TIMEOUT (can-do-timeout)", "admin_cancel (admin-cancel-job)",
                "admin_maxqueue (admin-maxqueue)"}),
            perl);
  for (std::uint64_t seed = 1; seed <= 500; ++seed)
    for (const auto& a : generate(seed, c_only, 20).actions) {
      EXPECT_NE(wire::command::submit_reduce_job, a.cmd);
      EXPECT_NE(wire::command::submit_reduce_job_background, a.cmd);
      EXPECT_NE(wire::command::can_do_timeout, a.cmd);
      EXPECT_TRUE(a.what != action::kind::admin_cancel && a.what != action::kind::admin_maxqueue);
    }
  weights none;
  none.exclude_missing({"grab-job", "grab-job-uniq", "grab-job-all"});
  for (std::uint64_t seed = 1; seed <= 100; ++seed)
    for (const auto& a : generate(seed, none, 20).actions) {
      EXPECT_NE(action::kind::grab, a.what);
      EXPECT_NE(action::kind::work, a.what);  // nothing is ever held
    }
}

// The renderer is the generator's proof of legality: each program, with the reference's own
// observations as expectations, must load as a scenario and pass against the reference.
TEST(ExploreRender, EveryProgramIsAScenarioTheLoaderAcceptsAndTheReferencePasses) {
  auto ref = reference();
  const weights w;
  int restarting = 0, two_servers = 0;
  for (std::uint64_t seed = 1; seed <= 120; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    finding f;
    f.shrunk = generate(seed, w, 14);
    f.original_moves = f.shrunk.actions.size();
    {
      // Half the programs as against a target whose closed connections are awaited in
      // "workers" (then the scenario has a watching admin connection, and names its own).
      run_settings settings;
      settings.settle_with_workers = seed % 2 == 0;
      auto servers = ref->start(servers_of(f.shrunk), needs_of(f.shrunk));
      f.reference = execute(f.shrunk, *servers, settings);
      EXPECT_EQ(restarts_server(f.shrunk), f.reference.accounted);
      EXPECT_EQ(settings.settle_with_workers && closes_a_connection(f.shrunk),
                f.reference.settled_by_workers);
    }
    ASSERT_EQ("", f.reference.error);
    f.target = f.reference;
    f.found.kind = "self";
    const auto yaml = render_yaml(f, "itself");
    if (f.reference.settled_by_workers) {
      EXPECT_NE(std::string::npos, yaml.find(": {wait_until_gone: "))
          << yaml;  // watch, watchr1, ...
    }
    scenario::scenario s;
    ASSERT_NO_THROW(s = scenario::load_scenario_string(yaml, "explore.yaml")) << yaml;
    EXPECT_EQ(!f.shrunk.on_second.empty(), yaml.find("servers: [main, s2]") != std::string::npos);
    auto servers = ref->start(servers_of(f.shrunk), needs_of(f.shrunk));
    engine::run_options ro;
    ro.end_round_trip = true;
    const auto result = engine::run_scenario(s, *servers, ro);
    EXPECT_EQ(engine::outcome::pass, result.result)
        << yaml << "\n"
        << (result.first ? result.first->step + ": " + result.first->actual : std::string());
    restarting += restarts_server(f.shrunk);
    two_servers += !f.shrunk.on_second.empty();
  }
  EXPECT_GE(restarting, 10);  // programs with restarts and crashes were among them
  EXPECT_GE(two_servers, 10);  // and programs on two servers
}

// A divergence judged against the reference with an option is written with that option, and the
// embedded reference honours it: the file passes with a plain run, and would not without it.
TEST(ExploreRender, AJudgementWithAReferenceOptionCarriesIt) {
  program p;
  p.seed = 1;
  p.clients = {"c1"};
  p.workers = {"w1"};
  auto move = [&](action::kind k, const std::string& actor, wire::command cmd, int fn) {
    action a;
    a.what = k;
    a.actor = actor;
    a.cmd = cmd;
    a.fn = fn;
    a.data = "d";
    p.actions.push_back(a);
  };
  move(action::kind::can_do, "w1", wire::command::can_do, 2);
  move(action::kind::pre_sleep, "w1", wire::command::noop, 2);
  move(action::kind::submit, "c1", wire::command::submit_job, 1);
  move(action::kind::can_do, "w1", wire::command::can_do, 1);  // no NOOP with can-do-wake=no
  auto with_option = reference({{"can-do-wake", "no"}});
  finding f;
  f.shrunk = p;
  f.original_moves = p.actions.size();
  {
    auto servers = with_option->start({"main"});
    f.reference = execute(p, *servers, {});
  }
  ASSERT_EQ("", f.reference.error);
  f.target = f.reference;
  f.found.kind = "self";
  f.judged_with = "--can-do-wake no";
  f.reference_options = {{"can-do-wake", "no"}};
  const auto s = scenario::load_scenario_string(render_yaml(f, "t"), "explore.yaml");
  ASSERT_EQ(1u, s.reference_options.size());
  auto plain = reference();
  EXPECT_EQ(engine::verdict::pass, engine::run_suite({s}, *plain, {}).at(0).result);
  auto without = s;
  without.reference_options.clear();
  EXPECT_EQ(engine::verdict::fail, engine::run_suite({without}, *plain, {}).at(0).result);
}

// Restart and crash moves with an account of what was acknowledged: a reference that loses
// background jobs without a unique on reload (as C 1.1.20's SQLite queue does) is caught by the
// account, and the written scenario restarts the server and shows the loss.
TEST(Explore, TheAccountCatchesAcknowledgedBackgroundJobsLostInARestart) {
  auto target = reference({{"emulate", "keyless-jobs-collide-on-reload"}});
  auto ref = reference();
  explore_options o;
  o.time_budget = std::chrono::seconds(120);
  o.max_programs = 80;  // seed 69 has two keyless background jobs in a crash (-j does not matter)
  o.jobs = 4;
  o.moves.apply("restart=3,crash=3");
  const auto report = run_explore(*target, *ref, reference_with, o);
  EXPECT_EQ(0u, report.errors) << report.first_error;
  ASSERT_FALSE(report.divergences.empty());
  bool accounted = false;
  for (const auto& f : report.divergences) {
    EXPECT_TRUE(f.reproduces) << f.reproduction << "\n" << f.yaml;
    EXPECT_TRUE(restarts_server(f.shrunk)) << f.yaml;
    EXPECT_NE(std::string::npos, f.yaml.find("needs: [persistent-queue]")) << f.yaml;
    for (const auto& e : f.found.target.events)
      accounted = accounted ||
                  e.find("acknowledged background jobs had not ended (lost)") != std::string::npos;
  }
  EXPECT_TRUE(accounted) << report.divergences.front().yaml;
}

// The account needs no reference to judge, so it judges the reference too: a reference that loses
// jobs is reported as its own defect (an error), not as a divergence of the target.
TEST(Explore, TheAccountJudgesTheReferenceToo) {
  auto target = reference();
  auto broken = reference({{"emulate", "keyless-jobs-collide-on-reload"}});
  explore_options o;
  o.time_budget = std::chrono::seconds(120);
  o.seed = 69;  // two keyless background jobs, then a crash (as above)
  o.max_programs = 1;
  o.moves.apply("restart=3,crash=3");
  const auto report = run_explore(*target, *broken, reference_with, o);
  EXPECT_EQ(1u, report.errors);
  EXPECT_NE(std::string::npos, report.first_error.find("the reference itself"))
      << report.first_error;
  EXPECT_TRUE(report.divergences.empty());
}

TEST(Explore, TheReferenceAgainstItselfShowsNothing) {
  auto target = reference();
  auto ref = reference();
  explore_options o;
  o.time_budget = std::chrono::seconds(4);
  o.jobs = 4;  // programs side by side, as the command line runs them by default
  const auto report = run_explore(*target, *ref, reference_with, o);
  EXPECT_GT(report.programs, 8u);
  EXPECT_EQ(0u, report.errors) << report.first_error;
  EXPECT_TRUE(report.divergences.empty()) << report.divergences.front().yaml;
  EXPECT_TRUE(report.notes.empty());
}

// A deliberately broken reference (every WORK_COMPLETE sent twice) is caught, shrunk to a
// program that still diverges the same way, and written as a scenario that reproduces.
TEST(Explore, AnEmulatedDefectIsCaughtShrunkAndReproduced) {
  auto target = reference({{"emulate", "duplicate-completions"}});
  auto ref = reference();
  explore_options o;
  o.time_budget = std::chrono::seconds(60);
  o.max_programs = 5;
  o.moves.apply("kill=0,disconnect=0,cut_packet=0");  // seed 1 then completes a job
  const auto report = run_explore(*target, *ref, reference_with, o);
  ASSERT_FALSE(report.divergences.empty());
  const auto& f = report.divergences.front();
  EXPECT_NE(std::string::npos, f.found.kind.find("WORK_COMPLETE + WORK_COMPLETE")) << f.found.kind;
  EXPECT_LE(f.shrunk.actions.size(), f.original_moves);
  EXPECT_TRUE(f.reproduces) << f.reproduction;
  // Shrinking kept the divergence: the minimal program still shows the same kind, run afresh.
  auto t = target->start({"main"});
  const auto on_target = execute(f.shrunk, *t, {});
  auto r = ref->start({"main"});
  const auto on_reference = execute(f.shrunk, *r, {});
  const auto again = first_divergence(f.shrunk, on_reference, on_target);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(f.found.kind, again->kind);
}

// An implementation-defined choice the reference can make itself is a note, not a divergence.
TEST(Explore, AKnownVariantIsANoteNotADivergence) {
  auto target = reference({{"abandoned-jobs", "at-next-grab"}});
  auto ref = reference();
  explore_options o;
  o.time_budget = std::chrono::seconds(60);
  o.max_programs = 5;  // seed 1 already shows it
  o.moves.apply("kill=3,disconnect=3,admin_status=3,grab=1,work=1");
  const auto report = run_explore(*target, *ref, reference_with, o);
  EXPECT_TRUE(report.divergences.empty()) << report.divergences.front().yaml;
  ASSERT_FALSE(report.notes.empty());
  const auto& note = report.notes.front();
  EXPECT_NE(std::string::npos, note.known_variant.find("--abandoned-jobs at-next-grab"))
      << note.known_variant;
  // Written down, it is an IMPL scenario naming both choices, never a failing one: the reference
  // shows its default, the target the option's variant.
  EXPECT_TRUE(note.reproduces) << note.reproduction;
  const auto s = scenario::load_scenario_string(note.yaml, "note.yaml");
  EXPECT_EQ("IMPL", s.level);
  ASSERT_EQ(2u, s.variants.size());
  EXPECT_EQ("reference-default", s.variants[0].name);
  EXPECT_EQ("abandoned-jobs-at-next-grab", s.variants[1].name);
  EXPECT_EQ(std::vector<std::string>{"CLIENT-DEATH-STATUS"}, s.requirements);
  const auto on_target = engine::run_suite({s}, *target, {}).at(0);
  EXPECT_EQ(engine::verdict::informational, on_target.result);
  EXPECT_EQ("abandoned-jobs-at-next-grab", on_target.variant);
  // Shrinking kept every note a program the option explains: the default reference and the
  // option's variant observe different things in it (an IMPL scenario's two variants differ).
  for (const auto& n : report.notes) {
    EXPECT_FALSE(first_divergence(n.shrunk, n.variant_observation, n.target).has_value()) << n.yaml;
    EXPECT_TRUE(first_divergence(n.shrunk, n.reference, n.target).has_value()) << n.yaml;
  }
}

}  // namespace
}  // namespace gearspec::explore
