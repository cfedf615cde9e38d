// The core's use of a persistent queue (issue #8): which jobs are stored, when they are removed,
// and how restored jobs behave (handles, unique keys, epochs). The store here is a recording fake;
// tests/unit/refstore covers the SQLite store itself.

#include <algorithm>

#include "tests/unit/refcore/core_fixture.hpp"

namespace gearspec::refsrv::test {
namespace {

constexpr conn_id client = 1, worker = 2, other = 3, adm = 4;

/// Remembers stored jobs in order, and what the core had written when each add happened.
class memory_store : public job_store {
 public:
  explicit memory_store(const recording_sink& sink) : sink_(sink) {}
  bool add(const stored_job& job) override {
    if (refuse) return false;
    jobs.push_back(job);
    output_at_add.push_back(sink_.output.count(client) ? sink_.output.at(client) : std::string());
    return true;
  }
  void remove(std::string_view handle) override {
    removed.emplace_back(handle);
    jobs.erase(std::remove_if(jobs.begin(), jobs.end(),
                              [&](const stored_job& j) { return j.handle == handle; }),
               jobs.end());
  }
  std::vector<std::string> handles() const {
    std::vector<std::string> out;
    for (const auto& j : jobs) out.push_back(j.handle);
    return out;
  }
  std::vector<stored_job> jobs;
  std::vector<std::string> output_at_add;
  std::vector<std::string> removed;
  bool refuse = false;

