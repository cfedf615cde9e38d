// The reference server over real loopback sockets: the Asio layer, its timers, bad input, and a
// clean stop (run under ASan by scripts/test.sh, so leaks fail the build).

#include <gtest/gtest.h>

#include <memory>

#include "harness/wire/encoder.hpp"
#include "harness/wire/printer.hpp"
#include "reference-server/server/tcp_server.hpp"
#include "tests/support/bytes.hpp"
#include "tests/support/test_client.hpp"

namespace gearspec::refsrv {
namespace {

using test::test_client;
using wire::command;

std::string show(const std::optional<wire::packet>& p) { return p ? wire::to_string(*p) : "(nothing)"; }

class EmbeddedServer : public ::testing::Test {
 protected:
  void start(server_config config = {}) { server_ = std::make_unique<embedded_server>(std::move(config)); }
  void SetUp() override { start(); }
  std::uint16_t port() const { return server_->port(); }
  std::unique_ptr<embedded_server> server_;
};

TEST_F(EmbeddedServer, ListensOnLoopbackWithAnEphemeralPort) {
  EXPECT_NE(0, port());
  EXPECT_EQ("127.0.0.1", server_->address());
}

TEST_F(EmbeddedServer, SubmitWorkComplete) {
  test_client client(port()), worker(port());
  ASSERT_TRUE(client.connected() && worker.connected());
  ASSERT_TRUE(worker.send(command::can_do, {"reverse"}));
  ASSERT_TRUE(worker.send(command::pre_sleep, {}));
  ASSERT_TRUE(client.send(command::submit_job, {"reverse", "alpha", "hello"}));
  const auto created = client.read_packet();
  ASSERT_TRUE(created && created->cmd == command::job_created) << show(created);
  const auto handle = created->args[0];
  EXPECT_EQ("NOOP()", show(worker.read_packet()));
  ASSERT_TRUE(worker.send(command::grab_job, {}));
  const auto assign = worker.read_packet();
  EXPECT_EQ("JOB_ASSIGN(handle=\"" + handle + "\", func=\"reverse\", data=5 bytes \"hello\")", show(assign));
  ASSERT_TRUE(worker.send(command::work_complete, {handle, "olleh"}));
  EXPECT_EQ("WORK_COMPLETE(handle=\"" + handle + "\", data=5 bytes \"olleh\")", show(client.read_packet()));
}

TEST_F(EmbeddedServer, PipelinedPacketsInOneWrite) {
  test_client client(port());
  std::string burst;
  for (int i = 0; i < 100; ++i) burst += wire::make_packet(wire::packet_magic::request, command::echo_req, {std::to_string(i)});
  ASSERT_TRUE(client.write_raw(burst));
  for (int i = 0; i < 100; ++i) {
    const auto p = client.read_packet();
    ASSERT_TRUE(p && p->cmd == command::echo_res) << i;
    EXPECT_EQ(std::to_string(i), p->args[0]);
  }
}

TEST_F(EmbeddedServer, OneMebibytePayloadRoundTrips) {
  test_client client(port());
  std::string data(1 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  ASSERT_TRUE(client.send(command::echo_req, {data}));
  const auto p = client.read_packet();
  ASSERT_TRUE(p && p->cmd == command::echo_res);
  EXPECT_TRUE(p->args[0] == data);
}

TEST_F(EmbeddedServer, AdminOnTheSamePort) {
  test_client admin(port()), worker(port());
  ASSERT_TRUE(worker.send(command::can_do, {"f"}));
  ASSERT_TRUE(worker.send(command::echo_req, {"sync"}));  // CAN_DO has no reply; wait on the echo
  ASSERT_TRUE(worker.read_packet());
  const auto status = admin.admin("status");
  ASSERT_TRUE(status);
  EXPECT_EQ(std::vector<std::string>{"f\t0\t0\t1"}, status->lines);
  const auto version = admin.admin("version");
  ASSERT_TRUE(version);
  EXPECT_EQ(wire::admin_response::kind::ok, version->type);
}

TEST_F(EmbeddedServer, BadMagicClosesOnlyThatConnection) {
  test_client bad(port()), good(port());
  ASSERT_TRUE(bad.write_raw(test::hex("00585858 00000010 00000000")));
  const auto error = bad.read_packet();
  ASSERT_TRUE(error && error->cmd == command::error) << show(error);
  EXPECT_TRUE(bad.wait_closed());
  ASSERT_TRUE(good.send(command::echo_req, {"still here"}));
  EXPECT_EQ("ECHO_RES(data=10 bytes \"still here\")", show(good.read_packet()));
}

TEST_F(EmbeddedServer, ClientDisconnectDropsItsQueuedJob) {
  auto client = std::make_unique<test_client>(port());
  test_client admin(port()), worker(port());
  ASSERT_TRUE(client->send(command::submit_job, {"f", "k", "x"}));
  ASSERT_TRUE(client->read_packet());
  client.reset();
  // The disconnect is seen asynchronously: poll the admin view, bounded.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    const auto s = admin.admin("status");
    gone = s && s->lines == std::vector<std::string>{"f\t0\t0\t0"};
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(gone);
  ASSERT_TRUE(worker.send(command::can_do, {"f"}));
  ASSERT_TRUE(worker.send(command::grab_job, {}));
  EXPECT_EQ("NO_JOB()", show(worker.read_packet()));
}

TEST_F(EmbeddedServer, CanDoTimeoutFiresOnTheServerClock) {
  test_client client(port()), worker(port());
  ASSERT_TRUE(worker.send(command::can_do_timeout, {"f", "200"}));
  ASSERT_TRUE(client.send(command::submit_job, {"f", "", "x"}));
  const auto created = client.read_packet();
  ASSERT_TRUE(created);
  ASSERT_TRUE(worker.send(command::grab_job, {}));
  ASSERT_TRUE(worker.read_packet());
  // After the timeout the job is requeued (default policy) and handed out again.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  ASSERT_TRUE(worker.send(command::grab_job, {}));
  const auto again = worker.read_packet();
  ASSERT_TRUE(again && again->cmd == command::job_assign) << show(again);
  EXPECT_EQ(created->args[0], again->args[0]);
}

TEST_F(EmbeddedServer, TimeoutFailPolicyNotifiesTheClient) {
  server_config config;
  config.core.can_do_timeout = timeout_policy::fail;
  server_.reset();
  start(config);
  test_client client(port()), worker(port());
  ASSERT_TRUE(worker.send(command::can_do_timeout, {"f", "100"}));
  ASSERT_TRUE(client.send(command::submit_job, {"f", "", "x"}));
  const auto created = client.read_packet();
  ASSERT_TRUE(created);
  ASSERT_TRUE(worker.send(command::grab_job, {}));
  ASSERT_TRUE(worker.read_packet());
  EXPECT_EQ("WORK_FAIL(handle=\"" + created->args[0] + "\")", show(client.read_packet(std::chrono::seconds(3))));
}

TEST_F(EmbeddedServer, AdminShutdownStopsTheServer) {
  test_client admin(port());
  const auto r = admin.admin("shutdown");
  ASSERT_TRUE(r);
  EXPECT_EQ(wire::admin_response::kind::ok, r->type);
  EXPECT_TRUE(admin.wait_closed());
  test_client late(port());
  EXPECT_FALSE(late.connected());
}

TEST_F(EmbeddedServer, GracefulShutdownDrainsQueuedJobsFirst) {
  test_client admin(port()), client(port()), worker(port());
  ASSERT_TRUE(client.send(command::submit_job_bg, {"f", "", "x"}));
  const auto created = client.read_packet();
  ASSERT_TRUE(created);
  const auto r = admin.admin("shutdown graceful");
  ASSERT_TRUE(r && r->type == wire::admin_response::kind::ok);
  // No new connections, but the open ones keep working until the queue is empty.
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    refused = !test_client(port()).connected();
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(refused);
  ASSERT_TRUE(worker.send(command::can_do, {"f"}));
  ASSERT_TRUE(worker.send(command::grab_job, {}));
  const auto assign = worker.read_packet();
  ASSERT_TRUE(assign && assign->cmd == command::job_assign) << show(assign);
  EXPECT_TRUE(client.quiet_for(std::chrono::milliseconds(50)));  // still open
  ASSERT_TRUE(worker.send(command::work_complete, {assign->args[0], ""}));
  EXPECT_TRUE(worker.wait_closed());
}

TEST_F(EmbeddedServer, StopIsIdempotentAndReleasesThePort) {
  const auto p = port();
  test_client idle(p);
  ASSERT_TRUE(idle.connected());
  server_->stop();
  server_->stop();
  EXPECT_TRUE(idle.wait_closed());
  server_config config;
  config.port = p;
  server_.reset();
  start(config);  // the same port again
  EXPECT_EQ(p, port());
}

TEST_F(EmbeddedServer, PeerThatNeverReadsIsDisconnected) {
  server_config config;
  config.max_output_bytes = 64 * 1024;
  server_.reset();
  start(config);
  test_client greedy(port()), other(port());
  const std::string big(60 * 1024, 'x');
  // Fill the socket buffers and then the server's queue: the server must cut this peer off.
  // Keep sending until it does: loopback buffers autotune to tens of MB, and 2000 requests
  // (120 MB) were sometimes not enough; reading before the cut would make the peer a reader.
  bool cut = false;
  for (int i = 0; i < 20000 && !cut; ++i) cut = !greedy.send(command::echo_req, {big});
  ASSERT_TRUE(cut) << "the server took 1.2 GB of requests from a peer that never reads";
  ASSERT_TRUE(other.send(command::echo_req, {"ok"}));
  EXPECT_EQ("ECHO_RES(data=2 bytes \"ok\")", show(other.read_packet()));
  EXPECT_TRUE(greedy.wait_closed(std::chrono::seconds(10)));
}

}  // namespace
}  // namespace gearspec::refsrv
