// The admin text protocol on the binary port (formats of C gearmand 1.1.20, docs/protocol.md §2.2).

#include "tests/unit/refcore/core_fixture.hpp"

namespace gearspec::refsrv::test {
namespace {

constexpr conn_id adm = 1, client = 2, worker = 3;

TEST_F(CoreTest, AdminStatusListsFunctionsSorted) {
  connect(adm);
  connect(client);
  connect(worker);
  EXPECT_EQ(".\n", admin(adm, "status"));
  send(worker, command::can_do, {"b"});
  const auto h = submit(client, "b", "", "x");
  submit(client, "b", "", "y");
  submit(client, "a", "", "z");
  ASSERT_EQ(h, grab(worker));
  EXPECT_EQ("a\t1\t0\t0\nb\t2\t1\t1\n.\n", admin(adm, "status"));
  EXPECT_EQ("a\t1\t0\t0\nb\t2\t1\t1\n.\n", admin(adm, "STATUS"));  // case-insensitive
}

TEST_F(CoreTest, AdminStatusCountsDuplicateCanDoOnce) {
  connect(adm);
  connect(worker);
  send(worker, command::can_do, {"f"});
  send(worker, command::can_do, {"f"});
  EXPECT_EQ("f\t0\t0\t1\n.\n", admin(adm, "status"));
}

TEST_F(CoreTest, AdminWorkersShowsEveryConnection) {
  connect(adm);
  connect(worker);
  send(worker, command::set_client_id, {"w-1"});
  send(worker, command::can_do, {"f"});
  send(worker, command::can_do, {"g"});
  EXPECT_EQ("1 127.0.0.1 - :\n3 127.0.0.1 w-1 : f g\n.\n", admin(adm, "workers"));
}

TEST_F(CoreTest, AdminPriorityStatusCountsQueuedOnly) {
  connect(adm);
  connect(client);
  connect(worker);
  submit(client, "f", "", "1", command::submit_job_high);
  submit(client, "f", "", "2", command::submit_job_high);
  submit(client, "f", "", "3", command::submit_job_low);
  submit(client, "f", "", "4", command::submit_job);
  send(worker, command::can_do, {"f"});
  grab(worker);
  EXPECT_EQ("f\t1\t1\t1\t1\n.\n", admin(adm, "prioritystatus"));
}

TEST_F(CoreTest, AdminMaxqueueArguments) {
  connect(adm);
  EXPECT_EQ("ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command\r\n",
            admin(adm, "maxqueue"));
  EXPECT_EQ("ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command\r\n",
            admin(adm, "maxqueue f ten"));
  EXPECT_EQ("OK\r\n", admin(adm, "maxqueue f 1 2 3"));
  EXPECT_EQ("OK\r\n", admin(adm, "maxqueue f"));  // no number: unlimited again
  connect(client);
  submit(client, "f", "", "1");
  submit(client, "f", "", "2");
}

TEST_F(CoreTest, AdminVersionGetpidVerbose) {
  core_options o;
  o.version = "9.9";
  o.pid = 4242;
  reset(o);
  connect(adm);
  EXPECT_EQ("OK 9.9\n", admin(adm, "version"));
  EXPECT_EQ("OK 4242\n", admin(adm, "getpid"));
  EXPECT_EQ("OK INFO\n", admin(adm, "verbose"));
}

TEST_F(CoreTest, AdminShowJobsAndUniqueJobs) {
  connect(adm);
  connect(client);
  const auto h1 = submit(client, "f", "alpha", "1");
  const auto h2 = submit(client, "f", "", "2", command::submit_job_bg);
  EXPECT_EQ(h1 + "\t0\t0\t0\n" + h2 + "\t0\t0\t1\n.\n", admin(adm, "show jobs"));
  EXPECT_EQ("alpha\n\n.\n", admin(adm, "show unique jobs"));
  EXPECT_EQ("ERR UNKNOWN_SHOW_ARGUMENTS\r\n", admin(adm, "show nothing"));
  EXPECT_EQ("ERR UNKNOWN_COMMAND Unknown+server+command\r\n", admin(adm, "show"));
}

TEST_F(CoreTest, AdminCancelJob) {
  connect(adm);
  connect(client);
  connect(worker);
  const auto queued = submit(client, "f", "", "1");
  const auto running = submit(client, "f", "", "2");
  send(worker, command::can_do, {"f"});
  ASSERT_EQ(queued, grab(worker));
  EXPECT_EQ("OK\r\n", admin(adm, "cancel job " + queued));
  EXPECT_EQ((std::vector<std::string>{line(command::work_fail, {queued})}), take(client));
  send(worker, command::work_complete, {queued, "late"});
  EXPECT_EQ((std::vector<std::string>{
                line(command::error, {"JOB_NOT_FOUND", "Job given in work result not found"})}),
            take(worker));
  EXPECT_EQ((std::vector<std::string>{}),
            take(client));  // not both WORK_FAIL and WORK_COMPLETE (C B3)
  EXPECT_EQ("OK\r\n", admin(adm, "cancel job " + running));
  EXPECT_EQ("", grab(worker));
  EXPECT_EQ("ERR UNKNOWN_JOB\r\n", admin(adm, "cancel job H:none:1"));
  EXPECT_EQ("ERR UNKNOWN_COMMAND Unknown+server+command\r\n", admin(adm, "cancel job"));
}

TEST_F(CoreTest, AdminCreateAndDropFunction) {
  connect(adm);
  connect(worker);
  EXPECT_EQ("OK\r\n", admin(adm, "create function newfn"));
  EXPECT_EQ("newfn\t0\t0\t0\n.\n",
            admin(adm, "status"));  // the whole name, even with a bare "\n" (C B4)
  EXPECT_EQ("OK\r\n", admin(adm, "drop function newfn"));
  EXPECT_EQ(".\n", admin(adm, "status"));
  EXPECT_EQ("ERR function not found\r\n", admin(adm, "drop function newfn"));
  send(worker, command::can_do, {"busy"});
  EXPECT_EQ("ERR there are still connected workers or executing clients\r\n",
            admin(adm, "drop function busy"));
  connect(client);
  submit(client, "queued", "", "x");
  EXPECT_EQ("ERR there are still connected workers or executing clients\r\n",
            admin(adm, "drop function queued"));
}

TEST_F(CoreTest, AdminShutdown) {
  connect(adm);
  EXPECT_EQ("ERR UNKNOWN_ARGS Unknown+arguments+to+server+command\r\n", admin(adm, "shutdown now"));
  EXPECT_TRUE(sink_.shutdowns.empty());
  EXPECT_EQ("OK\r\n", admin(adm, "shutdown graceful"));
  EXPECT_EQ("OK\r\n", admin(adm, "shutdown"));
  EXPECT_EQ((std::vector<bool>{true, false}), sink_.shutdowns);
}

TEST_F(CoreTest, AdminUnknownCommandAndLeadingSpace) {
  connect(adm);
  EXPECT_EQ("ERR UNKNOWN_COMMAND Unknown+server+command\r\n", admin(adm, "bogus"));
  EXPECT_EQ("ERR UNKNOWN_COMMAND Unknown+server+command\r\n", admin(adm, " status"));
}

TEST_F(CoreTest, AdminLineEndingsAndMixingWithBinary) {
  connect(adm);
  const auto bytes = std::string("version\r\n") +
                     wire::make_packet(wire::packet_magic::request, command::echo_req, {"x"}) +
                     "getpid\n";
  const auto r = raw(adm, bytes);
  EXPECT_EQ(bytes.size(), r.consumed);
  const auto& out = sink_.output[adm];
  EXPECT_EQ(0u, out.find("OK gearspec-0.1.0\n"));
  EXPECT_NE(std::string::npos, out.find("OK 0\n"));
}

TEST_F(CoreTest, AdminLineTooLongCloses) {
  connect(adm);
  wire::decoder_limits limits;
  limits.max_line = 16;
  core_->set_decoder_limits(limits);
  const auto r = raw(adm, std::string(40, 'x'));
  EXPECT_TRUE(r.close);
  EXPECT_EQ("ERR LINE_TOO_LONG Admin+line+too+long\r\n", sink_.output[adm]);
}

}  // namespace
}  // namespace gearspec::refsrv::test
