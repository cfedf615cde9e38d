// Submitting, assigning and finishing jobs; priorities; maxqueue; epoch jobs; GET_STATUS.

#include "tests/support/bytes.hpp"
#include "tests/unit/refcore/core_fixture.hpp"

namespace gearspec::refsrv::test {
namespace {

using gearspec::test::bytes;

constexpr conn_id client = 1, client2 = 2, worker = 10, worker2 = 11;

TEST_F(CoreTest, SubmitGetsJobCreatedWithCountingHandles) {
  connect(client);
  EXPECT_EQ("H:gearspec:1", submit(client, "f", "", "a"));
  EXPECT_EQ("H:gearspec:2", submit(client, "f", "", "a"));
}

// PROTOCOL "Binary Protocol Example": the whole round trip.
TEST_F(CoreTest, ProtocolWorkedExample) {
  connect(client);
  connect(worker);
  send(worker, command::can_do, {"reverse"});
  send(worker, command::grab_job, {});
  EXPECT_EQ((std::vector<std::string>{line(command::no_job, {})}), take(worker));
  send(worker, command::pre_sleep, {});
  const auto h = submit(client, "reverse", "", "test");
  EXPECT_EQ((std::vector<std::string>{line(command::noop, {})}), take(worker));
  send(worker, command::grab_job, {});
  EXPECT_EQ((std::vector<std::string>{line(command::job_assign, {h, "reverse", "test"})}),
            take(worker));
  send(worker, command::work_complete, {h, "tset"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_complete, {h, "tset"})}), take(client));
  EXPECT_EQ(0u, core_->job_count());
}

TEST_F(CoreTest, AssignCarriesDataByteExact) {
  connect(client);
  connect(worker);
  const auto data = bytes("\0bin\0ary\xff");
  const auto h = submit(client, "f", "u", data);
  send(worker, command::can_do, {"f"});
  send(worker, command::grab_job, {});
  EXPECT_EQ((std::vector<std::string>{line(command::job_assign, {h, "f", data})}), take(worker));
}

TEST_F(CoreTest, BackgroundSubmitterGetsNothingAfterJobCreated) {
  connect(client);
  connect(worker);
  const auto h = submit(client, "f", "", "x", command::submit_job_bg);
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_status, {h, "1", "2"});
  send(worker, command::work_complete, {h, "done"});
  EXPECT_TRUE(take(client).empty());
  EXPECT_TRUE(take(worker).empty());  // accepted without error
}

TEST_F(CoreTest, ForegroundClientGetsEveryUpdateAndTheResult) {
  connect(client);
  connect(worker);
  const auto h = submit(client, "f", "", "x");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_status, {h, "1", "3"});
  send(worker, command::work_data, {h, "part"});
  send(worker, command::work_warning, {h, "careful"});
  send(worker, command::work_complete, {h, "done"});
  EXPECT_EQ(
      (std::vector<std::string>{
          line(command::work_status, {h, "1", "3"}), line(command::work_data, {h, "part"}),
          line(command::work_warning, {h, "careful"}), line(command::work_complete, {h, "done"})}),
      take(client));
}

TEST_F(CoreTest, WorkFailEndsTheJob) {
  connect(client);
  connect(worker);
  const auto h = submit(client, "f", "", "x");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_fail, {h});
  EXPECT_EQ((std::vector<std::string>{line(command::work_fail, {h})}), take(client));
  send(client, command::get_status, {h});
  EXPECT_EQ((std::vector<std::string>{line(command::status_res, {h, "0", "0", "0", "0"})}),
            take(client));
}

TEST_F(CoreTest, PrioritiesHighNormalLowFifoWithin) {
  // Submits L1,N1,H1,L2,N2,H2 are grabbed H1,H2,N1,N2,L1,L2 (docs/protocol.md §3.8, observed on C).
  connect(client);
  connect(worker);
  const auto l1 = submit(client, "f", "", "l1", command::submit_job_low);
  const auto n1 = submit(client, "f", "", "n1", command::submit_job);
  const auto h1 = submit(client, "f", "", "h1", command::submit_job_high);
  const auto l2 = submit(client, "f", "", "l2", command::submit_job_low_bg);
  const auto n2 = submit(client, "f", "", "n2", command::submit_job_bg);
  const auto h2 = submit(client, "f", "", "h2", command::submit_job_high_bg);
  send(worker, command::can_do, {"f"});
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) order.push_back(grab(worker));
  EXPECT_EQ((std::vector<std::string>{h1, h2, n1, n2, l1, l2}), order);
  EXPECT_EQ("", grab(worker));
}

TEST_F(CoreTest, HighLifoOption) {
  core_options o;
  o.high = high_order::lifo;
  reset(o);
  connect(client);
  connect(worker);
  const auto h1 = submit(client, "f", "", "1", command::submit_job_high);
  const auto h2 = submit(client, "f", "", "2", command::submit_job_high);
  send(worker, command::can_do, {"f"});
  EXPECT_EQ(h2, grab(worker));
  EXPECT_EQ(h1, grab(worker));
}

