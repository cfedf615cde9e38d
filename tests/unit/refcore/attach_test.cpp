// Unique keys and attaching to jobs (the seed semantics), and client death.

#include "tests/unit/refcore/core_fixture.hpp"

namespace gearspec::refsrv::test {
namespace {

constexpr conn_id a = 1, b = 2, c = 3, worker = 10;

TEST_F(CoreTest, SameUniqueWhileQueuedAttachesAndRunsOnceWithFirstData) {
  connect(a);
  connect(b);
  connect(worker);
  const auto h = submit(a, "f", "alpha", "first");
  EXPECT_EQ(h, submit(b, "f", "alpha", "second"));
  send(worker, command::can_do, {"f"});
  send(worker, command::grab_job, {});
  EXPECT_EQ((std::vector<std::string>{line(command::job_assign, {h, "f", "first"})}), take(worker));
  EXPECT_EQ("", grab(worker));  // one job only
  send(worker, command::work_status, {h, "1", "2"});
  send(worker, command::work_complete, {h, "r"});
  const std::vector<std::string> both{line(command::work_status, {h, "1", "2"}), line(command::work_complete, {h, "r"})};
  EXPECT_EQ(both, take(a));
  EXPECT_EQ(both, take(b));
}

TEST_F(CoreTest, LateAttachHalfWayGetsOnlyLaterUpdates) {
  connect(a);
  connect(b);
  connect(worker);
  const auto h = submit(a, "f", "alpha", "x");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_status, {h, "1", "4"});
  EXPECT_EQ(h, submit(b, "f", "alpha", "x"));
  send(worker, command::work_status, {h, "2", "4"});
  send(worker, command::work_data, {h, "chunk"});
  send(worker, command::work_complete, {h, "r"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_status, {h, "1", "4"}), line(command::work_status, {h, "2", "4"}),
                                      line(command::work_data, {h, "chunk"}), line(command::work_complete, {h, "r"})}),
            take(a));
  EXPECT_EQ((std::vector<std::string>{line(command::work_status, {h, "2", "4"}), line(command::work_data, {h, "chunk"}),
                                      line(command::work_complete, {h, "r"})}),
            take(b));
}

TEST_F(CoreTest, WorkerlessStartManyClientsOneRun) {
  connect(a);
  connect(b);
  connect(c);
  connect(worker);
  const auto h = submit(a, "f", "k", "x");
  EXPECT_EQ(h, submit(b, "f", "k", "x"));
  EXPECT_EQ(h, submit(c, "f", "k", "x"));
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  EXPECT_EQ("", grab(worker));
  send(worker, command::work_complete, {h, "r"});
  for (conn_id id : {a, b, c}) EXPECT_EQ((std::vector<std::string>{line(command::work_complete, {h, "r"})}), take(id));
}

TEST_F(CoreTest, AttachAfterCompletionCreatesANewJob) {
  connect(a);
  connect(worker);
  const auto h1 = submit(a, "f", "k", "x");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h1, grab(worker));
  send(worker, command::work_complete, {h1, "r"});
  take(a);
  const auto h2 = submit(a, "f", "k", "x");
  EXPECT_NE(h1, h2);
  EXPECT_EQ(h2, grab(worker));
}

TEST_F(CoreTest, UniqueKeysArePerFunction) {
  connect(a);
  EXPECT_NE(submit(a, "f", "k", "x"), submit(a, "g", "k", "x"));
}

TEST_F(CoreTest, EmptyUniqueNeverCoalesces) {
  connect(a);
  EXPECT_NE(submit(a, "f", "", "x"), submit(a, "f", "", "x"));
}

TEST_F(CoreTest, MinusUniqueUsesTheDataAsKey) {
  connect(a);
  const auto h = submit(a, "f", "-", "payload");
  EXPECT_EQ(h, submit(a, "f", "-", "payload"));
  EXPECT_NE(h, submit(a, "f", "-", "other"));
  EXPECT_NE(h, submit(a, "f", "payload", "payload"));  // a literal unique is another key (C)
  EXPECT_NE(submit(a, "f", "-", ""), submit(a, "f", "-", ""));  // no data, no key
}

TEST_F(CoreTest, AttachKeepsFirstSubmittersPriority) {
  connect(a);
  connect(worker);
  const auto low = submit(a, "f", "k", "x", command::submit_job_low);
  const auto normal = submit(a, "f", "", "y");
  EXPECT_EQ(low, submit(a, "f", "k", "x", command::submit_job_high));
  send(worker, command::can_do, {"f"});
  EXPECT_EQ(normal, grab(worker));
  EXPECT_EQ(low, grab(worker));
}

