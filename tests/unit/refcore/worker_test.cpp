// Workers: loss while holding a job, CANT_DO/RESET_ABILITIES, CAN_DO_TIMEOUT, PRE_SLEEP/NOOP,
// exceptions.

#include "tests/unit/refcore/core_fixture.hpp"

namespace gearspec::refsrv::test {
namespace {

constexpr conn_id client = 1, client2 = 2, worker = 10, worker2 = 11;
const std::vector<std::string> nothing;

TEST_F(CoreTest, WorkerLossRequeuesAtTheTailSilently) {
  connect(client);
  connect(worker);
  connect(worker2);
  const auto h1 = submit(client, "f", "", "1");
  const auto h2 = submit(client, "f", "", "2");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h1, grab(worker));
  send(worker, command::work_status, {h1, "1", "2"});
  take(client);
  disconnect(worker);
  EXPECT_EQ(nothing, take(client));
  send(client, command::get_status, {h1});
  EXPECT_EQ((std::vector<std::string>{line(command::status_res, {h1, "1", "0", "0", "0"})}),
            take(client));
  send(worker2, command::can_do, {"f"});
  EXPECT_EQ(h2, grab(worker2));  // the requeued job went to the tail (C, docs/protocol.md §3.4)
  EXPECT_EQ(h1, grab(worker2));
}

TEST_F(CoreTest, WorkerLossFailOption) {
  core_options o;
  o.worker_loss = worker_loss_policy::fail;
  reset(o);
  connect(client);
  connect(worker);
  const auto h = submit(client, "f", "", "1");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  disconnect(worker);
  EXPECT_EQ((std::vector<std::string>{line(command::work_fail, {h})}), take(client));
  EXPECT_EQ(0u, core_->job_count());
}

TEST_F(CoreTest, RetryLimitCountsAttempts) {
  core_options o;
  o.job_retries = 2;  // C 1.1.20 -j 2: the second worker death fails the job
  reset(o);
  connect(client);
  const auto h = submit(client, "f", "", "1");
  for (conn_id w : {worker, worker2}) {
    connect(w);
    send(w, command::can_do, {"f"});
    ASSERT_EQ(h, grab(w));
    disconnect(w);
  }
  EXPECT_EQ((std::vector<std::string>{line(command::work_fail, {h})}), take(client));
  EXPECT_EQ(0u, core_->job_count());
}

TEST_F(CoreTest, WorkerLossAfterItsClientLeftDropsTheJob) {
  connect(client);
  connect(worker);
  const auto h = submit(client, "f", "", "1");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  disconnect(client);
  disconnect(worker);
  EXPECT_EQ(0u, core_->job_count());
}

TEST_F(CoreTest, BackgroundJobSurvivesWorkerLoss) {
  connect(client);
  connect(worker);
  connect(worker2);
  const auto h = submit(client, "f", "", "1", command::submit_job_bg);
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  disconnect(worker);
  send(worker2, command::can_do, {"f"});
  EXPECT_EQ(h, grab(worker2));
}

TEST_F(CoreTest, CantDoWhileHoldingRequeuesAndLaterResultIsAnError) {
  connect(client);
  connect(worker);
  const auto h = submit(client, "f", "", "1");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::cant_do, {"f"});
  EXPECT_EQ("", grab(worker));  // no jobs of a removed function
  send(worker, command::work_complete, {h, "r"});
  EXPECT_EQ((std::vector<std::string>{
                line(command::error, {"JOB_NOT_FOUND", "Job given in work result not found"})}),
            take(worker));
  EXPECT_EQ(1u, core_->counts("f")->total);
  EXPECT_EQ(0u, core_->counts("f")->running);
}

TEST_F(CoreTest, ResetAbilitiesKeepOption) {
  core_options o;
  o.ability_loss = ability_loss_policy::keep;
  reset(o);
  connect(client);
  connect(worker);
  const auto h = submit(client, "f", "", "1");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::reset_abilities, {});
  send(worker, command::work_complete, {h, "r"});
  EXPECT_EQ(nothing, take(worker));
  EXPECT_EQ((std::vector<std::string>{line(command::work_complete, {h, "r"})}), take(client));
}

TEST_F(CoreTest, ResetAbilitiesRemovesEveryFunction) {
  connect(client);
  connect(worker);
  submit(client, "f", "", "1");
  submit(client, "g", "", "1");
  send(worker, command::can_do, {"f"});
  send(worker, command::can_do, {"g"});
  send(worker, command::reset_abilities, {});
  EXPECT_EQ("", grab(worker));
  EXPECT_EQ(0u, core_->counts("f")->workers);
}

TEST_F(CoreTest, CanDoTimeoutRequeuesAfterTheDeadline) {
  connect(client);
  connect(worker);
  const auto h = submit(client, "f", "", "1");
  send(worker, command::can_do_timeout, {"f", "1500"});
  ASSERT_EQ(h, grab(worker));
  advance(std::chrono::milliseconds(1499));
  EXPECT_EQ(1u, core_->counts("f")->running);
  advance(std::chrono::milliseconds(1));
  EXPECT_EQ(0u, core_->counts("f")->running);
  EXPECT_EQ(nothing, take(client));
  send(worker, command::work_complete, {h, "late"});
  EXPECT_EQ((std::vector<std::string>{
                line(command::error, {"JOB_NOT_FOUND", "Job given in work result not found"})}),
            take(worker));
  EXPECT_EQ(h, grab(worker));  // handed out again
}

