// Which capabilities a scenario needs, without a server: from its steps (packets sent, raw bytes
// that form whole packets, admin commands, the generic grab), its needs:, and its level.

#include "harness/engine/capabilities.hpp"

#include <gtest/gtest.h>

#include "harness/scenario/loader.hpp"
#include "harness/scenario/needs.hpp"

namespace gearspec::engine {
namespace {

scenario::scenario load(const std::string& level, const std::string& requirement,
                        const std::string& steps, const std::string& extra = "") {
  return scenario::load_scenario_string("id: t/c\ntitle: t\nrequirements: [" + requirement +
                                            "]\nlevel: " + level + "\ndescription: d\n" + extra +
                                            "actors:\n  c: client\n  w: worker\n  a: admin\n"
                                            "steps:\n" +
                                            steps,
                                        "t.yaml");
}

using list = std::vector<std::string>;

TEST(Capabilities, FromStepsRawBytesAdminLinesAndNeeds) {
  const auto s = load("SHOULD", "UNIQ-RUN-ONCE",
                      "  - c: {send: SUBMIT_JOB_BG, args: [f, u, d]}\n"
                      "  - c: {send_raw: {hex: \"00 52 45 51 00 00 00 10 00 00 00 01 61\"}}\n"
                      "  - w: grab\n"
                      "  - a: {admin: \"show jobs\"}\n",
                      "needs: [admin-workers]\n");
  // ECHO_REQ in the raw bytes counts; binary-framing because there are binary actors.
  EXPECT_EQ((list{"admin-show-jobs", "admin-workers", "binary-framing", "echo", "grab",
                  "submit-background"}),
            needed_capabilities(s));
}

TEST(Capabilities, AMustScenarioRunsWithoutWhatItIsAbout) {
  // ECHO-IDENTICAL is about echo: the scenario runs and fails without it, never blocked.
  const auto s = load("MUST", "ECHO-IDENTICAL",
                      "  - c: {send: ECHO_REQ, args: [x]}\n  - c: {expect: ECHO_RES, args: [x]}\n");
  EXPECT_EQ((list{"binary-framing"}), needed_capabilities(s));
  EXPECT_EQ((list{"echo"}), lacking_capabilities(s, {"echo", "grab"}));
  EXPECT_EQ(list{}, lacking_capabilities(s, {"grab"}));
}

TEST(Capabilities, AnImplScenarioIsBlockedEvenByWhatItIsAbout) {
  const auto s = scenario::load_scenario_string(
      "id: t/i\ntitle: t\nrequirements: [ECHO-IDENTICAL]\nlevel: IMPL\ndescription: d\n"
      "actors:\n  c: client\nsteps:\n  - c: {send: ECHO_REQ, args: [x]}\nvariants:\n"
      "  v:\n    description: d\n    steps:\n      - c: {expect: ECHO_RES, args: [x]}\n",
      "t.yaml");
  EXPECT_EQ((list{"binary-framing", "echo"}), needed_capabilities(s));
}

TEST(Capabilities, TargetNeedsAreNotCapabilities) {
  const auto s =
      load("SHOULD", "UNIQ-RUN-ONCE", "  - a: {admin: status}\n", "needs: [disposable-server]\n");
  const auto needed = needed_capabilities(s);
  EXPECT_EQ(std::find(needed.begin(), needed.end(), "disposable-server"), needed.end());
}

TEST(Capabilities, EveryProbedCapabilityIsAKnownNeed) {
  for (const auto& name : probed_capabilities()) EXPECT_TRUE(scenario::is_known_need(name)) << name;
}

}  // namespace
}  // namespace gearspec::engine