TEST_F(CoreTest, PriorityIsGlobalAcrossFunctionsByDefault) {
  connect(client);
  connect(worker);
  const auto a_low = submit(client, "a", "", "x", command::submit_job_low);
  const auto b_high = submit(client, "b", "", "x", command::submit_job_high);
  send(worker, command::can_do, {"b"});
  send(worker, command::can_do, {"a"});
  EXPECT_EQ(b_high, grab(worker));
  EXPECT_EQ(a_low, grab(worker));
}

TEST_F(CoreTest, PerFunctionPriorityOptionMatchesGearmand1120) {
  // Registering b then a gave a-low before b-high on C 1.1.20 (docs/protocol.md §3.7, issue #173).
  core_options o;
  o.scope = priority_scope::per_function;
  reset(o);
  connect(client);
  connect(worker);
  const auto a_low = submit(client, "a", "", "x", command::submit_job_low);
  const auto b_high = submit(client, "b", "", "x", command::submit_job_high);
  send(worker, command::can_do, {"b"});
  send(worker, command::can_do, {"a"});
  EXPECT_EQ(a_low, grab(worker));
  EXPECT_EQ(b_high, grab(worker));
}

TEST_F(CoreTest, OldestFirstAcrossFunctionsAtEqualPriority) {
  connect(client);
  connect(worker);
  const auto b = submit(client, "b", "", "x");
  const auto a = submit(client, "a", "", "x");
  send(worker, command::can_do, {"a"});
  send(worker, command::can_do, {"b"});
  EXPECT_EQ(b, grab(worker));
  EXPECT_EQ(a, grab(worker));
}

TEST_F(CoreTest, MaxqueueRejectsNewJobsCountingRunningOnes) {
  connect(client);
  connect(worker);
  EXPECT_EQ("OK\r\n", admin(client, "maxqueue f 2"));
  const auto h1 = submit(client, "f", "", "1");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h1, grab(worker));  // running still counts (C, docs/protocol.md §3.15)
  submit(client, "f", "", "2");
  send(client, command::submit_job, {"f", "", "3"});
  EXPECT_EQ((std::vector<std::string>{line(command::error, {"QUEUE_ERROR", "Job queue is full"})}),
            take(client));
}

TEST_F(CoreTest, MaxqueueDoesNotBlockCoalescing) {
  connect(client);
  connect(client2);
  admin(client, "maxqueue f 1");
  const auto h = submit(client, "f", "u", "1");
  EXPECT_EQ(h, submit(client2, "f", "u", "1"));
  send(client2, command::submit_job, {"f", "v", "2"});
  EXPECT_EQ((std::vector<std::string>{line(command::error, {"QUEUE_ERROR", "Job queue is full"})}),
            take(client2));
}

TEST_F(CoreTest, MaxqueueEvictOptionFailsTheNewestQueuedJob) {
  core_options o;
  o.maxqueue = maxqueue_policy::evict;
  reset(o);
  connect(client);
  admin(client, "maxqueue f 2");
  const auto h1 = submit(client, "f", "", "1");
  const auto h2 = submit(client, "f", "", "2");
  send(client, command::submit_job, {"f", "", "3"});
  const auto got = take(client);
  ASSERT_EQ(2u, got.size());
  EXPECT_EQ(line(command::work_fail, {h2}), got[0]);
  EXPECT_EQ(line(command::job_created, {"H:gearspec:3"}), got[1]);
  EXPECT_EQ(2u, core_->counts("f")->total);
  send(client, command::get_status, {h1});
  EXPECT_EQ((std::vector<std::string>{line(command::status_res, {h1, "1", "0", "0", "0"})}),
            take(client));
}

TEST_F(CoreTest, EpochJobRunsOnlyFromItsTimeAndWakesSleepers) {
  connect(client);
  connect(worker);
  send(worker, command::can_do, {"f"});
  const auto past = std::to_string(unix_ms_ / 1000 - 1);
  const auto due = std::to_string(unix_ms_ / 1000 + 5);
  send(client, command::submit_job_epoch, {"f", "", past, "now"});
  send(client, command::submit_job_epoch, {"f", "", due, "later"});
  const auto created = take_packets(client);
  ASSERT_EQ(2u, created.size());
  EXPECT_EQ(created[0].args[0], grab(worker));  // a past epoch is runnable at once
  EXPECT_EQ("", grab(worker));
  send(client, command::get_status, {created[1].args[0]});
  EXPECT_EQ((std::vector<std::string>{
                line(command::status_res, {created[1].args[0], "1", "0", "0", "0"})}),
            take(client));
  send(worker, command::pre_sleep, {});
  advance(std::chrono::milliseconds(4999));
  EXPECT_TRUE(take(worker).empty());
  advance(std::chrono::milliseconds(1));
  EXPECT_EQ((std::vector<std::string>{line(command::noop, {})}), take(worker));
  EXPECT_EQ(created[1].args[0], grab(worker));
  EXPECT_TRUE(take(client).empty());  // epoch jobs are background
}