TEST_F(CoreTest, CanDoTimeoutFailOption) {
  core_options o;
  o.can_do_timeout = timeout_policy::fail;
  reset(o);
  connect(client);
  connect(worker);
  const auto h = submit(client, "f", "", "1");
  send(worker, command::can_do_timeout, {"f", "1000"});
  ASSERT_EQ(h, grab(worker));
  advance(std::chrono::milliseconds(1000));
  EXPECT_EQ((std::vector<std::string>{line(command::work_fail, {h})}), take(client));
}

TEST_F(CoreTest, CompletedJobCancelsItsTimeout) {
  connect(client);
  connect(worker);
  const auto h = submit(client, "f", "", "1");
  send(worker, command::can_do_timeout, {"f", "1000"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_complete, {h, "r"});
  EXPECT_FALSE(core_->next_deadline().has_value());
  advance(std::chrono::milliseconds(5000));
  EXPECT_EQ((std::vector<std::string>{line(command::work_complete, {h, "r"})}), take(client));
}

TEST_F(CoreTest, NoopWhenAJobArrivesOnlyForRegisteredFunctions) {
  connect(client);
  connect(worker);
  connect(worker2);
  send(worker, command::can_do, {"f"});
  send(worker2, command::can_do, {"g"});
  send(worker, command::pre_sleep, {});
  send(worker2, command::pre_sleep, {});
  submit(client, "f", "", "1");
  EXPECT_EQ((std::vector<std::string>{line(command::noop, {})}), take(worker));
  EXPECT_EQ(nothing, take(worker2));
}

TEST_F(CoreTest, OneNoopUntilTheNextGrab) {
  connect(client);
  connect(worker);
  send(worker, command::can_do, {"f"});
  send(worker, command::pre_sleep, {});
  submit(client, "f", "", "1");
  submit(client, "f", "", "2");
  EXPECT_EQ((std::vector<std::string>{line(command::noop, {})}), take(worker));
  grab(worker);
  send(worker, command::pre_sleep, {});
  EXPECT_EQ((std::vector<std::string>{line(command::noop, {})}), take(worker));  // work is waiting
}

TEST_F(CoreTest, PreSleepWithWorkQueuedGetsImmediateNoop) {
  connect(client);
  connect(worker);
  submit(client, "f", "", "1");
  send(worker, command::can_do, {"f"});
  send(worker, command::pre_sleep, {});
  EXPECT_EQ((std::vector<std::string>{line(command::noop, {})}), take(worker));
}

TEST_F(CoreTest, AllSleepersWokenByDefaultOneWithLimit) {
  for (std::uint32_t limit : {0u, 1u}) {
    core_options o;
    o.wakeup_limit = limit;
    reset(o);
    connect(client);
    connect(worker);
    connect(worker2);
    for (conn_id w : {worker, worker2}) {
      send(w, command::can_do, {"f"});
      send(w, command::pre_sleep, {});
    }
    submit(client, "f", "", "1");
    EXPECT_EQ(1u, take(worker).size());
    EXPECT_EQ(limit == 0 ? 1u : 0u, take(worker2).size()) << "limit " << limit;
  }
}

TEST_F(CoreTest, RequeueWakesSleepingWorkers) {
  connect(client);
  connect(worker);
  connect(worker2);
  const auto h = submit(client, "f", "", "1");
  send(worker, command::can_do, {"f"});
  send(worker2, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker2, command::pre_sleep, {});  // nothing queued now: it sleeps
  EXPECT_EQ(nothing, take(worker2));
  disconnect(worker);
  EXPECT_EQ((std::vector<std::string>{line(command::noop, {})}), take(worker2));
}

TEST_F(CoreTest, ExceptionsOnlyForClientsThatOptedIn) {
  connect(client);
  connect(client2);
  connect(worker);
  send(client, command::option_req, {"exceptions"});
  EXPECT_EQ((std::vector<std::string>{line(command::option_res, {"exceptions"})}), take(client));
  const auto h = submit(client, "f", "k", "1");
  EXPECT_EQ(h, submit(client2, "f", "k", "1"));
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_exception, {h, "boom"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_exception, {h, "boom"})}), take(client));
  EXPECT_EQ((std::vector<std::string>{line(command::work_fail, {h})}), take(client2));
  EXPECT_EQ(0u, core_->job_count());  // terminal
}

TEST_F(CoreTest, ExceptionsDefaultOption) {
  core_options o;
  o.exceptions_default = true;
  reset(o);
  connect(client);
  connect(worker);
  const auto h = submit(client, "f", "", "1");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker, command::work_exception, {h, "boom"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_exception, {h, "boom"})}), take(client));
}

TEST_F(CoreTest, WorkPacketsFromANonOwnerAreErrorsAndLeaveTheJobAlone) {
  connect(client);
  connect(worker);
  connect(worker2);
  const auto h = submit(client, "f", "", "1");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(h, grab(worker));
  send(worker2, command::work_status, {h, "1", "2"});
  send(worker2, command::work_data, {h, "x"});
  send(worker2, command::work_warning, {h, "x"});
  send(worker2, command::work_complete, {h, "x"});
  send(worker2, command::work_fail, {h});
  send(worker2, command::work_exception, {h, "x"});
  const auto e1 = line(command::error, {"JOB_NOT_FOUND", "Job given in work result not found"});
  const auto e2 = line(command::error, {"JOB_NOT_FOUND", "Job does not exist on server"});
  const auto e3 = line(
      command::error, {"JOB_NOT_FOUND", "An exception was received for a job that does not exist"});
  EXPECT_EQ((std::vector<std::string>{e1, e2, e2, e1, e1, e3}), take(worker2));
  EXPECT_EQ(nothing, take(client));
  send(worker, command::work_complete, {h, "ok"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_complete, {h, "ok"})}), take(client));
}

}  // namespace
}  // namespace gearspec::refsrv::test
