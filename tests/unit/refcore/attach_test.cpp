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
  const std::vector<std::string> both{line(command::work_status, {h, "1", "2"}),
                                      line(command::work_complete, {h, "r"})};
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
  EXPECT_EQ(
      (std::vector<std::string>{
          line(command::work_status, {h, "1", "4"}), line(command::work_status, {h, "2", "4"}),
          line(command::work_data, {h, "chunk"}), line(command::work_complete, {h, "r"})}),
      take(a));
  EXPECT_EQ((std::vector<std::string>{line(command::work_status, {h, "2", "4"}),
                                      line(command::work_data, {h, "chunk"}),
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
  for (conn_id id : {a, b, c})
    EXPECT_EQ((std::vector<std::string>{line(command::work_complete, {h, "r"})}), take(id));
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
  EXPECT_EQ((std::vector<std::string>{line(command::work_status, {h, "50", "100"}),
                                      line(command::work_complete, {h, "done"})}),
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
  EXPECT_EQ((std::vector<std::string>{line(command::status_res, {h, "0", "0", "0", "0"})}),
            take(b));
}

// CLIENT-DEATH-STATUS, the Perl 1.130 variant (C's at_next_peek drops it at a grab too): the
// abandoned job stays counted until a grab meets it, drops it (never runs it) and takes the next job.
TEST_F(CoreTest, AbandonedJobsAtNextGrabAreCountedUntilAGrabDropsThem) {
  core_options o;
  o.abandoned = abandoned_jobs::at_next_grab;
  reset(o);
  connect(a);
  connect(b);
  connect(worker);
  submit(a, "f", "k", "x");
  const auto kept = submit(b, "f", "k2", "y");
  disconnect(a);
  EXPECT_EQ(2u, core_->counts("f")->total);
  send(worker, command::can_do, {"f"});
  EXPECT_EQ(kept, grab(worker));  // the abandoned one was skipped and dropped
  EXPECT_EQ(1u, core_->counts("f")->total);
  EXPECT_EQ(1u, core_->job_count());
}

// Perl's PRE_SLEEP only looks whether the queue holds anything: the abandoned job wakes the worker.
// C's PRE_SLEEP peeks as a grab does and drops it: no NOOP, and 'status' stops counting it.
TEST_F(CoreTest, PreSleepWakesForAnAbandonedJobAtNextGrabButDropsItAtNextPeek) {
  for (const auto mode : {abandoned_jobs::at_next_grab, abandoned_jobs::at_next_peek}) {
    SCOPED_TRACE(mode == abandoned_jobs::at_next_grab ? "at-next-grab" : "at-next-peek");
    core_options o;
    o.abandoned = mode;
    reset(o);
    connect(a);
    connect(worker);
    submit(a, "f", "k", "x");
    disconnect(a);
    send(worker, command::can_do, {"f"});
    send(worker, command::pre_sleep, {});
    if (mode == abandoned_jobs::at_next_grab) {
      EXPECT_EQ((std::vector<std::string>{line(command::noop, {})}), take(worker));
      EXPECT_EQ(1u, core_->counts("f")->total);
    } else {
      EXPECT_TRUE(take(worker).empty());
      EXPECT_EQ(0u, core_->counts("f")->total);
    }
  }
}

TEST_F(CoreTest, AbandonedJobsAtNextGrabAreRevivedByAnAttach) {
  core_options o;
  o.abandoned = abandoned_jobs::at_next_grab;
  reset(o);
  connect(a);
  connect(b);
  connect(worker);
  const auto h = submit(a, "f", "k", "x");
  disconnect(a);
  EXPECT_EQ(h, submit(b, "f", "k", "x"));  // Perl 1.130: the queued job, now wanted again
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_complete, {h, "r"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_complete, {h, "r"})}), take(b));
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
  // C gearmand 1.1.20 loses this job (docs/protocol.md §4.2 B1); the reference keeps it.
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
  // C gearmand 1.1.20 never answers the second client (docs/protocol.md §4.2 B2).
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

// UNIQ-PER-SUBMISSION: C gearmand 1.1.20 and Perl 1.130 send every WORK_* once per submission,
// also when one connection submits the same key twice
// (docs/evidence/per-submission-2026-11-30.txt).
TEST_F(CoreTest, SameClientSubmittingTwiceHearsEveryUpdateTwice) {
  connect(a);
  connect(worker);
  const auto h = submit(a, "f", "k", "x");
  EXPECT_EQ(h, submit(a, "f", "k", "x"));
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  EXPECT_EQ("", grab(worker));  // still one job
  send(worker, command::work_status, {h, "1", "2"});
  send(worker, command::work_data, {h, "d"});
  send(worker, command::work_warning, {h, "w"});
  send(worker, command::work_complete, {h, "r"});
  const auto status = line(command::work_status, {h, "1", "2"});
  const auto data = line(command::work_data, {h, "d"});
  const auto warning = line(command::work_warning, {h, "w"});
  const auto complete = line(command::work_complete, {h, "r"});
  EXPECT_EQ(
      (std::vector<std::string>{status, status, data, data, warning, warning, complete, complete}),
      take(a));
}

TEST_F(CoreTest, SecondSubmissionAfterStatusHearsOnlyLaterUpdatesTwice) {
  connect(a);
  connect(worker);
  const auto h = submit(a, "f", "k", "x");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_status, {h, "1", "4"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_status, {h, "1", "4"})}), take(a));
  EXPECT_EQ(h, submit(a, "f", "k", "x"));
  send(worker, command::work_status, {h, "2", "4"});
  send(worker, command::work_fail, {h});
  const auto status = line(command::work_status, {h, "2", "4"});
  const auto fail = line(command::work_fail, {h});
  EXPECT_EQ((std::vector<std::string>{status, status, fail, fail}), take(a));
}