 private:
  const recording_sink& sink_;
};

class StoreTest : public CoreTest {
 protected:
  StoreTest() { core_->set_store(&store_); }
  void restart_core(const std::vector<stored_job>& jobs) {
    reset(options_);
    for (const auto& j : jobs) EXPECT_TRUE(core_->restore(j, now_));
    core_->set_store(&store_);
  }
  memory_store store_{sink_};
};

TEST_F(StoreTest, BackgroundJobsAreStoredBeforeJobCreatedWithEveryField) {
  connect(client);
  const auto h1 = submit(client, "f", "u1", "data1", command::submit_job_high_bg);
  const auto h2 = submit(client, "f", "", "data2", command::submit_job_low_bg);
  send(client, command::submit_job_epoch, {"f", "u3", "1800000000", "later"});
  const auto h3 = take_packets(client).at(0).args.at(0);
  ASSERT_EQ((std::vector<std::string>{h1, h2, h3}), store_.handles());
  EXPECT_EQ("", store_.output_at_add[0]);  // nothing written to the client yet when it was stored
  EXPECT_EQ("f", store_.jobs[0].function);
  EXPECT_EQ("u1", store_.jobs[0].unique);
  EXPECT_EQ("data1", store_.jobs[0].data);
  EXPECT_EQ(priority::high, store_.jobs[0].prio);
  EXPECT_EQ(priority::low, store_.jobs[1].prio);
  EXPECT_EQ(1800000000, store_.jobs[2].epoch);
  EXPECT_EQ(0, store_.jobs[0].epoch);
}

TEST_F(StoreTest, ForegroundJobsAreNotStored) {
  connect(client);
  submit(client, "f", "u", "x");
  submit(client, "f", "", "y", command::submit_job_high);
  EXPECT_TRUE(store_.jobs.empty());
}

TEST_F(StoreTest, BackgroundSubmitAttachingToAForegroundJobStoresIt) {
  connect(client);
  connect(other);
  const auto h = submit(client, "f", "key", "x");
  EXPECT_TRUE(store_.jobs.empty());
  EXPECT_EQ(h, submit(other, "f", "key", "ignored", command::submit_job_bg));
  ASSERT_EQ(std::vector<std::string>{h}, store_.handles());
  EXPECT_EQ("x", store_.jobs[0].data);  // the job's own data, not the second submitter's
  EXPECT_EQ(h, submit(other, "f", "key", "again", command::submit_job_bg));
  EXPECT_EQ(1u, store_.jobs.size());  // stored once
}

TEST_F(StoreTest, JobsLeaveTheStoreWhenTheyEnd) {
  connect(client);
  connect(worker);
  connect(adm);
  send(worker, command::can_do, {"f"});
  const auto done = submit(client, "f", "", "a", command::submit_job_bg);
  const auto failed = submit(client, "f", "", "b", command::submit_job_bg);
  const auto cancelled = submit(client, "f", "", "c", command::submit_job_bg);
  ASSERT_EQ(done, grab(worker));
  send(worker, command::work_status, {done, "1", "2"});
  EXPECT_EQ(3u, store_.jobs.size());  // progress does not end it
  send(worker, command::work_complete, {done, "r"});
  ASSERT_EQ(failed, grab(worker));
  send(worker, command::work_fail, {failed});
  EXPECT_EQ("OK\r\n", admin(adm, "cancel job " + cancelled));
  EXPECT_EQ((std::vector<std::string>{done, failed, cancelled}), store_.removed);
  EXPECT_TRUE(store_.jobs.empty());
}

TEST_F(StoreTest, AJobHeldByALostWorkerStaysStored) {
  connect(client);
  connect(worker);
  send(worker, command::can_do, {"f"});
  const auto h = submit(client, "f", "", "a", command::submit_job_bg);
  ASSERT_EQ(h, grab(worker));
  disconnect(worker);  // requeued (C gearmand's policy): still owed to its submitter
  EXPECT_EQ(std::vector<std::string>{h}, store_.handles());
  EXPECT_TRUE(store_.removed.empty());
}

TEST_F(StoreTest, RefusedStoreRefusesTheSubmit) {
  connect(client);
  store_.refuse = true;
  send(client, command::submit_job_bg, {"f", "u", "x"});
  EXPECT_EQ(
      (std::vector<std::string>{line(command::error, {"QUEUE_ERROR", "Could not store the job"})}),
      take(client));
  EXPECT_EQ(0u, core_->job_count());
  store_.refuse = false;
  // The refused job did not consume a handle or its unique key.
  EXPECT_EQ("H:gearspec:1", submit(client, "f", "u", "x", command::submit_job_bg));
}

TEST_F(StoreTest, RestoredJobsKeepHandlesOrderAndUniqueKeys) {
  connect(client);
  const auto h1 = submit(client, "f", "key", "first", command::submit_job_bg);
  const auto h2 = submit(client, "f", "", "second", command::submit_job_bg);
  const auto saved = store_.jobs;
  restart_core(saved);
  connect(client);
  connect(worker);
  connect(other);
  // A foreground submit with the same key attaches to the reloaded job (same handle)...
  EXPECT_EQ(h1, submit(other, "f", "key", "ignored"));
  // ...new jobs get handles after the restored ones...
  EXPECT_EQ("H:gearspec:3", submit(client, "g", "", "new", command::submit_job_bg));
  // ...and the restored jobs run in their original order, with their data.
  send(worker, command::can_do, {"f"});
  send(worker, command::grab_job, {});
  EXPECT_EQ((std::vector<std::string>{line(command::job_assign, {h1, "f", "first"})}),
            take(worker));
  send(worker, command::work_complete, {h1, "done"});
  EXPECT_EQ((std::vector<std::string>{line(command::work_complete, {h1, "done"})}), take(other));
  EXPECT_EQ(h2, grab(worker));
}

TEST_F(StoreTest, RestoredEpochJobWaitsForItsTime) {
  stored_job later{"H:gearspec:7",      "f",   "", "later", priority::normal,
                   unix_ms_ / 1000 + 5, false, "", ""};
  stored_job due{"H:gearspec:8",      "f",   "", "due", priority::normal,
                 unix_ms_ / 1000 - 5, false, "", ""};
  restart_core({later, due});
  connect(worker);
  send(worker, command::can_do, {"f"});
  EXPECT_EQ("H:gearspec:8", grab(worker));
  EXPECT_EQ("", grab(worker));
  advance(std::chrono::milliseconds(5000));
  EXPECT_EQ("H:gearspec:7", grab(worker));
}

TEST_F(StoreTest, RestoringAHandleTwiceIsRefused) {
  reset(options_);
  stored_job j{"H:other:1", "f", "", "x", priority::normal, 0, false, "", ""};
  EXPECT_TRUE(core_->restore(j, now_));
  EXPECT_FALSE(core_->restore(j, now_));
  EXPECT_EQ(1u, core_->job_count());
}

}  // namespace
}  // namespace gearspec::refsrv::test