TEST_F(CoreTest, EpochThatIsNotANumberIsRefused) {
  connect(client);
  send(client, command::submit_job_epoch, {"f", "", "soon", "x"});
  EXPECT_EQ((std::vector<std::string>{line(
                command::error, {"INVALID_ARGUMENT", "SUBMIT_JOB_EPOCH epoch is not a number"})}),
            take(client));
}

TEST_F(CoreTest, GetStatusReportsProgress) {
  connect(client);
  connect(worker);
  const auto h = submit(client, "f", "", "x");
  send(client, command::get_status, {h});
  EXPECT_EQ((std::vector<std::string>{line(command::status_res, {h, "1", "0", "0", "0"})}),
            take(client));
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_status, {h, "3", "7"});
  take(client);
  send(client, command::get_status, {h});
  EXPECT_EQ((std::vector<std::string>{line(command::status_res, {h, "1", "1", "3", "7"})}),
            take(client));
  send(client, command::get_status, {"H:nope:1"});
  EXPECT_EQ((std::vector<std::string>{line(command::status_res, {"H:nope:1", "0", "0", "0", "0"})}),
            take(client));
}

TEST_F(CoreTest, GetStatusUniqueCountsAttachedClients) {
  connect(client);
  connect(client2);
  const auto h = submit(client, "f", "alpha", "x");
  submit(client2, "f", "alpha", "x");
  send(client, command::get_status_unique, {"alpha"});
  EXPECT_EQ((std::vector<std::string>{
                line(command::status_res_unique, {"alpha", "1", "0", "0", "0", "2"})}),
            take(client));
  send(client, command::get_status_unique, {"beta"});
  EXPECT_EQ((std::vector<std::string>{
                line(command::status_res_unique, {"beta", "0", "0", "0", "0", "0"})}),
            take(client));
}

TEST_F(CoreTest, WorkersOfOtherFunctionsGetNoJob) {
  connect(client);
  connect(worker);
  submit(client, "f", "", "x");
  send(worker, command::can_do, {"g"});
  EXPECT_EQ("", grab(worker));
  send(worker, command::grab_job, {});
  EXPECT_EQ((std::vector<std::string>{line(command::no_job, {})}), take(worker));
}

TEST_F(CoreTest, GrabWithoutAbilitiesGetsNoJob) {
  connect(worker);
  EXPECT_EQ("", grab(worker));
}

TEST_F(CoreTest, GrabJobUniqAndAll) {
  connect(client);
  connect(worker);
  const auto h1 = submit(client, "f", "u1", "d1");
  send(client, command::submit_reduce_job, {"f", "u2", "red", "agg", "d2"});
  const auto h2 = take_packets(client).at(0).args[0];
  send(worker, command::can_do, {"f"});
  send(worker, command::grab_job_uniq, {});
  EXPECT_EQ((std::vector<std::string>{line(command::job_assign_uniq, {h1, "f", "u1", "d1"})}),
            take(worker));
  send(worker, command::grab_job_all, {});
  EXPECT_EQ((std::vector<std::string>{line(command::job_assign_all, {h2, "f", "u2", "red", "d2"})}),
            take(worker));
  const auto h3 = submit(client, "f", "u3", "d3");
  send(worker, command::grab_job_all, {});
  EXPECT_EQ((std::vector<std::string>{line(command::job_assign_uniq, {h3, "f", "u3", "d3"})}),
            take(worker));
}

TEST_F(CoreTest, EmptyUniqueAndMinusUniqueInJobAssignUniq) {
  connect(client);
  connect(worker);
  const auto h = submit(client, "f", "-", "payload");
  send(worker, command::can_do, {"f"});
  send(worker, command::grab_job_uniq, {});
  EXPECT_EQ((std::vector<std::string>{line(command::job_assign_uniq, {h, "f", "-", "payload"})}),
            take(worker));
}

TEST_F(CoreTest, ManyJobsOnOneConnectionResultsInAnyOrder) {
  connect(client);
  connect(worker);
  std::vector<std::string> handles;
  for (int i = 0; i < 50; ++i) handles.push_back(submit(client, "f", "", std::to_string(i)));
  send(worker, command::can_do, {"f"});
  std::vector<std::string> grabbed;
  for (int i = 0; i < 50; ++i) grabbed.push_back(grab(worker));
  EXPECT_EQ(handles, grabbed);
  for (auto it = grabbed.rbegin(); it != grabbed.rend(); ++it)
    send(worker, command::work_complete, {*it, *it});
  const auto got = take_packets(client);
  ASSERT_EQ(50u, got.size());
  EXPECT_EQ(handles.back(), got.front().args[0]);
  EXPECT_EQ(0u, core_->job_count());
}

}  // namespace
}  // namespace gearspec::refsrv::test