TEST_F(CoreTest, SubmissionsFromTwoConnectionsAreCountedPerSubmission) {
  connect(a);
  connect(b);
  connect(worker);
  const auto h = submit(a, "f", "k", "x");
  EXPECT_EQ(h, submit(b, "f", "k", "x"));
  EXPECT_EQ(h, submit(a, "f", "k", "x"));
  send(b, command::get_status_unique, {"k"});
  // C gearmand counts submissions in STATUS_RES_UNIQUE's client count (observed: 2 for one
  // connection that submitted twice).
  EXPECT_EQ(
      (std::vector<std::string>{line(command::status_res_unique, {"k", "1", "0", "0", "0", "3"})}),
      take(b));
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_complete, {h, "r"});
  const auto complete = line(command::work_complete, {h, "r"});
  EXPECT_EQ((std::vector<std::string>{complete, complete}), take(a));
  EXPECT_EQ((std::vector<std::string>{complete}), take(b));
}

TEST_F(CoreTest, ExceptionGoesToEverySubmissionByItsConnectionsOption) {
  connect(a);
  connect(b);
  connect(worker);
  send(a, command::option_req, {"exceptions"});
  take(a);
  const auto h = submit(a, "f", "k", "x");
  EXPECT_EQ(h, submit(b, "f", "k", "x"));
  EXPECT_EQ(h, submit(a, "f", "k", "x"));
  EXPECT_EQ(h, submit(b, "f", "k", "x"));
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_exception, {h, "boom"});
  const auto exception = line(command::work_exception, {h, "boom"});
  const auto fail = line(command::work_fail, {h});
  EXPECT_EQ((std::vector<std::string>{exception, exception}), take(a));
  EXPECT_EQ((std::vector<std::string>{fail, fail}), take(b));
}

TEST_F(CoreTest, ClientDeathRemovesEverySubmissionOfThatConnection) {
  connect(a);
  connect(b);
  connect(worker);
  const auto h = submit(a, "f", "k", "x");
  EXPECT_EQ(h, submit(a, "f", "k", "x"));
  disconnect(a);
  send(worker, command::can_do, {"f"});
  EXPECT_EQ("", grab(worker));  // nobody waits for it any more
  EXPECT_EQ(0u, core_->job_count());
  // With another client attached it survives, and that client hears the result once.
  const auto h2 = submit(b, "f", "k2", "x");
  connect(c);
  EXPECT_EQ(h2, submit(c, "f", "k2", "x"));
  EXPECT_EQ(h2, submit(c, "f", "k2", "x"));
  disconnect(c);
  ASSERT_EQ(h2, grab(worker));
  send(worker, command::work_complete, {h2, "r"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_complete, {h2, "r"})}), take(b));
}

TEST_F(CoreTest, UniqueLongerThanLimitIsRefused) {
  connect(a);
  EXPECT_FALSE(submit(a, "f", std::string(64, 'u'), "x").empty());
  send(a, command::submit_job, {"f", std::string(65, 'u'), "x"});
  EXPECT_EQ((std::vector<std::string>{
                line(command::error, {"ARGUMENT_TOO_LARGE", "Unique value too large"})}),
            take(a));
}

}  // namespace
}  // namespace gearspec::refsrv::test
