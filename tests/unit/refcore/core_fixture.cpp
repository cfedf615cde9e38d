#include "tests/unit/refcore/core_fixture.hpp"

namespace gearspec::refsrv::test {

void CoreTest::reset(core_options options) {
  options_ = std::move(options);
  options_.unix_time_ms = [this] { return unix_ms_; };
  sink_ = recording_sink{};
  core_ = std::make_unique<job_server>(options_, sink_);
}

void CoreTest::connect(conn_id id) { core_->on_connect(id, "127.0.0.1"); }

void CoreTest::disconnect(conn_id id) { core_->on_disconnect(id, now_); }

void CoreTest::send(conn_id id, command cmd, std::initializer_list<std::string_view> args) {
  const auto bytes = wire::make_packet(wire::packet_magic::request, cmd, args);
  ASSERT_FALSE(bytes.empty()) << "bad shape for " << wire::name(cmd);
  const auto r = core_->receive(id, bytes, now_);
  ASSERT_EQ(bytes.size(), r.consumed);
}

job_server::receive_result CoreTest::raw(conn_id id, std::string_view bytes) { return core_->receive(id, bytes, now_); }

std::string CoreTest::admin(conn_id id, std::string_view text) {
  sink_.output[id].clear();
  core_->receive(id, std::string(text) + "\n", now_);
  return std::exchange(sink_.output[id], {});
}

std::vector<packet> CoreTest::take_packets(conn_id id) {
  std::vector<packet> out;
  wire::stream_decoder d(wire::packet_magic::response, {}, false);
  d.feed(sink_.output[id]);
  sink_.output[id].clear();
  wire::frame f;
  while (true) {
    const auto r = d.next(f);
    if (r.status != wire::decode_status::complete) {
      EXPECT_NE(wire::decode_status::error, r.status) << r.error.message();
      break;
    }
    out.push_back(packet::from(f.packet));
  }
  return out;
}

std::vector<std::string> CoreTest::take(conn_id id) {
  std::vector<std::string> out;
  for (const auto& p : take_packets(id)) out.push_back(wire::to_string(p));
  return out;
}

std::string CoreTest::line(command cmd, std::initializer_list<std::string> args) {
  return wire::to_string(packet{wire::packet_magic::response, cmd, std::vector<std::string>(args)});
}

std::string CoreTest::submit(conn_id id, std::string_view func, std::string_view unique, std::string_view data,
                             command how) {
  send(id, how, {func, unique, data});
  const auto got = take_packets(id);
  if (got.size() != 1 || got[0].cmd != command::job_created) {
    ADD_FAILURE() << "expected one JOB_CREATED, got " << got.size() << " packets";
    return {};
  }
  return got[0].args[0];
}

std::string CoreTest::grab(conn_id worker) {
  send(worker, command::grab_job, {});
  const auto got = take_packets(worker);
  if (got.size() != 1) {
    ADD_FAILURE() << "expected one reply to GRAB_JOB, got " << got.size();
    return {};
  }
  if (got[0].cmd == command::no_job) return {};
  EXPECT_EQ(command::job_assign, got[0].cmd);
  return got[0].args[0];
}

void CoreTest::advance(std::chrono::milliseconds d) {
  now_ += d;
  unix_ms_ += d.count();
  core_->on_timer(now_);
}

}  // namespace gearspec::refsrv::test