TEST_F(CoreTest, BackgroundAttachGetsNothingAfterJobCreated) {
  connect(a);
  connect(b);
  connect(worker);
  const auto h = submit(a, "f", "k", "x");
  EXPECT_EQ(h, submit(b, "f", "k", "x", command::submit_job_bg));
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_complete, {h, "r"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_complete, {h, "r"})}), take(a));
  EXPECT_TRUE(take(b).empty());
}

TEST_F(CoreTest, ProcessingPageForegroundAttachesToBackgroundJob) {
  connect(a);
  connect(b);
  connect(worker);
  const auto h = submit(a, "f", "report-42", "x", command::submit_job_bg);
  disconnect(a);  // the page that started it is gone
  EXPECT_EQ(h, submit(b, "f", "report-42", "ignored"));
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_status, {h, "50", "100"});
  send(worker, command::work_complete, {h, "done"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_status, {h, "50", "100"}), line(command::work_complete, {h, "done"})}),
            take(b));
}

TEST_F(CoreTest, ClientDeathBeforeAssignmentDropsTheJob) {
  connect(a);
  connect(b);
  connect(worker);
  const auto h = submit(a, "f", "k", "x");
  disconnect(a);
  EXPECT_EQ(0u, core_->job_count());
  EXPECT_EQ(0u, core_->counts("f")->total);
  send(worker, command::can_do, {"f"});
  EXPECT_EQ("", grab(worker));
  send(b, command::get_status, {h});
  EXPECT_EQ((std::vector<std::string>{line(command::status_res, {h, "0", "0", "0", "0"})}), take(b));
}

TEST_F(CoreTest, ClientDeathAfterAssignmentLetsTheWorkerFinish) {
  connect(a);
  connect(worker);
  const auto h = submit(a, "f", "k", "x");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  disconnect(a);
  send(worker, command::work_status, {h, "1", "2"});
  send(worker, command::work_complete, {h, "r"});
  EXPECT_TRUE(take(worker).empty());  // no ERROR: results accepted
  EXPECT_EQ(0u, core_->job_count());
}

TEST_F(CoreTest, JobSurvivesForASecondAttachedClient) {
  connect(a);
  connect(b);
  connect(worker);
  const auto h = submit(a, "f", "k", "x");
  EXPECT_EQ(h, submit(b, "f", "k", "x"));
  disconnect(a);
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_complete, {h, "r"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_complete, {h, "r"})}), take(b));
}

TEST_F(CoreTest, BackgroundAttachKeepsForegroundJobAliveAfterItsClientLeaves) {
  // C gearmand 1.1.20 loses this job (protocol.md §4.2 B1); the reference keeps it.
  connect(a);
  connect(b);
  connect(worker);
  const auto h = submit(a, "f", "k", "x");
  EXPECT_EQ(h, submit(b, "f", "k", "x", command::submit_job_bg));
  disconnect(a);
  send(worker, command::can_do, {"f"});
  EXPECT_EQ(h, grab(worker));
}

TEST_F(CoreTest, AttachAfterAbandonGetsAnAnswer) {
  // C gearmand 1.1.20 never answers the second client (protocol.md §4.2 B2).
  connect(a);
  connect(b);
  connect(worker);
  submit(a, "f", "k", "x");
  disconnect(a);
  const auto h = submit(b, "f", "k", "x");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_complete, {h, "r"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_complete, {h, "r"})}), take(b));
}

TEST_F(CoreTest, SameClientSubmittingTwiceIsAttachedOnce) {
  connect(a);
  connect(worker);
  const auto h = submit(a, "f", "k", "x");
  EXPECT_EQ(h, submit(a, "f", "k", "x"));
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_complete, {h, "r"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_complete, {h, "r"})}), take(a));
}

TEST_F(CoreTest, UniqueLongerThanLimitIsRefused) {
  connect(a);
  EXPECT_FALSE(submit(a, "f", std::string(64, 'u'), "x").empty());
  send(a, command::submit_job, {"f", std::string(65, 'u'), "x"});
  EXPECT_EQ((std::vector<std::string>{line(command::error, {"ARGUMENT_TOO_LARGE", "Unique value too large"})}), take(a));
}

}  // namespace
}  // namespace gearspec::refsrv::test
